import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraFederation
import TesseraTesting
import Testing

@Suite("Outbound fetches of client-given URLs: the SSRF guard")
struct OutboundDocumentFetcherTests {
    static func bytes(_ address: String) -> [UInt8] {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        precondition(inet_pton(AF_INET6, address, &v6) == 1, address)
        return withUnsafeBytes(of: &v6) { Array($0) }
    }

    @Test("only public unicast addresses pass, including IPv4 hidden in IPv6")
    func addressPolicy() {
        let refused = ["127.0.0.1", "127.1.2.3", "0.0.0.0", "10.0.0.1", "100.64.0.1", "169.254.169.254", "172.16.0.1", "172.31.255.255",
                       "192.168.1.1", "192.0.0.170", "198.18.0.1", "224.0.0.1", "255.255.255.255", "203.0.113.5",
                       "::", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
                       "2002:7f00:1::", "2002:a9fe:a9fe::1", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "2001:db8::1", "2001::1"]
        for address in refused {
            #expect(!OutboundAddressPolicy.isPublic(Self.bytes(address)), "\(address) must be refused")
        }
        for address in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::"] {
            #expect(OutboundAddressPolicy.isPublic(Self.bytes(address)), "\(address) is public")
        }
    }

    /// A fetcher whose resolver answers from a table.
    static func fetcher(_ table: [String: [String]], allowLoopback: Bool = false, maximumBytes: Int = 64 * 1024) -> OutboundDocumentFetcher {
        OutboundDocumentFetcher(allowLoopback: allowLoopback, timeout: .seconds(2), maximumBytes: maximumBytes) { host in
            (table[host] ?? []).map(Self.bytes)
        }
    }

    @Test("URLs that resolve anywhere private, use http, carry user info, or spell loopback differently are refused")
    func refusedURLs() async {
        let fetcher = Self.fetcher(["evil.example": ["127.0.0.1"], "metadata.example": ["169.254.169.254"],
                                    "rebind.example": ["93.184.216.34", "10.0.0.7"], "good.example": ["93.184.216.34"],
                                    "v6.example": ["::ffff:127.0.0.1"]])
        for url in ["https://evil.example/jwks", "https://metadata.example/latest/meta-data/", "https://rebind.example/jwks",
                    "https://v6.example/jwks", "http://good.example/jwks", "https://127.0.0.1/jwks", "https://[::1]/jwks",
                    "https://2130706433/jwks", "https://0x7f000001/jwks", "https://017700000001/jwks", "https://127.1/jwks",
                    "https://user:pw@good.example/jwks", "https://good.example/jwks#frag", "ftp://good.example/jwks",
                    "file:///etc/passwd", "https://nowhere.example/jwks", "//good.example/jwks", "https:///jwks"] {
            let checked = await fetcher.check(url)
            #expect(checked.refusal != nil, "\(url) must be refused")
        }
        #expect(await fetcher.check("https://good.example/jwks").refusal == nil)
        #expect(await fetcher.check("https://GOOD.example/jwks").refusal == nil, "host names are case-insensitive")
        // The development setting admits loopback, and http to it — never private or metadata addresses.
        let development = Self.fetcher(["evil.example": ["127.0.0.1"], "metadata.example": ["169.254.169.254"]], allowLoopback: true)
        #expect(await development.check("http://127.0.0.1:8080/jwks").refusal == nil)
        #expect(await development.check("https://evil.example/jwks").refusal == nil)
        #expect(await development.check("https://metadata.example/").refusal != nil)
        #expect(await development.check("http://10.0.0.1/").refusal != nil)
        // The real resolver (getaddrinfo): names of this machine resolve to loopback and are refused.
        let real = OutboundDocumentFetcher()
        #expect(await real.check("https://localhost/jwks").refusal != nil)
        #expect(await real.check("https://localhost./jwks").refusal != nil)
    }

    /// A loopback server with the answers a hostile `jwks_uri` might give.
    static func hostile() -> some ApplicationProtocol {
        let router = Router()
        let json = #"{"keys":[]}"#
        router.get("ok") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json))) }
        router.get("jwk-set") { _, _ in Response(status: .ok, headers: [.contentType: "application/jwk-set+json; charset=utf-8"],
                                                 body: .init(byteBuffer: ByteBuffer(string: json))) }
        router.get("redirect") { _, _ in Response(status: .found, headers: [.location: "/ok"]) }
        router.get("html") { _, _ in Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<h1>hi</h1>"))) }
        router.get("big") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"keys":[],"pad":""# + String(repeating: "x", count: 200_000) + #""}"#)))
        }
        router.get("missing") { _, _ in Response(status: .notFound) }
        router.get("slow") { _, _ in
            try await Task.sleep(for: .seconds(5))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test("a live fetch: JSON within the limit passes; redirects, HTML, oversize, 404 and slow answers are refused")
    func liveFetch() async throws {
        try await Self.hostile().test(.live) { client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let fetcher = Self.fetcher([:], allowLoopback: true, maximumBytes: 5 * 1024)
            #expect(try await fetcher.fetchJSON(base + "/ok") == Data(#"{"keys":[]}"#.utf8))
            #expect(try await fetcher.fetchJSON(base + "/jwk-set") == Data(#"{"keys":[]}"#.utf8))
            for path in ["/redirect", "/html", "/big", "/missing", "/slow"] {
                await #expect(throws: OAuthError.self, "\(path) must be refused") { _ = try await fetcher.fetchJSON(base + path) }
            }
            // Without the development setting the same server is out of reach.
            await #expect(throws: OAuthError.self) { _ = try await Self.fetcher([:]).fetchJSON(base + "/ok") }
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("Trusted proxies and X-Forwarded-*")
struct ForwardedHeadersTests {
    let proxies = try! TrustedProxies(parsing: ["10.0.0.1", "192.168.0.0/16, fd00::/8"])

    func resolve(_ peer: String?, _ xff: [String] = [], _ proto: [String] = [], scheme: String = "http",
                 trusted: TrustedProxies? = nil) -> ForwardedOrigin {
        ForwardedOrigin.resolve(peer: peer, forwardedFor: xff, forwardedProto: proto, directScheme: scheme, trusted: trusted ?? proxies)
    }

    @Test("IP ranges: IPv4, IPv6, CIDR, IPv4-mapped; bad entries refused")
    func ranges() throws {
        #expect(proxies.contains("10.0.0.1") && !proxies.contains("10.0.0.2"))
        #expect(proxies.contains("192.168.44.7") && !proxies.contains("192.169.0.1"))
        #expect(proxies.contains("fd12::1") && !proxies.contains("fe80::1"))
        #expect(proxies.contains("::ffff:10.0.0.1"))
        #expect(!proxies.contains("not-an-ip") && !proxies.contains(""))
        #expect(IPRange("10.1.2.3/8")?.description == "10.0.0.0/8")
        for bad in ["10.0.0.0/33", "300.1.1.1", "::1/129", "example.com", "10.0.0.1/x"] {
            #expect(throws: TesseraConfiguration.Invalid.self) { try TrustedProxies(parsing: [bad]) }
        }
        #expect(try TrustedProxies(parsing: ["127.0.0.1,::1", " 10.0.0.0/8 "]).ranges.count == 3)
    }

    @Test("No trusted proxies, or an untrusted peer: headers are ignored")
    func untrustedPeerIgnored() {
        #expect(resolve("203.0.113.9", ["1.2.3.4"], ["https"], trusted: TrustedProxies([])) == ForwardedOrigin(clientIP: "203.0.113.9", scheme: "http"))
        #expect(resolve("203.0.113.9", ["1.2.3.4"], ["https"]) == ForwardedOrigin(clientIP: "203.0.113.9", scheme: "http"))
        #expect(resolve(nil, ["1.2.3.4"], ["https"]) == ForwardedOrigin(clientIP: nil, scheme: "http"))
        #expect(resolve("203.0.113.9", [], [], scheme: "https").scheme == "https")
    }

    @Test("Trusted peer: the rightmost untrusted X-Forwarded-For hop is the client")
    func rightmostUntrusted() {
        #expect(resolve("10.0.0.1", ["198.51.100.7"]).clientIP == "198.51.100.7")
        // The client forged the leftmost entry; the trusted proxies appended the real hops.
        #expect(resolve("10.0.0.1", ["6.6.6.6, 198.51.100.7, 192.168.1.1"]).clientIP == "198.51.100.7")
        #expect(resolve("10.0.0.1", ["6.6.6.6", "198.51.100.7,192.168.1.1"]).clientIP == "198.51.100.7")
        // Every hop trusted: the leftmost one.
        #expect(resolve("10.0.0.1", ["192.168.9.9, 192.168.1.1"]).clientIP == "192.168.9.9")
        // A malformed hop ends the walk at the trusted hop that reported it.
        #expect(resolve("10.0.0.1", ["198.51.100.7, garbage, 192.168.1.1"]).clientIP == "192.168.1.1")
        #expect(resolve("10.0.0.1", ["garbage"]).clientIP == "10.0.0.1")
        // No header: the peer itself.
        #expect(resolve("10.0.0.1").clientIP == "10.0.0.1")
        #expect(resolve("10.0.0.1", ["[2001:db8::5]"]).clientIP == "2001:db8::5")
    }

    @Test("X-Forwarded-Proto counts only from a trusted peer and only as http or https")
    func proto() {
        #expect(resolve("10.0.0.1", [], ["https"]).scheme == "https")
        #expect(resolve("10.0.0.1", [], ["HTTPS"]).scheme == "https")
        #expect(resolve("10.0.0.1", [], ["http, https"]).scheme == "https")
        #expect(resolve("10.0.0.1", [], ["gopher"]).scheme == "http")
        #expect(resolve("10.0.0.1", [], ["http"], scheme: "https").scheme == "http")
        #expect(resolve("203.0.113.9", [], ["https"]).scheme == "http")
    }

    @Test("Configuration: env, config-file list, flags; invalid entries and half TLS settings refused")
    func configuration() throws {
        var configuration = TesseraConfiguration()
        try configuration.apply(environment: ["TESSERA_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "TESSERA_METRICS": "off",
                                              "TESSERA_TLS_CERT": "/c.pem", "TESSERA_TLS_KEY": "/k.pem"])
        #expect(configuration.trustedProxies == (try TrustedProxies(parsing: ["127.0.0.1", "10.0.0.0/8"])))
        #expect(configuration.metrics == false)
        #expect(configuration.effectiveIssuer == "https://127.0.0.1:8080")
        #expect(configuration.usesHTTPS)
        try configuration.validate()

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID()).json")
        try Data(#"{"trustedProxies": ["10.0.0.1", "fd00::/8"], "metrics": true}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var fromFile = TesseraConfiguration()
        try fromFile.apply(configFile: file.path)
        #expect(fromFile.trustedProxies == (try TrustedProxies(parsing: ["10.0.0.1", "fd00::/8"])) && fromFile.metrics)

        var bad = TesseraConfiguration()
        #expect(throws: TesseraConfiguration.Invalid.self) { try bad.apply(environment: ["TESSERA_TRUSTED_PROXIES": "10.0.0.0/99"]) }
        var half = TesseraConfiguration()
        half.tlsCert = "/c.pem"
        #expect(throws: TesseraConfiguration.Invalid.self) { try half.validate() }
    }

    @Test("TLS files: unreadable or not PEM is one clear error")
    func tlsFiles() throws {
        #expect(throws: TesseraConfiguration.Invalid("cannot read TLS certificate /nonexistent/cert.pem")) {
            try tlsConfiguration(certificate: "/nonexistent/cert.pem", key: "/nonexistent/key.pem")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID()).pem")
        try Data("not a certificate\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(throws: TesseraConfiguration.Invalid("TLS certificate \(file.path) is not a PEM certificate chain")) {
            try tlsConfiguration(certificate: file.path, key: file.path)
        }
    }
}

@Suite("Trusted proxies over a real connection")
struct ForwardedHeadersLiveTests {
    func auditIPs(_ harness: ServerHarness) async throws -> [String?] {
        let sink = try #require(harness.runtime.services.audit as? BufferedAuditSink)
        try await sink.flush()
        return try await harness.store.auditEvents(AuditEventFilter(kind: .tokenIssued)).map { $0.detail["client_ip"] }
    }

    func issue(_ harness: ServerHarness, forwardedFor: String) async throws {
        let app = Application(router: buildRouter(runtime: harness.runtime))
        try await app.test(.live) { client in
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .authorization: harness.basic]
            headers[HTTPField.Name("X-Forwarded-For")!] = forwardedFor
            let response = try await client.execute(uri: "/token", method: .post, headers: headers,
                                                    body: ByteBuffer(string: "grant_type=client_credentials"))
            #expect(response.status == .ok)
        }
    }

    @Test("From a trusted peer the forwarded client is audited; from any other peer the TCP peer is")
    func auditedAddress() async throws {
        let loopback = try TrustedProxies(parsing: ["127.0.0.1", "::1"])
        let trusted = try await ServerHarness.make { $0.trustedProxies = loopback }
        try await issue(trusted, forwardedFor: "6.6.6.6, 198.51.100.23")
        #expect(try await auditIPs(trusted) == ["198.51.100.23"])

        let other = try TrustedProxies(parsing: ["10.0.0.1"])
        let untrusted = try await ServerHarness.make { $0.trustedProxies = other }
        try await issue(untrusted, forwardedFor: "198.51.100.23")
        let ips = try await auditIPs(untrusted)
        #expect(ips == ["127.0.0.1"] || ips == ["::1"], "\(ips)")
    }
}

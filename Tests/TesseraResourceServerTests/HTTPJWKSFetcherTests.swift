import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

import TesseraResourceServer

/// Counts requests served by the fake issuer.
actor RequestCounter {
    private(set) var count = 0
    func increment() { self.count += 1 }
}

@Suite("HTTPJWKSFetcher against a live HTTP issuer")
struct HTTPJWKSFetcherTests {
    let issuer: TestIssuer

    init() async throws {
        self.issuer = try await TestIssuer.make()
    }

    /// A tiny issuer publishing its key set and RFC 8414 metadata on a random port.
    func issuerApplication(counter: RequestCounter, metadataIssuer: @escaping @Sendable (Int) -> String) -> some ApplicationProtocol {
        let router = Router()
        let jwks = self.issuer.jwks()
        router.get("jwks.json") { _, _ in
            await counter.increment()
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jwks)))
        }
        router.get(".well-known/oauth-authorization-server") { request, _ -> Response in
            let port = request.head.authority?.split(separator: ":").last.flatMap { Int($0) } ?? 0
            let metadata: [String: String] = [
                "issuer": metadataIssuer(port),
                "jwks_uri": "http://127.0.0.1:\(port)/jwks.json",
            ]
            let data = try JSONEncoder().encode(metadata)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test("keys are fetched from <issuer>/jwks.json over HTTP and verify tokens")
    func liveJWKS() async throws {
        let counter = RequestCounter()
        let app = self.issuerApplication(counter: counter) { "http://127.0.0.1:\($0)" }
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let fetcher = HTTPJWKSFetcher(issuer: "http://127.0.0.1:\(port)/")
            #expect(fetcher.source == .jwksURI("http://127.0.0.1:\(port)/jwks.json"))
            let verifier = AccessTokenVerifier(
                configuration: .init(issuer: TestIssuer.issuer, audience: TestIssuer.audience),
                keys: JWKSCache(fetcher: fetcher),
                now: { TestIssuer.now }
            )
            #expect(try await verifier.verify(try self.issuer.token()).subject == "alice")
            #expect(try await verifier.verify(try self.issuer.rsaToken()).clientID == "web-app")
            #expect(await counter.count == 1)
        }
    }

    @Test("keys can be found through RFC 8414 metadata, whose issuer must match")
    func metadataDiscovery() async throws {
        let counter = RequestCounter()
        let app = self.issuerApplication(counter: counter) { "http://127.0.0.1:\($0)" }
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let fetcher = HTTPJWKSFetcher(source: .authorizationServerMetadata(issuer: "http://127.0.0.1:\(port)"))
            let keys = JWKSCache(fetcher: fetcher)
            try await keys.refresh()
            #expect(await keys.knownKeyIDs == ["ec-1", "rsa-1"])

            let impostor = HTTPJWKSFetcher(source: .authorizationServerMetadata(issuer: "http://localhost:\(port)"))
            await #expect(throws: JWKSFetchError.self) { try await impostor.fetchJWKS() }
        }
    }

    @Test("a non-200 answer is an error, and the verifier reports the keys unavailable")
    func notFound() async throws {
        let app = Application(router: Router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let fetcher = HTTPJWKSFetcher(jwksURI: "http://127.0.0.1:\(port)/jwks.json")
            await #expect(throws: JWKSFetchError.self) { try await fetcher.fetchJWKS() }
            let verifier = AccessTokenVerifier(
                configuration: .init(issuer: TestIssuer.issuer),
                keys: JWKSCache(fetcher: fetcher),
                now: { TestIssuer.now }
            )
            #expect(await rejection { try await verifier.verify(try self.issuer.token()) } == .keySetUnavailable)
        }
    }

    @Test("the metadata URL inserts the well-known segment before the issuer's path (RFC 8414 §3.1)")
    func metadataURL() throws {
        #expect(try HTTPJWKSFetcher.metadataURI(forIssuer: "https://a.test") == "https://a.test/.well-known/oauth-authorization-server")
        #expect(try HTTPJWKSFetcher.metadataURI(forIssuer: "https://a.test/") == "https://a.test/.well-known/oauth-authorization-server")
        #expect(try HTTPJWKSFetcher.metadataURI(forIssuer: "https://a.test/tenant/1") == "https://a.test/.well-known/oauth-authorization-server/tenant/1")
        #expect(throws: JWKSFetchError.self) { try HTTPJWKSFetcher.metadataURI(forIssuer: "not a url") }
    }
}

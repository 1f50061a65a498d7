import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

import TesseraResourceServer

@Suite("Protected resource metadata (RFC 9728) and its challenges (RFC 9728 §5.1, RFC 6750 §3.1)")
struct ProtectedResourceMetadataTests {
    let issuer: TestIssuer
    let fetcher: FakeJWKSFetcher

    init() async throws {
        self.issuer = try await TestIssuer.make()
        self.fetcher = FakeJWKSFetcher(self.issuer.jwks())
    }

    static func metadata(resource: String = TestIssuer.audience) throws -> ProtectedResourceMetadata {
        try ProtectedResourceMetadata(resource: resource, authorizationServers: [TestIssuer.issuer], scopesSupported: ["read", "write"])
    }

    /// `/me` needs a token, `/data` needs `read`; both name `metadata` in their challenges.
    func makeApplication(_ metadata: ProtectedResourceMetadata) -> some ApplicationProtocol {
        let router = Router(context: AccessTokenRequestContext.self)
        router.addProtectedResourceMetadata(metadata)
        let api = router.group().add(middleware: BearerTokenMiddleware(verifier: makeVerifier(fetcher: self.fetcher), resourceMetadata: metadata))
        api.get("me") { _, context in try context.requireAccessToken().subject }
        api.group("data").add(middleware: RequireScopes("read", resourceMetadata: metadata)).get { _, _ in "data" }
        return Application(router: router)
    }

    func document(_ response: TestResponse) throws -> ProtectedResourceMetadata.Document {
        try JSONDecoder().decode(ProtectedResourceMetadata.Document.self, from: Data(String(buffer: response.body).utf8))
    }

    // MARK: The document

    @Test("a resource without a path: the document at /.well-known/oauth-protected-resource")
    func documentAtRoot() async throws {
        let metadata = try Self.metadata()
        #expect(metadata.wellKnownPath == "/.well-known/oauth-protected-resource")
        #expect(metadata.metadataURL == "https://api.test/.well-known/oauth-protected-resource")
        try await self.makeApplication(metadata).test(.router) { client in
            let response = try await client.execute(uri: "/.well-known/oauth-protected-resource", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.headers[.cacheControl] == "public, max-age=3600")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
            #expect(json["resource"] as? String == "https://api.test")
            #expect(json["authorization_servers"] as? [String] == ["https://issuer.test"])
            #expect(json["scopes_supported"] as? [String] == ["read", "write"])
            #expect(json["bearer_methods_supported"] as? [String] == ["header"])
            // Anonymous and unchallenged: the document is public.
            #expect(response.headers[.wwwAuthenticate] == nil)
        }
    }

    @Test("a resource with a path: the document at the path-suffixed well-known URL (RFC 9728 §3.1), and at the bare one")
    func documentWithPath() async throws {
        let metadata = try Self.metadata(resource: "https://api.test:8443/tenant/mcp/")
        #expect(metadata.wellKnownPath == "/.well-known/oauth-protected-resource/tenant/mcp")
        #expect(metadata.metadataURL == "https://api.test:8443/.well-known/oauth-protected-resource/tenant/mcp")
        try await self.makeApplication(metadata).test(.router) { client in
            for path in ["/.well-known/oauth-protected-resource/tenant/mcp", "/.well-known/oauth-protected-resource"] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .ok, "\(path)")
                #expect(try self.document(response).resource == "https://api.test:8443/tenant/mcp/")
            }
            let other = try await client.execute(uri: "/.well-known/oauth-protected-resource/other", method: .get)
            #expect(other.status == .notFound)
        }
    }

    // MARK: Challenges

    @Test("401 without a token names the metadata document")
    func missingTokenChallenge() async throws {
        try await self.makeApplication(try Self.metadata()).test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get)
            #expect(response.status == .unauthorized)
            #expect(
                response.headers[.wwwAuthenticate]
                    == #"Bearer realm="api", resource_metadata="https://api.test/.well-known/oauth-protected-resource""#
            )
        }
    }

    @Test("401 invalid_token keeps error and error_description and adds resource_metadata")
    func invalidTokenChallenge() async throws {
        let token = try self.issuer.token { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970 - 3600) }
        try await self.makeApplication(try Self.metadata()).test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(response.status == .unauthorized)
            let challenge = try #require(response.headers[.wwwAuthenticate])
            #expect(challenge.hasPrefix(#"Bearer realm="api", error="invalid_token", error_description=""#))
            #expect(challenge.hasSuffix(#", resource_metadata="https://api.test/.well-known/oauth-protected-resource""#))
        }
    }

    @Test("403 insufficient_scope names the scope needed for step-up and the metadata document")
    func insufficientScopeChallenge() async throws {
        let token = try self.issuer.token { $0["scope"] = "profile" }
        try await self.makeApplication(try Self.metadata()).test(.router) { client in
            let response = try await client.execute(uri: "/data", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(response.status == .forbidden)
            #expect(
                response.headers[.wwwAuthenticate]
                    == #"Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="read", resource_metadata="https://api.test/.well-known/oauth-protected-resource""#
            )
            let ok = try await client.execute(uri: "/data", method: .get, headers: [.authorization: "Bearer \(try self.issuer.token())"])
            #expect(ok.status == .ok)
        }
    }

    // MARK: Header injection

    @Test(
        "a value with a quote, backslash, CR/LF or space is refused at configuration time",
        arguments: [
            "https://api.test/x\"y",
            "https://api.test/x\r\nSet-Cookie: a=b",
            "https://api.test/x\ny",
            "https://api.test/x\\y",
            "https://api.test/x y",
            "https://api.test/\u{7F}",
            "https://api.tést/",
        ]
    )
    func injectionRefused(value: String) throws {
        #expect(throws: ProtectedResourceMetadata.InvalidValue.self) {
            try ProtectedResourceMetadata(resource: value, authorizationServers: [TestIssuer.issuer])
        }
        #expect(throws: ProtectedResourceMetadata.InvalidValue.self) {
            try ProtectedResourceMetadata(resource: TestIssuer.audience, authorizationServers: [value])
        }
        #expect(throws: ProtectedResourceMetadata.InvalidValue.self) {
            try ProtectedResourceMetadata(resource: TestIssuer.audience, authorizationServers: [TestIssuer.issuer], scopesSupported: [value])
        }
    }

    @Test(
        "a resource that is not an absolute http(s) URL, or has a query, fragment or user info, is refused",
        arguments: ["", "api.test", "/relative", "ftp://api.test", "https://api.test/?a=b", "https://api.test/#f", "https://u:p@api.test", "https:///nohost"]
    )
    func malformedRefused(value: String) {
        #expect(throws: ProtectedResourceMetadata.InvalidValue.self) {
            try ProtectedResourceMetadata(resource: value, authorizationServers: [TestIssuer.issuer])
        }
    }

    @Test("no authorization server is refused")
    func noAuthorizationServer() {
        #expect(throws: ProtectedResourceMetadata.InvalidValue.self) {
            try ProtectedResourceMetadata(resource: TestIssuer.audience, authorizationServers: [])
        }
    }

    @Test("a hostile realm or description never splits the header: CR, LF and quotes are replaced")
    func challengeStaysOneLine() throws {
        var error = BearerError.invalidToken("bad \"token\"\r\nSet-Cookie: a=b", realm: "r\"\r\nX: y")
        error = error.pointing(to: try Self.metadata())
        let challenge = try #require(error.challenge)
        #expect(!challenge.contains("\r") && !challenge.contains("\n"))
        // Exactly the quotes that delimit the four attributes.
        #expect(challenge.filter { $0 == "\"" }.count == 8)
    }

    // MARK: Audience (RFC 9068 §4)

    @Test("a verifier made from the metadata requires the resource as audience")
    func verifierRequiresAudience() throws {
        let metadata = try Self.metadata(resource: "https://api.test/mcp")
        let verifier = AccessTokenVerifier(resource: metadata)
        #expect(verifier.configuration.audience == "https://api.test/mcp")
        #expect(verifier.configuration.issuer == TestIssuer.issuer)
    }
}

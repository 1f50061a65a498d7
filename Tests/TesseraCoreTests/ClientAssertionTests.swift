import Foundation
import TesseraCore
import TesseraJOSE
import TesseraTesting
import Testing

/// A `jwks_uri` served from memory, counting fetches.
final class MemoryDocuments: ClientDocumentFetcher, @unchecked Sendable {
    private let lock = NSLock()
    private var documents: [String: String] = [:]
    private var fetches = 0

    func publish(_ text: String, at url: String) { lock.withLock { documents[url] = text } }
    var fetchCount: Int { lock.withLock { fetches } }

    func fetchDocument(_ url: String) async throws(OAuthError) -> FetchedDocument {
        let text: String? = lock.withLock {
            fetches += 1
            return documents[url]
        }
        guard let text else { throw OAuthError.invalidClient("\(url) answered HTTP 404.") }
        return FetchedDocument(body: Data(text.utf8), maxAge: maxAge)
    }
    var maxAge: TimeInterval?
}

@Suite("private_key_jwt client authentication (RFC 7523 §2.2, §3)")
struct ClientAssertionTests {
    struct Setup {
        let core: CoreHarness
        let key: ClientKeyPair
        let client: Client
        let documents: MemoryDocuments
        let authenticator: ClientAuthenticator
        var now: Date { core.clock.now }

        init(jwksURI: String? = nil) async throws {
            core = try await CoreHarness()
            key = ClientKeyPair()
            documents = MemoryDocuments()
            var client = Client(id: "agent", name: "Agent", secretDigest: nil, authMethod: .privateKeyJWT,
                                grantTypes: [.clientCredentials], allowedScopes: ["read"], createdAt: core.clock.now)
            if let jwksURI {
                client.jwksURI = jwksURI
                documents.publish(key.jwks, at: jwksURI)
            } else {
                client.jwks = key.jwks
            }
            self.client = client
            try await core.storage.insertClient(client)
            let verifier = ClientAssertionVerifier(issuer: Fixtures.issuer, keys: ClientKeys(fetcher: documents, clock: core.clock),
                                                   replays: core.storage, clock: core.clock)
            authenticator = ClientAuthenticator(clients: core.storage, clock: core.clock, assertions: verifier)
        }

        func authenticate(_ assertion: String, at endpoint: String = "token", clientID: String? = "agent") async throws -> Client {
            var pairs = [("grant_type", "client_credentials"), ("client_assertion_type", ClientAssertionVerifier.jwtBearerType),
                         ("client_assertion", assertion)]
            if let clientID { pairs.append(("client_id", clientID)) }
            return try await authenticator.authenticate(try TokenRequest(parameters: pairs), at: endpoint, audit: core.services.audit)
        }
    }

    @Test("a signed assertion authenticates at token, revoke and introspect; client_id may be left out")
    func accepted() async throws {
        let s = try await Setup()
        #expect(try await s.authenticate(s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now)).id == "agent")
        #expect(try await s.authenticate(s.key.assertion(clientID: "agent", audience: Fixtures.issuer + "/token", now: s.now)).id == "agent")
        #expect(try await s.authenticate(s.key.assertion(clientID: "agent", audience: [Fixtures.issuer + "/revoke", "https://other"], now: s.now),
                                         at: "revoke").id == "agent")
        #expect(try await s.authenticate(s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now),
                                         at: "introspect", clientID: nil).id == "agent", "RFC 7521 §4.2: client_id is optional")
    }

    @Test("a replayed assertion is refused, also by 20 parallel requests (one wins)")
    func replay() async throws {
        let s = try await Setup()
        let assertion = s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now)
        _ = try await s.authenticate(assertion)
        await expectOAuthError(.invalidClient) { _ = try await s.authenticate(assertion) }

        let raced = s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now)
        let wins = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 { group.addTask { (try? await s.authenticate(raced)) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
    }

    @Test("wrong key, alg none, HMAC, expired, too long-lived, future nbf/iat, wrong iss/sub/aud, no jti: each refused")
    func refusals() async throws {
        let s = try await Setup()
        let now = s.now
        let stranger = ClientKeyPair(kid: "client-key-1")  // same kid, different key
        let hmacHeader = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let noneHeader = Base64URL.encode(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let body = Base64URL.encode(Data(#"{"iss":"agent","sub":"agent","aud":"https://auth.test","exp":\#(Int(now.timeIntervalSince1970) + 60),"jti":"x"}"#.utf8))
        let cases: [(String, String)] = [
            ("signed by another key", stranger.assertion(clientID: "agent", audience: Fixtures.issuer, now: now)),
            ("alg none", noneHeader + "." + body + "."),
            ("alg none with a fake signature", noneHeader + "." + body + ".AAAA"),
            ("HS256 keyed with the public key", hmacHeader + "." + body + ".AAAA"),
            ("expired", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now.addingTimeInterval(-300))),
            ("lives two hours", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, lifetime: 7200)),
            ("no exp", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, claims: ["exp": NSNull()])),
            ("nbf in the future", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, claims: ["nbf": Int(now.timeIntervalSince1970) + 120])),
            ("iat in the future", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, claims: ["iat": Int(now.timeIntervalSince1970) + 120])),
            ("iss is another client", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, claims: ["iss": "svc"])),
            ("sub is another client", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, claims: ["sub": "svc"])),
            ("aud is another server", s.key.assertion(clientID: "agent", audience: "https://evil.example", now: now)),
            ("aud is a look-alike", s.key.assertion(clientID: "agent", audience: Fixtures.issuer + "/", now: now)),
            ("aud missing", s.key.assertion(clientID: "agent", audience: "", now: now, claims: ["aud": NSNull()])),
            ("no jti", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, claims: ["jti": NSNull()])),
            ("crit header", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now, header: ["crit": ["exp"]])),
            ("padded segment", s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: now) + "="),
            ("not a JWT", "not-a-jwt"),
            ("huge", String(repeating: "a", count: 9000) + ".b.c"),
        ]
        for (name, assertion) in cases {
            do {
                _ = try await s.authenticate(assertion)
                Issue.record("accepted: \(name)")
            } catch let error as OAuthError {
                #expect(error.code == .invalidClient, "\(name): \(error)")
            }
        }
    }

    @Test("an assertion cannot authenticate a client of another method, nor be combined with a secret")
    func methodMixing() async throws {
        let s = try await Setup()
        let (svc, secret) = Fixtures.confidentialClient()
        try await s.core.storage.insertClient(svc)
        // svc has a secret: an assertion (even a well-formed one) does not authenticate it.
        let forSvc = s.key.assertion(clientID: "svc", audience: Fixtures.issuer, now: s.now)
        await expectOAuthError(.invalidClient) { _ = try await s.authenticate(forSvc, clientID: "svc") }
        // The agent has no secret: client_secret alone fails, with an assertion it is a malformed request.
        await expectOAuthError(.invalidClient) { _ = try await s.authenticator.authenticate(.post(id: "agent", secret: secret)) }
        await expectOAuthError(.invalidRequest) {
            _ = try TokenRequest(parameters: [("client_id", "agent"), ("client_secret", "x"),
                                              ("client_assertion_type", ClientAssertionVerifier.jwtBearerType), ("client_assertion", "a.b.c")])
                .clientCredentials()
        }
        await expectOAuthError(.invalidRequest) {
            _ = try TokenRequest(parameters: [("client_id", "agent"), ("client_assertion", "a.b.c")]).clientCredentials()
        }
        await expectOAuthError(.invalidClient) {
            _ = try TokenRequest(parameters: [("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
                                              ("client_assertion", "a.b.c"), ("client_id", "agent")]).clientCredentials()
        }
        // A client_id that disagrees with the assertion's iss/sub.
        let assertion = s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now)
        await expectOAuthError(.invalidClient) { _ = try await s.authenticate(assertion, clientID: "svc") }
    }

    @Test("keys from jwks_uri: cached, refetched for a new kid at most every 30 s")
    func jwksURI() async throws {
        let uri = "https://agent.example/jwks.json"
        let s = try await Setup(jwksURI: uri)
        _ = try await s.authenticate(s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now))
        _ = try await s.authenticate(s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now))
        #expect(s.documents.fetchCount == 1, "the key set is cached")

        // The client rotates to a new key: a kid not in the cache triggers one refetch — once the interval allows.
        let next = ClientKeyPair(kid: "client-key-2")
        s.documents.publish(ClientKeyPair.jwks([s.key, next]), at: uri)
        await expectOAuthError(.invalidClient) {
            _ = try await s.authenticate(next.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now))
        }
        #expect(s.documents.fetchCount == 1, "no refetch within 30 s of the last one")
        s.core.clock.advance(by: 31)
        _ = try await s.authenticate(next.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now))
        #expect(s.documents.fetchCount == 2)

        // A key removed from the document stops working once the cache ages out (5 minutes).
        s.documents.publish(ClientKeyPair.jwks([next]), at: uri)
        s.core.clock.advance(by: 301)
        await expectOAuthError(.invalidClient) {
            _ = try await s.authenticate(s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now))
        }
    }

    @Test("replayed jtis are forgotten only after they expire")
    func purge() async throws {
        let s = try await Setup()
        let assertion = s.key.assertion(clientID: "agent", audience: Fixtures.issuer, now: s.now)
        _ = try await s.authenticate(assertion)
        #expect(try await s.core.storage.purgeClientAssertions(before: s.now) == 0)
        s.core.clock.advance(by: 120)
        #expect(try await s.core.storage.purgeClientAssertions(before: s.now) == 1, "forgotten once its exp (60 s + leeway) passed")
        await expectOAuthError(.invalidClient) { _ = try await s.authenticate(assertion) }  // expired by now anyway
    }
}

@Suite("Registration with private_key_jwt (RFC 7591 §2 jwks, jwks_uri)")
struct PrivateKeyJWTRegistrationTests {
    let policy = ClientMetadata.Policy(allowedScopes: ["read"], defaultScopes: ["read"], allowResources: false)

    func metadata(_ json: String) throws(OAuthError) -> ClientMetadata {
        try ClientMetadata(json: Data(json.utf8), policy: policy)
    }

    @Test("jwks or jwks_uri is required, exclusive, public-only and https")
    func rules() throws {
        let key = ClientKeyPair()
        let ok = try metadata(#"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":\#(key.jwks)}"#)
        #expect(ok.tokenEndpointAuthMethod == .privateKeyJWT && ok.jwks != nil)
        let uri = try metadata(#"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks_uri":"https://a.example/jwks"}"#)
        #expect(uri.jwksURI == "https://a.example/jwks")
        var withPrivate = key.jwk
        withPrivate["d"] = "c2VjcmV0"
        let privateSet = String(decoding: try JSONSerialization.data(withJSONObject: ["keys": [withPrivate]]), as: UTF8.self)
        for bad in [
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"]}"#,
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":\#(key.jwks),"jwks_uri":"https://a.example/j"}"#,
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":\#(privateSet)}"#,
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}}"#,
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":{"keys":[]}}"#,
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":"not a set"}"#,
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks_uri":"http://a.example/jwks"}"#,
            #"{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks_uri":"https://user@a.example/jwks"}"#,
        ] {
            #expect(throws: OAuthError.self, "\(bad)") { _ = try metadata(bad) }
        }
    }

    @Test("/register stores the keys, issues no secret, and refuses a set without a usable key")
    func register() async throws {
        let core = try await CoreHarness()
        let endpoint = RegistrationEndpoint(
            settings: .init(issuer: Fixtures.issuer, openRegistration: true, allowedScopes: ["read"], defaultScopes: ["read"]),
            clients: core.storage, consents: core.storage, initialAccessTokens: core.storage, clock: core.clock, audit: core.services.audit)
        let key = ClientKeyPair()
        let info = try await endpoint.register(
            json: Data(#"{"token_endpoint_auth_method":"private_key_jwt","redirect_uris":["https://agent.example/cb"],"jwks":\#(key.jwks)}"#.utf8),
            initialAccessToken: nil)
        #expect(info.clientSecret == nil && info.clientSecretExpiresAt == nil && info.tokenEndpointAuthMethod == "private_key_jwt")
        let stored = try #require(try await core.storage.client(id: info.clientID))
        #expect(stored.secretDigest == nil && stored.jwks != nil)
        let encoded = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
        #expect(encoded.contains(#""jwks":{"keys":["#), "jwks is echoed as a JSON object, not a string: \(encoded)")
        await expectOAuthError(.invalidClientMetadata) {
            _ = try await endpoint.register(
                json: Data(#"{"token_endpoint_auth_method":"private_key_jwt","redirect_uris":["https://a.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}}"#.utf8),
                initialAccessToken: nil)
        }
    }
}

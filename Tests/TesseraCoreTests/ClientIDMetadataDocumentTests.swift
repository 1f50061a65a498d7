import Foundation
import TesseraCore
import TesseraTesting
import Testing

@Suite("Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document)")
struct ClientIDMetadataDocumentTests {
    static let url = "https://agent.example/oauth/client.json"
    static let policy = ClientIDMetadataDocument.Policy(scopes: ["openid", "read"], resources: ["https://mcp.example/mcp"])

    static func document(_ members: [String: Any] = [:], dropping: [String] = []) -> String {
        var object: [String: Any] = ["client_id": url, "client_name": "Agent", "redirect_uris": ["http://127.0.0.1:33418/callback"],
                                     "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none"]
        for (name, value) in members { object[name] = value }
        for name in dropping { object[name] = nil }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("which client_ids are metadata document URLs")
    func urls() {
        for yes in [Self.url, "https://agent.example/c", "https://agent.example:8443/a/b?x=1", "https://AGENT.example/c"] {
            #expect(ClientIDMetadataDocument.isClientIDURL(yes), "\(yes)")
        }
        for no in ["svc", "https://agent.example", "https://agent.example/", "http://agent.example/c", "https://agent.example/a/../c",
                   "https://agent.example/./c", "https://agent.example/%2e%2e/c", "https://agent.example/c#frag", "https://u:p@agent.example/c",
                   "https:///c", "ftp://agent.example/c", "https://agent.example/" + String(repeating: "a", count: 2100),
                   "http://127.0.0.1:8080/client.json"] {
            #expect(!ClientIDMetadataDocument.isClientIDURL(no), "\(no)")
        }
        #expect(ClientIDMetadataDocument.isClientIDURL("http://127.0.0.1:8080/client.json", allowLoopbackHTTP: true), "the development setting")
        #expect(!ClientIDMetadataDocument.isClientIDURL("http://10.0.0.1:8080/client.json", allowLoopbackHTTP: true))
    }

    @Test("a valid document becomes an unverified public client with the policy's scopes and resources")
    func accepted() throws {
        let client = try ClientIDMetadataDocument.client(from: Data(Self.document(["scope": "read write"]).utf8), clientID: Self.url,
                                                         policy: Self.policy, now: Date())
        #expect(client.id == Self.url && client.name == "Agent" && client.isPublic && client.secretDigest == nil)
        #expect(client.allowedScopes == ["read"], "the document's scope narrows the policy's, never widens it")
        #expect(client.grantTypes == [.authorizationCode, .refreshToken] && client.registeredAnonymously && client.requireConsent)
        #expect(client.resources == ["https://mcp.example/mcp"])
        let unnamed = try ClientIDMetadataDocument.client(from: Data(Self.document(dropping: ["client_name"]).utf8), clientID: Self.url,
                                                          policy: Self.policy, now: Date())
        #expect(unnamed.name == "agent.example", "without a name the host is shown")
        let keyed = try ClientIDMetadataDocument.client(
            from: Data(Self.document(["token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://agent.example/jwks.json"]).utf8),
            clientID: Self.url, policy: Self.policy, now: Date())
        #expect(keyed.authMethod == .privateKeyJWT && keyed.jwksURI == "https://agent.example/jwks.json")
    }

    @Test("each refusal: client_id mismatch, secrets, methods, grants, redirects, names, keys, not JSON")
    func refusals() {
        let cases: [(String, String)] = [
            ("client_id of another URL", Self.document(["client_id": "https://agent.example/oauth/other.json"])),
            ("client_id with a trailing slash", Self.document(["client_id": Self.url + "/"])),
            ("client_id differing in case", Self.document(["client_id": Self.url.uppercased()])),
            ("client_id missing", Self.document(dropping: ["client_id"])),
            ("a client secret", Self.document(["client_secret": "s3cret"])),
            ("client_secret_basic", Self.document(["token_endpoint_auth_method": "client_secret_basic"])),
            ("private_key_jwt without keys", Self.document(["token_endpoint_auth_method": "private_key_jwt"])),
            ("client_credentials", Self.document(["grant_types": ["client_credentials"]])),
            ("implicit", Self.document(["grant_types": ["authorization_code", "implicit"], "response_types": ["code", "token"]])),
            ("no redirect URIs", Self.document(dropping: ["redirect_uris"])),
            ("an http redirect off loopback", Self.document(["redirect_uris": ["http://agent.example/cb"]])),
            ("a redirect with a fragment", Self.document(["redirect_uris": ["https://agent.example/cb#x"]])),
            ("a name imitating the server", Self.document(["client_name": "Tessera"])),
            ("a name with controls", Self.document(["client_name": "Agent\u{202E}evil"])),
            ("JSON that is not an object", "[1,2]"),
            ("not JSON", "<html>client</html>"),
        ]
        for (name, document) in cases {
            #expect(throws: OAuthError.self, "\(name)") {
                _ = try ClientIDMetadataDocument.client(from: Data(document.utf8), clientID: Self.url, policy: Self.policy, now: Date())
            }
        }
    }

    @Test("documents are cached within the bounds, refusals briefly, hosts by policy; each fetch and refusal audited")
    func cacheAndPolicy() async throws {
        let clock = FixedClock()
        let audit = RecordingAuditSink()
        let fetcher = MemoryDocuments()
        fetcher.publish(Self.document(), at: Self.url)
        fetcher.maxAge = 5  // below the minimum (60 s): cached for 60 s
        var policy = Self.policy
        policy.maximumCacheAge = 600
        let documents = ClientIDMetadataDocuments(policy: policy, fetcher: fetcher, clock: clock, audit: audit)
        let directory = ClientDirectory(store: MemoryStore(), documents: documents)
        #expect(try await directory.client(id: Self.url)?.name == "Agent")
        #expect(try await directory.client(id: Self.url)?.name == "Agent")
        #expect(fetcher.fetchCount == 1)
        clock.advance(by: 61)
        fetcher.publish(Self.document(["client_name": "Agent Two"]), at: Self.url)
        #expect(try await directory.client(id: Self.url)?.name == "Agent Two", "a change is seen once the cached copy ages out")
        #expect(fetcher.fetchCount == 2)

        // A refused document is not fetched again for a minute (no amplification).
        let bad = "https://agent.example/bad.json"
        fetcher.publish(Self.document(["client_id": Self.url]), at: bad)
        for _ in 0..<5 { await #expect(throws: OAuthError.self) { _ = try await directory.client(id: bad) } }
        #expect(fetcher.fetchCount == 3)
        #expect(audit.events.contains { $0.kind == .clientMetadataDocumentRefused && $0.clientID == bad })
        #expect(audit.events.contains { $0.kind == .clientMetadataDocumentFetched && $0.detail["host"] == "agent.example" })

        // Host policy: blocked beats allowed; an allow-list excludes everything else — without fetching.
        let blocked = ClientIDMetadataDocuments(policy: .init(allowedHosts: ["agent.example"], blockedHosts: ["AGENT.example"], scopes: ["read"]),
                                                fetcher: fetcher, clock: clock, audit: audit)
        await #expect(throws: OAuthError.self) { _ = try await ClientDirectory(store: MemoryStore(), documents: blocked).client(id: Self.url) }
        let allowList = ClientIDMetadataDocuments(policy: .init(allowedHosts: ["other.example"], scopes: ["read"]), fetcher: fetcher, clock: clock, audit: audit)
        await #expect(throws: OAuthError.self) { _ = try await ClientDirectory(store: MemoryStore(), documents: allowList).client(id: Self.url) }
        #expect(fetcher.fetchCount == 3)

        // Off: a URL client_id is an ordinary (unknown) id.
        #expect(try await ClientDirectory(store: MemoryStore(), documents: nil).client(id: Self.url) == nil)
    }

    @Test("/authorize with a document client: only the document's redirect URIs, PKCE required, consent shows the host")
    func authorize() async throws {
        let fetcher = MemoryDocuments()
        fetcher.publish(Self.document(), at: Self.url)
        let clock = FixedClock()
        let directory = ClientDirectory(store: MemoryStore(), documents: ClientIDMetadataDocuments(policy: Self.policy, fetcher: fetcher, clock: clock,
                                                                                                   audit: RecordingAuditSink()))
        let challenge = PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        let good: [(String, String)] = [("client_id", Self.url), ("redirect_uri", "http://127.0.0.1:33418/callback"), ("response_type", "code"),
                                        ("code_challenge", challenge), ("code_challenge_method", "S256"), ("scope", "read")]
        let request = try await AuthorizationRequest.validate(good, clients: directory)
        #expect(request.client.id == Self.url)
        for (name, value) in [("redirect_uri", "http://127.0.0.1:33418/other"), ("redirect_uri", "https://evil.example/cb"),
                              ("redirect_uri", "http://127.0.0.1:33418/callback/"), ("redirect_uri", "http://localhost:33418/callback")] {
            let attempt = good.map { $0.0 == name ? ($0.0, value) : $0 }
            await #expect(throws: (any Error).self, "\(value)") { _ = try await AuthorizationRequest.validate(attempt, clients: directory) }
        }
        let withoutPKCE = good.filter { !$0.0.hasPrefix("code_challenge") }
        await #expect(throws: (any Error).self) { _ = try await AuthorizationRequest.validate(withoutPKCE, clients: directory) }
    }
}

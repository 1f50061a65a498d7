import Foundation
import TesseraCore
import TesseraTesting
import Testing

@Suite("Dynamic client registration (RFC 7591, RFC 7592) in the core")
struct RegistrationTests {
    let policy = ClientMetadata.Policy(allowedScopes: ["read", "write"], defaultScopes: ["read"], allowResources: true)

    func metadata(_ json: String, policy: ClientMetadata.Policy? = nil) throws(OAuthError) -> ClientMetadata {
        try ClientMetadata(json: Data(json.utf8), policy: policy ?? self.policy)
    }

    func expectError(_ code: OAuthError.Code, _ json: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try metadata(json)
            Issue.record("accepted \(json)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error.errorDescription)", sourceLocation: sourceLocation)
        }
    }

    @Test("RFC 7591 §2: defaults are authorization_code, code and client_secret_basic; unknown members are ignored")
    func defaults() throws {
        let m = try metadata(#"{"redirect_uris": ["https://app.example/cb"], "logo_uri": "https://x", "client_name": "App"}"#)
        #expect(m.grantTypes == [.authorizationCode])
        #expect(m.responseTypes == ["code"])
        #expect(m.tokenEndpointAuthMethod == .clientSecretBasic)
        #expect(m.clientName == "App")
        let loopback = try metadata(#"{"redirect_uris": ["http://127.0.0.1:8765/cb", "http://localhost/cb", "http://[::1]:9/cb"], "token_endpoint_auth_method": "none"}"#)
        #expect(loopback.redirectURIs.count == 3)
    }

    @Test("OIDC Registration §2: id_token_signed_response_alg is RS256 by default, ES256 on request, nothing else")
    func idTokenAlgorithm() throws {
        #expect(try metadata(#"{"redirect_uris": ["https://app.example/cb"]}"#).idTokenAlgorithm == .rs256)
        #expect(try metadata(#"{"redirect_uris": ["https://app.example/cb"], "id_token_signed_response_alg": "ES256"}"#).idTokenAlgorithm == .es256)
        for alg in ["none", "HS256", "PS256"] {
            expectError(.invalidClientMetadata, #"{"redirect_uris": ["https://app.example/cb"], "id_token_signed_response_alg": "\#(alg)"}"#)
        }
    }

    @Test("RFC 7591 §3.2.2: bad redirect URIs are invalid_redirect_uri")
    func redirectURIs() {
        for uri in ["http://app.example/cb", "https://app.example/cb#x", "https://*.example/cb", "/relative", "javascript:alert(1)", "http://127.0.0.2.evil/cb"] {
            expectError(.invalidRedirectURI, #"{"redirect_uris": ["\#(uri)"]}"#)
        }
        expectError(.invalidRedirectURI, #"{"grant_types": ["authorization_code"]}"#)
    }

    @Test("RFC 7591 §2.1, §3.2.2: unknown, inconsistent or unsupported metadata is invalid_client_metadata")
    func invalidMetadata() throws {
        let cb = #""redirect_uris": ["https://app.example/cb"]"#
        expectError(.invalidClientMetadata, #"{\#(cb), "grant_types": ["urn:unknown"]}"#)
        expectError(.invalidClientMetadata, #"{\#(cb), "grant_types": ["password"]}"#)
        expectError(.invalidClientMetadata, #"{\#(cb), "response_types": ["id_token"]}"#)
        expectError(.invalidClientMetadata, #"{\#(cb), "grant_types": ["authorization_code"], "response_types": ["token"]}"#)
        expectError(.invalidClientMetadata, #"{\#(cb), "grant_types": ["implicit"], "response_types": ["code"]}"#)
        expectError(.invalidClientMetadata, #"{\#(cb), "token_endpoint_auth_method": "private_key_jwt"}"#)
        expectError(.invalidClientMetadata, #"{"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}"#)
        #expect(try metadata(#"{\#(cb), "scope": "admin read"}"#).scope == ["read"], "scopes outside the policy are dropped, not granted")
        expectError(.invalidClientMetadata, #"{\#(cb), "redirect_uris": "https://app.example/cb"}"#)
        expectError(.invalidClientMetadata, #"[1, 2]"#)
        expectError(.invalidClientMetadata, #"{\#(cb), "resources": ["https://api.example#x"]}"#)
        do {
            _ = try metadata(#"{\#(cb), "resources": ["https://api.example"]}"#,
                             policy: .init(allowedScopes: ["read"], defaultScopes: ["read"], allowResources: false))
            Issue.record("open registration accepted resources")
        } catch { #expect(error.code == .invalidClientMetadata) }
    }

    func endpoint(_ h: CoreHarness, open: Bool) -> RegistrationEndpoint {
        RegistrationEndpoint(settings: .init(issuer: Fixtures.issuer, openRegistration: open, allowedScopes: ["read", "write"], defaultScopes: ["read"]),
                             storage: h.storage, clock: h.clock, audit: RecordingAuditSink())
    }

    @Test("RFC 7591 §3, RFC 7592 §2: register with an initial access token, read, update (token rotates), delete")
    func registerReadUpdateDelete() async throws {
        let h = try await CoreHarness()
        let registration = endpoint(h, open: false)
        let body = Data(#"{"redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code", "refresh_token"], "client_name": "App"}"#.utf8)
        await expectOAuthError(.invalidToken) { _ = try await registration.register(json: body, initialAccessToken: nil) }
        await expectOAuthError(.invalidToken) { _ = try await registration.register(json: body, initialAccessToken: "nope") }
        let initial = try await registration.initialTokens.issue(lifetime: 3600)
        let info = try await registration.register(json: body, initialAccessToken: initial.token)
        #expect(info.clientSecret != nil && info.clientSecretExpiresAt == 0)
        #expect(info.registrationClientURI == Fixtures.issuer + "/register/" + info.clientID)
        #expect(info.responseTypes == ["code"] && info.scope == "read")
        let stored = try #require(try await h.storage.client(id: info.clientID))
        #expect(stored.secretDigest == Secrets.digest(info.clientSecret!), "only the digest is stored")
        #expect(stored.registrationTokenDigest == Secrets.digest(info.registrationAccessToken!))

        let rat = try #require(info.registrationAccessToken)
        #expect(try await registration.read(clientID: info.clientID, registrationAccessToken: rat).clientName == "App")
        await expectOAuthError(.invalidToken) { _ = try await registration.read(clientID: info.clientID, registrationAccessToken: "wrong") }
        await expectOAuthError(.invalidToken) { _ = try await registration.read(clientID: "ghost", registrationAccessToken: rat) }

        let update = Data(#"{"client_id": "\#(info.clientID)", "redirect_uris": ["https://app.example/new"], "client_name": "Renamed"}"#.utf8)
        let updated = try await registration.update(clientID: info.clientID, registrationAccessToken: rat, json: update)
        #expect(updated.redirectURIs == ["https://app.example/new"] && updated.clientName == "Renamed")
        let newRat = try #require(updated.registrationAccessToken)
        #expect(newRat != rat)
        await expectOAuthError(.invalidToken) { _ = try await registration.read(clientID: info.clientID, registrationAccessToken: rat) }

        try await registration.delete(clientID: info.clientID, registrationAccessToken: newRat)
        #expect(try await h.storage.client(id: info.clientID) == nil)

        h.clock.advance(by: 3601)
        await expectOAuthError(.invalidToken) { _ = try await registration.register(json: body, initialAccessToken: initial.token) }
    }

    @Test("open registration needs no token but cannot register resources; public clients get no secret")
    func openRegistration() async throws {
        let h = try await CoreHarness()
        let registration = endpoint(h, open: true)
        let info = try await registration.register(json: Data(#"{"redirect_uris": ["http://127.0.0.1:3000/callback"], "token_endpoint_auth_method": "none"}"#.utf8),
                                                   initialAccessToken: nil)
        #expect(info.clientSecret == nil && info.clientSecretExpiresAt == nil)
        #expect(try await h.storage.client(id: info.clientID)?.isPublic == true)
        await expectOAuthError(.invalidClientMetadata) {
            _ = try await registration.register(json: Data(#"{"grant_types": ["client_credentials"], "response_types": [], "resources": ["https://api.example"]}"#.utf8),
                                                initialAccessToken: nil)
        }
        await expectOAuthError(.invalidClientMetadata) {
            _ = try await registration.register(json: Data(#"{"grant_types": ["implicit"], "response_types": ["token"], "redirect_uris": ["https://spa.example/"]}"#.utf8),
                                                initialAccessToken: nil)
        }
    }
}

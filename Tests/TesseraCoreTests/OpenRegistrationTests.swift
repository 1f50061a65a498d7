import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Issue 20, items 1 and 7 in the core: what an anonymous registrant gets (RFC 7591 §3, §5), who may introspect
/// whose tokens (RFC 7662 §4), and remembered consent after an RFC 7592 update.
@Suite("Open registration limits and consent after client updates")
struct OpenRegistrationTests {
    func endpoint(_ h: CoreHarness, open: Bool = true) -> RegistrationEndpoint {
        RegistrationEndpoint(settings: .init(issuer: Fixtures.issuer, openRegistration: open, allowedScopes: ["openid", "profile", "email", "read", "write"],
                                             defaultScopes: ["read"]),
                             storage: h.storage, clock: h.clock, audit: RecordingAuditSink())
    }

    func json(_ text: String) -> Data { Data(text.utf8) }

    @Test("RFC 7591 §5: anonymous registration refuses client_credentials and password; an initial access token allows client_credentials")
    func userlessGrantsNeedAnInitialAccessToken() async throws {
        let h = try await CoreHarness()
        let registration = endpoint(h)
        for grants in [#"["client_credentials"]"#, #"["authorization_code", "client_credentials"]"#, #"["password"]"#] {
            await expectOAuthError(.invalidClientMetadata) {
                _ = try await registration.register(json: json(#"{"grant_types": \#(grants), "redirect_uris": ["https://app.example/cb"], "scope": "read"}"#),
                                                    initialAccessToken: nil)
            }
        }
        let initial = try await registration.initialTokens.issue(lifetime: 600)
        let machine = try await registration.register(json: json(#"{"grant_types": ["client_credentials"], "scope": "read"}"#),
                                                      initialAccessToken: initial.token)
        #expect(machine.grantTypes == ["client_credentials"] && machine.scope == "read")
        #expect(try await h.storage.client(id: machine.clientID)?.registeredAnonymously == false)
    }

    @Test("RFC 7591 §3.2.1: an anonymous client's scopes come only from openRegistrationScopes; it is marked as anonymous")
    func anonymousScopes() async throws {
        let h = try await CoreHarness()
        let registration = endpoint(h)
        let asked = try await registration.register(json: json(#"{"redirect_uris": ["https://app.example/cb"], "scope": "openid read write email"}"#),
                                                    initialAccessToken: nil)
        #expect(asked.scope == "email openid", "API scopes are dropped")
        let silent = try await registration.register(json: json(#"{"redirect_uris": ["https://app.example/cb"]}"#), initialAccessToken: nil)
        #expect(ScopeSet(silent.scope.split(separator: " ").map(String.init)) == ["openid", "profile", "email"])
        #expect(try await h.storage.client(id: silent.clientID)?.registeredAnonymously == true)

        // RFC 7592 §2.2: an update stays within the same limits.
        let rat = try #require(asked.registrationAccessToken)
        await expectOAuthError(.invalidClientMetadata) {
            _ = try await registration.update(clientID: asked.clientID, registrationAccessToken: rat,
                                              json: json(#"{"client_id": "\#(asked.clientID)", "grant_types": ["authorization_code", "client_credentials"], "redirect_uris": ["https://app.example/cb"]}"#))
        }
        let widened = try await registration.update(clientID: asked.clientID, registrationAccessToken: rat,
                                                    json: json(#"{"client_id": "\#(asked.clientID)", "redirect_uris": ["https://app.example/cb"], "scope": "openid read"}"#))
        #expect(widened.scope == "openid")
    }

    @Test("RFC 6749 §4.4: a client marked as anonymously registered cannot use client_credentials even if it has the grant")
    func legacyAnonymousClientCredentials() async throws {
        let h = try await CoreHarness()
        var (client, secret) = Fixtures.confidentialClient(id: "old-open", grants: [.clientCredentials], scopes: ["read"])
        client.registeredAnonymously = true
        try await h.storage.insertClient(client)
        await expectOAuthError(.unauthorizedClient) { _ = try await h.token([("grant_type", "client_credentials")], basic: (client.id, secret)) }
    }

    @Test("RFC 7662 §4: an anonymously registered client learns only about its own tokens; an operator's client about all")
    func introspectionEntitlement() async throws {
        let h = try await CoreHarness()
        let api = try await h.confidentialClient(id: "api", grants: [.clientCredentials], scopes: ["read"])
        let victim = try await h.confidentialClient(id: "victim", grants: [.clientCredentials], scopes: ["read"])
        let theirs = try await h.token([("grant_type", "client_credentials"), ("scope", "read")], basic: victim)

        // A self-registered confidential client with its own (user-bound) tokens.
        let registration = endpoint(h)
        let info = try await registration.register(json: json(#"{"redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code", "refresh_token"]}"#),
                                                   initialAccessToken: nil)
        let anonymous = (info.clientID, try #require(info.clientSecret))
        let user = try await h.addUser(scopes: ["openid", "read"])
        let own = try await h.services.accessTokens.mint(subject: user.id, clientID: info.clientID, scopes: ["openid"],
                                                          audience: h.services.settings.defaultAudience, now: h.clock.now)

        func introspect(_ token: String, as caller: (String, String), hint: String? = nil) async throws -> IntrospectionResponse {
            var parameters = [("token", token)]
            if let hint { parameters.append(("token_type_hint", hint)) }
            return try await IntrospectionEndpoint(services: h.services, storage: h.storage).handle(try TokenRequest(parameters: parameters, basicCredentials: caller))
        }
        #expect(try await introspect(theirs.accessToken, as: api).active, "the operator's resource server sees other clients' tokens")
        #expect(try await introspect(theirs.accessToken, as: anonymous) == .inactive)
        #expect(try await introspect(theirs.accessToken, as: anonymous, hint: "refresh_token") == .inactive)
        let mine = try await introspect(own.token, as: anonymous)
        #expect(mine.active && mine.clientID == info.clientID, "its own token is described")
    }

    @Test("RFC 7592 §2.2: changing redirect URIs or the name forgets every user's consent; other changes keep it")
    func updateInvalidatesConsent() async throws {
        let h = try await CoreHarness()
        let registration = endpoint(h, open: false)
        let initial = try await registration.initialTokens.issue(lifetime: 600)
        let info = try await registration.register(json: json(#"{"redirect_uris": ["https://app.example/cb"], "client_name": "App", "scope": "openid read"}"#),
                                                   initialAccessToken: initial.token)
        func consent(_ subject: String) async throws {
            try await h.storage.saveConsent(ConsentRecord(subject: subject, clientID: info.clientID, scopes: ["openid"], grantedAt: h.clock.now,
                                                          updatedAt: h.clock.now))
        }
        func remembered() async throws -> Int {
            var count = 0
            for subject in ["u-1", "u-2"] where try await h.storage.consent(subject: subject, clientID: info.clientID) != nil { count += 1 }
            return count
        }
        try await consent("u-1")
        try await consent("u-2")
        var rat = try #require(info.registrationAccessToken)
        func update(_ body: String) async throws {
            rat = try #require(try await registration.update(clientID: info.clientID, registrationAccessToken: rat,
                                                              json: json(#"{"client_id": "\#(info.clientID)", \#(body)}"#)).registrationAccessToken)
        }
        try await update(#""redirect_uris": ["https://app.example/cb"], "client_name": "App", "scope": "openid""#)
        #expect(try await remembered() == 2, "same URIs and name: consent stays")
        try await update(#""redirect_uris": ["https://app.example/cb", "https://evil.example/cb"], "client_name": "App""#)
        #expect(try await remembered() == 0, "a new redirect URI: consent forgotten for all users")
        try await consent("u-1")
        try await update(#""redirect_uris": ["https://app.example/cb", "https://evil.example/cb"], "client_name": "Renamed""#)
        #expect(try await remembered() == 0, "a new name: consent forgotten")
    }
}

import Foundation
import JWTKit
import TesseraCore
import TesseraTesting
import Testing

/// `/userinfo` in the core (OIDC Core §5.3): the same token checks as introspection (RFC 7662, shared
/// `AccessTokenStatusCheck`), plus audience restriction (RFC 8707, RFC 9700 §2.3). No HTTP; a fixed clock.
@Suite("UserInfo endpoint (core)")
struct UserInfoTests {
    static let other = "https://api.other.example"

    /// A harness with a confidential client allowed `openid profile` and the resources `other` and the
    /// userinfo URL, and a user allowed the same scopes.
    func harness() async throws -> (h: CoreHarness, basic: (id: String, secret: String), user: User) {
        let h = try await CoreHarness()
        var (client, secret) = Fixtures.confidentialClient(scopes: ["openid", "profile", "read"])
        client.resources = [Self.other, Fixtures.issuer + "/userinfo"]
        try await h.storage.insertClient(client)
        let user = try await h.addUser(scopes: ["openid", "profile", "read"])
        return (h, (client.id, secret), user)
    }

    func token(_ h: CoreHarness, _ basic: (id: String, secret: String), scope: String = "openid profile", resources: [String] = []) async throws -> String {
        try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland"), ("scope", scope)]
                          + resources.map { ("resource", $0) }, basic: basic).accessToken
    }

    func introspect(_ h: CoreHarness, _ token: String, as client: (id: String, secret: String)) async throws -> IntrospectionResponse {
        try await IntrospectionEndpoint(services: h.services, storage: h.storage).handle(try TokenRequest(parameters: [("token", token)], basicCredentials: client))
    }

    @Test("OIDC Core §5.3.2: a default-audience openid token gets sub and the profile claims")
    func answers() async throws {
        let (h, basic, user) = try await harness()
        let info = try await UserInfoEndpoint(services: h.services, storage: h.storage).handle(accessToken: try await token(h, basic))
        #expect(info == ["sub": user.id, "preferred_username": "alice"])
        // A token minted for the userinfo endpoint itself (resource = its URL) is also meant for it.
        let own = try await token(h, basic, resources: [Fixtures.issuer + "/userinfo"])
        #expect(try await UserInfoEndpoint(services: h.services, storage: h.storage).handle(accessToken: own)["sub"] == user.id)
    }

    @Test("RFC 8707 / RFC 9700 §2.3: a token whose aud is only another resource is invalid_token here")
    func otherAudience() async throws {
        let (h, basic, _) = try await harness()
        let foreign = try await token(h, basic, resources: [Self.other])
        #expect(try decodeJWT(foreign).claims["aud"] as? String == Self.other)
        #expect(try await introspect(h, foreign, as: basic).active, "the token itself is live: only its audience is wrong")
        await expectOAuthError(.invalidToken) { _ = try await UserInfoEndpoint(services: h.services, storage: h.storage).handle(accessToken: foreign) }
        // Naming the issuer as well makes it usable here.
        let both = try await token(h, basic, resources: [Self.other, Fixtures.issuer + "/userinfo"])
        #expect(try await UserInfoEndpoint(services: h.services, storage: h.storage).handle(accessToken: both)["sub"] != nil)
    }

    @Test("RFC 7009: a revoked access token is invalid_token, on this node at once and from another node's revocation")
    func revoked() async throws {
        let (h, basic, _) = try await harness()
        let endpoint = UserInfoEndpoint(services: h.services, storage: h.storage)
        let here = try await token(h, basic)
        _ = try await endpoint.handle(accessToken: here)
        let outcome = try await RevocationEndpoint(services: h.services, storage: h.storage).handle(RevocationRequest(try TokenRequest(parameters: [("token", here)], basicCredentials: basic)))
        guard case .accessToken = outcome else { Issue.record("expected an access token revocation, got \(outcome)"); return }
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: here) }
        // Revoked in the database by another node, never seen here before.
        let elsewhere = try await token(h, basic)
        let jti = try #require(try decodeJWT(elsewhere).claims["jti"] as? String)
        try await h.storage.revokeAccessToken(jti: jti, clientID: basic.id, expiresAt: h.clock.now.addingTimeInterval(900), at: h.clock.now)
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: elsewhere) }
    }

    @Test("RFC 7592 §2.3: the tokens of a deleted client are invalid_token (within the recheck interval once seen)")
    func deletedClient() async throws {
        let (h, basic, _) = try await harness()
        let endpoint = UserInfoEndpoint(services: h.services, storage: h.storage)
        let seen = try await token(h, basic)
        let unseen = try await token(h, basic)
        _ = try await endpoint.handle(accessToken: seen)
        #expect(try await h.storage.deleteClient(id: basic.id))
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: unseen) }
        h.clock.advance(by: IntrospectionCache.defaultRecheckInterval)
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: seen) }
    }

    @Test("a disabled user, a subject that is no user, an expired token: invalid_token; no openid: insufficient_scope")
    func userAndScope() async throws {
        let (h, basic, user) = try await harness()
        let endpoint = UserInfoEndpoint(services: h.services, storage: h.storage)
        let noOpenID = try await token(h, basic, scope: "read")
        await expectOAuthError(.insufficientScope) { _ = try await endpoint.handle(accessToken: noOpenID) }
        let machine = try await h.token([("grant_type", "client_credentials"), ("scope", "openid")], basic: basic).accessToken
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: machine) }
        let live = try await token(h, basic)
        try await h.storage.setDisabled(userID: user.id, disabled: true)
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: live) }
        try await h.storage.setDisabled(userID: user.id, disabled: false)
        _ = try await endpoint.handle(accessToken: live)
        h.clock.advance(by: h.services.settings.accessTokenLifetime)
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: live) }
        await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: "garbage") }
    }

    @Test("RFC 7515 §2: padded and non-canonical spellings of a valid token are refused at userinfo and introspection")
    func strictSpellings() async throws {
        let (h, basic, _) = try await harness()
        let endpoint = UserInfoEndpoint(services: h.services, storage: h.storage)
        let valid = try await token(h, basic)
        _ = try await endpoint.handle(accessToken: valid) // cached: the variants must not ride on it
        let variants = TokenSpellings.variants(of: valid)
        #expect(variants.count == 2, "an ES256 signature (64 bytes) leaves pad bits in its last character")
        for variant in variants {
            await expectOAuthError(.invalidToken) { _ = try await endpoint.handle(accessToken: variant) }
            #expect(try await introspect(h, variant, as: basic) == .inactive, "\(variant)")
            // Why the pre-check exists: jwt-kit alone reads the variant as the valid token.
            let lenient = try? await h.services.accessTokens.keys.current.collection.verify(variant, as: IssuedAccessTokenClaims.self)
            #expect(lenient != nil, "jwt-kit alone accepts \(variant)")
        }
        #expect(try await introspect(h, valid, as: basic).active)
    }

    @Test("a key-load failure is server_error, not invalid_token or an inactive token")
    func keyFailureIsNotInvalidToken() async throws {
        let (h, basic, _) = try await harness()
        let valid = try await token(h, basic)
        let unloaded = SigningKeyManager(store: h.storage, clock: h.clock, retention: 900)
        let minter = AccessTokenMinter(issuer: Fixtures.issuer, lifetime: 900, algorithm: .es256, keys: unloaded)
        let services = GrantServices(settings: h.services.settings, clock: h.clock, accessTokens: minter,
                                     passwords: h.hasher, audit: RecordingAuditSink())
        await expectOAuthError(.serverError) { _ = try await UserInfoEndpoint(services: services, storage: h.storage).handle(accessToken: valid) }
        await expectOAuthError(.serverError) {
            _ = try await IntrospectionEndpoint(services: services, storage: h.storage).handle(try TokenRequest(parameters: [("token", valid)], basicCredentials: basic))
        }
    }
}

/// RFC 7515 §2 in the server's other JWT reader: the `id_token_hint` of RP-initiated logout.
@Suite("Strict JWS spelling of id_token_hint")
struct IDTokenHintSpellingTests {
    @Test("a valid ID token is a hint; its padded and non-canonical spellings are not")
    func spellings() async throws {
        let h = try await CoreHarness()
        for algorithm in SigningAlgorithm.allCases {
            let minter = IDTokenMinter(issuer: Fixtures.issuer, lifetime: 300, keys: h.keys, algorithm: algorithm)
            let idToken = try await minter.mint(subject: "user-1", clientID: "photos", nonce: nil, authTime: nil, now: h.clock.now)
            let tokens = OpenIDTokens(services: h.services)
            #expect(await tokens.verifyIDTokenHint(idToken)?.sub == "user-1")
            let variants = TokenSpellings.variants(of: idToken)
            #expect(variants.count == 2, "\(algorithm)")
            for variant in variants { #expect(await tokens.verifyIDTokenHint(variant) == nil, "\(algorithm) \(variant)") }
        }
    }
}

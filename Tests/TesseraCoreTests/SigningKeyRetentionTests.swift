import Foundation
import JWTKit
import TesseraCore
import TesseraTesting
import Testing
import TesseraJOSE

/// Issue 20, item 4: a retired signing key stays published (and verifies logout hints) until every token of
/// every kind it signed has expired.
@Suite("Signing key retention (RFC 7517 rollover, OIDC RP-Initiated Logout §2)")
struct SigningKeyRetentionTests {
    @Test("retention is the longest lifetime among access and ID tokens, plus the margin")
    func retentionFromSettings() async throws {
        var settings = OAuthSettings(issuer: Fixtures.issuer)
        settings.accessTokenLifetime = 120
        settings.idTokenLifetime = 3600
        #expect(settings.signingKeyRetention == 3600 + OAuthSettings.signingKeyRetentionMargin)
        settings.accessTokenLifetime = 7200
        #expect(settings.signingKeyRetention == 7200 + OAuthSettings.signingKeyRetentionMargin)
        let core = try await CoreHarness(settings: settings)
        #expect(core.keys.retention == settings.signingKeyRetention, "the test harness uses the same rule as the server")
    }

    @Test("an ID token from before a rotation verifies and works as id_token_hint until it expires; then its key goes")
    func idTokenOutlivesShortAccessTokens() async throws {
        var settings = OAuthSettings(issuer: Fixtures.issuer)
        settings.accessTokenLifetime = 120 // much shorter than the ID token: retention must follow the ID token
        let core = try await CoreHarness(settings: settings)
        try await core.storage.insertClient(Client(id: "rp", name: "RP", secretDigest: nil, authMethod: .none, grantTypes: [.authorizationCode],
                                                   allowedScopes: ["openid"], redirectURIs: ["https://rp.example/bye"], createdAt: core.clock.now))
        let idToken = try await IDTokenMinter(issuer: Fixtures.issuer, lifetime: settings.idTokenLifetime, keys: core.keys)
            .mint(subject: "u-1", clientID: "rp", nonce: nil, authTime: core.clock.now, now: core.clock.now)
        let oldKid = try #require(try core.keys.current.activeKids[.rs256])
        #expect(JWSCompactForm.keyID(idToken) == oldKid)

        core.clock.advance(by: 10)
        let retiredAt = core.clock.now
        try await core.keys.rotate()
        #expect(try core.keys.current.activeKids[.rs256] != oldKid)
        let logout = LogoutEndpoint(services: core.services, storage: core.storage)
        let request = LogoutEndpoint.Request(idTokenHint: idToken, postLogoutRedirectURI: "https://rp.example/bye")

        // Long after every access token of the old key expired, just before the ID token does.
        core.clock.advance(by: settings.idTokenLifetime - 10 - 1)
        try await core.keys.reload()
        #expect(try published(core).contains(oldKid), "still in the JWKS while an ID token it signed is valid")
        _ = try await core.keys.current.collection.verify(idToken, as: IDTokenClaims.self)
        #expect(try await logout.decide(request, signedInUserID: nil) == .signOut(redirect: "https://rp.example/bye"))
        #expect(try await core.keys.purgeExpired().isEmpty)

        // Expired, but within the margin: an expired hint is still a hint (§2) while its key is published.
        core.clock.advance(by: OAuthSettings.signingKeyRetentionMargin)
        try await core.keys.reload()
        #expect(core.clock.now < retiredAt.addingTimeInterval(core.keys.retention))
        #expect(try published(core).contains(oldKid))
        #expect(try await logout.decide(request, signedInUserID: nil) == .signOut(redirect: "https://rp.example/bye"))

        // retiredAt + max(lifetimes) + margin: nothing it signed can be valid; it is unpublished and purged.
        core.clock.advance(by: retiredAt.addingTimeInterval(core.keys.retention).timeIntervalSince(core.clock.now))
        try await core.keys.reload()
        #expect(try !published(core).contains(oldKid))
        guard case .refuse = try await logout.decide(request, signedInUserID: nil) else {
            Issue.record("a hint whose key is gone must not verify")
            return
        }
        #expect(try await core.keys.purgeExpired().contains(oldKid))
    }

    func published(_ core: CoreHarness) throws -> [String] {
        let jwks = try JSONSerialization.jsonObject(with: try core.keys.current.jwksJSON) as? [String: [[String: String]]]
        return (jwks?["keys"] ?? []).compactMap { $0["kid"] }
    }
}

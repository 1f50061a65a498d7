import Foundation
import TesseraCore
import TesseraStore
import TesseraTesting
import Testing

/// The authorization code grant end to end on each real store: 20 concurrent `/token` redemptions of
/// one code, exactly one wins, and the losers' replay revokes what the winner got (RFC 6749 §4.1.2).
@Suite("Authorization code redemption on every store")
struct CodeRedemptionTests {
    @Test("20 concurrent redemptions: one token response, and the losing replays revoke its refresh family and access token", arguments: StoreKind.available)
    func concurrent(kind: StoreKind) async throws {
        try await withFreshStore(kind) { store in
            let core = try await CoreHarness(storage: store)
            let user = try await Fixtures.user(scopes: ["openid", "read"], hasher: core.hasher)
            try await store.insertUser(user)
            try await store.insertClient(Client(id: "spa", name: "SPA", secretDigest: nil, authMethod: .none,
                                                grantTypes: [.authorizationCode, .refreshToken], allowedScopes: ["openid", "read"],
                                                redirectURIs: ["https://spa.example/cb"], createdAt: core.clock.now))
            let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
            let request = try await AuthorizationRequest.validate(
                [("client_id", "spa"), ("redirect_uri", "https://spa.example/cb"), ("response_type", "code"), ("scope", "openid read"),
                 ("code_challenge", PKCE.challenge(for: verifier)), ("code_challenge_method", "S256")], clients: store)
            let url = try await AuthorizationEndpoint(services: core.services, users: core.storage, consents: core.storage, codes: core.storage, mfaEnrollments: core.storage).approve(request, user: user, authTime: core.clock.now,
                                                                                      scopes: ["openid", "read"])
            let code = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "code" }?.value)
            let parameters = [("grant_type", "authorization_code"), ("code", code), ("client_id", "spa"),
                              ("redirect_uri", "https://spa.example/cb"), ("code_verifier", verifier)]
            let responses = await withTaskGroup(of: TokenResponse?.self) { group in
                for _ in 0..<20 { group.addTask { try? await core.tokenEndpoint.handle(try TokenRequest(parameters: parameters)) } }
                return await group.reduce(into: [TokenResponse]()) { if let r = $1 { $0.append(r) } }
            }
            #expect(responses.count == 1)
            let refresh = try #require(responses.first?.refreshToken)
            // The 19 losers were replays: the winner's refresh token, stored with the claim, is revoked.
            let record = try #require(try await store.refreshToken(digest: Secrets.digest(refresh)))
            #expect(record.revokedAt != nil)
            // ... and so is its access token, by jti.
            let claims = try decodeJWT(try #require(responses.first?.accessToken)).claims
            let jti = try #require(claims["jti"] as? String)
            #expect(try await store.isAccessTokenRevoked(jti: jti))
        }
    }
}

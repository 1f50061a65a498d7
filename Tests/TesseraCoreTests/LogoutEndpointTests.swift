import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Issue 20, item 2: OpenID Connect RP-Initiated Logout 1.0 decisions.
@Suite("RP-Initiated Logout decisions (OIDC RP-Initiated Logout 1.0 §2–3)")
struct LogoutEndpointTests {
    struct Setup {
        let core: CoreHarness
        let endpoint: LogoutEndpoint
        let idToken: String
    }

    func setup() async throws -> Setup {
        let core = try await CoreHarness()
        try await core.storage.insertClient(Client(id: "rp", name: "RP", secretDigest: nil, authMethod: .none, grantTypes: [.authorizationCode],
                                                   allowedScopes: ["openid"], redirectURIs: ["https://rp.example/bye", "https://rp.example/cb?x=1"],
                                                   createdAt: core.clock.now))
        let idToken = try await IDTokenMinter(issuer: Fixtures.issuer, lifetime: 3600, keys: core.keys)
            .mint(subject: "u-1", clientID: "rp", nonce: nil, authTime: core.clock.now, now: core.clock.now)
        return Setup(core: core, endpoint: LogoutEndpoint(services: core.services, storage: core.storage), idToken: idToken)
    }

    @Test("§3: without id_token_hint a registered post_logout_redirect_uri is not followed (no open redirect)")
    func noHintNoRedirect() async throws {
        let s = try await setup()
        let request = LogoutEndpoint.Request(clientID: "rp", postLogoutRedirectURI: "https://rp.example/bye", state: "s")
        #expect(try await s.endpoint.decide(request, signedInUserID: nil) == .signOut(redirect: nil))
        #expect(try await s.endpoint.decide(request, signedInUserID: "u-1") == .confirm, "a signed-in user is asked first")
        var confirmed = request
        confirmed.confirmedByUser = true
        #expect(try await s.endpoint.decide(confirmed, signedInUserID: "u-1") == .signOut(redirect: nil), "confirming signs out, still no redirect")
    }

    @Test("§2–3: a valid id_token_hint redirects to a registered URI with state; expiry of the hint is ignored")
    func hintRedirects() async throws {
        let s = try await setup()
        s.core.clock.advance(by: 7200)
        let request = LogoutEndpoint.Request(idTokenHint: s.idToken, postLogoutRedirectURI: "https://rp.example/cb?x=1", state: "a b")
        #expect(try await s.endpoint.decide(request, signedInUserID: nil) == .signOut(redirect: "https://rp.example/cb?x=1&state=a%20b"))
        #expect(try await s.endpoint.decide(request, signedInUserID: "u-1") == .signOut(redirect: "https://rp.example/cb?x=1&state=a%20b"))
        #expect(try await s.endpoint.decide(request, signedInUserID: "someone-else") == .confirm, "another user's hint: ask")
    }

    @Test("§2: bad hints, mismatched client_id and unregistered URIs are refused")
    func refusals() async throws {
        let s = try await setup()
        for request in [
            LogoutEndpoint.Request(idTokenHint: "not.a.jwt"),
            LogoutEndpoint.Request(idTokenHint: s.idToken, clientID: "other"),
            LogoutEndpoint.Request(idTokenHint: s.idToken, postLogoutRedirectURI: "https://evil.example/"),
            LogoutEndpoint.Request(clientID: "rp", postLogoutRedirectURI: "https://evil.example/"),
            LogoutEndpoint.Request(postLogoutRedirectURI: "https://rp.example/bye"),
        ] {
            guard case .refuse = try await s.endpoint.decide(request, signedInUserID: nil) else {
                Issue.record("accepted \(request)")
                continue
            }
        }
    }
}

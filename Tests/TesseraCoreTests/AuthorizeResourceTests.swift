import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// RFC 8707 `resource` at the authorization endpoint: validated against the client, remembered by the code,
/// used (or narrowed) at `/token`, used directly by the implicit flow.
@Suite("Resource indicators at /authorize (RFC 8707)")
struct AuthorizeResourceTests {
    static let a = "https://api.example/a"
    static let b = "https://api.example/b"

    /// A `BrowserCore` whose `spa` and `legacy` clients are registered for resources a and b.
    func make() async throws -> BrowserCore {
        let core = try await BrowserCore.make()
        for id in ["spa", "legacy"] {
            var client = try #require(try await core.core.storage.client(id: id))
            client.resources = [Self.a, Self.b]
            try await core.core.storage.updateClient(client)
        }
        return core
    }

    func codeRequest(_ resources: [String], state: String = "xyz") -> [(String, String)] {
        [("client_id", "spa"), ("redirect_uri", "https://spa.example/cb"), ("response_type", "code"), ("scope", "openid read"),
         ("state", state), ("code_challenge", BrowserCore.challenge), ("code_challenge_method", "S256")] + resources.map { ("resource", $0) }
    }

    func code(_ core: BrowserCore, resources: [String]) async throws -> String {
        let request = try await AuthorizationRequest.validate(codeRequest(resources), clients: core.core.storage)
        let url = try await core.endpoint.approve(request, user: core.user, authTime: core.core.clock.now,
                                                  scopes: try core.endpoint.grantedScopes(request, user: core.user))
        return try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "code" }?.value)
    }

    func exchange(_ core: BrowserCore, code: String, resources: [String] = []) async throws -> TokenResponse {
        try await core.core.token([("grant_type", "authorization_code"), ("code", code), ("client_id", "spa"),
                                   ("redirect_uri", "https://spa.example/cb"), ("code_verifier", BrowserCore.verifier)]
                                  + resources.map { ("resource", $0) })
    }

    func audience(_ token: String) throws -> [String] {
        let aud = try decodeJWT(token).claims["aud"]
        if let single = aud as? String { return [single] }
        return try #require(aud as? [String])
    }

    @Test("§2: resource may repeat; validated against the client's registered resources, else invalid_target by redirect")
    func validation() async throws {
        let core = try await make()
        let ok = try await AuthorizationRequest.validate(codeRequest([Self.a, Self.b, Self.a]), clients: core.core.storage)
        #expect(ok.resources == [Self.a, Self.b], "deduplicated, in order")
        #expect(ok.carriedParameters.filter { $0.0 == "resource" }.map(\.1) == [Self.a, Self.b], "carried through login and consent")
        #expect(try await AuthorizationRequest.validate(codeRequest([]), clients: core.core.storage).resources.isEmpty)
        for bad in [["https://other.example"], [Self.a, "https://other.example"], [Self.a + "#frag"], ["relative/path"], [""]] {
            do {
                _ = try await AuthorizationRequest.validate(codeRequest(bad, state: "st"), clients: core.core.storage)
                Issue.record("accepted \(bad)")
            } catch AuthorizationFailure.redirect(let error, let target) {
                #expect(error.code == .invalidTarget, "\(bad)")
                #expect(target.state == "st")
                #expect(AuthorizationRedirect.error(error, target: target, issuer: Fixtures.issuer).contains("error=invalid_target"))
            }
        }
    }

    @Test("the code's access token and refresh token get the authorized resources as audience")
    func codeAudience() async throws {
        let core = try await make()
        let response = try await exchange(core, code: try await code(core, resources: [Self.a, Self.b]))
        #expect(try audience(response.accessToken) == [Self.a, Self.b])
        let refreshed = try await core.core.token([("grant_type", "refresh_token"), ("refresh_token", try #require(response.refreshToken)),
                                                   ("client_id", "spa")])
        #expect(try audience(refreshed.accessToken) == [Self.a, Self.b], "the refresh token keeps the authorized audience")
        await expectOAuthError(.invalidTarget) {
            _ = try await core.core.token([("grant_type", "refresh_token"), ("refresh_token", try #require(refreshed.refreshToken)),
                                           ("client_id", "spa"), ("resource", "https://other.example")])
        }
    }

    @Test("§2.2: resource at /token may narrow what /authorize authorized, never widen it")
    func narrowing() async throws {
        let core = try await make()
        let narrowed = try await exchange(core, code: try await code(core, resources: [Self.a, Self.b]), resources: [Self.b])
        #expect(try audience(narrowed.accessToken) == [Self.b])
        let refreshed = try await core.core.token([("grant_type", "refresh_token"), ("refresh_token", try #require(narrowed.refreshToken)),
                                                   ("client_id", "spa")])
        #expect(try audience(refreshed.accessToken) == [Self.b], "the narrowed audience is the grant's audience")

        let onlyA = try await code(core, resources: [Self.a])
        await expectOAuthError(.invalidTarget) { _ = try await exchange(core, code: onlyA, resources: [Self.b]) }
    }

    @Test("without resource the default audience applies, and /token may still select a registered resource")
    func unchangedWithoutResource() async throws {
        let core = try await make()
        let plain = try await exchange(core, code: try await code(core, resources: []))
        #expect(try audience(plain.accessToken) == [Fixtures.issuer])
        let selected = try await exchange(core, code: try await code(core, resources: []), resources: [Self.a])
        #expect(try audience(selected.accessToken) == [Self.a])
    }

    @Test("a resource the client is no longer registered for is refused at /token")
    func deregistered() async throws {
        let core = try await make()
        let code = try await code(core, resources: [Self.a])
        var client = try #require(try await core.core.storage.client(id: "spa"))
        client.resources = [Self.b]
        try await core.core.storage.updateClient(client)
        await expectOAuthError(.invalidTarget) { _ = try await exchange(core, code: code) }
    }

    @Test("implicit: the access token's audience is the requested resources")
    func implicit() async throws {
        let core = try await make()
        for responseType in ["token", "id_token token"] {
            let request = try await AuthorizationRequest.validate(
                [("client_id", "legacy"), ("response_type", responseType), ("scope", "openid read"), ("nonce", "n"), ("resource", Self.b)],
                clients: core.core.storage)
            let url = try await core.endpoint.approve(request, user: core.user, authTime: core.core.clock.now, scopes: ["openid", "read"])
            let fragment = try #require(URLComponents(string: url)?.fragment)
            let token = try #require(URLComponents(string: "x:?" + fragment)?.queryItems?.first { $0.name == "access_token" }?.value)
            #expect(try audience(token) == [Self.b], "\(responseType)")
        }
        let plain = try await AuthorizationRequest.validate([("client_id", "legacy"), ("response_type", "token"), ("scope", "read")],
                                                           clients: core.core.storage)
        let url = try await core.endpoint.approve(plain, user: core.user, authTime: core.core.clock.now, scopes: ["read"])
        let token = try #require(URLComponents(string: "x:?" + (URLComponents(string: url)?.fragment ?? ""))?.queryItems?
            .first { $0.name == "access_token" }?.value)
        #expect(try audience(token) == [Fixtures.issuer])
    }
}

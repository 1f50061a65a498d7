import Crypto
import Foundation
import JWTKit
import TesseraCore
import TesseraTesting
import Testing

@Suite("PKCE (RFC 7636)")
struct PKCETests {
    @Test("Appendix B test vector: S256 challenge of the example verifier")
    func appendixB() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        #expect(PKCE.challenge(for: verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.verify(verifier: verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!PKCE.verify(verifier: verifier + "x", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
    }

    @Test("§4.1: verifiers are 43–128 unreserved characters")
    func grammar() {
        #expect(PKCE.isWellFormed(String(repeating: "a", count: 43)))
        #expect(PKCE.isWellFormed(String(repeating: "~", count: 128)))
        #expect(!PKCE.isWellFormed(String(repeating: "a", count: 42)))
        #expect(!PKCE.isWellFormed(String(repeating: "a", count: 129)))
        #expect(!PKCE.isWellFormed(String(repeating: "a", count: 42) + "+"))
        #expect(!PKCE.verify(verifier: "short", challenge: PKCE.challenge(for: "short")), "a malformed verifier never verifies")
    }
}

@Suite("Redirect URI matching (RFC 9700 §2.1, RFC 8252 §7.3)")
struct RedirectURIMatcherTests {
    @Test("exact string match only")
    func exact() {
        let registered = ["https://app.example/cb", "https://app.example/cb?x=1"]
        #expect(RedirectURIMatcher.match("https://app.example/cb", registered: registered, isPublicClient: false) != nil)
        #expect(RedirectURIMatcher.match("https://app.example/cb?x=1", registered: registered, isPublicClient: false) != nil)
        for near in ["https://app.example/cb/", "https://APP.example/cb", "https://app.example/cb?x=2", "https://app.example/cb#f",
                     "http://app.example/cb", "https://app.example:443/cb", "https://app.example/CB", "https://app.example/cb%2F.."] {
            #expect(RedirectURIMatcher.match(near, registered: registered, isPublicClient: false) == nil, "\(near)")
        }
    }

    @Test("loopback: any port for public clients, only for 127.0.0.1 and [::1]")
    func loopback() {
        let registered = ["http://127.0.0.1/cb", "http://[::1]:8000/native"]
        #expect(RedirectURIMatcher.match("http://127.0.0.1:51234/cb", registered: registered, isPublicClient: true) == "http://127.0.0.1/cb")
        #expect(RedirectURIMatcher.match("http://[::1]:9/native", registered: registered, isPublicClient: true) != nil)
        #expect(RedirectURIMatcher.match("http://127.0.0.1:51234/cb", registered: registered, isPublicClient: false) == nil, "confidential: exact")
        #expect(RedirectURIMatcher.match("http://127.0.0.1:51234/other", registered: registered, isPublicClient: true) == nil)
        #expect(RedirectURIMatcher.match("http://localhost:51234/cb", registered: ["http://localhost/cb"], isPublicClient: true) == nil)
        #expect(RedirectURIMatcher.match("http://127.0.0.1:99999/cb", registered: registered, isPublicClient: true) == nil)
        #expect(RedirectURIMatcher.match("http://127.0.0.1.evil.example/cb", registered: registered, isPublicClient: true) == nil)
        #expect(RedirectURIMatcher.match("http://127.0.0.1:80@evil.example/cb", registered: registered, isPublicClient: true) == nil)
        #expect(RedirectURIMatcher.match("https://127.0.0.1:443/cb", registered: registered, isPublicClient: true) == nil)
    }
}

/// A core with a public code client, a confidential code client, an implicit client and a user.
struct BrowserCore {
    let core: CoreHarness
    let user: User
    let confidentialSecret: String
    var endpoint: AuthorizationEndpoint { AuthorizationEndpoint(services: core.services, users: core.storage, consents: core.storage, codes: core.storage, mfaEnrollments: core.storage) }

    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    static func make() async throws -> BrowserCore {
        let core = try await CoreHarness()
        let user = try await core.addUser(scopes: ["openid", "profile", "email", "read", "write"])
        try await core.storage.insertClient(Client(id: "spa", name: "The SPA", secretDigest: nil, authMethod: .none,
                                                   grantTypes: [.authorizationCode, .refreshToken], allowedScopes: ["openid", "profile", "read"],
                                                   redirectURIs: ["https://spa.example/cb", "http://127.0.0.1/cb"], createdAt: core.clock.now))
        var (web, secret) = Fixtures.confidentialClient(id: "web", grants: [.authorizationCode, .refreshToken], scopes: ["openid", "read", "write"])
        web.redirectURIs = ["https://web.example/cb"]
        try await core.storage.insertClient(web)
        try await core.storage.insertClient(Client(id: "legacy", name: "Legacy", secretDigest: nil, authMethod: .none, grantTypes: [.implicit],
                                                   allowedScopes: ["openid", "read"], redirectURIs: ["https://legacy.example/cb"],
                                                   createdAt: core.clock.now))
        return BrowserCore(core: core, user: user, confidentialSecret: secret)
    }

    /// Pending authorization requests over this core (an upstream provider `corp` is configured for `idp_hint`).
    var interactions: InteractionService {
        InteractionService(endpoint: endpoint, interactions: core.storage, clients: core.storage, clock: core.clock, upstreamProviders: ["corp"])
    }

    static func pairs(_ parameters: [String: String]) -> [(String, String)] {
        parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func validate(_ parameters: [String: String]) async throws -> AuthorizationRequest {
        try await AuthorizationRequest.validate(Self.pairs(parameters), clients: core.storage)
    }

    var session: BrowserSession {
        BrowserSession(idDigest: Secrets.digest("s"), userID: user.id, authTime: core.clock.now, csrfToken: "c", createdAt: core.clock.now,
                       expiresAt: core.clock.now.addingTimeInterval(3600))
    }

    /// Runs an approved code request and returns the code.
    func code(client: String = "spa", redirect: String = "https://spa.example/cb", scope: String = "openid read",
              challenge: String? = BrowserCore.challenge, nonce: String? = "n-0S6_WzA2Mj") async throws -> String {
        var parameters = ["client_id": client, "redirect_uri": redirect, "response_type": "code", "scope": scope, "state": "xyz"]
        if let challenge { parameters["code_challenge"] = challenge; parameters["code_challenge_method"] = "S256" }
        if let nonce { parameters["nonce"] = nonce }
        let request = try await validate(parameters)
        let url = try await endpoint.approve(request, user: user, authTime: core.clock.now, scopes: try endpoint.grantedScopes(request, user: user))
        let items = try #require(URLComponents(string: url)?.queryItems)
        #expect(items.first { $0.name == "state" }?.value == "xyz")
        #expect(items.first { $0.name == "iss" }?.value == Fixtures.issuer)
        return try #require(items.first { $0.name == "code" }?.value)
    }
}

@Suite("Authorization request validation (RFC 6749 §4.1.2.1)")
struct AuthorizationRequestTests {
    func expectUnredirectable(_ b: BrowserCore, _ parameters: [String: String], sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await b.validate(parameters)
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch AuthorizationFailure.unredirectable {
        } catch {
            Issue.record("expected an error page, got \(error)", sourceLocation: sourceLocation)
        }
    }

    func expectRedirected(_ b: BrowserCore, _ parameters: [String: String], _ code: OAuthError.Code,
                          sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await b.validate(parameters)
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch AuthorizationFailure.redirect(let error, let target) {
            #expect(error.code == code, "\(error.errorDescription)", sourceLocation: sourceLocation)
            #expect(target.state == parameters["state"], sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a redirected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("unknown client and unregistered redirect_uri are never redirected to")
    func unredirectable() async throws {
        let b = try await BrowserCore.make()
        await expectUnredirectable(b, ["client_id": "nobody", "redirect_uri": "https://spa.example/cb", "response_type": "code"])
        await expectUnredirectable(b, ["client_id": "spa", "redirect_uri": "https://evil.example/cb", "response_type": "code"])
        await expectUnredirectable(b, ["client_id": "spa", "response_type": "code"])  // two registered, none sent
        await expectUnredirectable(b, ["redirect_uri": "https://spa.example/cb", "response_type": "code"])
    }

    @Test("PKCE: S256 only, required for public clients (RFC 7636 §4.3, RFC 9700 §2.1.1)")
    func pkce() async throws {
        let b = try await BrowserCore.make()
        let base = ["client_id": "spa", "redirect_uri": "https://spa.example/cb", "response_type": "code", "state": "s1"]
        await expectRedirected(b, base, .invalidRequest)
        await expectRedirected(b, base.merging(["code_challenge": BrowserCore.challenge, "code_challenge_method": "plain"]) { $1 }, .invalidRequest)
        await expectRedirected(b, base.merging(["code_challenge": BrowserCore.challenge]) { $1 }, .invalidRequest)  // plain by default
        await expectRedirected(b, base.merging(["code_challenge": "short", "code_challenge_method": "S256"]) { $1 }, .invalidRequest)
        let ok = try await b.validate(base.merging(["code_challenge": BrowserCore.challenge, "code_challenge_method": "S256"]) { $1 })
        #expect(ok.codeChallenge == BrowserCore.challenge)
        // A confidential client may omit PKCE.
        #expect(try await b.validate(["client_id": "web", "response_type": "code"]).redirectURI == "https://web.example/cb")
    }

    @Test("response types: unknown refused, implicit only for allowed clients, nonce required for id_token token")
    func responseTypes() async throws {
        let b = try await BrowserCore.make()
        await expectRedirected(b, ["client_id": "web", "response_type": "bogus", "state": "a"], .unsupportedResponseType)
        await expectRedirected(b, ["client_id": "web", "response_type": "token", "state": "a"], .unauthorizedClient)
        await expectRedirected(b, ["client_id": "legacy", "response_type": "code"], .unauthorizedClient)
        await expectRedirected(b, ["client_id": "legacy", "response_type": "id_token token", "scope": "openid"], .invalidRequest)
        let implicit = try await b.validate(["client_id": "legacy", "response_type": "token id_token", "scope": "openid", "nonce": "n"])
        #expect(implicit.responseType == .idTokenToken)
        #expect(implicit.target.useFragment)
        await expectRedirected(b, ["client_id": "web", "response_type": "code", "prompt": "none login"], .invalidRequest)
        await expectRedirected(b, ["client_id": "web", "response_type": "code", "max_age": "-1"], .invalidRequest)
    }

    @Test("error redirects carry error, state and iss (RFC 9207)")
    func errorRedirect() {
        let target = AuthorizationRequestTarget(redirectURI: "https://app.example/cb?k=v", state: "a b", useFragment: false)
        let url = AuthorizationRedirect.error(OAuthError(.accessDenied, "no"), target: target, issuer: "https://auth.test")
        #expect(url == "https://app.example/cb?k=v&error=access_denied&error_description=no&state=a%20b&iss=https%3A%2F%2Fauth.test")
    }

    @Test("decisions: login, consent, remembered consent, prompt=none")
    func decisions() async throws {
        let b = try await BrowserCore.make()
        let parameters = ["client_id": "spa", "redirect_uri": "https://spa.example/cb", "response_type": "code", "scope": "openid read",
                          "code_challenge": BrowserCore.challenge, "code_challenge_method": "S256", "state": "st"]
        let request = try await b.validate(parameters)
        guard case .login = try await b.endpoint.decide(request, session: nil) else { Issue.record("expected login"); return }
        let none = try await b.validate(parameters.merging(["prompt": "none"]) { $1 })
        guard case .redirect(let url) = try await b.endpoint.decide(none, session: nil) else { Issue.record("expected redirect"); return }
        #expect(url.contains("error=login_required") && url.contains("state=st"))
        guard case .consent(_, let scopes) = try await b.endpoint.decide(request, session: b.session) else { Issue.record("expected consent"); return }
        #expect(scopes == ["openid", "read"])
        guard case .redirect(let noConsent) = try await b.endpoint.decide(none, session: b.session) else { Issue.record("expected redirect"); return }
        #expect(noConsent.contains("error=consent_required"))
        _ = try await b.endpoint.approve(request, user: b.user, authTime: b.core.clock.now, scopes: scopes)
        guard case .redirect(let granted) = try await b.endpoint.decide(request, session: b.session) else { Issue.record("consent not remembered"); return }
        #expect(granted.contains("code="))
        let wider = try await b.validate(parameters.merging(["scope": "openid read profile"]) { $1 })
        guard case .consent = try await b.endpoint.decide(wider, session: b.session) else { Issue.record("a new scope must ask again"); return }
        let earlier = b.session
        b.core.clock.advance(by: 120)
        let maxAge = try await b.validate(parameters.merging(["max_age": "60"]) { $1 })
        guard case .login = try await b.endpoint.decide(maxAge, session: earlier) else { Issue.record("max_age exceeded must log in"); return }
    }
}

@Suite("Authorization code grant (RFC 6749 §4.1.3)")
struct AuthorizationCodeGrantTests {
    func exchange(_ b: BrowserCore, code: String, verifier: String? = BrowserCore.verifier, client: String = "spa",
                  redirect: String? = "https://spa.example/cb") async throws -> TokenResponse {
        var parameters = [("grant_type", "authorization_code"), ("code", code), ("client_id", client)]
        if let redirect { parameters.append(("redirect_uri", redirect)) }
        if let verifier { parameters.append(("code_verifier", verifier)) }
        return try await b.core.token(parameters)
    }

    @Test("code + PKCE → access, refresh and ID token with nonce, at_hash, auth_time, azp (OIDC Core §3.1.3.6)")
    func happyPath() async throws {
        let b = try await BrowserCore.make()
        let code = try await b.code()
        #expect(code.count >= 43, "at least 256 bits")
        let response = try await exchange(b, code: code)
        #expect(response.refreshToken != nil)
        #expect(response.scope == "openid read")
        let (header, claims) = try decodeJWT(try #require(response.idToken))
        #expect(header["alg"] as? String == "RS256")
        #expect(header["kid"] as? String == (try b.core.keys.current.activeKids[.rs256]))
        #expect(claims["iss"] as? String == Fixtures.issuer)
        #expect(claims["sub"] as? String == b.user.id)
        #expect(claims["aud"] as? String == "spa" || (claims["aud"] as? [String]) == ["spa"])
        #expect(claims["azp"] as? String == "spa")
        #expect(claims["nonce"] as? String == "n-0S6_WzA2Mj")
        #expect(claims["auth_time"] as? Int == Int(b.core.clock.now.timeIntervalSince1970))
        let hash = Data(SHA256.hash(data: Data(response.accessToken.utf8))).prefix(16).base64URLEncodedString()
        #expect(claims["at_hash"] as? String == hash)
        #expect((claims["exp"] as? Int ?? 0) > (claims["iat"] as? Int ?? 0))
        // The ID token verifies against the published keys.
        let verified = try await b.core.keys.current.collection.verify(try #require(response.idToken), as: IDTokenClaims.self)
        #expect(verified.sub.value == b.user.id)
    }

    @Test("a client registered for ES256 ID tokens gets them; RS256 stays the default (OIDC Registration §2)")
    func es256IDTokens() async throws {
        let b = try await BrowserCore.make()
        var spa = try #require(try await b.core.storage.client(id: "spa"))
        spa.idTokenAlgorithm = .es256
        try await b.core.storage.updateClient(spa)
        let response = try await exchange(b, code: try await b.code())
        let idToken = try #require(response.idToken)
        let (header, claims) = try decodeJWT(idToken)
        #expect(header["alg"] as? String == "ES256")
        #expect(header["kid"] as? String == (try b.core.keys.current.activeKids[.es256]))
        #expect(claims["at_hash"] as? String == Data(SHA256.hash(data: Data(response.accessToken.utf8))).prefix(16).base64URLEncodedString())
        let verified = try await b.core.keys.current.collection.verify(idToken, as: IDTokenClaims.self)
        #expect(verified.sub.value == b.user.id)
    }

    @Test("c_hash is the left half of SHA-256 of the code (OIDC Core §3.3.2.11)")
    func halfHash() {
        // The OIDC Core A.4 example code and its c_hash.
        #expect(IDTokenMinter.halfHash("Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk") == "LDktKdoQak3Pk0cnXxCltA")
    }

    @Test("PKCE at /token: missing, wrong and downgraded verifiers fail")
    func pkceAtToken() async throws {
        let b = try await BrowserCore.make()
        await expectOAuthError(.invalidGrant) { _ = try await exchange(b, code: try await b.code(), verifier: nil) }
        await expectOAuthError(.invalidGrant) { _ = try await exchange(b, code: try await b.code(), verifier: String(repeating: "a", count: 43)) }
        // Downgrade: no challenge at /authorize (confidential client), verifier at /token.
        let code = try await b.code(client: "web", redirect: "https://web.example/cb", challenge: nil)
        await expectOAuthError(.invalidGrant) {
            _ = try await b.core.token([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://web.example/cb"),
                                        ("code_verifier", BrowserCore.verifier)], basic: ("web", b.confidentialSecret))
        }
    }

    @Test("codes are bound to client and redirect_uri and expire")
    func binding() async throws {
        let b = try await BrowserCore.make()
        await expectOAuthError(.invalidGrant) { _ = try await exchange(b, code: try await b.code(), redirect: "https://spa.example/other") }
        await expectOAuthError(.invalidGrant) { _ = try await exchange(b, code: try await b.code(), redirect: nil) }
        let code = try await b.code(client: "web", redirect: "https://web.example/cb", challenge: nil)
        await expectOAuthError(.invalidGrant) { _ = try await exchange(b, code: code, verifier: nil) }  // spa presents web's code
        let late = try await b.code()
        b.core.clock.advance(by: 61)
        await expectOAuthError(.invalidGrant) { _ = try await exchange(b, code: late) }
    }

    @Test("a replayed code fails and revokes the tokens issued from it (RFC 6749 §4.1.2)")
    func replay() async throws {
        let b = try await BrowserCore.make()
        let code = try await b.code()
        let first = try await exchange(b, code: code)
        await expectOAuthError(.invalidGrant) { _ = try await exchange(b, code: code) }
        await expectOAuthError(.invalidGrant) {
            _ = try await b.core.token([("grant_type", "refresh_token"), ("refresh_token", try #require(first.refreshToken)), ("client_id", "spa")])
        }
        let jti = try decodeJWT(first.accessToken).claims["jti"] as? String
        #expect(try await b.core.storage.isAccessTokenRevoked(jti: try #require(jti)))
    }

    @Test("20 concurrent redemptions of one code: exactly one succeeds")
    func concurrentRedemption() async throws {
        let b = try await BrowserCore.make()
        let code = try await b.code()
        let wins = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 { group.addTask { (try? await exchange(b, code: code)) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
    }

    @Test("implicit: tokens in the fragment, never a refresh token; id_token token carries at_hash and nonce")
    func implicit() async throws {
        let b = try await BrowserCore.make()
        let request = try await b.validate(["client_id": "legacy", "response_type": "id_token token", "scope": "openid read", "nonce": "abc",
                                            "state": "s"])
        let url = try await b.endpoint.approve(request, user: b.user, authTime: b.core.clock.now, scopes: ["openid", "read"])
        #expect(url.hasPrefix("https://legacy.example/cb#"))
        let fragment = try #require(URLComponents(string: url)?.fragment)
        let items = Dictionary(uniqueKeysWithValues: (URLComponents(string: "x:?" + fragment)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(items["refresh_token"] == nil)
        #expect(items["token_type"] == "Bearer")
        #expect(items["state"] == "s")
        #expect(items["iss"] == Fixtures.issuer)
        let claims = try decodeJWT(try #require(items["id_token"])).claims
        #expect(claims["nonce"] as? String == "abc")
        #expect(claims["at_hash"] as? String == IDTokenMinter.halfHash(try #require(items["access_token"])))
    }

    @Test("revoking a consent forgets it and revokes its refresh tokens")
    func revokeConsent() async throws {
        let b = try await BrowserCore.make()
        let response = try await exchange(b, code: try await b.code())
        #expect(try await b.core.storage.consent(subject: b.user.id, clientID: "spa") != nil)
        #expect(try await ConsentManagement(services: b.core.services, storage: b.core.storage).revoke(subject: b.user.id, clientID: "spa") == 1)
        #expect(try await b.core.storage.consent(subject: b.user.id, clientID: "spa") == nil)
        await expectOAuthError(.invalidGrant) {
            _ = try await b.core.token([("grant_type", "refresh_token"), ("refresh_token", try #require(response.refreshToken)), ("client_id", "spa")])
        }
    }
}

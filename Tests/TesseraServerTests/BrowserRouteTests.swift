import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// A harness with a public code client, an implicit client and a user allowed OpenID scopes.
struct BrowserHarness {
    let server: ServerHarness
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    static func make() async throws -> BrowserHarness {
        let server = try await ServerHarness.make()
        let provisioning = server.provisioning
        _ = try await provisioning.addClient(name: "Photo App", grants: ["authorization_code", "refresh_token"], scopes: ["openid", "profile", "read"],
                                             redirectURIs: ["https://photos.example/cb"], isPublic: true, id: "photos")
        _ = try await provisioning.addClient(name: "Legacy", grants: ["implicit"], scopes: ["openid", "read"],
                                             redirectURIs: ["https://legacy.example/cb"], isPublic: true, id: "legacy")
        try await provisioning.addUser(username: "bob", password: "builder123", scopes: ["openid", "profile", "read"])
        return BrowserHarness(server: server)
    }

    /// The `/token` form redeeming `code` for the `photos` client with the PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5),
    /// plus `extra` fields.
    static func codeRedemption(_ code: String, _ extra: [(String, String)] = []) -> String {
        formEncode([("grant_type", "authorization_code"), ("code", code), ("client_id", "photos"),
                    ("redirect_uri", "https://photos.example/cb"), ("code_verifier", verifier)] + extra)
    }

    static let authorizeQuery = "/authorize?client_id=photos&redirect_uri=https%3A%2F%2Fphotos.example%2Fcb&response_type=code"
        + "&scope=openid%20read&state=st4te&nonce=n0nce&code_challenge=\(challenge)&code_challenge_method=S256"
}

extension TestResponse {
    var html: String { String(buffer: body) }

    /// The value of the first `<input name="…" value="…">` with this name.
    func hidden(_ name: String) -> String? {
        let pattern = #"name="\#(name)" value="([^"]*)""#
        guard let range = html.range(of: pattern, options: .regularExpression) else { return nil }
        let match = String(html[range])
        return match.components(separatedBy: "value=\"").last.map { String($0.dropLast()) }?
            .replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&#x3D;", with: "=").replacingOccurrences(of: "&#61;", with: "=")
    }

    /// `name=value` of the session cookie set by this response.
    var sessionCookie: String? {
        headers[values: .setCookie].first { $0.contains("tessera_session=") }.map { String($0.split(separator: ";")[0]) }
    }

    var location: String? { headers[.location] }

    /// What a consent page's form carries besides the CSRF token and the decision: only the interaction id
    /// (issue 20 item 6: the request itself is stored server-side).
    func consentFields(sourceLocation: SourceLocation = #_sourceLocation) throws -> [(String, String)] {
        [("interaction", try #require(hidden("interaction"), "interaction", sourceLocation: sourceLocation))]
    }
}

extension TestClientProtocol {
    func get(_ uri: String, cookie: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if let cookie { headers[.cookie] = cookie }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    func postPage(_ uri: String, _ body: String, cookie: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let cookie { headers[.cookie] = cookie }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Redeems the `code` of an authorization response `location` at `/token` (`BrowserHarness.codeRedemption`).
    func redeemCode(at location: String) async throws -> TestResponse {
        let code = try #require(queryItems(location)["code"])
        return try await postForm(BrowserHarness.codeRedemption(code))
    }

    /// Posts "Allow" on a consent page: its CSRF token, `decision=allow`, its interaction, then `extra`.
    func allowConsent(_ page: TestResponse, session: String, extra: [(String, String)] = []) async throws -> TestResponse {
        try await postPage("/consent", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))), ("decision", "allow")]
                                                  + (try page.consentFields()) + extra), cookie: session)
    }
}

func formEncode(_ pairs: [(String, String)]) -> String {
    pairs.map { "\(AuthorizationRedirect.percentEncode($0.0))=\(AuthorizationRedirect.percentEncode($0.1))" }.joined(separator: "&")
}

func queryItems(_ url: String) -> [String: String] {
    Dictionary((URLComponents(string: url)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
}

@Suite("Browser flows over HTTP (RFC 6749 §4.1, OIDC Core)")
struct BrowserRouteTests {
    @Test("unknown client or unregistered redirect_uri: HTML error page, never a redirect")
    func errorPage() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            for uri in ["/authorize?client_id=ghost&response_type=code&redirect_uri=https%3A%2F%2Fphotos.example%2Fcb",
                        "/authorize?client_id=photos&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
                        "/authorize?response_type=code"] {
                let response = try await client.get(uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(response.location == nil)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(response.html.contains(#"id="error-page""#))
                #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src") == false)
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                #expect(response.headers[.strictTransportSecurity] != nil)
            }
        }
    }

    @Test("errors after the redirect check are 303 redirects with error, state and iss")
    func redirectedErrors() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let plain = try await client.get("/authorize?client_id=photos&redirect_uri=https%3A%2F%2Fphotos.example%2Fcb&response_type=code"
                + "&state=abc&code_challenge=\(BrowserHarness.challenge)&code_challenge_method=plain")
            #expect(plain.status == .seeOther)
            let items = queryItems(try #require(plain.location))
            #expect(items["error"] == "invalid_request")
            #expect(items["state"] == "abc")
            #expect(items["iss"] == "https://auth.test")
            let implicit = try await client.get("/authorize?client_id=legacy&response_type=code&state=z")
            #expect(implicit.location?.hasPrefix("https://legacy.example/cb?error=unauthorized_client") == true)
            let none = try await client.get(BrowserHarness.authorizeQuery + "&prompt=none")
            #expect(queryItems(try #require(none.location))["error"] == "login_required")
        }
    }

    @Test("login → consent → code → token, with cookie attributes, CSRF and an OpenID userinfo")
    func fullFlow() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let loginPage = try await client.get(BrowserHarness.authorizeQuery)
            #expect(loginPage.status == .ok)
            #expect(loginPage.html.contains(#"id="username""#) && loginPage.html.contains(#"id="login-submit""#))
            #expect(!loginPage.html.contains("<script"))
            let setCookie = try #require(loginPage.headers[values: .setCookie].first)
            for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "__Host-"] { #expect(setCookie.contains(attribute), "\(attribute)") }
            let anonymous = try #require(loginPage.sessionCookie)
            let csrf = try #require(loginPage.hidden("csrf_token"))
            let returnTo = try #require(loginPage.hidden("return_to"))
            #expect(returnTo.hasPrefix("/authorize?"))

            let forged = try await client.postPage("/login", formEncode([("csrf_token", "forged"), ("return_to", returnTo),
                                                                         ("username", "bob"), ("password", "builder123")]), cookie: anonymous)
            #expect(forged.status == .forbidden)
            let noCookie = try await client.postPage("/login", formEncode([("csrf_token", csrf), ("username", "bob"), ("password", "builder123")]),
                                                     cookie: nil)
            #expect(noCookie.status == .forbidden)
            let wrong = try await client.postPage("/login", formEncode([("csrf_token", csrf), ("return_to", returnTo),
                                                                        ("username", "bob"), ("password", "nope-nope")]), cookie: anonymous)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.html.contains(#"id="login-error""#))
            let unknown = try await client.postPage("/login", formEncode([("csrf_token", csrf), ("return_to", returnTo),
                                                                          ("username", "nobody"), ("password", "nope-nope")]), cookie: anonymous)
            #expect(unknown.html.contains("The username or password is incorrect."))
            #expect(wrong.html.contains("The username or password is incorrect."))

            let signedIn = try await client.postPage("/login", formEncode([("csrf_token", csrf), ("return_to", returnTo),
                                                                           ("username", "bob"), ("password", "builder123")]), cookie: anonymous)
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.location == returnTo)
            let session = try #require(signedIn.sessionCookie)
            #expect(session != anonymous, "signing in replaces the session")

            let consent = try await client.get(try #require(signedIn.location), cookie: session)
            #expect(consent.status == .ok)
            #expect(consent.html.contains("Photo App"))
            #expect(consent.html.contains(#"id="consent-allow""#) && consent.html.contains(#"id="consent-deny""#))
            #expect(consent.html.contains("Confirm your identity"))
            let fields = try consent.consentFields()
            let consentCSRF = try #require(consent.hidden("csrf_token"))
            let forgedConsent = try await client.postPage("/consent", formEncode(fields + [("csrf_token", csrf), ("decision", "allow")]), cookie: session)
            #expect(forgedConsent.status == .forbidden, "the anonymous session's token is dead")
            let allowed = try await client.postPage("/consent", formEncode(fields + [("csrf_token", consentCSRF), ("decision", "allow")]), cookie: session)
            #expect(allowed.status == .seeOther)
            let items = queryItems(try #require(allowed.location))
            #expect(allowed.location?.hasPrefix("https://photos.example/cb?") == true)
            #expect(items["state"] == "st4te")
            #expect(items["iss"] == "https://auth.test")
            let code = try #require(items["code"])

            let token = try await client.postForm(BrowserHarness.codeRedemption(code))
            #expect(token.status == .ok)
            #expect(token.json["id_token"] as? String != nil)
            let access = try #require(token.json["access_token"] as? String)

            let info = try await client.execute(uri: "/userinfo", method: .get, headers: [.authorization: "Bearer \(access)"])
            #expect(info.status == .ok)
            #expect(info.json["sub"] as? String != nil)
            let noToken = try await client.execute(uri: "/userinfo", method: .get)
            #expect(noToken.status == .unauthorized)
            #expect(noToken.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)

            // Consent is remembered: the next authorization goes straight back with a code.
            let again = try await client.get(BrowserHarness.authorizeQuery, cookie: session)
            #expect(again.status == .seeOther)
            #expect(queryItems(try #require(again.location))["code"] != nil)

            // /account lists the grant; revoking it kills the refresh token.
            let account = try await client.get("/account", cookie: session)
            #expect(account.html.contains(#"class="grant""#) && account.html.contains(#"id="revoke-photos""#))
            let accountCSRF = try #require(account.hidden("csrf_token"))
            let revoked = try await client.postPage("/account/revoke", formEncode([("csrf_token", accountCSRF), ("client_id", "photos")]), cookie: session)
            #expect(revoked.status == .seeOther)
            let after = try await client.get("/account", cookie: session)
            #expect(!after.html.contains(#"id="revoke-photos""#))
            let refresh = try await client.postForm(formEncode([("grant_type", "refresh_token"), ("client_id", "photos"),
                                                                ("refresh_token", try #require(token.json["refresh_token"] as? String))]))
            refresh.expectOAuthError(.badRequest, "invalid_grant")
        }
    }

    @Test("/account without a session sends the browser to log in; the stylesheet is served")
    func accountAndStatic() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let account = try await client.get("/account")
            #expect(account.status == .seeOther)
            #expect(account.location?.hasPrefix("/login") == true)
            let css = try await client.get("/static/tessera.css")
            #expect(css.headers[.contentType]?.hasPrefix("text/css") == true)
        }
    }

    @Test("discovery documents announce the browser flows")
    func discovery() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let oidc = try await client.get("/.well-known/openid-configuration").json
            #expect(oidc["authorization_endpoint"] as? String == "https://auth.test/authorize")
            #expect(oidc["userinfo_endpoint"] as? String == "https://auth.test/userinfo")
            #expect(oidc["end_session_endpoint"] as? String == "https://auth.test/logout")
            #expect(oidc["id_token_signing_alg_values_supported"] as? [String] == ["RS256", "ES256"])
            let oauth = try await client.get("/.well-known/oauth-authorization-server").json
            #expect(oauth["code_challenge_methods_supported"] as? [String] == ["S256"])
            #expect(oauth["authorization_response_iss_parameter_supported"] as? Bool == true)
            #expect((oauth["response_types_supported"] as? [String])?.contains("code") == true)
            #expect((oauth["grant_types_supported"] as? [String])?.contains("authorization_code") == true)
            // OIDC discovery lists the lifecycle endpoints exactly as the RFC 8414 document does.
            #expect(oidc["revocation_endpoint"] as? String == "https://auth.test/revoke")
            #expect(oidc["introspection_endpoint"] as? String == "https://auth.test/introspect")
            #expect(oidc["registration_endpoint"] as? String == "https://auth.test/register")
            for key in ["revocation_endpoint", "introspection_endpoint", "registration_endpoint"] {
                #expect(oidc[key] as? String != nil && oidc[key] as? String == oauth[key] as? String, "\(key)")
            }
            for key in ["revocation_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported"] {
                #expect(oidc[key] as? [String] != nil && oidc[key] as? [String] == oauth[key] as? [String], "\(key)")
            }
            #expect(oidc["introspection_endpoint_auth_methods_supported"] as? [String] == ["client_secret_basic", "client_secret_post", "private_key_jwt"])
            #expect(oauth["token_endpoint"] as? String == "https://auth.test/token", "the RFC 8414 document keeps its own fields")
        }
    }
}

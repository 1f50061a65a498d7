import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// Issue 20, items 1, 2, 5 and 7 over HTTP: open registration limits, introspection entitlement, logout
/// without an open redirect, `max_age=0` through the login form, and consent after a redirect URI change.
@Suite("Open registration, logout, max_age and consent changes over HTTP (issue 20)")
struct OpenRegistrationLogoutRouteTests {
    /// A server with open registration, the `photos` public client, and bob.
    static func harness() async throws -> ServerHarness {
        let server = try await ServerHarness.make { $0.openRegistration = true; $0.registrationRateLimit = 100 }
        let provisioning = server.provisioning
        _ = try await provisioning.addClient(name: "Photo App", grants: ["authorization_code", "refresh_token"], scopes: ["openid", "profile", "read"],
                                             redirectURIs: ["https://photos.example/cb"], isPublic: true, id: "photos")
        try await provisioning.addUser(username: "bob", password: "builder123", scopes: ["openid", "profile", "read"])
        return server
    }

    @Test("RFC 7591 §5: anonymous client_credentials is refused; a self-registered client cannot introspect others' tokens (RFC 7662 §4)")
    func openRegistration() async throws {
        let server = try await Self.harness()
        try await server.test { client in
            let machine = try await client.sendJSON(#"{"grant_types": ["client_credentials"], "scope": "read"}"#, to: "/register")
            machine.expectOAuthError(.badRequest, "invalid_client_metadata")

            let registered = try await client.sendJSON(#"{"redirect_uris": ["https://app.example/cb"], "scope": "openid read"}"#, to: "/register")
            #expect(registered.status == .created)
            #expect(registered.json["scope"] as? String == "openid", "no API scope for an anonymous registrant")
            let id = try #require(registered.json["client_id"] as? String)
            let secret = try #require(registered.json["client_secret"] as? String)
            let anonymous = "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()

            let token = try await client.postForm("grant_type=client_credentials&scope=read", authorization: server.basic)
            let access = try #require(token.json["access_token"] as? String)
            let seen = try await client.postForm("token=\(access)", to: "/introspect", authorization: anonymous)
            #expect(seen.status == .ok)
            #expect(seen.json.count == 1 && seen.json["active"] as? Bool == false, "\(String(buffer: seen.body))")
            #expect(try await client.postForm("token=\(access)", to: "/introspect", authorization: server.basic).json["active"] as? Bool == true)
        }
    }

    @Test("RP-Initiated Logout §3: client_id and a registered post_logout_redirect_uri without id_token_hint do not redirect")
    func logoutWithoutHint() async throws {
        let server = try await Self.harness()
        try await server.test { client in
            let out = try await client.get("/logout?client_id=photos&post_logout_redirect_uri=https%3A%2F%2Fphotos.example%2Fcb&state=x")
            #expect(out.status == .ok)
            #expect(out.location == nil)
            #expect(out.html.contains("Signed out"))

            let session = try await signIn(client)
            let confirm = try await client.get("/logout?client_id=photos&post_logout_redirect_uri=https%3A%2F%2Fphotos.example%2Fcb", cookie: session)
            #expect(confirm.html.contains(#"id="logout-submit""#))
            let posted = try await client.postPage("/logout", formEncode([("csrf_token", try #require(confirm.hidden("csrf_token"))),
                                                                         ("client_id", "photos"),
                                                                         ("post_logout_redirect_uri", "https://photos.example/cb")]), cookie: session)
            #expect(posted.status == .ok && posted.location == nil, "confirmed, signed out, but not redirected")
            #expect(try await client.get("/account", cookie: session).status == .seeOther, "the session is gone")
        }
    }

    @Test("OIDC Core §3.1.2.1: max_age=0 through the login form reaches the consent page, not the login form again")
    func maxAgeZero() async throws {
        let server = try await Self.harness()
        try await server.test { client in
            let session = try await signIn(client)
            let authorize = BrowserHarness.authorizeQuery + "&max_age=0"
            try await Task.sleep(for: .milliseconds(1100)) // the earlier sign-in is now older than 0 s, to the second
            let login = try await client.get(authorize, cookie: session)
            #expect(login.html.contains(#"id="login-submit""#))
            let returnTo = try #require(login.hidden("return_to"))
            let signedIn = try await client.postPage("/login", formEncode([("csrf_token", try #require(login.hidden("csrf_token"))),
                                                                          ("return_to", returnTo), ("username", "bob"), ("password", "builder123")]),
                                                     cookie: session)
            #expect(signedIn.location == returnTo)
            let fresh = try #require(signedIn.sessionCookie)
            let next = try await client.get(returnTo, cookie: fresh)
            #expect(next.html.contains(#"id="consent-allow""#), "the fresh sign-in satisfies max_age=0")
            #expect(!next.html.contains(#"id="login-submit""#))
        }
    }

    @Test("RFC 7592 §2.2: after a PUT that changes redirect_uris, prompt=none at the new URI needs consent again")
    func consentAfterRedirectChange() async throws {
        let server = try await Self.harness()
        let initial = try await server.runtime.registrationEndpoint.initialTokens.issue(lifetime: 600)
        try await server.test { client in
            let registered = try await client.sendJSON(#"{"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none", "client_name": "RP", "scope": "openid read"}"#,
                                                       to: "/register", bearer: initial.token)
            #expect(registered.status == .created)
            let id = try #require(registered.json["client_id"] as? String)
            let rat = try #require(registered.json["registration_access_token"] as? String)
            let session = try await signIn(client)
            func authorize(_ redirect: String, prompt: String? = nil) -> String {
                "/authorize?client_id=\(id)&redirect_uri=\(AuthorizationRedirect.percentEncode(redirect))&response_type=code&scope=openid&state=s"
                    + "&code_challenge=\(BrowserHarness.challenge)&code_challenge_method=S256" + (prompt.map { "&prompt=\($0)" } ?? "")
            }
            let consent = try await client.get(authorize("https://rp.example/cb"), cookie: session)
            let allowed = try await client.allowConsent(consent, session: session)
            #expect(try #require(allowed.location).contains("code="))
            #expect(try #require(try await client.get(authorize("https://rp.example/cb", prompt: "none"), cookie: session).location).contains("code="),
                    "remembered consent: silent code")

            let put = try await client.sendJSON(#"{"client_id": "\#(id)", "redirect_uris": ["https://rp.example/other"], "token_endpoint_auth_method": "none", "client_name": "RP", "scope": "openid read"}"#,
                                                to: "/register/\(id)", method: .put, bearer: rat)
            #expect(put.status == .ok)
            let silent = try #require(try await client.get(authorize("https://rp.example/other", prompt: "none"), cookie: session).location)
            #expect(silent.hasPrefix("https://rp.example/other?error=consent_required"), "\(silent)")
        }
    }
}

@Suite("openRegistrationScopes setting and doctor (issue 20, item 1)")
struct OpenRegistrationScopesConfigurationTests {
    func warnings(_ configuration: TesseraConfiguration) -> [String] {
        Doctor.check(Doctor.Input(configuration: configuration, clients: [], keys: [], now: Date()))
            .filter { $0.severity == .warning }.map(\.message)
    }

    @Test("default openid profile email; TESSERA_OPEN_REGISTRATION_SCOPES overrides; invalid characters are refused")
    func setting() throws {
        var configuration = TesseraConfiguration()
        #expect(configuration.openRegistrationScopes == ["openid", "profile", "email"])
        try configuration.apply(environment: ["TESSERA_OPEN_REGISTRATION_SCOPES": "openid read"])
        #expect(configuration.openRegistrationScopes == ["openid", "read"])
        var bad = TesseraConfiguration()
        #expect(throws: TesseraConfiguration.Invalid.self) { try bad.apply(environment: ["TESSERA_OPEN_REGISTRATION_SCOPES": "open\"id"]) }
    }

    @Test("doctor warns when open registration offers anything beyond openid profile email")
    func doctor() {
        var configuration = TesseraConfiguration()
        configuration.openRegistration = true
        #expect(!warnings(configuration).contains { $0.contains("openRegistrationScopes") })
        configuration.openRegistrationScopes = ["openid", "read"]
        #expect(warnings(configuration).contains { $0.contains("openRegistrationScopes") && $0.contains("read") })
        configuration.openRegistration = false
        #expect(!warnings(configuration).contains { $0.contains("openRegistrationScopes") }, "irrelevant while registration is closed")
    }
}

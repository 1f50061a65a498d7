import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// Issue 20 items 6 and 10 over HTTP: `POST /consent` completes exactly the stored interaction (nothing of the
/// request is read from the form; single use; bound to the session and user), and self-registered clients are
/// marked unverified on the consent page and may not take the product's name.
@Suite("Consent completes the stored interaction; unverified applications (issue 20 items 6, 10)")
struct ConsentInteractionRouteTests {
    static func consent(_ client: any TestClientProtocol, _ session: String, query: String = BrowserHarness.authorizeQuery) async throws -> TestResponse {
        let page = try await client.get(query, cookie: session)
        #expect(page.status == .ok)
        #expect(page.html.contains(#"id="consent-allow""#))
        return page
    }

    @Test("the form carries only the interaction id; edited or added request fields do not widen the grant (RFC 6749 §4.1.1)")
    func tamperedFieldsDoNotWiden() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let session = try await signIn(client)
            let page = try await Self.consent(client, session)
            for name in ["client_id", "redirect_uri", "scope", "state", "prompt", "max_age"] { #expect(page.hidden(name) == nil, "\(name)") }
            let allowed = try await client.allowConsent(page, session: session, extra: [
                ("scope", "openid profile read"), ("redirect_uri", "https://evil.example/cb"), ("state", "forged"), ("prompt", "login"),
            ])
            let location = try #require(allowed.location)
            #expect(location.hasPrefix("https://photos.example/cb?"), "the stored redirect URI")
            #expect(queryItems(location)["state"] == "st4te", "the stored state")
            let token = try await client.redeemCode(at: location)
            #expect(token.status == .ok)
            #expect(token.json["scope"] as? String == "openid read", "exactly the scopes the consent page showed")
        }
    }

    @Test("an interaction is single-use: a replayed or made-up id is the error page (400), never a code")
    func replayAndForgery() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let session = try await signIn(client)
            let page = try await Self.consent(client, session)
            let first = try await client.allowConsent(page, session: session)
            #expect(first.location?.contains("code=") == true)
            let replay = try await client.allowConsent(page, session: session)
            #expect(replay.status == .badRequest)
            #expect(replay.location == nil)
            #expect(replay.html.contains(#"id="error-page""#))

            let csrf = try #require(page.hidden("csrf_token"))
            for forged in [[("interaction", Secrets.random(bytes: 32))], [], [("interaction", "")]] {
                let response = try await client.postPage("/consent", formEncode([("csrf_token", csrf), ("decision", "allow")] + forged
                                                                                + [("client_id", "photos"), ("response_type", "code"),
                                                                                   ("redirect_uri", "https://photos.example/cb"), ("scope", "openid read"),
                                                                                   ("code_challenge", BrowserHarness.challenge),
                                                                                   ("code_challenge_method", "S256")]), cookie: session)
                #expect(response.status == .badRequest, "\(forged)")
                #expect(response.location == nil)
            }
            // A denial consumes the interaction too (prompt=consent: the first one was remembered).
            let second = try await Self.consent(client, session, query: BrowserHarness.authorizeQuery + "&prompt=consent")
            let denied = try await client.postPage("/consent", formEncode([("csrf_token", csrf), ("decision", "deny")] + (try second.consentFields())),
                                                   cookie: session)
            #expect(queryItems(try #require(denied.location))["error"] == "access_denied")
            #expect(try await client.allowConsent(second, session: session).status == .badRequest)
        }
    }

    @Test("an interaction belongs to the browser session and user that saw the consent page")
    func boundToSessionAndUser() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.provisioning
            .addUser(username: "mallory", password: "mallory123", scopes: ["openid", "read"])
        try await b.server.test { client in
            let victim = try await signIn(client)
            let page = try await Self.consent(client, victim)
            let login = try await client.get("/login?return_to=%2Faccount")
            let signedIn = try await client.postPage("/login", formEncode([("csrf_token", try #require(login.hidden("csrf_token"))),
                                                                           ("return_to", "/account"), ("username", "mallory"), ("password", "mallory123")]),
                                                     cookie: try #require(login.sessionCookie))
            let mallory = try #require(signedIn.sessionCookie)
            let account = try await client.get("/account", cookie: mallory)
            let stolen = try await client.postPage("/consent", formEncode([("csrf_token", try #require(account.hidden("csrf_token"))),
                                                                          ("decision", "allow")] + (try page.consentFields())), cookie: mallory)
            #expect(stolen.status == .badRequest, "another session and user cannot complete it")
            #expect(stolen.location == nil)
        }
    }

    @Test("a self-registered client is marked unverified on the consent page; an operator's client is not")
    func unverifiedNotice() async throws {
        let server = try await OpenRegistrationLogoutRouteTests.harness()
        try await server.test { client in
            let registered = try await client.sendJSON(#"{"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none", "client_name": "Photo Helper", "scope": "openid"}"#,
                                                       to: "/register")
            #expect(registered.status == .created)
            let id = try #require(registered.json["client_id"] as? String)
            let session = try await signIn(client)
            let open = try await Self.consent(client, session, query: "/authorize?client_id=\(id)&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code"
                + "&scope=openid&code_challenge=\(BrowserHarness.challenge)&code_challenge_method=S256")
            #expect(open.html.contains(#"id="unverified-notice""#) && open.html.contains("Unverified application"))
            let trusted = try await Self.consent(client, session)
            #expect(!trusted.html.contains(#"id="unverified-notice""#))
        }
    }

    @Test("open registration refuses names imitating the product (case, width, accents, look-alikes); an initial access token may use any")
    func productNameRefused() async throws {
        let server = try await OpenRegistrationLogoutRouteTests.harness()
        try await server.test { client in
            for name in ["Tessera Account Security", "TESSERA", "ｔｅｓｓｅｒａ login", "Tëssera", "T.e.s.s.e.r.a", "T\u{0435}ssera"] {
                let body = #"{"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none", "client_name": "\#(name)"}"#
                let refused = try await client.sendJSON(body, to: "/register")
                refused.expectOAuthError(.badRequest, "invalid_client_metadata")
            }
            let fine = try await client.sendJSON(#"{"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none", "client_name": "Tess's Photos"}"#,
                                                 to: "/register")
            #expect(fine.status == .created)
            let initial = try await server.runtime.registrationEndpoint.initialTokens.issue(lifetime: 600)
            let operatorClient = try await client.sendJSON(#"{"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none", "client_name": "Tessera Admin Console"}"#,
                                                           to: "/register", bearer: initial.token)
            #expect(operatorClient.status == .created)
            #expect(operatorClient.json["client_name"] as? String == "Tessera Admin Console")
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// Signs bob in through the login form and returns the session cookie.
func signIn(_ client: any TestClientProtocol, returnTo: String = "/account") async throws -> String {
    let page = try await client.get("/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo))
    let cookie = try #require(page.sessionCookie)
    let signedIn = try await client.postPage("/login", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))),
                                                                   ("return_to", returnTo), ("username", "bob"), ("password", "builder123")]),
                                             cookie: cookie)
    #expect(signedIn.status == .seeOther)
    return try #require(signedIn.sessionCookie)
}

@Suite("Browser flows: prompts, implicit, POST /authorize and logout")
struct BrowserLogoutTests {
    @Test("prompt=login shows the login page to a signed-in user and does not loop after signing in")
    func promptLogin() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let session = try await signIn(client)
            let page = try await client.get(BrowserHarness.authorizeQuery + "&prompt=login", cookie: session)
            #expect(page.status == .ok)
            #expect(page.html.contains(#"id="login-submit""#))
            let returnTo = try #require(page.hidden("return_to"))
            #expect(!returnTo.contains("prompt=login"))
            let again = try await client.postPage("/login", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))),
                                                                        ("return_to", returnTo), ("username", "bob"), ("password", "builder123")]),
                                                  cookie: session)
            #expect(again.location == returnTo)
            let fresh = try #require(again.sessionCookie)
            let consent = try await client.get(returnTo, cookie: fresh)
            #expect(consent.html.contains(#"id="consent-allow""#))
        }
    }

    @Test("return_to never leaves the server (no open redirect)")
    func openRedirect() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            for target in ["https://evil.example/", "//evil.example/x", "/authorize?x=1//evil", "/\\evil.example"] {
                let page = try await client.get("/login?return_to=" + AuthorizationRedirect.percentEncode(target))
                let signedIn = try await client.postPage("/login", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))),
                                                                               ("return_to", target), ("username", "bob"), ("password", "builder123")]),
                                                         cookie: page.sessionCookie)
                #expect(signedIn.location == "/account", "\(target)")
            }
        }
    }

    @Test("implicit through POST /authorize: tokens only in the fragment, no refresh token")
    func implicitPost() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let session = try await signIn(client)
            let form = formEncode([("client_id", "legacy"), ("response_type", "token"), ("scope", "read"), ("state", "i")])
            let consent = try await client.postPage("/authorize", form, cookie: session)
            #expect(consent.status == .ok)
            #expect(consent.headers[.contentSecurityPolicy]?.contains("form-action 'self' https://legacy.example") == true)
            let allowed = try await client.allowConsent(consent, session: session)
            let location = try #require(allowed.location)
            #expect(location.hasPrefix("https://legacy.example/cb#access_token="))
            #expect(!location.contains("refresh_token"))
            #expect(location.contains("state=i") && location.contains("iss=https%3A%2F%2Fauth.test"))
        }
    }

    @Test("RP-initiated logout: id_token_hint ends the session and redirects to a registered URI with state")
    func logout() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let session = try await signIn(client)
            // Get an ID token through the code flow.
            let consent = try await client.get(BrowserHarness.authorizeQuery, cookie: session)
            let allowed = try await client.allowConsent(consent, session: session)
            let token = try await client.redeemCode(at: try #require(allowed.location))
            let idToken = try #require(token.json["id_token"] as? String)

            // Unregistered post-logout URI: error page, session intact.
            let bad = try await client.get("/logout?id_token_hint=\(idToken)&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F", cookie: session)
            #expect(bad.status == .badRequest && bad.location == nil)
            // No hint: a confirmation form, nothing ends yet.
            let confirm = try await client.get("/logout", cookie: session)
            #expect(confirm.html.contains(#"id="logout-submit""#))
            #expect(try await client.get("/account", cookie: session).status == .ok)

            let out = try await client.get("/logout?id_token_hint=\(idToken)&post_logout_redirect_uri=https%3A%2F%2Fphotos.example%2Fcb&state=bye",
                                           cookie: session)
            #expect(out.status == .seeOther)
            #expect(out.location == "https://photos.example/cb?state=bye")
            #expect(out.headers[values: .setCookie].contains { $0.contains("Max-Age=0") })
            #expect(try await client.get("/account", cookie: session).status == .seeOther, "the session is gone")
        }
    }
}

@Suite("Page helpers")
struct PageHelperTests {
    @Test("the consent page's form-action names exactly the redirect URI's origin")
    func consentCSP() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let session = try await signIn(client)
            let consent = try await client.get(BrowserHarness.authorizeQuery, cookie: session)
            #expect(consent.headers[.contentSecurityPolicy]
                == "default-src 'none'; style-src 'self'; form-action 'self' https://photos.example; frame-ancestors 'none'; base-uri 'none'")
            let account = try await client.get("/account", cookie: session)
            #expect(account.headers[.contentSecurityPolicy]?.contains("form-action 'self';") == true)
        }
    }

    @Test("a deleted client disappears from /account")
    func deletedClient() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.store.saveConsent(ConsentRecord(subject: try #require(try await b.server.store.user(username: "bob")).id,
                                                           clientID: "photos", scopes: ["read"], grantedAt: Date(), updatedAt: Date()))
        try await b.server.test { client in
            let session = try await signIn(client)
            #expect(try await client.get("/account", cookie: session).html.contains(#"id="revoke-photos""#))
            _ = try await b.server.store.deleteClient(id: "photos")
            #expect(!(try await client.get("/account", cookie: session).html.contains(#"id="revoke-photos""#)))
        }
    }
}

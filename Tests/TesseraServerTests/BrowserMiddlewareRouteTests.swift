import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// The browser route groups (issue 14): one session middleware and one CSRF middleware in front of every form post,
/// so each form route refuses alike, before its handler runs.
@Suite("Browser middleware: the session and CSRF checks in front of every form post")
struct BrowserMiddlewareRouteTests {
    /// Every browser form post that must carry the session's CSRF token (POST /logout is apart: see below).
    static let formRoutes = ["/login", "/login/mfa", "/login/federated/nope", "/consent", "/account/revoke", "/account/reauthenticate",
                             "/account/mfa/setup", "/account/mfa/confirm", "/account/mfa/disable", "/account/federation/unlink"]

    @Test("every form post: no session or a wrong token is the 403 page, a malformed body the 400 page, an oversized one 413")
    func everyFormRouteRefusesAlike() async throws {
        // A fresh server per route: the four sign-in routes share the login rate limit (20 a minute).
        for route in Self.formRoutes {
            let b = try await BrowserHarness.make()
            try await b.server.test { client in
                let session = try await signIn(client)
                let anonymous = try await client.postPage(route, formEncode([("csrf_token", "x"), ("return_to", "/account")]), cookie: nil)
                #expect(anonymous.status == .forbidden, "\(route)")
                #expect(anonymous.html.contains("could not be verified"), "\(route)")
                let wrong = try await client.postPage(route, formEncode([("csrf_token", "not-the-token"), ("otp", "123456")]), cookie: session)
                #expect(wrong.status == .forbidden, "\(route)")
                #expect(wrong.html.contains("could not be verified"), "\(route)")
                let missing = try await client.postPage(route, "return_to=%2Faccount", cookie: session)
                #expect(missing.status == .forbidden, "\(route)")
                let malformed = try await client.postPage(route, "csrf_token=%zz", cookie: session)
                #expect(malformed.status == .badRequest, "\(route)")
                #expect(malformed.html.contains("The form is malformed."), "\(route)")
                let oversized = try await client.postPage(route, "csrf_token=" + String(repeating: "a", count: 70_000), cookie: session)
                #expect(oversized.status == .contentTooLarge, "\(route)")
                // Still signed in: none of the refused posts reached a handler that ends or replaces the session.
                let account = try await client.get("/account", cookie: session)
                #expect(account.status == .ok, "\(route)")
                #expect(account.html.contains("bob"), "\(route)")
            }
        }
    }

    @Test("a refused POST /login does not sign in, even with the right password")
    func refusedLoginDoesNotSignIn() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let page = try await client.get("/login?return_to=%2Faccount")
            let cookie = try #require(page.sessionCookie)
            let refused = try await client.postPage("/login", formEncode([("csrf_token", "forged"), ("return_to", "/account"),
                                                                          ("username", "bob"), ("password", "builder123")]), cookie: cookie)
            #expect(refused.status == .forbidden)
            #expect(refused.sessionCookie == nil)
            #expect(try await client.get("/account", cookie: cookie).location == "/login?return_to=%2Faccount")
        }
    }

    @Test("POST /logout with a wrong token is asked to confirm (not the 403 page) and the session stays")
    func logoutWithWrongTokenConfirms() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let session = try await signIn(client)
            let page = try await client.postPage("/logout", formEncode([("csrf_token", "forged")]), cookie: session)
            #expect(page.status == .ok)
            #expect(page.hidden("csrf_token") != nil)
            let malformed = try await client.postPage("/logout", "csrf_token=%zz", cookie: session)
            #expect(malformed.status == .ok)
            #expect(try await client.get("/account", cookie: session).status == .ok)
        }
    }
}

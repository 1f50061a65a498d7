import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// The text content of the element with this id (first match, entities for `&` and `=` undone).
private func elementText(_ html: String, id: String) -> String? {
    guard let start = html.range(of: #"id="\#(id)">"#) else { return nil }
    let rest = html[start.upperBound...]
    guard let end = rest.firstIndex(of: "<") else { return nil }
    return String(rest[..<end]).replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&#x3D;", with: "=")
        .replacingOccurrences(of: "&#61;", with: "=")
}

@Suite("MFA over HTTP: enrolment from /account, the login step, disabling")
struct MFARouteTests {
    /// Signs `username` in with a password through `/login`; returns the final response of the password step.
    /// A harness on a fixed clock with the user bob (password builder123, scopes openid read).
    static func harnessWithBob() async throws -> (FixedClock, ServerHarness, User) {
        let clock = FixedClock()
        let server = try await ServerHarness.make(clock: clock)
        let bob = try await server.provisioning.addUser(username: "bob", password: "builder123", scopes: ["openid", "read"])
        return (clock, server, bob)
    }

    static func passwordStep(_ client: any TestClientProtocol, returnTo: String = "/account", username: String = "bob",
                             password: String = "builder123") async throws -> TestResponse {
        let page = try await client.get("/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo))
        let cookie = try #require(page.sessionCookie)
        return try await client.postPage("/login", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))), ("return_to", returnTo),
                                                               ("username", username), ("password", password)]), cookie: cookie)
    }

    /// Fills in the re-authentication form (issue 20 item 8) with the session's CSRF token: `intent` is the change
    /// that goes ahead on success (`setup`, `confirm`, `disable`).
    static func reauthenticate(_ client: any TestClientProtocol, cookie: String, csrf: String, intent: String, password: String = "builder123",
                               otp: String? = nil) async throws -> TestResponse {
        var fields = [("csrf_token", csrf), ("intent", intent), ("password", password)]
        if let otp { fields.append(("otp", otp)) }
        return try await client.postPage("/account/reauthenticate", formEncode(fields), cookie: cookie)
    }

    @Test("enrol, confirm, then every login asks for a code; replayed and used codes are refused; the challenge expires")
    func fullFlow() async throws {
        let clock = FixedClock()
        let server = try await ServerHarness.make(clock: clock)
        let provisioning = server.provisioning
        _ = try await provisioning.addClient(name: "Photo App", grants: ["authorization_code", "refresh_token"], scopes: ["openid", "read"],
                                             redirectURIs: ["https://photos.example/cb"], isPublic: true, id: "photos")
        let bob = try await provisioning.addUser(username: "bob", password: "builder123", scopes: ["openid", "profile", "read"])
        try await server.test { client in
            let signedIn = try await Self.passwordStep(client)
            #expect(signedIn.location == "/account", "no MFA yet: straight in")
            var session = try #require(signedIn.sessionCookie)
            let account = try await client.get("/account", cookie: session)
            #expect(account.html.contains(#"id="setup-totp""#) && account.html.contains(#"data-mfa="off""#))
            var csrf = try #require(account.hidden("csrf_token"))

            #expect(try await client.postPage("/account/mfa/setup", formEncode([("csrf_token", "forged")]), cookie: session).status == .forbidden)
            // The session alone does not start an enrolment: the password again first (issue 20 item 8).
            let stale = try await client.postPage("/account/mfa/setup", formEncode([("csrf_token", csrf)]), cookie: session)
            #expect(stale.status == .unauthorized && stale.html.contains(#"id="reauth-password""#) && elementText(stale.html, id: "totp-secret") == nil)
            let setup = try await Self.reauthenticate(client, cookie: session, csrf: csrf, intent: "setup")
            session = try #require(setup.sessionCookie, "the re-authentication replaces the session")
            csrf = try #require(setup.hidden("csrf_token"))
            #expect(setup.status == .ok)
            let shownSecret = try #require(elementText(setup.html, id: "totp-secret"))
            let uri = try #require(elementText(setup.html, id: "totp-uri"))
            #expect(uri == "otpauth://totp/Tessera:bob?secret=\(shownSecret)&issuer=Tessera")
            let secret = try #require(try await server.store.mfaEnrollment(userID: bob.id)).plaintextSecret(server.runtime.keyEncryption)
            let generator = TOTPGenerator(secret: secret)
            #expect(generator.base32Secret == shownSecret)
            #expect(setup.html.contains(#"id="otp""#) && setup.html.contains(#"id="confirm-totp""#))

            let wrong = try await client.postPage("/account/mfa/confirm", formEncode([("csrf_token", csrf), ("otp", "000000")]), cookie: session)
            #expect(wrong.status == .badRequest && wrong.html.contains(#"id="mfa-error""#))
            #expect(elementText(wrong.html, id: "totp-secret") == shownSecret, "the same key again")
            let confirmed = try await client.postPage("/account/mfa/confirm", formEncode([("csrf_token", csrf), ("otp", generator.code(at: clock.now))]),
                                                      cookie: session)
            #expect(confirmed.status == .ok)
            #expect(confirmed.html.contains(#"id="recovery-codes""#))
            let codes = confirmed.html.components(separatedBy: #"class="recovery-code">"#).dropFirst().map { String($0.prefix(19)) }
            #expect(codes.count == 10 && codes.allSatisfy(RecoveryCodes.looksLikeRecoveryCode))
            #expect(try await client.get("/account", cookie: session).html.contains(#"data-mfa="on""#))

            // The password alone no longer signs in: an anonymous session bound to a challenge.
            let authorize = BrowserHarness.authorizeQuery
            let loginPage = try await client.get(authorize)
            let returnTo = try #require(loginPage.hidden("return_to"))
            let password = try await client.postPage("/login", formEncode([("csrf_token", try #require(loginPage.hidden("csrf_token"))),
                                                                           ("return_to", returnTo), ("username", "bob"), ("password", "builder123")]),
                                                     cookie: try #require(loginPage.sessionCookie))
            #expect(password.status == .seeOther)
            #expect(password.location?.hasPrefix("/login/mfa?return_to=") == true)
            let pending = try #require(password.sessionCookie)
            #expect(try await client.get("/account", cookie: pending).location?.hasPrefix("/login") == true, "not signed in yet")
            let step = try await client.get(try #require(password.location), cookie: pending)
            #expect(step.status == .ok && step.html.contains(#"id="otp""#) && step.html.contains(#"id="verify-otp""#))
            #expect(step.hidden("return_to") == returnTo)
            let stepCSRF = try #require(step.hidden("csrf_token"))
            #expect(try await client.get("/login/mfa", cookie: nil).location?.hasPrefix("/login?") == true, "no challenge: back to the password")

            let confirmCode = generator.code(at: clock.now)
            let forged = try await client.postPage("/login/mfa", formEncode([("csrf_token", "x"), ("return_to", returnTo), ("otp", confirmCode)]),
                                                   cookie: pending)
            #expect(forged.status == .forbidden)
            let replayed = try await client.postPage("/login/mfa", formEncode([("csrf_token", stepCSRF), ("return_to", returnTo), ("otp", confirmCode)]),
                                                     cookie: pending)
            #expect(replayed.status == .unauthorized && replayed.html.contains("already used"), "the enrolment's code is spent")
            clock.advance(by: 30)
            let passed = try await client.postPage("/login/mfa", formEncode([("csrf_token", stepCSRF), ("return_to", returnTo),
                                                                             ("otp", generator.code(at: clock.now))]), cookie: pending)
            #expect(passed.status == .seeOther)
            #expect(passed.location == returnTo, "the authorize flow continues")
            let full = try #require(passed.sessionCookie)
            #expect(full != pending)
            let consent = try await client.get(returnTo, cookie: full)
            #expect(consent.html.contains(#"id="consent-allow""#))
            let allowed = try await client.allowConsent(consent, session: full)
            let token = try await client.redeemCode(at: try #require(allowed.location))
            let idToken = try #require(token.json["id_token"] as? String)
            let payload = try #require(Data(base64URLEncoded: String(idToken.split(separator: ".")[1])))
            let claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            #expect(claims["amr"] as? [String] == ["pwd", "otp"], "RFC 8176 methods of an MFA sign-in")

            // A recovery code works once.
            var login = try await Self.passwordStep(client)
            var cookie = try #require(login.sessionCookie)
            var page = try await client.get(try #require(login.location), cookie: cookie)
            let recovered = try await client.postPage("/login/mfa", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))),
                                                                                ("return_to", "/account"), ("otp", codes[0])]), cookie: cookie)
            #expect(recovered.location == "/account")
            login = try await Self.passwordStep(client)
            cookie = try #require(login.sessionCookie)
            page = try await client.get(try #require(login.location), cookie: cookie)
            let reused = try await client.postPage("/login/mfa", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))),
                                                                             ("return_to", "/account"), ("otp", codes[0])]), cookie: cookie)
            #expect(reused.status == .unauthorized && reused.html.contains(#"id="mfa-error""#))

            // The challenge lasts 5 minutes.
            clock.advance(by: 301)
            let late = try await client.postPage("/login/mfa", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))),
                                                                           ("return_to", "/account"), ("otp", generator.code(at: clock.now))]), cookie: cookie)
            #expect(late.status == .unauthorized && late.html.contains(#"id="login-error""#))

            // The password grant refuses an MFA user.
            let grant = try await client.postForm(formEncode([("grant_type", "password"), ("username", "bob"), ("password", "builder123")]),
                                                  authorization: server.basic)
            grant.expectOAuthError(.badRequest, "invalid_grant")
            #expect((grant.json["error_description"] as? String)?.contains("multi-factor") == true)

            // Disabling needs a fresh re-authentication (here one with nothing to set up: back to the account), then a current code.
            let staleDisable = try await client.postPage("/account/mfa/disable", formEncode([("csrf_token", try #require(try await client.get("/account", cookie: full).hidden("csrf_token"))),
                                                                                            ("otp", "123456")]), cookie: full)
            #expect(staleDisable.status == .unauthorized && staleDisable.html.contains(#"id="reauth-otp""#))
            #expect(try await client.get("/account", cookie: full).html.contains(#"data-mfa="on""#))
            let reauthenticated = try await Self.reauthenticate(client, cookie: full, csrf: try #require(staleDisable.hidden("csrf_token")), intent: "setup",
                                                                otp: generator.code(at: clock.now))
            #expect(reauthenticated.location == "/account")
            let stepped = try #require(reauthenticated.sessionCookie)
            let accountPage = try await client.get("/account", cookie: stepped)
            let accountCSRF = try #require(accountPage.hidden("csrf_token"))
            let refused = try await client.postPage("/account/mfa/disable", formEncode([("csrf_token", accountCSRF), ("otp", "123456")]), cookie: stepped)
            #expect(refused.status == .badRequest && refused.html.contains(#"id="mfa-error""#))
            clock.advance(by: 30)
            let disabled = try await client.postPage("/account/mfa/disable", formEncode([("csrf_token", accountCSRF),
                                                                                         ("otp", generator.code(at: clock.now))]), cookie: stepped)
            #expect(disabled.location == "/account")
            #expect(try await Self.passwordStep(client).location == "/account", "no second step any more")
        }
    }

    @Test("setup, confirm and disable are refused without a re-authentication in the last 5 minutes and work with one; enrolment signs out another session (issue 20 item 8)")
    func stepUp() async throws {
        let (clock, server, bob) = try await Self.harnessWithBob()
        try await server.test { client in
            let other = try #require(try await Self.passwordStep(client).sessionCookie, "an older password-only session elsewhere")
            let mine = try #require(try await Self.passwordStep(client).sessionCookie)
            let csrf = try #require(try await client.get("/account", cookie: mine).hidden("csrf_token"))

            // Signed in a moment ago, but no re-authentication: every change is refused with the form.
            for path in ["/account/mfa/setup", "/account/mfa/confirm", "/account/mfa/disable"] {
                let refused = try await client.postPage(path, formEncode([("csrf_token", csrf), ("otp", "123456")]), cookie: mine)
                #expect(refused.status == .unauthorized, "\(path)")
                #expect(refused.html.contains(#"id="reauth-password""#) && refused.sessionCookie == nil, "\(path)")
            }
            #expect(try await server.store.mfaEnrollment(userID: bob.id) == nil, "nothing was started")

            // A wrong password: the form again, counted towards the lockout; the session is unchanged.
            let wrong = try await Self.reauthenticate(client, cookie: mine, csrf: csrf, intent: "setup", password: "builder124")
            #expect(wrong.status == .unauthorized && wrong.html.contains(#"id="reauth-error""#) && wrong.sessionCookie == nil)
            #expect(try await server.store.loginAttempts(username: "bob")?.failures == 1)
            #expect(try await Self.reauthenticate(client, cookie: mine, csrf: "forged", intent: "setup").status == .forbidden)

            // The right password: a new session (the old cookie is gone), the setup page.
            let setup = try await Self.reauthenticate(client, cookie: mine, csrf: csrf, intent: "setup")
            #expect(setup.status == .ok && elementText(setup.html, id: "totp-secret") != nil)
            let stepped = try #require(setup.sessionCookie)
            #expect(try await client.get("/account", cookie: mine).location?.hasPrefix("/login") == true, "the pre-re-authentication cookie is dead")
            #expect(try await server.store.loginAttempts(username: "bob") == nil, "a right password clears the counter")
            let steppedCSRF = try #require(setup.hidden("csrf_token"))
            let secret = try #require(try await server.store.mfaEnrollment(userID: bob.id)).plaintextSecret(server.runtime.keyEncryption)
            let generator = TOTPGenerator(secret: secret)

            // Five minutes later the re-authentication is stale: confirming asks again (the password and the app's code).
            clock.advance(by: 301)
            let late = try await client.postPage("/account/mfa/confirm", formEncode([("csrf_token", steppedCSRF), ("otp", generator.code(at: clock.now))]),
                                                 cookie: stepped)
            #expect(late.status == .unauthorized && late.html.contains(#"id="reauth-otp""#))
            #expect(try await server.store.mfaEnrollment(userID: bob.id)?.confirmed == false)
            #expect(try await client.get("/account", cookie: other).html.contains(#"id="account-username""#), "still signed in elsewhere")
            let confirmed = try await Self.reauthenticate(client, cookie: stepped, csrf: steppedCSRF, intent: "confirm", otp: generator.code(at: clock.now))
            #expect(confirmed.status == .ok && confirmed.html.contains(#"id="recovery-codes""#))
            let current = try #require(confirmed.sessionCookie)
            #expect(try await client.get("/account", cookie: current).html.contains(#"data-mfa="on""#), "the confirming session stays")
            #expect(try await client.get("/account", cookie: other).location?.hasPrefix("/login") == true, "the other session was signed out")
            let revoked = try await server.store.auditEvents(AuditEventFilter(kind: .userSessionsRevoked))
            #expect(revoked.contains { $0.subject == bob.id && $0.detail["reason"] == "mfa_enrolled" })

            // Disabling after the window: password and a current code, then it is off.
            clock.advance(by: 301)
            let currentCSRF = try #require(try await client.get("/account", cookie: current).hidden("csrf_token"))
            let disable = try await client.postPage("/account/mfa/disable", formEncode([("csrf_token", currentCSRF), ("otp", generator.code(at: clock.now))]),
                                                    cookie: current)
            #expect(disable.status == .unauthorized && disable.html.contains(#"id="reauth-otp""#))
            #expect(try await server.store.mfaEnrollment(userID: bob.id)?.confirmed == true, "not turned off by the stale session")
            let passwordOnly = try await Self.reauthenticate(client, cookie: current, csrf: currentCSRF, intent: "disable")
            #expect(passwordOnly.status == .unauthorized && passwordOnly.html.contains(#"id="reauth-error""#), "the password alone is not enough with MFA on")
            let off = try await Self.reauthenticate(client, cookie: current, csrf: currentCSRF, intent: "disable", otp: generator.code(at: clock.now))
            #expect(off.location == "/account")
            #expect(try await server.store.mfaEnrollment(userID: bob.id) == nil)
            #expect(try await client.get("/account", cookie: try #require(off.sessionCookie)).html.contains(#"data-mfa="off""#))
        }
    }

    @Test("a user without a password re-authenticates by signing in again (issue 20 item 8)")
    func passwordlessSignsInAgain() async throws {
        let (clock, server, bob) = try await Self.harnessWithBob()
        try await server.test { client in
            let session = try #require(try await Self.passwordStep(client).sessionCookie)
            try await server.store.updatePasswordHash(userID: bob.id, hash: User.noPassword) // as a user provisioned by an upstream sign-in
            let csrf = try #require(try await client.get("/account", cookie: session).hidden("csrf_token"))
            let fresh = try await client.postPage("/account/mfa/setup", formEncode([("csrf_token", csrf)]), cookie: session)
            #expect(fresh.status == .ok && elementText(fresh.html, id: "totp-secret") != nil, "signed in less than 5 minutes ago")
            clock.advance(by: 301)
            let stale = try await client.postPage("/account/mfa/setup", formEncode([("csrf_token", csrf)]), cookie: session)
            #expect(stale.status == .unauthorized && stale.html.contains(#"id="reauth-sign-in-again""#) && !stale.html.contains(#"id="reauth-password""#))
            let again = try await Self.reauthenticate(client, cookie: session, csrf: csrf, intent: "setup", password: "")
            #expect(again.location == "/login?return_to=%2Faccount")
            #expect(try await client.get("/account", cookie: session).location?.hasPrefix("/login") == true, "signed out")
        }
    }
}

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
    static func passwordStep(_ client: any TestClientProtocol, returnTo: String = "/account", username: String = "bob",
                             password: String = "builder123") async throws -> TestResponse {
        let page = try await client.get("/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo))
        let cookie = try #require(page.sessionCookie)
        return try await client.postPage("/login", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))), ("return_to", returnTo),
                                                               ("username", username), ("password", password)]), cookie: cookie)
    }

    @Test("enrol, confirm, then every login asks for a code; replayed and used codes are refused; the challenge expires")
    func fullFlow() async throws {
        let clock = FixedClock()
        let server = try await ServerHarness.make(clock: clock)
        let provisioning = Provisioning(storage: server.store, passwords: server.runtime.services.passwords)
        _ = try await provisioning.addClient(name: "Photo App", grants: ["authorization_code", "refresh_token"], scopes: ["openid", "read"],
                                             redirectURIs: ["https://photos.example/cb"], isPublic: true, id: "photos")
        let bob = try await provisioning.addUser(username: "bob", password: "builder123", scopes: ["openid", "profile", "read"])
        try await server.test { client in
            let signedIn = try await Self.passwordStep(client)
            #expect(signedIn.location == "/account", "no MFA yet: straight in")
            let session = try #require(signedIn.sessionCookie)
            let account = try await client.get("/account", cookie: session)
            #expect(account.html.contains(#"id="setup-totp""#) && account.html.contains(#"data-mfa="off""#))
            let csrf = try #require(account.hidden("csrf_token"))

            #expect(try await client.postPage("/account/mfa/setup", formEncode([("csrf_token", "forged")]), cookie: session).status == .forbidden)
            let setup = try await client.postPage("/account/mfa/setup", formEncode([("csrf_token", csrf)]), cookie: session)
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
            let fields = [("csrf_token", try #require(consent.hidden("csrf_token"))), ("decision", "allow")] + (try consent.consentFields())
            let allowed = try await client.postPage("/consent", formEncode(fields), cookie: full)
            let location = try #require(allowed.location)
            let code = try #require(queryItems(location)["code"])
            let token = try await client.postForm(formEncode([("grant_type", "authorization_code"), ("code", code), ("client_id", "photos"),
                                                              ("redirect_uri", "https://photos.example/cb"), ("code_verifier", BrowserHarness.verifier)]))
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

            // Disabling needs a current code.
            let accountPage = try await client.get("/account", cookie: full)
            let accountCSRF = try #require(accountPage.hidden("csrf_token"))
            let refused = try await client.postPage("/account/mfa/disable", formEncode([("csrf_token", accountCSRF), ("otp", "123456")]), cookie: full)
            #expect(refused.status == .badRequest && refused.html.contains(#"id="mfa-error""#))
            clock.advance(by: 30)
            let disabled = try await client.postPage("/account/mfa/disable", formEncode([("csrf_token", accountCSRF),
                                                                                         ("otp", generator.code(at: clock.now))]), cookie: full)
            #expect(disabled.location == "/account")
            #expect(try await Self.passwordStep(client).location == "/account", "no second step any more")
        }
    }
}

import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Issue 20, item 5: `max_age` (OIDC Core §3.1.2.1) is satisfied by a sign-in made inside the interaction.
@Suite("max_age and the login round trip (OIDC Core §3.1.2.1)")
struct MaxAgeTests {
    @Test("max_age=0: after signing in through the login page the request completes, with the fresh auth_time")
    func maxAgeZeroCompletes() async throws {
        let b = try await BrowserCore.make()
        let parameters = ["client_id": "web", "response_type": "code", "scope": "openid read", "redirect_uri": "https://web.example/cb",
                          "state": "st", "max_age": "0"]
        _ = try await b.endpoint.approve(try await b.validate(parameters), user: b.user, authTime: b.core.clock.now, scopes: ["openid", "read"])
        let old = b.session
        b.core.clock.advance(by: 30)
        let request = try await b.validate(parameters)
        guard case .login = try await b.endpoint.decide(request, session: old) else { Issue.record("an old sign-in must log in again"); return }

        // The login page sends the user back with the parameters the core chose.
        let back = b.endpoint.parametersAfterLogin(request)
        #expect(back.filter { $0.0 == AuthorizationRequest.loginStartedParameter }.count == 1)
        b.core.clock.advance(by: 5) // typing the password
        let signedInAt = b.core.clock.now
        let fresh = BrowserSession(idDigest: Secrets.digest("s2"), userID: b.user.id, authTime: signedInAt, csrfToken: "c",
                                   createdAt: signedInAt, expiresAt: signedInAt.addingTimeInterval(3600))
        b.core.clock.advance(by: 1) // the redirect back
        let returned = try await AuthorizationRequest.validate(back, clients: b.core.storage)
        guard case .redirect(let url) = try await b.endpoint.decide(returned, session: fresh) else {
            Issue.record("a sign-in inside the interaction must satisfy max_age=0 (no loop)")
            return
        }
        let code = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "code" }?.value)
        let token = try await b.core.token([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://web.example/cb")],
                                           basic: ("web", b.confidentialSecret))
        let claims = try decodeJWT(try #require(token.idToken)).claims
        #expect(claims["auth_time"] as? Int == Int(signedInAt.timeIntervalSince1970), "auth_time is the fresh sign-in")

        // The old session does not pass with the marker: it signed in before the login was asked for.
        guard case .login = try await b.endpoint.decide(returned, session: old) else { Issue.record("an earlier sign-in must not pass"); return }
        // Nor does a marker from the future.
        var future = back.filter { $0.0 != AuthorizationRequest.loginStartedParameter }
        future.append((AuthorizationRequest.loginStartedParameter, String(Int(b.core.clock.now.timeIntervalSince1970) + 600)))
        let forged = try await AuthorizationRequest.validate(future, clients: b.core.storage)
        guard case .login = try await b.endpoint.decide(forged, session: fresh) else { Issue.record("a future marker must not count"); return }
    }

    @Test("parametersAfterLogin adds the marker only with max_age and never repeats it")
    func markerOnlyWithMaxAge() async throws {
        let b = try await BrowserCore.make()
        let plain = try await b.validate(["client_id": "web", "response_type": "code", "redirect_uri": "https://web.example/cb"])
        #expect(!b.endpoint.parametersAfterLogin(plain).contains { $0.0 == AuthorizationRequest.loginStartedParameter })
        let once = try await b.validate(["client_id": "web", "response_type": "code", "redirect_uri": "https://web.example/cb", "max_age": "0",
                                         AuthorizationRequest.loginStartedParameter: "1"])
        #expect(b.endpoint.parametersAfterLogin(once).filter { $0.0 == AuthorizationRequest.loginStartedParameter }.count == 1)
    }
}

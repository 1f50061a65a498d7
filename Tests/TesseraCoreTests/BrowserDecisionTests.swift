import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Decisions that used to sit in the browser routes (issue 14), now the core's, tested without HTTP.
@Suite("Browser decisions in the core: the upstream callback's parameters, amr after the second factor, MFA off after step-up")
struct BrowserDecisionTests {
    static let names = ["code", "state", "iss", "error", "other"]

    @Test("property: a callback is refused exactly when code, state, iss or error repeats; otherwise each value is kept as sent")
    func callbackParameters() {
        var random = SeededRandom(seed: 14)
        for _ in 0..<2000 {
            let query = (0..<random.int(in: 0...7)).map { _ in
                (random.pick(Self.names), random.pick(["", "a", "b c", "%", "é", String(repeating: "x", count: random.int(in: 0...40))]))
            }
            let repeated = ["code", "state", "iss", "error"].contains { name in query.filter { $0.0 == name }.count > 1 }
            let callback = FederationCallback(query: query)
            #expect((callback == nil) == repeated, "\(query)")
            guard let callback else { continue }
            func first(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
            #expect(callback == FederationCallback(code: first("code"), state: first("state"), issuer: first("iss"), error: first("error")))
        }
    }

    @Test("amr after the TOTP step: the first step's methods plus otp once (a password when none were recorded)")
    func amrAfterSecondFactor() {
        #expect(AuthenticationMethods.afterSecondFactor(nil) == ["pwd", "otp"])
        #expect(AuthenticationMethods.afterSecondFactor(["fed"]) == ["fed", "otp"])
        #expect(AuthenticationMethods.afterSecondFactor(["pwd", "otp"]) == ["pwd", "otp"], "never twice")
        #expect(AuthenticationMethods.password == ["pwd"])
    }
}

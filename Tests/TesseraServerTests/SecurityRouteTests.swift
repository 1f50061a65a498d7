import Foundation
import HummingbirdTesting
import TesseraCore
import TesseraTesting
import Testing

@Suite("Lockout and rate limits at the routes")
struct SecurityRouteTests {
    @Test("five failed password grants lock the account; unlocking (tessera user unlock) lifts it")
    func lockoutThenUnlock() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            for _ in 0..<5 {
                let wrong = try await client.postForm("grant_type=password&username=alice&password=wrong", authorization: harness.basic)
                wrong.expectOAuthError(.badRequest, "invalid_grant")
            }
            let locked = try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic)
            locked.expectOAuthError(.badRequest, "invalid_grant")
            #expect((locked.json["error_description"] as? String)?.contains("temporarily locked") == true)
            #expect(try await harness.store.lockedLogins(at: Date()).map(\.username) == ["alice"])

            #expect(try await harness.store.clearLoginAttempts(username: "alice"))
            let unlocked = try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic)
            #expect(unlocked.status == .ok)
        }
    }
}

import Foundation
import TesseraCore
import TesseraTesting
import Testing

@Suite("Per-account lockout (RFC 9700 §4.16)")
struct LockoutTests {
    func attempt(_ core: CoreHarness, _ svc: (id: String, secret: String), _ username: String, _ password: String) async -> OAuthError? {
        do {
            _ = try await core.token([("grant_type", "password"), ("username", username), ("password", password)], basic: svc)
            return nil
        } catch let error as OAuthError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test("the delay starts after the threshold, doubles and is capped")
    func delays() {
        let policy = LockoutPolicy()
        #expect(policy.delay(afterFailures: 4) == nil)
        #expect(policy.delay(afterFailures: 5) == 60)
        #expect(policy.delay(afterFailures: 6) == 120)
        #expect(policy.delay(afterFailures: 7) == 240)
        #expect(policy.delay(afterFailures: 12) == 3600)
        #expect(policy.delay(afterFailures: 500) == 3600)
        #expect(LockoutPolicy(threshold: 0).delay(afterFailures: 100) == nil)
    }

    @Test("five failures lock the account; even the right password is refused until the delay passes")
    func locksThenRecovers() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        for _ in 0..<5 {
            let error = await attempt(core, svc, "alice", "wrong")
            #expect(error?.errorDescription == "The username or password is incorrect.")
        }
        let locked = await attempt(core, svc, "alice", "wonderland")
        #expect(locked?.code == .invalidGrant)
        #expect(locked?.errorDescription.contains("temporarily locked") == true)
        #expect(audit.events.contains { $0.kind == .accountLocked })
        #expect(audit.events.contains { $0.kind == .loginRefusedLocked })

        core.clock.advance(by: 61)
        #expect(await attempt(core, svc, "alice", "wonderland") == nil, "the lock lifts after 1 minute")
        #expect(try await core.storage.loginAttempts(username: "alice") == nil, "a success resets the counter")
    }

    @Test("each further failure doubles the delay")
    func progressive() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        for _ in 0..<5 { _ = await attempt(core, svc, "alice", "wrong") }
        core.clock.advance(by: 61)
        _ = await attempt(core, svc, "alice", "wrong")
        let state = try #require(try await core.storage.loginAttempts(username: "alice"))
        #expect(state.failures == 6)
        #expect(state.lockedUntil == core.clock.now.addingTimeInterval(120))
    }

    @Test("an unknown username locks exactly like a known one")
    func unknownUsersLockToo() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        for _ in 0..<5 {
            _ = await attempt(core, svc, "alice", "wrong")
            _ = await attempt(core, svc, "mallory", "wrong")
        }
        let known = await attempt(core, svc, "alice", "wonderland")
        let unknown = await attempt(core, svc, "mallory", "wonderland")
        #expect(known?.errorDescription == unknown?.errorDescription)
        #expect(try await core.storage.lockedLogins(at: core.clock.now).map(\.username) == ["alice", "mallory"])
    }

    @Test("the browser login page's authenticator shares the lock, and clearing lifts it")
    func unlock() async throws {
        let core = try await CoreHarness()
        _ = try await core.addUser()
        let authenticator = UserAuthenticator(services: core.services)
        for _ in 0..<5 {
            await #expect(throws: OAuthError.self) { _ = try await authenticator.authenticate(username: "alice", password: "nope", clientID: nil) }
        }
        await #expect(throws: OAuthError.self) { _ = try await authenticator.authenticate(username: "alice", password: "wonderland", clientID: nil) }
        #expect(try await core.storage.clearLoginAttempts(username: "alice"))
        _ = try await authenticator.authenticate(username: "alice", password: "wonderland", clientID: nil)
    }

    @Test("failures older than the window no longer count")
    func window() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        for _ in 0..<4 { _ = await attempt(core, svc, "alice", "wrong") }
        core.clock.advance(by: 16 * 60)
        _ = await attempt(core, svc, "alice", "wrong")
        #expect(await attempt(core, svc, "alice", "wonderland") == nil)
    }
}

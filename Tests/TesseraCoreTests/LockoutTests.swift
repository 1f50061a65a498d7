import Foundation
import Synchronization
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
        let authenticator = UserAuthenticator(services: core.services, storage: core.storage)
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

    @Test("a lock longer than the window keeps the count: sequential failures double the lock up to 1 hour (issue 20 item 9)")
    func escalatesToOneHour() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        for _ in 0..<5 { _ = await attempt(core, svc, "alice", "wrong") }
        var lock: TimeInterval = 60
        #expect(try await core.storage.loginAttempts(username: "alice")?.lockedUntil == core.clock.now.addingTimeInterval(lock))
        for expected in [120.0, 240, 480, 960, 1920, 3600, 3600] {
            core.clock.advance(by: lock + 1)
            #expect(await attempt(core, svc, "alice", "wrong")?.errorDescription == "The username or password is incorrect.")
            let state = try #require(try await core.storage.loginAttempts(username: "alice"))
            #expect(state.lockedUntil == core.clock.now.addingTimeInterval(expected), "after \(state.failures) failures")
            lock = expected
        }
        #expect(try await core.storage.loginAttempts(username: "alice")?.failures == 12)
    }

    @Test("20 concurrent wrong guesses and then the right one: at most 5 passwords checked, no token (issue 13 item 3)")
    func concurrentGuessesCheckAtMostThreshold() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        let hasher = CountingHasher(core.hasher)
        let services = GrantServices(settings: core.services.settings, clock: core.clock,
                                     accessTokens: core.services.accessTokens, passwords: hasher, audit: audit)
        let endpoint = TokenEndpoint(services: services, storage: core.storage)
        @Sendable func guess(_ password: String) async -> Bool {
            let request = try? TokenRequest(parameters: [("grant_type", "password"), ("username", "alice"), ("password", password)], basicCredentials: svc)
            guard let request else { return false }
            return (try? await endpoint.handle(request)) != nil
        }
        let tokens = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<20 { group.addTask { await guess("wrong-\(i)") } }
            group.addTask {
                // The right password arrives while the first wrong ones are being checked.
                for _ in 0..<1000 where hasher.checks < 5 { try? await Task.sleep(for: .milliseconds(5)) }
                return await guess("wonderland")
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(!tokens.contains(true), "no token")
        #expect(hasher.checks == 5, "only the 5 reserved guesses were checked")
        #expect(audit.events.filter { $0.kind == .loginFailed }.count == 5)
        #expect(audit.events.filter { $0.kind == .loginRefusedLocked }.count == 16)
        #expect(audit.events.filter { $0.kind == .accountLocked }.map { $0.detail["locked_seconds"] } == ["60"],
                "a burst locks no longer than the same number of sequential failures")
    }

    @Test("a password typed into the username field never reaches the audit log; a real username does (issue 13 item 10)")
    func auditNamesOnlyRealUsers() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        let typed = "Tr0ub4dor&3-typed-as-username"
        _ = await attempt(core, svc, "alice", "wrong")
        for _ in 0..<6 { _ = await attempt(core, svc, typed, "wonderland") }
        let failedAlice = try #require(audit.events.first { $0.kind == .loginFailed })
        #expect(failedAlice.detail["username"] == "alice" && failedAlice.detail["username_hmac"] == nil)
        // What is hashed is the canonical form (RFC 8265): every spelling of one name is one value.
        let hmac = core.services.auditUsername(try #require(Username.canonical(typed)).value, names: nil)["username_hmac"]
        #expect(hmac?.count == 32 && hmac?.allSatisfy(\.isHexDigit) == true, "16 bytes, hex")
        let unknown = audit.events.filter { $0.detail["username"] != "alice" && $0.kind != .tokenIssued }
        #expect(Set(unknown.map(\.kind)) == [.loginFailed, .accountLocked, .loginRefusedLocked])
        for event in unknown {
            #expect(event.detail["username"] == nil && event.detail["username_hmac"] == hmac, "\(event.kind.rawValue)")
        }
        for event in audit.events {
            #expect(!event.detail.values.contains { $0.contains(typed) || $0.contains(typed.lowercased()) }, "\(event.kind.rawValue) leaks what was typed")
        }
        let other = GrantServices(settings: core.services.settings, clock: core.clock,
                                  accessTokens: core.services.accessTokens, passwords: core.hasher, audit: audit)
        #expect(other.auditUsername(typed, names: nil) != core.services.auditUsername(typed, names: nil), "keyed: another key, another value")
    }
}

/// Counts password checks and holds each one for a moment, so concurrent attempts overlap as on a busy server.
final class CountingHasher: PasswordHasher {
    let inner: any PasswordHasher
    private let count = Mutex(0)
    init(_ inner: any PasswordHasher) { self.inner = inner }

    var checks: Int { count.withLock { $0 } }

    func hash(_ password: String) async throws -> String { try await inner.hash(password) }
    func verify(_ password: String, hash: String) async throws -> Bool {
        count.withLock { $0 += 1 }
        try await Task.sleep(for: .milliseconds(100))
        return try await inner.verify(password, hash: hash)
    }
    func verifyAgainstNothing(_ password: String) async throws {
        count.withLock { $0 += 1 }
        try await Task.sleep(for: .milliseconds(100))
        try await inner.verifyAgainstNothing(password)
    }
    func needsRehash(_ hash: String) -> Bool { inner.needsRehash(hash) }
}

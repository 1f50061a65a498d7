import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for the security stores (login failure counters and locks).
extension StoreConformance {
    public static func loginFailuresCountAndLock(_ store: any TesseraStorage) async throws {
        let policy = LockoutPolicy(threshold: 3, window: 900, initialDelay: 60, maximumDelay: 240)
        func reserve(_ username: String, _ offset: TimeInterval) async throws -> LoginAttemptReservation? {
            try await store.reserveLoginAttempt(username: username, at: epoch.addingTimeInterval(offset), policy: policy)
        }
        #expect(try await store.loginAttempts(username: "alice") == nil)
        #expect(try await reserve("alice", 0) == LoginAttemptReservation(username: "alice", failures: 1, lockedUntil: nil, at: epoch))
        #expect(try await reserve("alice", 10)?.failures == 2)
        #expect(try await reserve("ghost", 0)?.failures == 1, "counted per username")
        let third = try #require(try await reserve("alice", 20))
        #expect(third.failures == 3)
        #expect(third.lockedUntil == epoch.addingTimeInterval(80), "the reservation reaching the threshold locks in the same statement")
        var alice = try #require(try await store.loginAttempts(username: "alice"))
        #expect(alice == LoginAttemptState(username: "alice", failures: 3, lastFailureAt: epoch.addingTimeInterval(20), lockedUntil: epoch.addingTimeInterval(80)))

        #expect(try await reserve("alice", 30) == nil, "refused while locked")
        #expect(try await store.loginAttempts(username: "alice") == alice, "a refused reservation changes nothing")
        #expect(try await store.lockedLogins(at: epoch.addingTimeInterval(30)).map(\.username) == ["alice"])
        #expect(try await store.lockedLogins(at: epoch.addingTimeInterval(80)).isEmpty, "expired at lockedUntil")

        // Each further failure after a lock doubles it, up to the maximum (the CASE built from the policy's schedule).
        var at: TimeInterval = 80
        for (failures, delay) in [(4, 120.0), (5, 240.0), (6, 240.0)] {
            let next = try #require(try await reserve("alice", at))
            #expect(next.failures == failures)
            #expect(next.lockedUntil == epoch.addingTimeInterval(at + delay))
            at += delay
        }
        // A right password with a second factor due takes its reservation back: one failure less, its lock lifted.
        let right = try #require(try await reserve("alice", at))
        #expect(right.failures == 7 && right.lockedUntil == epoch.addingTimeInterval(at + 240))
        try await store.releaseLoginAttempt(right)
        alice = try #require(try await store.loginAttempts(username: "alice"))
        #expect(alice.failures == 6)
        #expect(!alice.isLocked(at: epoch.addingTimeInterval(at)))

        #expect(try await reserve("ghost", 2000)?.failures == 1, "the count restarts when the previous failure left the window")
        #expect(try await store.purgeLoginAttempts(before: epoch.addingTimeInterval(at)) == 0, "nothing stale yet")
        #expect(try await store.purgeLoginAttempts(before: epoch.addingTimeInterval(at + 1000)) == 1, "alice's stale state goes")
        #expect(try await store.loginAttempts(username: "alice") == nil)

        #expect(try await store.clearLoginAttempts(username: "ghost"))
        #expect(try await store.clearLoginAttempts(username: "ghost") == false)
        #expect(try await store.loginAttempts(username: "ghost") == nil)
    }

    /// Issue 20 item 9: a failure is stale only when the last failure *and* the last lock's end left the window,
    /// so a lock longer than the window does not reset the count the moment it ends.
    public static func loginLockEndKeepsTheCount(_ store: any TesseraStorage) async throws {
        let policy = LockoutPolicy(threshold: 2, window: 900, initialDelay: 1000, maximumDelay: 4000)
        for _ in 0..<2 { _ = try await store.reserveLoginAttempt(username: "carol", at: epoch, policy: policy) }
        #expect(try await store.loginAttempts(username: "carol")?.lockedUntil == epoch.addingTimeInterval(1000))
        let after = try #require(try await store.reserveLoginAttempt(username: "carol", at: epoch.addingTimeInterval(1001), policy: policy))
        #expect(after.failures == 3, "the lock ended 1 s ago: the count goes on")
        #expect(after.lockedUntil == epoch.addingTimeInterval(3001))
        let stale = try #require(try await store.reserveLoginAttempt(username: "carol", at: epoch.addingTimeInterval(3001 + 901), policy: policy))
        #expect(stale.failures == 1 && stale.lockedUntil == nil, "both the failure and the lock left the window")
    }

    /// 20 reservations racing at one instant: exactly `threshold` are granted (counts 1…threshold), the last one locks.
    public static func concurrentReservationsStopAtTheThreshold(_ store: any TesseraStorage) async throws {
        let policy = LockoutPolicy()
        let reservations = try await withThrowingTaskGroup(of: LoginAttemptReservation?.self) { group in
            for _ in 0..<20 {
                group.addTask { try await store.reserveLoginAttempt(username: "bob", at: epoch, policy: policy) }
            }
            return try await group.reduce(into: [LoginAttemptReservation?]()) { $0.append($1) }
        }
        let granted = reservations.compactMap { $0 }
        #expect(granted.map(\.failures).sorted() == Array(1...policy.threshold), "exactly threshold reserved")
        #expect(granted.compactMap(\.lockedUntil) == [epoch.addingTimeInterval(60)], "one lock, the first one's length")
        #expect(try await store.loginAttempts(username: "bob") == LoginAttemptState(username: "bob", failures: 5, lastFailureAt: epoch,
                                                                                    lockedUntil: epoch.addingTimeInterval(60)))
    }
}

extension StoreConformance {
    public static func auditEvents(_ store: any TesseraStorage) async throws {
        let issued = AuditEvent(.tokenIssued, at: epoch, clientID: "svc", subject: "u-1", detail: ["grant_type": "password", "scope": "read"])
        let failed = AuditEvent(.loginFailed, at: epoch.addingTimeInterval(1), clientID: "svc", detail: ["reason": "unknown_user"])
        let other = AuditEvent(.clientRegistered, at: epoch.addingTimeInterval(2), clientID: "c-2")
        try await store.insertAuditEvents([issued, failed])
        try await store.insertAuditEvents([other])
        #expect(try await store.auditEvents(AuditEventFilter()) == [other, failed, issued], "newest first, detail round-trips")
        #expect(try await store.auditEvents(AuditEventFilter(clientID: "svc")) == [failed, issued])
        #expect(try await store.auditEvents(AuditEventFilter(subject: "u-1")) == [issued])
        #expect(try await store.auditEvents(AuditEventFilter(kind: .loginFailed)) == [failed])
        #expect(try await store.auditEvents(AuditEventFilter(since: epoch.addingTimeInterval(1))) == [other, failed])
        #expect(try await store.auditEvents(AuditEventFilter(limit: 1)) == [other])
    }

    /// A flush after a busy second carries thousands of events: more rows than one statement may have bind
    /// parameters (SQLite: 32,766, i.e. 4,681 rows of 7), with details that need JSON escaping.
    public static func largeAuditBatch(_ store: any TesseraStorage) async throws {
        let awkward = ["quote \" and backslash \\", "line\nbreak\ttab\u{01}", "é 漢字 🙂 e\u{301}", "</script>", ""]
        let events = (0..<5_000).map { n in
            AuditEvent(.tokenIssued, at: epoch.addingTimeInterval(Double(n / 100)), clientID: "c-\(n % 7)", subject: "u-\(n)",
                       detail: ["grant_type": "client_credentials", "note": awkward[n % awkward.count], "z-\(n % 3)": "\(n)"])
        }
        try await store.insertAuditEvents(events)
        let stored = try await store.auditEvents(AuditEventFilter(limit: 10_000))
        #expect(stored.count == events.count)
        #expect(Set(stored.compactMap(\.subject)) == Set(events.compactMap(\.subject)), "every event once")
        let bySubject = Dictionary(uniqueKeysWithValues: stored.map { ($0.subject ?? "", $0) })
        for n in stride(from: 0, to: events.count, by: 97) {
            #expect(bySubject["u-\(n)"] == events[n], "event \(n) round-trips")
        }
    }
}

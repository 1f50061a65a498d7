import Foundation
import TesseraCore
import Testing

/// Conformance checks for the security stores (login failure counters and locks).
extension StoreConformance {
    public static func loginFailuresCountAndLock(_ store: any TesseraStorage) async throws {
        #expect(try await store.loginAttempts(username: "alice") == nil)
        #expect(try await store.recordLoginFailure(username: "alice", at: epoch, window: 900) == 1)
        #expect(try await store.recordLoginFailure(username: "alice", at: epoch.addingTimeInterval(10), window: 900) == 2)
        #expect(try await store.recordLoginFailure(username: "ghost", at: epoch, window: 900) == 1, "counted per username")
        #expect(try await store.recordLoginFailure(username: "alice", at: epoch.addingTimeInterval(20), window: 900) == 3)
        var alice = try #require(try await store.loginAttempts(username: "alice"))
        #expect(alice.failures == 3)
        #expect(alice.lastFailureAt == epoch.addingTimeInterval(20))
        #expect(alice.lockedUntil == nil)

        try await store.lockLogin(username: "alice", until: epoch.addingTimeInterval(120))
        try await store.lockLogin(username: "alice", until: epoch.addingTimeInterval(60))
        alice = try #require(try await store.loginAttempts(username: "alice"))
        #expect(alice.lockedUntil == epoch.addingTimeInterval(120), "a lock never shrinks")
        #expect(try await store.lockedLogins(at: epoch.addingTimeInterval(30)).map(\.username) == ["alice"])
        #expect(try await store.lockedLogins(at: epoch.addingTimeInterval(120)).isEmpty, "expired at lockedUntil")

        #expect(try await store.recordLoginFailure(username: "alice", at: epoch.addingTimeInterval(2000), window: 900) == 1,
                "the count restarts when the previous failure left the window")
        #expect(try await store.purgeLoginAttempts(before: epoch.addingTimeInterval(1000)) == 1, "ghost's stale state goes")
        #expect(try await store.loginAttempts(username: "ghost") == nil)

        #expect(try await store.clearLoginAttempts(username: "alice"))
        #expect(try await store.clearLoginAttempts(username: "alice") == false)
        #expect(try await store.loginAttempts(username: "alice") == nil)
    }

    public static func concurrentLoginFailuresAllCount(_ store: any TesseraStorage) async throws {
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<20 {
                group.addTask { try await store.recordLoginFailure(username: "bob", at: epoch.addingTimeInterval(Double(i) / 100), window: 900) }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts.sorted() == Array(1...20), "each concurrent failure gets its own count")
        #expect(try await store.loginAttempts(username: "bob")?.failures == 20)
    }
}

extension StoreConformance {
    public static func rateLimitCounters(_ store: any TesseraStorage) async throws {
        #expect(try await store.countRateLimitHit(key: "token:svc", windowStart: epoch) == 1)
        #expect(try await store.countRateLimitHit(key: "token:svc", windowStart: epoch) == 2)
        #expect(try await store.countRateLimitHit(key: "token:other", windowStart: epoch) == 1, "counted per key")
        #expect(try await store.countRateLimitHit(key: "token:svc", windowStart: epoch.addingTimeInterval(10)) == 1, "a new window restarts")
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await store.countRateLimitHit(key: "ip:1", windowStart: epoch) } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts.sorted() == Array(1...20), "concurrent hits are all counted")
        #expect(try await store.purgeRateLimits(before: epoch.addingTimeInterval(5)) == 2)
        #expect(try await store.countRateLimitHit(key: "token:svc", windowStart: epoch.addingTimeInterval(10)) == 2)
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
}

import Foundation
import TesseraCore

extension MemoryStore {
    public func loginAttempts(username: String) -> LoginAttemptState? { loginAttemptStates[username] }

    public func recordLoginFailure(username: String, at date: Date, window: TimeInterval) -> Int {
        var state = loginAttemptStates[username] ?? LoginAttemptState(username: username, failures: 0, lastFailureAt: date)
        state.failures = state.lastFailureAt < date.addingTimeInterval(-window) ? 1 : state.failures + 1
        state.lastFailureAt = date
        loginAttemptStates[username] = state
        return state.failures
    }

    public func lockLogin(username: String, until: Date) {
        guard var state = loginAttemptStates[username] else { return }
        if state.lockedUntil.map({ $0 < until }) ?? true { state.lockedUntil = until }
        loginAttemptStates[username] = state
    }

    public func clearLoginAttempts(username: String) -> Bool { loginAttemptStates.removeValue(forKey: username) != nil }

    public func lockedLogins(at date: Date) -> [LoginAttemptState] {
        loginAttemptStates.values.filter { $0.isLocked(at: date) }.sorted { $0.username < $1.username }
    }

    public func purgeLoginAttempts(before date: Date) -> Int {
        let before = loginAttemptStates.count
        loginAttemptStates = loginAttemptStates.filter { $0.value.lastFailureAt >= date || $0.value.isLocked(at: date) }
        return before - loginAttemptStates.count
    }
}

extension MemoryStore {
    public func countRateLimitHit(key: String, windowStart: Date) -> Int {
        var entry = rateLimitCounters[key] ?? (windowStart, 0)
        entry = entry.windowStart == windowStart ? (windowStart, entry.count + 1) : (windowStart, 1)
        rateLimitCounters[key] = entry
        return entry.count
    }

    public func purgeRateLimits(before date: Date) -> Int {
        let before = rateLimitCounters.count
        rateLimitCounters = rateLimitCounters.filter { $0.value.windowStart >= date }
        return before - rateLimitCounters.count
    }
}

extension MemoryStore {
    public func insertAuditEvents(_ events: [AuditEvent]) { auditLog.append(contentsOf: events) }
    public func auditEvents(_ filter: AuditEventFilter) -> [AuditEvent] {
        Array(auditLog.enumerated().filter { filter.matches($0.element) }
            .sorted { ($0.element.at, $0.offset) > ($1.element.at, $1.offset) }.map(\.element).prefix(filter.limit))
    }
}

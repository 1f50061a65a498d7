public import Foundation
public import TesseraCore

extension MemoryStore {
    public func loginAttempts(username: String) -> LoginAttemptState? { loginAttemptStates[username] }

    public func reserveLoginAttempt(username: String, at date: Date, policy: LockoutPolicy) -> LoginAttemptReservation? {
        let previous = loginAttemptStates[username]
        if let previous, previous.isLocked(at: date) { return nil }
        var state = previous ?? LoginAttemptState(username: username, failures: 0, lastFailureAt: date)
        state.failures = previous?.isStale(at: date, window: policy.window) ?? true ? 1 : state.failures + 1
        state.lastFailureAt = date
        let lock = policy.lockEnd(afterFailures: state.failures, at: date)
        if let lock { state.lockedUntil = lock }
        loginAttemptStates[username] = state
        return LoginAttemptReservation(username: username, failures: state.failures, lockedUntil: lock, at: date)
    }

    public func releaseLoginAttempt(_ reservation: LoginAttemptReservation) {
        guard var state = loginAttemptStates[reservation.username] else { return }
        state.failures = max(state.failures - 1, 0)
        if let lock = reservation.lockedUntil, state.lockedUntil == lock { state.lockedUntil = nil }
        loginAttemptStates[reservation.username] = state
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
    public func insertAuditEvents(_ events: [AuditEvent]) { auditLog.append(contentsOf: events) }
    public func auditEvents(_ filter: AuditEventFilter) -> [AuditEvent] {
        Array(auditLog.enumerated().filter { filter.matches($0.element) }
            .sorted { ($0.element.at, $0.offset) > ($1.element.at, $1.offset) }.map(\.element).prefix(filter.limit))
    }
}

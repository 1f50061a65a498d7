import Foundation

/// Per-account brute-force protection (RFC 9700 §4.16 asks for it; OWASP ASVS V2.2): after
/// `threshold` failed logins for one username the account is locked, for a delay that doubles
/// with each further failure, up to `maximumDelay`.
///
/// The lock is keyed by the *username as typed*, whether or not such a user exists, so a locked
/// unknown username and a locked real one answer alike.
public struct LockoutPolicy: Sendable, Equatable {
    /// Failed attempts before the first lock. Default 5. `0` turns lockout off.
    public var threshold: Int = 5
    /// A failure older than this no longer counts: the counter restarts. Default 15 minutes.
    public var window: TimeInterval = 15 * 60
    /// The first lock's length; each further failure doubles it. Default 1 minute.
    public var initialDelay: TimeInterval = 60
    /// The longest lock. Default 1 hour.
    public var maximumDelay: TimeInterval = 3600

    public init(threshold: Int = 5, window: TimeInterval = 15 * 60, initialDelay: TimeInterval = 60, maximumDelay: TimeInterval = 3600) {
        self.threshold = threshold
        self.window = window
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    public var isEnabled: Bool { threshold > 0 }

    /// The lock length after `failures` consecutive failures, or `nil` below the threshold.
    public func delay(afterFailures failures: Int) -> TimeInterval? {
        guard isEnabled, failures >= threshold else { return nil }
        let doublings = min(failures - threshold, 30)
        return min(initialDelay * Double(1 << doublings), maximumDelay)
    }
}

/// The recorded failures of one username.
public struct LoginAttemptState: Sendable, Equatable {
    public var username: String
    /// Consecutive failures within the window.
    public var failures: Int
    public var lastFailureAt: Date
    /// Logins are refused until this instant.
    public var lockedUntil: Date?

    public init(username: String, failures: Int, lastFailureAt: Date, lockedUntil: Date? = nil) {
        self.username = username
        self.failures = failures
        self.lastFailureAt = lastFailureAt
        self.lockedUntil = lockedUntil
    }

    public func isLocked(at date: Date) -> Bool { lockedUntil.map { $0 > date } ?? false }
}

/// Failed-login counters, shared by every node. Each change is one atomic statement, so concurrent
/// failures on several nodes are all counted.
public protocol LoginAttemptStore: Sendable {
    /// The state of `username`, or `nil` when it has no recorded failure.
    func loginAttempts(username: String) async throws -> LoginAttemptState?
    /// Atomically counts one failure at `at` and returns the new count. The count restarts at 1 when
    /// the previous failure is older than `window` seconds.
    func recordLoginFailure(username: String, at: Date, window: TimeInterval) async throws -> Int
    /// Locks `username` until `until`, unless it is already locked longer (a lock never shrinks here).
    func lockLogin(username: String, until: Date) async throws
    /// Forgets every failure and lock of `username`. Returns whether there was any.
    @discardableResult
    func clearLoginAttempts(username: String) async throws -> Bool
    /// The usernames locked at `at`, by username.
    func lockedLogins(at: Date) async throws -> [LoginAttemptState]
    /// Deletes states whose last failure is older than `before` and that are not locked then.
    @discardableResult
    func purgeLoginAttempts(before: Date) async throws -> Int
}

extension AuditEvent.Kind {
    /// An account reached the lockout threshold (detail: `failures`, `locked_seconds`).
    public static let accountLocked = AuditEvent.Kind(rawValue: "account.locked")
    /// A login was refused without checking the password because the account is locked.
    public static let loginRefusedLocked = AuditEvent.Kind(rawValue: "login.locked")
    /// An administrator lifted a lock (`tessera user unlock`).
    public static let accountUnlocked = AuditEvent.Kind(rawValue: "account.unlocked")
}

public import Foundation

/// Per-account brute-force protection (RFC 9700 §4.16 asks for it; OWASP ASVS V2.2): after
/// `threshold` failed logins for one username the account is locked, for a delay that doubles
/// with each further failure, up to `maximumDelay`.
///
/// The lock is keyed by the *username as typed*, whether or not such a user exists, so a locked
/// unknown username and a locked real one answer alike.
public struct LockoutPolicy: Sendable, Equatable {
    /// Failed attempts before the first lock. Default 5. `0` turns lockout off.
    public var threshold: Int = 5
    /// The counter restarts once both the last failure and the last lock's end are older than this
    /// (`LoginAttemptState.isStale`). Default 15 minutes.
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

    /// Every distinct lock length, from the threshold up: `(failures, delay)` means "from `failures` on, lock for
    /// `delay`" until the next step. The last step holds for any higher count. Stores turn this into the `CASE`
    /// of their one-statement reservation (`LoginAttemptStore.reserveLoginAttempt`). Empty when lockout is off.
    public var lockSchedule: [(failures: Int, delay: TimeInterval)] {
        guard isEnabled else { return [] }
        var steps: [(failures: Int, delay: TimeInterval)] = []
        var failures = threshold
        while let lock = delay(afterFailures: failures) {
            steps.append((failures, lock))
            guard failures - threshold < 30, let next = delay(afterFailures: failures + 1), next != lock else { break }
            failures += 1
        }
        return steps
    }

    /// The lock set when an attempt brings the count to `failures` at `now`, or `nil` below the threshold.
    public func lockEnd(afterFailures failures: Int, at now: Date) -> Date? {
        delay(afterFailures: failures).map { now.addingTimeInterval($0) }
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

    /// Whether the next failure at `date` starts the count again at 1: both the last failure and the end of the
    /// last lock are older than `window`. (Measuring from the last failure alone would forget a 16-minute lock's
    /// count the moment it ends, and the doubling would never reach `maximumDelay`.)
    public func isStale(at date: Date, window: TimeInterval) -> Bool {
        let cutoff = date.addingTimeInterval(-window)
        return lastFailureAt < cutoff && (lockedUntil.map { $0 < cutoff } ?? true)
    }
}

/// One login attempt counted as a failure *before* its password or code is checked
/// (`LoginAttemptStore.reserveLoginAttempt`).
public struct LoginAttemptReservation: Sendable, Equatable {
    public var username: String
    /// Consecutive failures, this attempt included.
    public var failures: Int
    /// The lock this attempt set by reaching the threshold, or `nil`.
    public var lockedUntil: Date?
    public var at: Date

    public init(username: String, failures: Int, lockedUntil: Date?, at: Date) {
        self.username = username
        self.failures = failures
        self.lockedUntil = lockedUntil
        self.at = at
    }
}

/// Failed-login counters, shared by every node. Each change is one atomic statement, so concurrent
/// attempts on several nodes are all counted and never check more guesses than the threshold allows.
public protocol LoginAttemptStore: Sendable {
    /// The state of `username`, or `nil` when it has no recorded failure.
    func loginAttempts(username: String) async throws -> LoginAttemptState?
    /// Reserves one attempt of `username` at `at`, before its credentials are checked, in one conditional statement:
    /// unless `username` is locked at `at`, counts the attempt as a failure (restarting at 1 when the state
    /// `isStale(at:window:)`), sets the last failure to `at`, and — when the new count reaches `policy.threshold` —
    /// locks until `policy.lockEnd(afterFailures:at:)`. Returns `nil`, changing nothing, while locked: so however many
    /// attempts race on however many nodes, at most `threshold` are checked before the lock.
    func reserveLoginAttempt(username: String, at: Date, policy: LockoutPolicy) async throws -> LoginAttemptReservation?
    /// Takes back a reservation whose password was right while a second factor is still due: one failure less, and
    /// the lock it set (if still `reservation.lockedUntil`) lifted. A right password neither counts nor clears.
    func releaseLoginAttempt(_ reservation: LoginAttemptReservation) async throws
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

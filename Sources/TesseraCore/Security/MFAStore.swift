public import Foundation

/// A user's TOTP enrolment at rest. Unconfirmed until the user proves a first code.
public struct MFAEnrollment: Sendable, Hashable {
    public var userID: String
    /// The HMAC key (see `TOTPGenerator`) as stored: its `KeyEncryption` envelope, sealed for `.totp(userID:)`
    /// (or legacy plaintext). `MFAService` seals and opens it; the store compares it only as an opaque string.
    public var secret: String
    /// MFA is on only once confirmed.
    public var confirmed: Bool
    /// The last accepted time step; a code of this step or an earlier one is refused (RFC 6238 §5.2).
    public var lastUsedStep: Int64?
    public var createdAt: Date
    public var confirmedAt: Date?

    public init(userID: String, secret: String, confirmed: Bool = false, lastUsedStep: Int64? = nil, createdAt: Date, confirmedAt: Date? = nil) {
        self.userID = userID
        self.secret = secret
        self.confirmed = confirmed
        self.lastUsedStep = lastUsedStep
        self.createdAt = createdAt
        self.confirmedAt = confirmedAt
    }
}

/// One recovery code at rest: only its SHA-256 digest.
public struct RecoveryCodeRecord: Sendable, Hashable {
    public var userID: String
    public var digest: Data
    public var usedAt: Date?

    public init(userID: String, digest: Data, usedAt: Date? = nil) {
        self.userID = userID
        self.digest = digest
        self.usedAt = usedAt
    }
}

/// A browser session whose password was right but whose second factor is still due.
public struct MFAChallenge: Sendable, Hashable {
    /// The digest of the (still anonymous) session it is bound to.
    public var sessionDigest: Data
    public var userID: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(sessionDigest: Data, userID: String, createdAt: Date, expiresAt: Date) {
        self.sessionDigest = sessionDigest
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// TOTP enrolments, recovery codes and pending browser MFA challenges.
public protocol MFAStore: Sendable {
    func mfaEnrollment(userID: String) async throws -> MFAEnrollment?
    /// Stores a new unconfirmed enrolment, replacing an unconfirmed one. Returns `false` (storing nothing)
    /// when the user already has a confirmed enrolment.
    func saveUnconfirmedMFAEnrollment(_ enrollment: MFAEnrollment) async throws -> Bool
    /// Atomically confirms the unconfirmed enrolment of `userID` whose secret is `secret`, records `step` as
    /// used and replaces the user's recovery codes with `recoveryCodeDigests`. Returns `false` when there was
    /// no such unconfirmed enrolment (already confirmed, or replaced meanwhile).
    func confirmMFAEnrollment(userID: String, secret: String, step: Int64, recoveryCodeDigests: [Data], at: Date) async throws -> Bool
    /// Atomically records `step` as the last used one if it is later than the stored one. Returns `false`
    /// when the step (or a later one) was already used: of concurrent uses of one code exactly one wins.
    func acceptTOTPStep(userID: String, step: Int64) async throws -> Bool
    /// The recovery codes of `userID`, used ones included.
    func recoveryCodes(userID: String) async throws -> [RecoveryCodeRecord]
    /// Atomically marks an unused recovery code as used. Returns `false` when it was used already (or is unknown).
    func consumeRecoveryCode(userID: String, digest: Data, at: Date) async throws -> Bool
    /// Removes the enrolment and recovery codes of `userID`. Returns whether an enrolment existed.
    @discardableResult
    func deleteMFA(userID: String) async throws -> Bool
    /// The ids of users with a confirmed enrolment.
    func mfaEnabledUserIDs() async throws -> Set<String>
    /// Every stored TOTP secret (sealed or legacy plaintext) by user id, confirmed or not: for re-sealing and checks.
    func mfaSecrets() async throws -> [String: String]
    /// Replaces the stored TOTP secret of `userID` only if it still is `old` (re-sealing under a new KEK; a
    /// concurrent re-enrolment wins). Returns whether it was replaced.
    func replaceMFASecret(userID: String, from old: String, to new: String) async throws -> Bool

    func insertMFAChallenge(_ challenge: MFAChallenge) async throws
    func mfaChallenge(sessionDigest: Data) async throws -> MFAChallenge?
    func deleteMFAChallenge(sessionDigest: Data) async throws
    @discardableResult
    func purgeExpiredMFAChallenges(before: Date) async throws -> Int
}

extension AuditEvent.Kind {
    /// A user confirmed a TOTP enrolment.
    public static let mfaEnrolled = AuditEvent.Kind(rawValue: "mfa.enrolled")
    /// MFA was turned off (detail `source`: `account` or `cli`).
    public static let mfaDisabled = AuditEvent.Kind(rawValue: "mfa.disabled")
    /// A second factor was accepted (detail `method`: `totp` or `recovery_code`).
    public static let mfaSucceeded = AuditEvent.Kind(rawValue: "mfa.success")
    /// A second factor was refused (detail `reason`).
    public static let mfaFailed = AuditEvent.Kind(rawValue: "mfa.failure")
    /// A recovery code was spent (detail `remaining`).
    public static let recoveryCodeUsed = AuditEvent.Kind(rawValue: "recovery_code.used")
}

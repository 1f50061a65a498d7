public import Foundation
public import TesseraCore

/// MFA state in memory (`MemoryStore.mfa`).
struct MemoryMFAState: Sendable {
    var enrollments: [String: MFAEnrollment] = [:]
    var recoveryCodes: [String: [RecoveryCodeRecord]] = [:]
    var challenges: [Data: MFAChallenge] = [:]
}

extension MemoryStore {
    public func mfaEnrollment(userID: String) -> MFAEnrollment? { mfa.enrollments[userID] }

    public func saveUnconfirmedMFAEnrollment(_ enrollment: MFAEnrollment) -> Bool {
        if mfa.enrollments[enrollment.userID]?.confirmed == true { return false }
        var stored = enrollment
        stored.confirmed = false
        stored.lastUsedStep = nil
        stored.confirmedAt = nil
        mfa.enrollments[enrollment.userID] = stored
        return true
    }

    public func confirmMFAEnrollment(userID: String, secret: String, step: Int64, recoveryCodeDigests: [Data], at date: Date) -> Bool {
        guard var enrollment = mfa.enrollments[userID], !enrollment.confirmed, enrollment.secret == secret else { return false }
        enrollment.confirmed = true
        enrollment.lastUsedStep = step
        enrollment.confirmedAt = date
        mfa.enrollments[userID] = enrollment
        mfa.recoveryCodes[userID] = recoveryCodeDigests.map { RecoveryCodeRecord(userID: userID, digest: $0) }
        return true
    }

    public func mfaSecrets() -> [String: String] { mfa.enrollments.mapValues(\.secret) }

    public func replaceMFASecret(userID: String, from old: String, to new: String) -> Bool {
        guard mfa.enrollments[userID]?.secret == old else { return false }
        mfa.enrollments[userID]?.secret = new
        return true
    }

    public func acceptTOTPStep(userID: String, step: Int64) -> Bool {
        guard var enrollment = mfa.enrollments[userID], enrollment.confirmed, (enrollment.lastUsedStep ?? .min) < step else { return false }
        enrollment.lastUsedStep = step
        mfa.enrollments[userID] = enrollment
        return true
    }

    public func recoveryCodes(userID: String) -> [RecoveryCodeRecord] {
        (mfa.recoveryCodes[userID] ?? []).sorted { $0.digest.lexicographicallyPrecedes($1.digest) }
    }

    public func consumeRecoveryCode(userID: String, digest: Data, at date: Date) -> Bool {
        guard let index = mfa.recoveryCodes[userID]?.firstIndex(where: { $0.digest == digest && $0.usedAt == nil }) else { return false }
        mfa.recoveryCodes[userID]?[index].usedAt = date
        return true
    }

    public func deleteMFA(userID: String) -> Bool {
        mfa.recoveryCodes[userID] = nil
        mfa.challenges = mfa.challenges.filter { $0.value.userID != userID }
        return mfa.enrollments.removeValue(forKey: userID) != nil
    }

    public func mfaEnabledUserIDs() -> Set<String> { Set(mfa.enrollments.values.filter(\.confirmed).map(\.userID)) }

    public func insertMFAChallenge(_ challenge: MFAChallenge) { mfa.challenges[challenge.sessionDigest] = challenge }
    public func mfaChallenge(sessionDigest: Data) -> MFAChallenge? { mfa.challenges[sessionDigest] }
    public func deleteMFAChallenge(sessionDigest: Data) { mfa.challenges[sessionDigest] = nil }
    public func purgeExpiredMFAChallenges(before date: Date) -> Int {
        let before = mfa.challenges.count
        mfa.challenges = mfa.challenges.filter { $0.value.expiresAt >= date }
        return before - mfa.challenges.count
    }
}

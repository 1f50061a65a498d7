import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for the MFA store: enrolment, single-use TOTP steps and recovery codes, challenges.
extension StoreConformance {
    public static func mfaEnrollmentLifecycle(_ store: any TesseraStorage) async throws {
        #expect(try await store.mfaEnrollment(userID: "u-1") == nil)
        #expect(try await store.saveUnconfirmedMFAEnrollment(MFAEnrollment(userID: "u-1", secret: "first", createdAt: epoch)))
        #expect(try await store.saveUnconfirmedMFAEnrollment(MFAEnrollment(userID: "u-1", secret: "second", createdAt: epoch.addingTimeInterval(1))),
                "an unconfirmed enrolment is replaced")
        #expect(try await store.mfaEnrollment(userID: "u-1") == MFAEnrollment(userID: "u-1", secret: "second", createdAt: epoch.addingTimeInterval(1)))
        #expect(try await store.acceptTOTPStep(userID: "u-1", step: 10) == false, "no step is accepted before confirmation")
        #expect(try await store.confirmMFAEnrollment(userID: "u-1", secret: "first", step: 5, recoveryCodeDigests: [], at: epoch) == false,
                "a replaced secret cannot be confirmed")
        let digests = (0..<3).map { Secrets.digest("code-\($0)") }
        #expect(try await store.confirmMFAEnrollment(userID: "u-1", secret: "second", step: 5, recoveryCodeDigests: digests, at: epoch.addingTimeInterval(2)))
        #expect(try await store.confirmMFAEnrollment(userID: "u-1", secret: "second", step: 6, recoveryCodeDigests: [], at: epoch) == false, "confirmed once")
        let enrollment = try #require(try await store.mfaEnrollment(userID: "u-1"))
        #expect(enrollment.confirmed && enrollment.lastUsedStep == 5 && enrollment.confirmedAt == epoch.addingTimeInterval(2))
        #expect(try await store.saveUnconfirmedMFAEnrollment(MFAEnrollment(userID: "u-1", secret: "third", createdAt: epoch)) == false,
                "a confirmed enrolment is never overwritten")
        #expect(try await store.mfaEnrollment(userID: "u-1")?.secret == "second")
        #expect(Set(try await store.recoveryCodes(userID: "u-1").map(\.digest)) == Set(digests))
        #expect(try await store.mfaEnabledUserIDs() == ["u-1"])

        #expect(try await store.acceptTOTPStep(userID: "u-1", step: 5) == false, "the confirming step is spent")
        #expect(try await store.acceptTOTPStep(userID: "u-1", step: 4) == false, "older steps too")
        #expect(try await store.acceptTOTPStep(userID: "u-1", step: 7))
        #expect(try await store.acceptTOTPStep(userID: "u-1", step: 6) == false)
        #expect(try await store.mfaEnrollment(userID: "u-1")?.lastUsedStep == 7)

        #expect(try await store.deleteMFA(userID: "u-1"))
        #expect(try await store.deleteMFA(userID: "u-1") == false)
        #expect(try await store.mfaEnrollment(userID: "u-1") == nil)
        #expect(try await store.recoveryCodes(userID: "u-1").isEmpty)
        #expect(try await store.mfaEnabledUserIDs().isEmpty)
    }

    public static func concurrentMFAUsesHaveOneWinner(_ store: any TesseraStorage) async throws {
        #expect(try await store.saveUnconfirmedMFAEnrollment(MFAEnrollment(userID: "u-1", secret: "s", createdAt: epoch)))
        let code = Secrets.digest("recovery")
        #expect(try await store.confirmMFAEnrollment(userID: "u-1", secret: "s", step: 1, recoveryCodeDigests: [code, Secrets.digest("other")], at: epoch))
        let steps = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { try await store.acceptTOTPStep(userID: "u-1", step: 2) } }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(steps.filter { $0 }.count == 1, "one TOTP step is accepted once under concurrency")
        let spent = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { try await store.consumeRecoveryCode(userID: "u-1", digest: code, at: epoch) } }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(spent.filter { $0 }.count == 1, "a recovery code is consumed once under concurrency")
        #expect(try await store.consumeRecoveryCode(userID: "u-2", digest: Secrets.digest("other"), at: epoch) == false, "only the owner's")
        let codes = try await store.recoveryCodes(userID: "u-1")
        #expect(codes.first { $0.digest == code }?.usedAt == epoch)
        #expect(codes.filter { $0.usedAt == nil }.count == 1)
    }

    public static func mfaChallenges(_ store: any TesseraStorage) async throws {
        let first = MFAChallenge(sessionDigest: Secrets.digest("a"), userID: "u-1", createdAt: epoch, expiresAt: epoch.addingTimeInterval(300))
        let second = MFAChallenge(sessionDigest: Secrets.digest("b"), userID: "u-2", createdAt: epoch, expiresAt: epoch.addingTimeInterval(600))
        try await store.insertMFAChallenge(first)
        try await store.insertMFAChallenge(second)
        #expect(try await store.mfaChallenge(sessionDigest: first.sessionDigest) == first)
        #expect(try await store.purgeExpiredMFAChallenges(before: epoch.addingTimeInterval(400)) == 1)
        #expect(try await store.mfaChallenge(sessionDigest: first.sessionDigest) == nil)
        try await store.deleteMFAChallenge(sessionDigest: second.sessionDigest)
        #expect(try await store.mfaChallenge(sessionDigest: second.sessionDigest) == nil)
    }

    public static func clientMFAPasswordGrantFlag(_ store: any TesseraStorage) async throws {
        var client = Client(id: "c-1", name: "Legacy", secretDigest: Secrets.digest("s"), authMethod: .clientSecretBasic, grantTypes: [.password],
                            allowedScopes: ["read"], createdAt: epoch)
        client.allowPasswordGrantWithMFA = true
        try await store.insertClient(client)
        #expect(try await store.client(id: "c-1")?.allowPasswordGrantWithMFA == true)
        client.allowPasswordGrantWithMFA = false
        try await store.updateClient(client)
        #expect(try await store.client(id: "c-1")?.allowPasswordGrantWithMFA == false)
    }
}

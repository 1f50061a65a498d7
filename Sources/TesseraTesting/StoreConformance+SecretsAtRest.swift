import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for re-sealing secrets at rest (`tessera keys rewrap`): compare-and-set replacement.
extension StoreConformance {
    public static func secretsAtRestCompareAndSet(_ store: any TesseraStorage) async throws {
        let key = try SigningKeyFactory.generate(.es256, now: epoch)
        try await store.insertSigningKey(key)
        #expect(try await store.replaceSigningKeyMaterial(kid: key.kid, from: "not-the-stored-value", to: "x") == false,
                "a key changed meanwhile is left alone")
        #expect(try await store.replaceSigningKeyMaterial(kid: key.kid, from: key.privateKeyPEM, to: "sealed-1"))
        #expect(try await store.signingKeys().first?.privateKeyPEM == "sealed-1")
        #expect(try await store.replaceSigningKeyMaterial(kid: key.kid, from: key.privateKeyPEM, to: "sealed-2") == false, "replaced once")
        #expect(try await store.replaceSigningKeyMaterial(kid: "unknown", from: "a", to: "b") == false)

        #expect(try await store.mfaSecrets().isEmpty)
        #expect(try await store.saveUnconfirmedMFAEnrollment(MFAEnrollment(userID: "u-1", secret: "plain", createdAt: epoch)))
        #expect(try await store.confirmMFAEnrollment(userID: "u-1", secret: "plain", step: 1, recoveryCodeDigests: [], at: epoch))
        #expect(try await store.saveUnconfirmedMFAEnrollment(MFAEnrollment(userID: "u-2", secret: "pending", createdAt: epoch)))
        #expect(try await store.mfaSecrets() == ["u-1": "plain", "u-2": "pending"], "confirmed and pending enrolments")
        #expect(try await store.replaceMFASecret(userID: "u-1", from: "other", to: "x") == false)
        #expect(try await store.replaceMFASecret(userID: "u-1", from: "plain", to: "sealed"))
        let enrollment = try #require(try await store.mfaEnrollment(userID: "u-1"))
        #expect(enrollment.secret == "sealed" && enrollment.confirmed && enrollment.lastUsedStep == 1, "only the secret changes")
        #expect(try await store.replaceMFASecret(userID: "u-3", from: "a", to: "b") == false)
    }
}

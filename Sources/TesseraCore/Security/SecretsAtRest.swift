import Foundation

/// The secrets Tessera keeps in its database in recoverable form — signing private keys and TOTP secrets —
/// taken as a whole: what state they are in (for start-up and `tessera doctor`) and re-sealing them under
/// the primary key-encryption key (`tessera keys rewrap`). Everything else at rest is a digest.
public enum SecretsAtRest {
    /// How the stored secrets are protected.
    public struct Inventory: Sendable, Equatable {
        /// Legacy values stored before encryption at rest.
        public var plaintext = 0
        /// Sealed under the primary key.
        public var current = 0
        /// Sealed under another configured key (readable; `rewrap` moves them to the primary).
        public var olderKey = 0
        /// Sealed (or malformed) under a key that is not configured, by what they are (`signing-key:<kid>`, `totp:<user>`).
        public var unreadable: [String: String] = [:]

        public init() {}

        /// How many values `rewrap` would re-seal.
        public var needingRewrap: Int { plaintext + olderKey }
    }

    /// Counts the stored secrets by protection. Reads only the envelopes' key ids: nothing is decrypted.
    /// Without a KEK every sealed value counts as unreadable.
    public static func inventory(storage: any SigningKeyStore & MFAStore, encryption: KeyEncryption?) async throws -> Inventory {
        var inventory = Inventory()
        for (purpose, stored) in try await storedSecrets(storage) {
            if !KeyEncryption.isSealed(stored) {
                inventory.plaintext += 1
            } else if let encryption, encryption.canOpen(stored) {
                if encryption.isCurrent(stored) { inventory.current += 1 } else { inventory.olderKey += 1 }
            } else {
                inventory.unreadable[purpose.rawValue] = KeyEncryption.keyID(of: stored) ?? "malformed"
            }
        }
        return inventory
    }

    /// Fails when a stored secret is sealed with a key that is not configured: run at start-up so a node
    /// given the wrong (or no) KEK refuses to start instead of failing sign-ins later.
    public static func requireReadable(storage: any SigningKeyStore & MFAStore, encryption: KeyEncryption?) async throws(KeyEncryptionError) {
        let inventory: Inventory
        do { inventory = try await Self.inventory(storage: storage, encryption: encryption) } catch let error as KeyEncryptionError {
            throw error
        } catch {
            throw KeyEncryptionError(.malformed, "cannot read the stored secrets: \(error)")
        }
        guard let first = inventory.unreadable.min(by: { $0.key < $1.key }) else { return }
        let configured = encryption.map { "configured: \($0.keys.map(\.id).joined(separator: ", "))" } ?? "none configured"
        throw KeyEncryptionError(encryption == nil ? .notConfigured : .unknownKey,
                                 "\(inventory.unreadable.count) stored secret(s), e.g. \(first.key), are sealed with key-encryption key \(first.value), which is not configured (\(configured))")
    }

    /// Re-seals every legacy plaintext value, and every value sealed under an older key, under the primary key.
    /// Each row is replaced only if it still holds what was read (a concurrent rotation or enrolment wins).
    /// Returns how many values were re-sealed.
    @discardableResult
    public static func rewrap(storage: any SigningKeyStore & MFAStore, encryption: KeyEncryption) async throws -> Int {
        var count = 0
        for key in try await storage.signingKeys() {
            if let sealed = try encryption.rewrap(key.privateKeyPEM, for: .signingKey(kid: key.kid)),
               try await storage.replaceSigningKeyMaterial(kid: key.kid, from: key.privateKeyPEM, to: sealed) {
                count += 1
            }
        }
        for (userID, secret) in try await storage.mfaSecrets().sorted(by: { $0.key < $1.key }) {
            if let sealed = try encryption.rewrap(secret, for: .totp(userID: userID)),
               try await storage.replaceMFASecret(userID: userID, from: secret, to: sealed) {
                count += 1
            }
        }
        return count
    }

    static func storedSecrets(_ storage: any SigningKeyStore & MFAStore) async throws -> [(SecretPurpose, String)] {
        try await storage.signingKeys().map { (.signingKey(kid: $0.kid), $0.privateKeyPEM) }
            + storage.mfaSecrets().map { (.totp(userID: $0.key), $0.value) }
    }
}

extension MFAService {
    /// The TOTP secret of an enrolment, opened with the configured KEK (legacy plaintext passes). A value
    /// that cannot be opened is a server error (the KEK is misconfigured), never a wrong-code answer.
    func totpSecret(of enrollment: MFAEnrollment) throws(OAuthError) -> String {
        do {
            return try services.keyEncryption.open(enrollment.secret, for: .totp(userID: enrollment.userID))
        } catch {
            throw OAuthError(.serverError, "Two-factor authentication is unavailable.", underlying: error.description)
        }
    }

    /// A new TOTP secret sealed for `userID`, with its plaintext.
    func newTOTPSecret(userID: String) throws(OAuthError) -> (plaintext: String, stored: String) {
        let secret = TOTPGenerator.newSecret()
        do {
            return (secret, try services.keyEncryption.seal(secret, for: .totp(userID: userID)))
        } catch {
            throw OAuthError(.serverError, "Two-factor authentication is unavailable.", underlying: error.description)
        }
    }
}

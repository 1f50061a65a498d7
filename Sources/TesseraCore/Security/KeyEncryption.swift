public import Crypto
import Foundation

/// What a sealed secret is for: bound to the ciphertext as AES-GCM associated data (NIST SP 800-38D §5.2.1),
/// so a value copied into another row (another key's `kid`, another user's TOTP) fails to open.
public struct SecretPurpose: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The private key of signing key `kid`.
    public static func signingKey(kid: String) -> SecretPurpose { SecretPurpose(rawValue: "signing-key:\(kid)") }
    /// The TOTP secret (RFC 6238) of `userID`.
    public static func totp(userID: String) -> SecretPurpose { SecretPurpose(rawValue: "totp:\(userID)") }

    public var description: String { rawValue }
}

/// Why a secret could not be sealed or opened. Compares by `code` only (like jwt-kit's errors), so tests
/// can match on it; `description` is one line for logs and the command line, and never holds the secret.
public struct KeyEncryptionError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configured key is not 32 bytes of base64.
        public static let invalidKey = Code(rawValue: "invalid_key")
        /// The value is sealed with a key-encryption key that is not configured.
        public static let unknownKey = Code(rawValue: "unknown_key")
        /// The value is sealed but no key-encryption key is configured at all.
        public static let notConfigured = Code(rawValue: "not_configured")
        /// The envelope is not `tessera-kek:v1:<id>:<base64url>`.
        public static let malformed = Code(rawValue: "malformed")
        /// AES-GCM refused the value: tampered ciphertext, or sealed for another purpose (row).
        public static let authenticationFailed = Code(rawValue: "authentication_failed")
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    public static func == (a: KeyEncryptionError, b: KeyEncryptionError) -> Bool { a.code == b.code }
}

/// Seals secrets at rest — signing private keys and TOTP secrets — with AES-256-GCM under a key-encryption
/// key (KEK) from the configuration, never from the database (like Ory Hydra's system secret).
///
/// A sealed value is a self-describing envelope,
/// `tessera-kek:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, where the key id is the first 8 hex digits
/// of SHA-256 of the KEK. The associated data is the envelope header plus the ``SecretPurpose``, binding the
/// ciphertext to its version, its key and its row. Several KEKs may be configured: the first (primary) seals,
/// all open, so a KEK is rotated by adding a new one first and re-sealing (`tessera keys rewrap`).
///
/// A value without the `tessera-kek:` prefix is legacy plaintext (written before encryption at rest): it is
/// returned as is by ``open(_:for:)`` so existing databases keep working, and ``isCurrent(_:)`` reports it
/// for re-sealing. A value sealed with an unknown key is an error, never treated as plaintext.
public struct KeyEncryption: Sendable {
    /// The envelope's prefix; anything else is legacy plaintext.
    public static let prefix = "tessera-kek:"
    /// The current envelope version.
    static let version = "v1"

    /// One key-encryption key.
    public struct Key: Sendable {
        /// First 8 hex digits of SHA-256 of the key: names the key in envelopes and messages.
        public let id: String
        let key: SymmetricKey

        init(_ key: SymmetricKey) {
            self.key = key
            self.id = key.withUnsafeBytes { Data(SHA256.hash(data: Data($0))).prefix(4).map { String(format: "%02x", $0) }.joined() }
        }
    }

    /// The keys, primary (sealing) key first.
    public let keys: [Key]

    /// The key that seals new values.
    public var primaryKeyID: String { keys[0].id }

    /// Keys of 32 bytes each, primary first; duplicates are ignored.
    public init(keys: [SymmetricKey]) throws(KeyEncryptionError) {
        guard !keys.isEmpty else { throw KeyEncryptionError(.invalidKey, "no key-encryption key given") }
        var seen = Set<String>()
        var unique: [Key] = []
        for key in keys {
            guard key.bitCount == 256 else {
                throw KeyEncryptionError(.invalidKey, "a key-encryption key must be 32 bytes, got \(key.bitCount / 8)")
            }
            let entry = Key(key)
            if seen.insert(entry.id).inserted { unique.append(entry) }
        }
        self.keys = unique
    }

    /// Keys as base64 or base64url strings of 32 bytes (e.g. `openssl rand -base64 32`), primary first.
    public init(encodedKeys: [String]) throws(KeyEncryptionError) {
        var keys: [SymmetricKey] = []
        for (index, encoded) in encodedKeys.enumerated() {
            let trimmed = encoded.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let data = Data(base64URLEncoded: trimmed), data.count == 32 else {
                throw KeyEncryptionError(.invalidKey, "key-encryption key #\(index + 1) is not base64 of 32 bytes (make one with `openssl rand -base64 32`)")
            }
            keys.append(SymmetricKey(data: data))
        }
        try self.init(keys: keys)
    }

    /// A new random key, base64 encoded (the format ``init(encodedKeys:)`` reads).
    public static func newEncodedKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// A KEK with one new random key (tests, and databases that live only in memory).
    public static func generate() -> KeyEncryption {
        // One freshly generated 256-bit key always satisfies init(keys:).
        try! KeyEncryption(keys: [SymmetricKey(size: .bits256)])
    }

    /// Whether `stored` is a sealed envelope (rather than legacy plaintext).
    public static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// The key id of a sealed value; `nil` for plaintext or a malformed envelope.
    public static func keyID(of stored: String) -> String? {
        try? Envelope(parsing: stored)?.keyID
    }

    /// Seals `plaintext` under the primary key for `purpose`.
    public func seal(_ plaintext: String, for purpose: SecretPurpose) throws(KeyEncryptionError) -> String {
        let primary = keys[0]
        let header = "\(Self.prefix)\(Self.version):\(primary.id):"
        do {
            let box = try AES.GCM.seal(Data(plaintext.utf8), using: primary.key, nonce: AES.GCM.Nonce(),
                                       authenticating: Self.associatedData(header: header, purpose: purpose))
            // A 12-byte nonce always gives a combined form.
            guard let combined = box.combined else { throw KeyEncryptionError(.malformed, "AES-GCM gave no combined form") }
            return header + combined.base64URLEncodedString()
        } catch let error as KeyEncryptionError {
            throw error
        } catch {
            throw KeyEncryptionError(.malformed, "cannot seal the secret of \(purpose): \(error)")
        }
    }

    /// Opens a value stored for `purpose`: a sealed envelope is decrypted with the key it names; legacy
    /// plaintext (no `tessera-kek:` prefix) is returned unchanged.
    public func open(_ stored: String, for purpose: SecretPurpose) throws(KeyEncryptionError) -> String {
        guard let envelope = try Envelope(parsing: stored) else { return stored }
        guard let key = keys.first(where: { $0.id == envelope.keyID }) else {
            throw KeyEncryptionError(.unknownKey, "the secret of \(purpose) is sealed with key-encryption key \(envelope.keyID), which is not configured (configured: \(keys.map(\.id).joined(separator: ", ")))")
        }
        let plaintext: Data
        do {
            plaintext = try AES.GCM.open(AES.GCM.SealedBox(combined: envelope.combined), using: key.key,
                                         authenticating: Self.associatedData(header: envelope.header, purpose: purpose))
        } catch {
            throw KeyEncryptionError(.authenticationFailed, "the secret of \(purpose) does not decrypt under key-encryption key \(key.id): it was altered or belongs to another row")
        }
        guard let text = String(data: plaintext, encoding: .utf8) else {
            throw KeyEncryptionError(.malformed, "the secret of \(purpose) is not UTF-8")
        }
        return text
    }

    /// Whether `stored` is sealed under the primary key (nothing for `tessera keys rewrap` to do).
    public func isCurrent(_ stored: String) -> Bool {
        Self.keyID(of: stored) == primaryKeyID
    }

    /// Whether `stored` is plaintext or sealed with a configured key, i.e. can be opened.
    public func canOpen(_ stored: String) -> Bool {
        guard Self.isSealed(stored) else { return true }
        guard let id = Self.keyID(of: stored) else { return false }
        return keys.contains { $0.id == id }
    }

    /// The value re-sealed under the primary key, or `nil` when it already is.
    public func rewrap(_ stored: String, for purpose: SecretPurpose) throws(KeyEncryptionError) -> String? {
        guard !isCurrent(stored) else { return nil }
        return try seal(try open(stored, for: purpose), for: purpose)
    }

    /// A key for another use (e.g. `derivedKey(purpose: "audit-username")` keys an HMAC of unknown usernames
    /// in the audit log): HKDF-SHA256 (RFC 5869) from the primary KEK with `purpose` as info, so it never
    /// equals the KEK or a key derived for another purpose. It changes when the primary KEK changes.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: keys[0].key, salt: Data("tessera-kek-derive-v1".utf8),
                               info: Data(purpose.utf8), outputByteCount: 32)
    }

    static func associatedData(header: String, purpose: SecretPurpose) -> Data {
        Data((header + purpose.rawValue).utf8)
    }

    /// A parsed `tessera-kek:v1:<id>:<payload>`.
    struct Envelope {
        let header: String
        let keyID: String
        let combined: Data

        /// `nil` for plaintext (no prefix); throws for a sealed value that is malformed or of another version.
        init?(parsing stored: String) throws(KeyEncryptionError) {
            guard stored.hasPrefix(KeyEncryption.prefix) else { return nil }
            let parts = stored.dropFirst(KeyEncryption.prefix.count).split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == KeyEncryption.version else {
                throw KeyEncryptionError(.malformed, "a sealed secret has an unsupported envelope (expected \(KeyEncryption.prefix)\(KeyEncryption.version):<key id>:<data>)")
            }
            guard parts[1].count == 8, let data = Data(base64URLEncoded: String(parts[2])), data.count >= 12 + 16 else {
                throw KeyEncryptionError(.malformed, "a sealed secret's envelope is malformed")
            }
            self.keyID = String(parts[1])
            self.header = "\(KeyEncryption.prefix)\(KeyEncryption.version):\(parts[1]):"
            self.combined = data
        }
    }
}

extension Optional where Wrapped == KeyEncryption {
    /// Seals with the KEK when there is one; without one (tests and library callers that pass none) the
    /// value is stored as given, like before encryption at rest.
    public func seal(_ plaintext: String, for purpose: SecretPurpose) throws(KeyEncryptionError) -> String {
        guard let encryption = self else { return plaintext }
        return try encryption.seal(plaintext, for: purpose)
    }

    /// Opens with the KEK; without one, plaintext passes and a sealed value is an error.
    public func open(_ stored: String, for purpose: SecretPurpose) throws(KeyEncryptionError) -> String {
        if let encryption = self { return try encryption.open(stored, for: purpose) }
        guard !KeyEncryption.isSealed(stored) else {
            throw KeyEncryptionError(.notConfigured, "the secret of \(purpose) is sealed (key \(KeyEncryption.keyID(of: stored) ?? "?")) but no key-encryption key is configured")
        }
        return stored
    }
}

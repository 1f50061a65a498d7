import Crypto
import _CryptoExtras
public import Foundation
public import JWTKit
import Synchronization

/// Key generation and the public JWK form (RFC 7517) of Tessera's signing keys.
public enum SigningKeyFactory {
    /// Generates a new private key; the `kid` is its RFC 7638 thumbprint.
    public static func generate(_ algorithm: SigningAlgorithm, now: Date, activatesAt: Date? = nil) throws -> SigningKeyRecord {
        let pem: String
        switch algorithm {
        case .es256:
            pem = P256.Signing.PrivateKey().pemRepresentation
        case .rs256:
            pem = try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation
        }
        let jwk = try publicJWK(algorithm: algorithm, privateKeyPEM: pem, kid: nil)
        return SigningKeyRecord(kid: thumbprint(of: jwk), algorithm: algorithm, privateKeyPEM: pem, createdAt: now, activatesAt: activatesAt ?? now)
    }

    /// The public JWK of a private key, with `kid`, `use` and `alg` when a kid is given.
    public static func publicJWK(algorithm: SigningAlgorithm, privateKeyPEM: String, kid: String?) throws -> [String: String] {
        var jwk: [String: String]
        switch algorithm {
        case .es256:
            let key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
            let raw = key.publicKey.rawRepresentation // x || y
            jwk = ["kty": "EC", "crv": "P-256",
                   "x": raw.prefix(32).base64URLEncodedString(), "y": raw.suffix(32).base64URLEncodedString()]
        case .rs256:
            let key = try Insecure.RSA.PrivateKey(pem: privateKeyPEM)
            let (modulus, exponent) = try key.publicKey.getKeyPrimitives()
            jwk = ["kty": "RSA", "n": modulus.base64URLEncodedString(), "e": exponent.base64URLEncodedString()]
        }
        if let kid {
            jwk["kid"] = kid
            jwk["use"] = "sig"
            jwk["alg"] = algorithm.rawValue
        }
        return jwk
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in lexicographic order.
    public static func thumbprint(of jwk: [String: String]) -> String {
        let members: [String] = jwk["kty"] == "EC" ? ["crv", "kty", "x", "y"] : ["e", "kty", "n"]
        let json = "{" + members.map { "\"\($0)\":\"\(jwk[$0] ?? "")\"" }.joined(separator: ",") + "}"
        return Data(SHA256.hash(data: Data(json.utf8))).base64URLEncodedString()
    }
}

/// An immutable view of the signing keys at one moment: which key signs for each algorithm and which
/// public keys are published.
public struct SigningKeySet: Sendable {
    /// The signer for `algorithm`.
    /// - Throws: `server_error` when no key of that algorithm is active.
    public func signer(for algorithm: SigningAlgorithm) throws -> CompactSigner {
        guard let signer = signers[algorithm] else {
            throw OAuthError(.serverError, "No active signing key.", underlying: "no active \(algorithm.rawValue) key")
        }
        return signer
    }

    /// Every usable key, by kid (signing and verification).
    public let collection: JWTKeyCollection
    /// The kid that signs for each algorithm right now.
    public let activeKids: [SigningAlgorithm: String]
    /// The signer of each active key, by algorithm.
    public let signers: [SigningAlgorithm: CompactSigner]
    /// The records behind this set, newest first.
    public let records: [SigningKeyRecord]
    /// `{"keys": [...]}`, ready to serve at `/jwks.json`.
    public let jwksJSON: Data

    /// Builds the set. A key is published from its creation (so it can be pre-published before it signs)
    /// until `retiredAt + retention`, after which no token it signed can still be valid.
    public static func build(from records: [SigningKeyRecord], now: Date, retention: TimeInterval) async throws -> SigningKeySet {
        let collection = JWTKeyCollection()
        var published: [[String: String]] = []
        var active: [SigningAlgorithm: SigningKeyRecord] = [:]
        let sorted = records.sorted { ($0.activatesAt, $0.kid) > ($1.activatesAt, $1.kid) }
        var kept: [SigningKeyRecord] = []
        for record in sorted {
            if let retiredAt = record.retiredAt, retiredAt.addingTimeInterval(retention) <= now { continue }
            let kid = JWKIdentifier(string: record.kid)
            switch record.algorithm {
            case .es256:
                await collection.add(ecdsa: try ES256PrivateKey(pem: record.privateKeyPEM), kid: kid)
            case .rs256:
                await collection.add(rsa: try Insecure.RSA.PrivateKey(pem: record.privateKeyPEM), digestAlgorithm: .sha256, kid: kid)
            }
            published.append(try SigningKeyFactory.publicJWK(algorithm: record.algorithm, privateKeyPEM: record.privateKeyPEM, kid: record.kid))
            kept.append(record)
            if record.retiredAt == nil, record.activatesAt <= now, active[record.algorithm] == nil {
                active[record.algorithm] = record
            }
        }
        let jwks = try JSONSerialization.data(withJSONObject: ["keys": published], options: [.sortedKeys])
        return SigningKeySet(collection: collection, activeKids: active.mapValues(\.kid), signers: try active.mapValues(CompactSigner.init(record:)),
                             records: kept, jwksJSON: jwks)
    }
}

extension OAuthSettings {
    /// Clock skew allowed on either side of a token's `exp` when deciding that no token a key signed is valid.
    public static let signingKeyRetentionMargin: TimeInterval = 60

    /// How long a retired signing key stays published (JWKS) and usable for verification (`id_token_hint` at
    /// `/logout`): until every token it signed has expired, i.e. the longest lifetime of anything these keys sign
    /// — access tokens (RFC 9068) and ID tokens (OIDC Core §2) — plus ``signingKeyRetentionMargin``.
    ///
    /// Logout hints (RP-Initiated Logout §2) are accepted after their `exp`; they verify while their key is
    /// published, so an ID token is honoured as a hint at least until its own expiry plus the margin (with the
    /// default lifetimes, a key retired at `t` is kept until `t + 3600 s + 60 s`). After that its key is gone
    /// and the hint is refused like any unverifiable token.
    public var signingKeyRetention: TimeInterval {
        max(accessTokenLifetime, idTokenLifetime) + Self.signingKeyRetentionMargin
    }
}

/// Owns the signing keys: creates them on first start, rotates them, and reloads them from the store
/// so that keys made by one node are used and published by all.
///
/// Private keys are sealed with `encryption` before they reach the store and opened when read, so the store
/// only holds opaque envelopes (legacy plaintext PEMs are still read). Every node must share the KEK.
public final class SigningKeyManager: Sendable {
    let store: any SigningKeyStore
    let clock: any TimeSource
    /// How long a retired key stays published: the longest lifetime of anything it signed
    /// (``OAuthSettings/signingKeyRetention``).
    public let retention: TimeInterval
    /// Seals private keys at rest; `nil` stores them as given (tests).
    public let encryption: KeyEncryption?
    private let state: Mutex<(set: SigningKeySet?, loadedAt: Date)>

    public init(store: any SigningKeyStore, clock: any TimeSource, retention: TimeInterval, encryption: KeyEncryption? = nil) {
        self.store = store
        self.clock = clock
        self.retention = retention
        self.encryption = encryption
        self.state = Mutex((nil, .distantPast))
    }

    /// `record` with its private key sealed, as the store keeps it.
    func sealed(_ record: SigningKeyRecord) throws -> SigningKeyRecord {
        var sealed = record
        sealed.privateKeyPEM = try encryption.seal(record.privateKeyPEM, for: .signingKey(kid: record.kid))
        return sealed
    }

    /// Stores a new key with its private key sealed.
    func insert(_ record: SigningKeyRecord) async throws {
        try await store.insertSigningKey(try sealed(record))
    }

    /// The stored keys with their private keys opened; a key sealed under an unknown KEK fails with a
    /// `KeyEncryptionError` naming it.
    func openedKeys() async throws -> [SigningKeyRecord] {
        try await store.signingKeys().map { record throws(KeyEncryptionError) in
            var opened = record
            opened.privateKeyPEM = try encryption.open(record.privateKeyPEM, for: .signingKey(kid: record.kid))
            return opened
        }
    }

    /// The current key set. Call `reload()` first (the server does at start-up).
    public var current: SigningKeySet {
        get throws(OAuthError) {
            guard let set = state.withLock({ $0.set }) else {
                throw OAuthError(.serverError, "Signing keys are not loaded.")
            }
            return set
        }
    }

    /// When the keys were last read from the store.
    public var loadedAt: Date { state.withLock { $0.loadedAt } }

    /// Makes sure an unretired key exists for each algorithm, creating the missing ones. Each creation is one
    /// atomic claim (``SigningKeyStore/insertSigningKeyIfNoneActive(_:)``): nodes starting together on a new
    /// database create one key per algorithm between them, then re-read, so all publish the same set at once.
    /// Returns the records this call created.
    @discardableResult
    public func ensureKeys(algorithms: [SigningAlgorithm] = SigningAlgorithm.allCases) async throws -> [SigningKeyRecord] {
        let now = clock.now
        let existing = try await store.signingKeys()
        var created: [SigningKeyRecord] = []
        for algorithm in algorithms where !existing.contains(where: { $0.algorithm == algorithm && $0.retiredAt == nil }) {
            let record = try SigningKeyFactory.generate(algorithm, now: now)
            if try await store.insertSigningKeyIfNoneActive(try sealed(record)) { created.append(record) }
        }
        try await reload()
        return created
    }

    /// Adds a new key per algorithm and retires the previous ones; retired keys stay published for `retention`.
    @discardableResult
    public func rotate(algorithms: [SigningAlgorithm] = SigningAlgorithm.allCases) async throws -> [SigningKeyRecord] {
        let now = clock.now
        let existing = try await store.signingKeys()
        var created: [SigningKeyRecord] = []
        for algorithm in algorithms {
            let record = try SigningKeyFactory.generate(algorithm, now: now)
            try await insert(record)
            for old in existing where old.algorithm == algorithm && old.retiredAt == nil {
                try await store.retireSigningKey(kid: old.kid, at: now)
            }
            created.append(record)
        }
        try await reload()
        return created
    }

    /// Deletes retired keys whose retention has passed. Returns their kids.
    @discardableResult
    public func purgeExpired() async throws -> [String] {
        let now = clock.now
        var removed: [String] = []
        for record in try await store.signingKeys() {
            if let retiredAt = record.retiredAt, retiredAt.addingTimeInterval(retention) <= now {
                try await store.deleteSigningKey(kid: record.kid)
                removed.append(record.kid)
            }
        }
        return removed
    }

    /// Re-reads the keys from the store.
    public func reload() async throws {
        let now = clock.now
        let set = try await SigningKeySet.build(from: try await openedKeys(), now: now, retention: retention)
        state.withLock { $0 = (set, now) }
    }
}

public import Foundation

/// A refresh token at rest: only its SHA-256 digest is stored.
///
/// Every rotation issues a new token in the same `familyID`; presenting a spent one
/// revokes the whole family (RFC 9700 §4.14.2).
public struct RefreshTokenRecord: Sendable, Hashable {
    public var id: String
    public var tokenDigest: Data
    public var familyID: String
    public var clientID: String
    /// The user's id; `nil` never happens for refresh tokens today but keeps the type honest.
    public var subject: String
    public var scopes: ScopeSet
    /// Audience carried into rotated access tokens.
    public var audience: [String]
    public var issuedAt: Date
    /// Idle expiry: the token dies if not used by then.
    public var expiresAt: Date
    /// Absolute expiry of the family, carried unchanged through rotations.
    public var familyExpiresAt: Date
    /// When the user authenticated (for OIDC `auth_time`).
    public var authTime: Date?
    /// Set once the token has been exchanged for a successor.
    public var rotatedAt: Date?
    /// Set when the token or its family was revoked.
    public var revokedAt: Date?

    public init(id: String, tokenDigest: Data, familyID: String, clientID: String, subject: String, scopes: ScopeSet, audience: [String],
                issuedAt: Date, expiresAt: Date, familyExpiresAt: Date, authTime: Date? = nil, rotatedAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.tokenDigest = tokenDigest
        self.familyID = familyID
        self.clientID = clientID
        self.subject = subject
        self.scopes = scopes
        self.audience = audience
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.familyExpiresAt = familyExpiresAt
        self.authTime = authTime
        self.rotatedAt = rotatedAt
        self.revokedAt = revokedAt
    }
}

/// Signature algorithm of a signing key.
public enum SigningAlgorithm: String, Sendable, Codable, CaseIterable {
    case es256 = "ES256"
    case rs256 = "RS256"
}

/// A signing key at rest. The private key is kept in the database (DESIGN.md: keys are generated on first
/// start and shared by every node).
public struct SigningKeyRecord: Sendable, Hashable {
    public var kid: String
    public var algorithm: SigningAlgorithm
    /// PEM of the private key; in the store, its `KeyEncryption` envelope (or a legacy plaintext PEM).
    public var privateKeyPEM: String
    public var createdAt: Date
    /// When the key starts signing (a key may be published before it signs).
    public var activatesAt: Date
    /// When the key stopped signing; `nil` while it is the newest of its algorithm.
    public var retiredAt: Date?

    public init(kid: String, algorithm: SigningAlgorithm, privateKeyPEM: String, createdAt: Date, activatesAt: Date, retiredAt: Date? = nil) {
        self.kid = kid
        self.algorithm = algorithm
        self.privateKeyPEM = privateKeyPEM
        self.createdAt = createdAt
        self.activatesAt = activatesAt
        self.retiredAt = retiredAt
    }
}

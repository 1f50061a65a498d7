public import Foundation

/// Revoked JWT access tokens, by `jti` (RFC 7009 §2). An entry is only needed until the token's own
/// `exp`: after that the token is refused anyway, so the maintenance job purges it.
public protocol AccessTokenRevocationStore: Sendable {
    /// Records `jti` as revoked until `expiresAt`. Revoking twice is not an error.
    func revokeAccessToken(jti: String, clientID: String, expiresAt: Date, at: Date) async throws
    /// Whether `jti` is on the revocation list.
    func isAccessTokenRevoked(jti: String) async throws -> Bool
    /// Deletes entries whose token expired before `before`. Returns how many were removed.
    @discardableResult
    func purgeExpiredAccessTokenRevocations(before: Date) async throws -> Int
}

/// Initial access tokens that protect dynamic client registration (RFC 7591 §3), stored as SHA-256 digests.
/// A token may be used until it expires (several registrations with one token are allowed).
public protocol InitialAccessTokenStore: Sendable {
    func insertInitialAccessToken(digest: Data, expiresAt: Date, createdAt: Date) async throws
    /// The expiry of the token with this digest, or `nil` when unknown.
    func initialAccessTokenExpiry(digest: Data) async throws -> Date?
    /// Deletes tokens that expired before `before`. Returns how many were removed.
    @discardableResult
    func purgeExpiredInitialAccessTokens(before: Date) async throws -> Int
}

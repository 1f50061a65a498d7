import Foundation
public import JWTKit
import TesseraJOSE

/// Verifies that a string is an access token this server issued: a JWT signed by one of its published
/// keys (ES256/RS256 only), with our `iss`. Expiry is judged against the injected clock by the caller,
/// not by the wall clock, so tests stay deterministic.
public struct IssuedAccessTokenReader: Sendable {
    public let issuer: String
    public let keys: SigningKeyManager

    public init(issuer: String, keys: SigningKeyManager) {
        self.issuer = issuer
        self.keys = keys
    }

    /// The claims of `token`, or `nil` when it is not a canonical compact JWS (``JWSCompactForm``) signed by
    /// us for our issuer. Throws only when the keys cannot be had (`server_error`): that is not the
    /// token's fault and must not read as "invalid token".
    public func read(_ token: String) async throws -> IssuedAccessTokenClaims? {
        // Three canonical base64url segments (RFC 7515 §7.1, §2); refresh tokens have no dots.
        guard token.utf8.count < 16_384, JWSCompactForm.isCanonical(token) else { return nil }
        let set = try keys.current
        guard let claims = try? await set.verifyCompact(token, as: IssuedAccessTokenClaims.self) else { return nil }
        guard claims.iss.value == issuer else { return nil }
        return claims
    }
}

/// The claims of one of our access tokens, decoded without the wall-clock expiry check
/// (`AccessTokenClaims.verify` uses `Date()`); callers compare `exp` with their clock.
public struct IssuedAccessTokenClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var sub: SubjectClaim
    public var aud: AudienceClaim
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim
    public var jti: IDClaim
    public var clientID: String
    public var scope: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, iat, jti, scope
        case clientID = "client_id"
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

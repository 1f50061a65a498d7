import Foundation
import JWTKit

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

    /// The claims of `token`, or `nil` when it is not a well-formed JWT signed by us for our issuer.
    public func read(_ token: String) async -> IssuedAccessTokenClaims? {
        // A JWS compact serialization has exactly three parts; refresh tokens have none.
        guard token.utf8.count < 16_384, token.split(separator: ".", omittingEmptySubsequences: false).count == 3 else { return nil }
        guard let set = try? keys.current else { return nil }
        guard let claims = try? await set.collection.verify(token, as: IssuedAccessTokenClaims.self) else { return nil }
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

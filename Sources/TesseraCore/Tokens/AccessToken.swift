public import Foundation
public import JWTKit

/// The claims of a JWT access token (RFC 9068 §2.2).
public struct AccessTokenClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var sub: SubjectClaim
    public var aud: AudienceClaim
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim
    public var jti: IDClaim
    public var clientID: String
    /// Space-delimited; omitted when no scope was granted.
    public var scope: String?
    /// When the user authenticated (RFC 9068 §2.2.1), for user tokens.
    public var authTime: Int?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, iat, jti, scope
        case clientID = "client_id"
        case authTime = "auth_time"
    }

    public init(iss: String, sub: String, aud: [String], exp: Date, iat: Date, jti: String, clientID: String, scope: String?, authTime: Date? = nil) {
        self.iss = IssuerClaim(value: iss)
        self.sub = SubjectClaim(value: sub)
        self.aud = AudienceClaim(value: aud)
        self.exp = ExpirationClaim(value: exp)
        self.iat = IssuedAtClaim(value: iat)
        self.jti = IDClaim(value: jti)
        self.clientID = clientID
        self.scope = scope
        self.authTime = authTime.map { Int($0.timeIntervalSince1970) }
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// A freshly minted access token.
public struct MintedAccessToken: Sendable {
    public var token: String
    public var jti: String
    public var expiresAt: Date
    public var lifetime: Int
}

/// Signs access tokens as RFC 9068 JWTs (`typ: at+jwt`) with the active key.
public struct AccessTokenMinter: Sendable {
    public let issuer: String
    public let lifetime: TimeInterval
    public let algorithm: SigningAlgorithm
    public let keys: SigningKeyManager

    public init(issuer: String, lifetime: TimeInterval, algorithm: SigningAlgorithm, keys: SigningKeyManager) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.algorithm = algorithm
        self.keys = keys
    }

    public func mint(subject: String, clientID: String, scopes: ScopeSet, audience: [String], now: Date, authTime: Date? = nil) async throws -> MintedAccessToken {
        let set = try keys.current
        guard let kid = set.activeKids[algorithm] else {
            throw OAuthError(.serverError, "No active signing key.", underlying: "no active \(algorithm.rawValue) key")
        }
        // NumericDate has one-second resolution; truncate so exp - iat is exactly the lifetime.
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let expiresAt = issuedAt.addingTimeInterval(lifetime)
        let jti = Secrets.random(bytes: 16)
        let claims = AccessTokenClaims(iss: issuer, sub: subject, aud: audience, exp: expiresAt, iat: issuedAt, jti: jti,
                                       clientID: clientID, scope: scopes.isEmpty ? nil : scopes.description, authTime: authTime)
        let header: JWTHeader = ["typ": .string("at+jwt"), "alg": .string(algorithm.rawValue)]
        let token = try await set.collection.sign(claims, kid: JWKIdentifier(string: kid), header: header)
        return MintedAccessToken(token: token, jti: jti, expiresAt: expiresAt, lifetime: Int(lifetime))
    }
}

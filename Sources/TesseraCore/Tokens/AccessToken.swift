public import Foundation
public import JWTKit
import TesseraJOSE

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

extension AccessTokenClaims {
    /// The payload JSON, members in sorted order, as `JSONEncoder` would write it with sorted keys: a single
    /// audience as a string, several as an array (RFC 7519 §4.1.3), dates as NumericDate seconds.
    public var jsonBytes: [UInt8] {
        var json = JSONObjectBytes(capacity: 320)
        if aud.value.count == 1 { json.field("aud", aud.value[0]) } else { json.field("aud", aud.value) }
        json.field("auth_time", authTime)
        json.field("client_id", clientID)
        json.field("exp", Int(exp.value.timeIntervalSince1970))
        json.field("iat", Int(iat.value.timeIntervalSince1970))
        json.field("iss", iss.value)
        json.field("jti", jti.value)
        json.field("scope", scope)
        json.field("sub", sub.value)
        return json.finish()
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
        let signer = try keys.current.signer(for: algorithm)
        // NumericDate has one-second resolution; truncate so exp - iat is exactly the lifetime.
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let expiresAt = issuedAt.addingTimeInterval(lifetime)
        let jti = Secrets.random(bytes: 16)
        let claims = AccessTokenClaims(iss: issuer, sub: subject, aud: audience, exp: expiresAt, iat: issuedAt, jti: jti,
                                       clientID: clientID, scope: scopes.isEmpty ? nil : scopes.description, authTime: authTime)
        let token = try signer.sign(payload: claims.jsonBytes, type: .accessToken)
        return MintedAccessToken(token: token, jti: jti, expiresAt: expiresAt, lifetime: Int(lifetime))
    }
}

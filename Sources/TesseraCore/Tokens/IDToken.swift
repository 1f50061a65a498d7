import Crypto
public import Foundation
public import JWTKit

/// The claims of an OpenID Connect ID token (OIDC Core §2).
public struct IDTokenClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var sub: SubjectClaim
    public var aud: AudienceClaim
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim
    public var authTime: Int?
    public var nonce: String?
    /// Authorized party: the client the token was issued to (OIDC Core §2).
    public var azp: String?
    /// Left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6, §3.3.2.11).
    public var atHash: String?
    /// Left half of SHA-256 of the code (OIDC Core §3.3.2.11).
    public var cHash: String?
    /// Authentication methods references (OIDC Core §2, RFC 8176): `pwd`, plus `otp` after a TOTP step.
    public var amr: [String]?
    /// The upstream identity provider the user signed in through (the `idp` claim, as Azure AD and Keycloak
    /// brokers use it); absent after a local sign-in.
    public var idp: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, iat, nonce, azp, amr, idp
        case authTime = "auth_time"
        case atHash = "at_hash"
        case cHash = "c_hash"
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Mints ID tokens: RS256 unless the client registered ES256 (OIDC Core §15.1 makes RS256 mandatory,
/// so an RS256 key always exists).
public struct IDTokenMinter: Sendable {
    public let issuer: String
    public let lifetime: TimeInterval
    public let keys: SigningKeyManager
    public let algorithm: SigningAlgorithm

    /// The claims as JWT JSON: NumericDate seconds (RFC 7519 §2), slashes unescaped.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public init(issuer: String, lifetime: TimeInterval, keys: SigningKeyManager, algorithm: SigningAlgorithm = .rs256) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.keys = keys
        self.algorithm = algorithm
    }

    /// `at_hash` / `c_hash`: base64url of the left-most half of the SHA-256 hash of the ASCII value
    /// (OIDC Core §3.1.3.6; SHA-256 because both RS256 and ES256 use it).
    public static func halfHash(_ value: String) -> String {
        Data(Data(SHA256.hash(data: Data(value.utf8))).prefix(16)).base64URLEncodedString()
    }

    public func mint(subject: String, clientID: String, nonce: String?, authTime: Date?, now: Date,
                     accessToken: String? = nil, code: String? = nil, amr: [String]? = nil, idp: String? = nil) async throws -> String {
        let signer = try keys.current.signer(for: algorithm)
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = IDTokenClaims(
            iss: IssuerClaim(value: issuer), sub: SubjectClaim(value: subject), aud: AudienceClaim(value: [clientID]),
            exp: ExpirationClaim(value: issuedAt.addingTimeInterval(lifetime)), iat: IssuedAtClaim(value: issuedAt),
            authTime: authTime.map { Int($0.timeIntervalSince1970) }, nonce: nonce, azp: clientID,
            atHash: accessToken.map(Self.halfHash), cHash: code.map(Self.halfHash), amr: amr, idp: idp)
        return try signer.sign(payload: Array(try Self.encoder.encode(claims)), type: .jwt)
    }
}

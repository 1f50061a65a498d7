/// An OAuth grant type (RFC 6749 §4, RFC 6749 §6), as sent in `grant_type`.
public struct GrantType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: GrantType, b: GrantType) -> Bool { a.rawValue < b.rawValue }

    /// RFC 6749 §4.1
    public static let authorizationCode = GrantType(rawValue: "authorization_code")
    /// RFC 6749 §4.2 (an authorization-endpoint-only grant; never at `/token`)
    public static let implicit = GrantType(rawValue: "implicit")
    /// RFC 6749 §4.3
    public static let password = GrantType(rawValue: "password")
    /// RFC 6749 §4.4
    public static let clientCredentials = GrantType(rawValue: "client_credentials")
    /// RFC 6749 §6
    public static let refreshToken = GrantType(rawValue: "refresh_token")

    /// Every grant type Tessera knows.
    public static let known: [GrantType] = [.authorizationCode, .implicit, .password, .clientCredentials, .refreshToken]
}

/// How a client authenticates at the token endpoint (RFC 7591 §2, `token_endpoint_auth_method`).
public enum ClientAuthMethod: String, Sendable, Codable, CaseIterable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
    /// A public client: no secret (RFC 6749 §2.1).
    case none = "none"
    /// A JWT signed with the client's private key (RFC 7523 §2.2, OIDC Core §9); its public keys are registered as
    /// `jwks` or `jwks_uri`.
    case privateKeyJWT = "private_key_jwt"

    /// Whether the client holds a shared secret (`client_secret_basic`, `client_secret_post`).
    public var usesSecret: Bool { self == .clientSecretBasic || self == .clientSecretPost }
}

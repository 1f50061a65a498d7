import Foundation

/// A token endpoint request (RFC 6749 §3.2), free of HTTP types.
public struct TokenRequest: Sendable {
    /// Parameters with empty values dropped (RFC 6749 §3.1: "treated as if omitted").
    public let parameters: [String: String]
    /// Every `resource` parameter (RFC 8707 §2), in order; the only parameter that may repeat.
    public let resources: [String]
    /// Client credentials from the `Authorization: Basic` header, if any (RFC 6749 §2.3.1).
    public let basicCredentials: (id: String, secret: String)?

    /// - Throws: `invalid_request` when a parameter is repeated (RFC 6749 §3.2).
    public init(parameters pairs: [(String, String)], basicCredentials: (id: String, secret: String)? = nil) throws(OAuthError) {
        var parameters: [String: String] = [:]
        var seen = Set<String>()
        var resources: [String] = []
        for (name, value) in pairs {
            // RFC 8707 §2: `resource` may be repeated, one per target.
            if name == "resource" {
                if !value.isEmpty { resources.append(value) }
                continue
            }
            guard seen.insert(name).inserted else {
                throw OAuthError.invalidRequest("Parameter '\(Self.printable(name))' must not be repeated.")
            }
            if !value.isEmpty { parameters[name] = value }
        }
        self.parameters = parameters
        self.resources = resources
        self.basicCredentials = basicCredentials
    }

    public subscript(_ name: String) -> String? { parameters[name] }

    /// A required parameter, or `invalid_request` naming it.
    public func required(_ name: String) throws(OAuthError) -> String {
        guard let value = parameters[name] else { throw OAuthError.invalidRequest("Missing parameter '\(name)'.") }
        return value
    }

    /// The requested scopes, or `nil` when `scope` was not sent.
    public func requestedScopes() throws(OAuthError) -> ScopeSet? {
        guard let value = parameters["scope"] else { return nil }
        return try ScopeSet(parsing: value)
    }

    /// The client's credentials, enforcing exactly one authentication method (RFC 6749 §2.3).
    public func clientCredentials() throws(OAuthError) -> ClientCredentials {
        let formID = parameters["client_id"]
        let formSecret = parameters["client_secret"]
        let assertionType = parameters["client_assertion_type"]
        let assertion = parameters["client_assertion"]
        if assertionType != nil || assertion != nil {
            // RFC 7521 §4.2: a JWT in place of a secret; never together with another method.
            guard basicCredentials == nil, formSecret == nil else {
                throw OAuthError.invalidRequest("Use exactly one client authentication method, not a client assertion and a secret.")
            }
            guard let assertionType, let assertion else {
                throw OAuthError.invalidRequest("client_assertion and client_assertion_type must be sent together.")
            }
            guard assertionType == ClientAssertionVerifier.jwtBearerType else {
                throw OAuthError.invalidClient("client_assertion_type must be \(ClientAssertionVerifier.jwtBearerType).")
            }
            // client_id is optional with an assertion (RFC 7521 §4.2); verification checks it against `iss` and `sub`.
            guard let id = formID ?? ClientAssertionVerifier.claimedClientID(assertion) else {
                throw OAuthError.invalidClient("The client assertion names no client (sub).")
            }
            return .assertion(id: id, assertion: assertion)
        }
        if let basic = basicCredentials {
            guard formSecret == nil else {
                throw OAuthError.invalidRequest("Use exactly one client authentication method, not both HTTP Basic and client_secret.")
            }
            if let formID, formID != basic.id {
                throw OAuthError.invalidRequest("client_id does not match the HTTP Basic credentials.")
            }
            return .basic(id: basic.id, secret: basic.secret)
        }
        guard let formID else {
            if formSecret != nil { throw OAuthError.invalidRequest("client_secret was sent without client_id.") }
            throw OAuthError.invalidClient("Client authentication is required.")
        }
        if let formSecret { return .post(id: formID, secret: formSecret) }
        return .none(id: formID)
    }

    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(40).map(Character.init))
    }
}

/// What a client presented to authenticate.
public enum ClientCredentials: Sendable, Equatable {
    case basic(id: String, secret: String)
    case post(id: String, secret: String)
    /// A public client identifying itself with `client_id` only.
    case none(id: String)
    /// A JWT signed with the client's private key (RFC 7523 §2.2).
    case assertion(id: String, assertion: String)

    public var clientID: String {
        switch self {
        case .basic(let id, _), .post(let id, _), .none(let id), .assertion(let id, _): id
        }
    }

    public var method: ClientAuthMethod {
        switch self {
        case .basic: .clientSecretBasic
        case .post: .clientSecretPost
        case .none: .none
        case .assertion: .privateKeyJWT
        }
    }
}

/// A successful token response (RFC 6749 §5.1).
public struct TokenResponse: Sendable, Codable, Equatable {
    public var accessToken: String
    public var tokenType: String
    public var expiresIn: Int
    public var refreshToken: String?
    public var scope: String?
    public var idToken: String?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case refreshToken = "refresh_token"
        case scope
        case idToken = "id_token"
    }

    public init(accessToken: String, expiresIn: Int, refreshToken: String? = nil, scope: ScopeSet, idToken: String? = nil) {
        self.accessToken = accessToken
        self.tokenType = "Bearer"
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.scope = scope.isEmpty ? nil : scope.description
        self.idToken = idToken
    }
}

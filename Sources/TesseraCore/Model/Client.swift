public import Foundation

/// A registered OAuth client (RFC 6749 §2).
public struct Client: Sendable, Hashable {
    /// The public identifier (`client_id`).
    public var id: String
    /// A human-readable name shown on consent pages.
    public var name: String
    /// SHA-256 of the client secret; `nil` for public clients.
    public var secretDigest: Data?
    /// How the client authenticates at the token endpoint.
    public var authMethod: ClientAuthMethod
    /// Grant types this client may use. Password and implicit are never on by default.
    public var grantTypes: Set<GrantType>
    /// The most this client may ever be granted.
    public var allowedScopes: ScopeSet
    /// Redirect URIs, matched exactly.
    public var redirectURIs: [String]
    /// Whether users are asked for consent (first-party apps may skip it).
    public var requireConsent: Bool
    public var createdAt: Date
    /// When the secret stops working; `nil` for never.
    public var secretExpiresAt: Date?
    /// Resource indicators (RFC 8707) this client may ask tokens for; empty = only the default audience.
    public var resources: [String] = []
    /// SHA-256 of the RFC 7592 registration access token; `nil` for clients not registered dynamically.
    public var registrationTokenDigest: Data? = nil
    /// How this client's ID tokens are signed (OIDC Registration `id_token_signed_response_alg`): RS256 by default.
    public var idTokenAlgorithm: SigningAlgorithm = .rs256
    /// Whether users with MFA may still use the password grant through this client (then with an `otp` parameter).
    /// Off by default: such users must use the authorization code flow.
    public var allowPasswordGrantWithMFA: Bool = false
    /// Whether the client registered itself through open registration (RFC 7591 §3 without an initial access
    /// token). Such a client gets no grant that works without a user, only the open-registration scopes, and
    /// may introspect only its own tokens (RFC 7662 §4). Operator-registered clients (CLI, initial access token) are `false`.
    public var registeredAnonymously: Bool = false
    /// The client's public keys for `private_key_jwt` (RFC 7591 §2 `jwks`), as the registered JSON text.
    public var jwks: String? = nil
    /// Where the client publishes those keys instead (RFC 7591 §2 `jwks_uri`); fetched through the outbound URL guard.
    public var jwksURI: String? = nil
    /// This client's refresh rotation grace period in seconds, overriding the server's
    /// (`OAuthSettings.refreshRotationGracePeriod`); `nil` uses the server's, 0 turns it off for this client.
    public var refreshGracePeriod: Int? = nil
    /// OIDC Registration §2 `application_type` as registered (`web` unless the registrant said `native`).
    public var applicationType: ApplicationType = .web

    public init(id: String, name: String, secretDigest: Data?, authMethod: ClientAuthMethod, grantTypes: Set<GrantType>,
                allowedScopes: ScopeSet, redirectURIs: [String] = [], requireConsent: Bool = true, createdAt: Date, secretExpiresAt: Date? = nil,
                resources: [String] = [], registrationTokenDigest: Data? = nil) {
        self.id = id
        self.name = name
        self.secretDigest = secretDigest
        self.authMethod = authMethod
        self.grantTypes = grantTypes
        self.allowedScopes = allowedScopes
        self.redirectURIs = redirectURIs
        self.requireConsent = requireConsent
        self.createdAt = createdAt
        self.secretExpiresAt = secretExpiresAt
        self.resources = resources
        self.registrationTokenDigest = registrationTokenDigest
    }

    /// A public client holds no secret (RFC 6749 §2.1).
    public var isPublic: Bool { authMethod == .none }
}

/// Whether a client runs on a server or in a browser (`web`) or on the user's device (`native`, RFC 8252).
public enum ApplicationType: String, Sendable, Codable, CaseIterable {
    case web
    case native
}

/// A resource owner.
public struct User: Sendable, Hashable {
    /// Stable opaque identifier, used as `sub`.
    public var id: String
    public var username: String
    /// bcrypt hash of the password.
    public var passwordHash: String
    /// The most this user may ever grant.
    public var allowedScopes: ScopeSet
    public var disabled: Bool
    public var createdAt: Date

    public init(id: String, username: String, passwordHash: String, allowedScopes: ScopeSet, disabled: Bool = false, createdAt: Date) {
        self.id = id
        self.username = username
        self.passwordHash = passwordHash
        self.allowedScopes = allowedScopes
        self.disabled = disabled
        self.createdAt = createdAt
    }
}

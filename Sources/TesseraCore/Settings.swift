public import Foundation

/// The protocol settings the core needs. The server builds it from its configuration; the core never
/// reads the environment.
public struct OAuthSettings: Sendable {
    /// The issuer identifier (RFC 8414 §2), e.g. `https://auth.example.com`. No trailing slash.
    public var issuer: String
    /// Access token lifetime. Default 15 minutes.
    public var accessTokenLifetime: TimeInterval = 900
    /// Algorithm that signs access tokens. Default ES256.
    public var accessTokenAlgorithm: SigningAlgorithm = .es256
    /// A refresh token dies if unused this long. Default 14 days.
    public var refreshTokenIdleLifetime: TimeInterval = 14 * 86_400
    /// A refresh token family dies this long after the first grant, however it is used. Default 30 days.
    public var refreshTokenAbsoluteLifetime: TimeInterval = 30 * 86_400
    /// How long after a rotation the old refresh token may still be redeemed — a client retrying a refresh whose
    /// answer it never received gets a valid pair instead of losing the family (Hydra's `rotation_grace_period`).
    /// 0 (the default) turns it off: any reuse revokes the family (RFC 9700 §4.14.2). A client may override it.
    public var refreshRotationGracePeriod: TimeInterval = 0
    /// How many times one rotated token may be redeemed within the grace period. Default 1 (one retry).
    public var refreshRotationGraceReuses: Int = 1
    /// Scopes granted when a request names none. Default `read`.
    public var defaultScopes: ScopeSet = ["read"]
    /// Authorization code lifetime. Default 60 seconds.
    public var authorizationCodeLifetime: TimeInterval = 60
    /// ID token lifetime. Default 1 hour.
    public var idTokenLifetime: TimeInterval = 3600
    /// The `aud` of access tokens when no resource is requested. Default: the issuer.
    public var defaultAudience: [String]
    /// Per-account lockout after repeated failed logins; `nil` turns it off. Default: 5 failures in 15 min, then
    /// 1 min doubling to 1 h.
    public var lockout: LockoutPolicy? = LockoutPolicy()

    public init(issuer: String) {
        self.issuer = issuer
        self.defaultAudience = [issuer]
    }
}

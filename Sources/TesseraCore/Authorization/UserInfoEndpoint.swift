import Foundation
import JWTKit

/// `GET`/`POST /userinfo` (OIDC Core §5.3): the claims about the user an access token was issued for.
///
/// The token passes the same checks as at `/introspect` (``AccessTokenStatusCheck``: canonical compact
/// JWS, our signature and issuer, `exp`, the revocation list, the client still registered), and then:
/// - it is meant for this endpoint (RFC 8707, RFC 9700 §2.3 audience restriction): its `aud` names the
///   issuer — the default audience — or ``url``; a token minted only for another resource is refused;
/// - it carries `openid` (OIDC Core §5.3.1), else `insufficient_scope`;
/// - its user still exists and is not disabled.
///
/// Every refusal of the token is `invalid_token` (RFC 6750 §3.1, 401). A key or store failure is thrown
/// as it is (`server_error` / the store's error), never as `invalid_token`.
public struct UserInfoEndpoint: Sendable {
    public let services: GrantServices
    public let accessTokens: AccessTokenStatusCheck
    /// The endpoint's URL, `<issuer>/userinfo`.
    public let url: String

    public let users: any UserStore
    public let profiles: any UserProfileStore

    public init(services: GrantServices, accessTokens: AccessTokenStatusCheck, users: any UserStore, profiles: any UserProfileStore) {
        self.services = services
        self.accessTokens = accessTokens
        self.url = services.settings.issuer + "/userinfo"
        self.users = users
        self.profiles = profiles
    }

    /// The `aud` values that make a token usable here: the issuer and ``url``.
    public var acceptedAudiences: [String] { [services.settings.issuer, url] }

    /// The UserInfo response (OIDC Core §5.3.2) for `accessToken`: `sub`, plus `preferred_username` and
    /// `name` with `profile`, `email` with `email`.
    public func handle(accessToken: String) async throws -> [String: String] {
        guard case .active(let claims) = try await accessTokens.status(of: accessToken) else {
            throw OAuthError(.invalidToken, "The access token is invalid, expired or revoked.")
        }
        guard claims.aud.value.contains(where: acceptedAudiences.contains) else {
            throw OAuthError(.invalidToken, "The access token is not meant for the UserInfo endpoint.")
        }
        let scopes = ScopeSet((claims.scope ?? "").split(separator: " ").map(String.init))
        guard scopes.contains("openid") else {
            throw OAuthError(.insufficientScope, "The access token lacks the openid scope.")
        }
        guard let user = try await users.user(id: claims.sub.value), !user.disabled else {
            throw OAuthError(.invalidToken, "The user no longer exists.")
        }
        let profile = try await profiles.userProfile(userID: user.id)
        var result = ["sub": user.id]
        if scopes.contains("profile") {
            result["preferred_username"] = user.username
            if let name = profile.name { result["name"] = name }
        }
        if scopes.contains("email"), let email = profile.email { result["email"] = email }
        return result
    }
}

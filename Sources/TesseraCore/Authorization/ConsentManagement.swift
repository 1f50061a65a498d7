import Foundation
import JWTKit

/// A user's view of their grants: list them, revoke one (with the refresh tokens it produced).
public struct ConsentManagement: Sendable {
    public let services: GrantServices
    public init(services: GrantServices) { self.services = services }

    /// Forgets the consent and revokes every refresh token the client holds for the user, so the
    /// next authorization asks again and nothing issued under the grant can be refreshed.
    @discardableResult
    public func revoke(subject: String, clientID: String) async throws -> Int {
        let now = services.clock.now
        _ = try await services.storage.deleteConsent(subject: subject, clientID: clientID)
        let revoked = try await services.storage.revokeRefreshTokens(subject: subject, clientID: clientID, at: now)
        services.audit.record(AuditEvent(.consentRevoked, at: now, clientID: clientID, subject: subject, detail: ["revoked": String(revoked)]))
        return revoked
    }
}

/// Verifies Tessera's own tokens for OpenID Connect endpoints (userinfo, logout hints).
public struct OpenIDTokens: Sendable {
    public let services: GrantServices
    public init(services: GrantServices) { self.services = services }

    /// The claims of a valid access token carrying `openid` (OIDC Core §5.3.1), or `invalid_token` /
    /// `insufficient_scope`.
    public func verifyUserInfoToken(_ token: String) async throws -> AccessTokenClaims {
        let claims: AccessTokenClaims
        do {
            claims = try await services.accessTokens.keys.current.collection.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw OAuthError(.invalidToken, "The access token is invalid or expired.")
        }
        guard claims.iss.value == services.settings.issuer else { throw OAuthError(.invalidToken, "The access token was not issued here.") }
        if try await services.storage.isAccessTokenRevoked(jti: claims.jti.value) {
            throw OAuthError(.invalidToken, "The access token was revoked.")
        }
        guard ScopeSet((claims.scope ?? "").split(separator: " ").map(String.init)).contains("openid") else {
            throw OAuthError(.insufficientScope, "The access token lacks the openid scope.")
        }
        return claims
    }

    /// The claims of an ID token we issued, signature and issuer checked, expiry ignored
    /// (OIDC RP-Initiated Logout §2: an expired hint is still a hint).
    public func verifyIDTokenHint(_ token: String) async -> IDTokenHint? {
        guard let hint = try? await services.accessTokens.keys.current.collection.verify(token, as: IDTokenHint.self),
              hint.iss == services.settings.issuer else { return nil }
        return hint
    }

    /// The UserInfo response (OIDC Core §5.3.2) for the scopes of the token.
    public func userInfo(for claims: AccessTokenClaims) async throws -> [String: String] {
        guard let user = try await services.storage.user(id: claims.sub.value), !user.disabled else {
            throw OAuthError(.invalidToken, "The user no longer exists.")
        }
        let scopes = ScopeSet((claims.scope ?? "").split(separator: " ").map(String.init))
        let profile = try await services.storage.userProfile(userID: user.id)
        var result = ["sub": user.id]
        if scopes.contains("profile") {
            result["preferred_username"] = user.username
            if let name = profile.name { result["name"] = name }
        }
        if scopes.contains("email"), let email = profile.email { result["email"] = email }
        return result
    }
}

/// The parts of an ID token used as a logout hint.
public struct IDTokenHint: JWTPayload {
    public var iss: String
    public var sub: String
    public var aud: [String]

    enum CodingKeys: String, CodingKey { case iss, sub, aud }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iss = try c.decode(String.self, forKey: .iss)
        sub = try c.decode(String.self, forKey: .sub)
        if let one = try? c.decode(String.self, forKey: .aud) { aud = [one] } else { aud = try c.decode([String].self, forKey: .aud) }
    }

    /// Expiry is deliberately not checked.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

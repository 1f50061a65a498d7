import Foundation

/// The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).
public struct RefreshTokenGrant: GrantHandler {
    public let grantType = GrantType.refreshToken
    public let refreshTokens: any RefreshTokenStore
    /// Checks the token's user is not disabled.
    public let users: any UserStore

    public init(refreshTokens: any RefreshTokenStore, users: any UserStore) {
        self.refreshTokens = refreshTokens
        self.users = users
    }

    public func handle(_ request: TokenRequest, client: Client, services: GrantServices) async throws -> TokenResponse {
        let presented = try request.required("refresh_token")
        let requested = try request.requestedScopes()
        let now = services.clock.now
        let invalid = OAuthError.invalidGrant("The refresh token is invalid, expired or revoked.")
        let digest = Secrets.digest(presented)
        guard let record = try await refreshTokens.refreshToken(digest: digest) else { throw invalid }
        // §6: the token is bound to the client it was issued to.
        guard record.clientID == client.id else { throw invalid }
        guard record.revokedAt == nil, record.expiresAt > now, record.familyExpiresAt > now else { throw invalid }
        if record.rotatedAt != nil {
            try await revokeFamily(record, services: services, now: now)
            throw invalid
        }
        // §6: the new scope MUST NOT include any scope not originally granted.
        let scopes = requested ?? record.scopes
        guard scopes.isSubset(of: record.scopes) else {
            throw OAuthError.invalidScope("A refresh cannot widen the scope of the original grant.")
        }
        // RFC 8707 §2.2: a refresh may narrow the audience, never widen it.
        let audience = try ResourceIndicators.narrowed(requested: request.resources, granted: record.audience)
        // The user may have been disabled since.
        if let user = try await users.user(id: record.subject), user.disabled { throw invalid }

        let successor = services.newRefreshToken(client: client, subject: record.subject, scopes: record.scopes, audience: record.audience,
                                                 authTime: record.authTime, now: now, continuing: record)
        guard try await refreshTokens.rotateRefreshToken(digest: digest, successor: successor.record, at: now) else {
            // Another request rotated this token first: it was presented twice, so the family is compromised.
            try await revokeFamily(record, services: services, now: now)
            throw invalid
        }
        let access = try await services.accessTokens.mint(subject: record.subject, clientID: client.id, scopes: scopes,
                                                          audience: audience, now: now, authTime: record.authTime)
        services.audit.record(AuditEvent(.tokenRefreshed, at: now, clientID: client.id, subject: record.subject,
                                         detail: ["grant_type": grantType.rawValue, "scope": scopes.description]))
        return TokenResponse(accessToken: access.token, expiresIn: access.lifetime, refreshToken: successor.token, scope: scopes)
    }

    private func revokeFamily(_ record: RefreshTokenRecord, services: GrantServices, now: Date) async throws {
        let count = try await refreshTokens.revokeRefreshTokenFamily(familyID: record.familyID, at: now)
        services.audit.record(AuditEvent(.refreshReuseDetected, at: now, clientID: record.clientID, subject: record.subject,
                                         detail: ["revoked": String(count)]))
    }
}

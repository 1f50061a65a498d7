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
        if let rotatedAt = record.rotatedAt, !withinGrace(rotatedAt, client: client, services: services, now: now) {
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
        // Rotate — or, for a token rotated moments ago (a retry, or two requests racing), redeem it again within the
        // grace window. Each is one conditional statement in the store, so the check cannot be raced.
        var rotated = try await refreshTokens.rotateRefreshToken(digest: digest, successor: successor.record, at: now)
        var graceUse = false
        if !rotated, let period = gracePeriod(client: client, services: services), period > 0 {
            rotated = try await refreshTokens.rotateRefreshTokenWithinGrace(
                digest: digest, successor: successor.record, rotatedSince: now.addingTimeInterval(-period),
                maximumReuses: services.settings.refreshRotationGraceReuses)
            graceUse = rotated
        }
        guard rotated else {
            // Presented again after its rotation (outside the grace window, or past its reuses): the family is compromised.
            try await revokeFamily(record, services: services, now: now)
            throw invalid
        }
        let access = try await services.accessTokens.mint(subject: record.subject, clientID: client.id, scopes: scopes,
                                                          audience: audience, now: now, authTime: record.authTime)
        var detail = ["grant_type": grantType.rawValue, "scope": scopes.description]
        if graceUse { detail["grace_reuse"] = "true" }
        services.audit.record(AuditEvent(.tokenRefreshed, at: now, clientID: client.id, subject: record.subject, detail: detail))
        return TokenResponse(accessToken: access.token, expiresIn: access.lifetime, refreshToken: successor.token, scope: scopes)
    }

    /// The client's grace period, else the server's; `nil` or 0 = off.
    private func gracePeriod(client: Client, services: GrantServices) -> TimeInterval? {
        client.refreshGracePeriod.map(TimeInterval.init) ?? services.settings.refreshRotationGracePeriod
    }

    /// Whether a token rotated at `rotatedAt` may still be redeemed (the store re-checks it atomically).
    private func withinGrace(_ rotatedAt: Date, client: Client, services: GrantServices, now: Date) -> Bool {
        guard let period = gracePeriod(client: client, services: services), period > 0 else { return false }
        return now.timeIntervalSince(rotatedAt) <= period
    }

    private func revokeFamily(_ record: RefreshTokenRecord, services: GrantServices, now: Date) async throws {
        let count = try await refreshTokens.revokeRefreshTokenFamily(familyID: record.familyID, at: now)
        services.audit.record(AuditEvent(.refreshReuseDetected, at: now, clientID: record.clientID, subject: record.subject,
                                         detail: ["revoked": String(count)]))
    }
}

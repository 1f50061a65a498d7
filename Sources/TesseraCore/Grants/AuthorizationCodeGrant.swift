import Foundation

/// The authorization code grant at the token endpoint (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.5–4.6).
///
/// Codes are single use: redemption is one atomic claim in the store, and a code presented again
/// revokes what it was exchanged for (RFC 6749 §4.1.2: "SHOULD revoke … all tokens previously issued
/// based on that authorization code").
public struct AuthorizationCodeGrant: GrantHandler {
    public let grantType = GrantType.authorizationCode
    public let codes: any AuthorizationCodeStore
    /// Checks the code's user is not disabled.
    public let users: any UserStore
    /// Revokes a replayed code's refresh token family.
    public let refreshTokens: any RefreshTokenStore
    /// Revokes a replayed code's access token.
    public let revokedAccessTokens: any AccessTokenRevocationStore
    /// Whether the user had MFA on at sign-in (the ID token's `amr` for sessions that did not record it).
    public let mfa: any MFAStore

    public init(codes: any AuthorizationCodeStore, users: any UserStore, refreshTokens: any RefreshTokenStore,
                revokedAccessTokens: any AccessTokenRevocationStore, mfa: any MFAStore) {
        self.codes = codes
        self.users = users
        self.refreshTokens = refreshTokens
        self.revokedAccessTokens = revokedAccessTokens
        self.mfa = mfa
    }

    public func handle(_ request: TokenRequest, client: Client, services: GrantServices) async throws -> TokenResponse {
        let code = try request.required("code")
        let now = services.clock.now
        let invalid = OAuthError.invalidGrant("The authorization code is invalid, expired or already used.")
        let digest = Secrets.digest(code)
        guard let record = try await codes.authorizationCode(digest: digest) else { throw invalid }
        // §4.1.3: the code is bound to the client it was issued to.
        guard record.clientID == client.id else { throw invalid }
        if record.consumedAt != nil {
            try await revokeIssued(record, services: services, now: now)
            throw invalid
        }
        guard record.expiresAt > now else { throw invalid }
        // §4.1.3: redirect_uri must be identical when it was in the authorization request.
        if record.redirectURIWasSent || request["redirect_uri"] != nil {
            guard request["redirect_uri"] == record.redirectURI else {
                throw OAuthError.invalidGrant("redirect_uri does not match the one of the authorization request.")
            }
        }
        // RFC 7636 §4.6 and RFC 9700 §2.1.1: a challenge demands a matching verifier; a verifier without a
        // challenge is a downgrade attempt.
        let verifier = request["code_verifier"]
        if let challenge = record.codeChallenge {
            guard let verifier else { throw OAuthError.invalidGrant("code_verifier is required for this code.") }
            guard PKCE.verify(verifier: verifier, challenge: challenge) else { throw OAuthError.invalidGrant("The code_verifier does not match the code_challenge.") }
        } else if verifier != nil {
            throw OAuthError.invalidGrant("code_verifier was sent but the authorization request had no code_challenge.")
        }
        if let user = try await users.user(id: record.subject), user.disabled { throw invalid }

        // RFC 8707: resources sent at /authorize fix the grant's audience; a `resource` here may only narrow it.
        // Without them, `resource` here selects among the client's registered resources as for any grant.
        let audience: [String]
        if record.resources.isEmpty {
            audience = try services.audience(for: request, client: client)
        } else {
            audience = try ResourceIndicators.narrowed(requested: request.resources, granted: record.resources)
            guard audience.allSatisfy(client.resources.contains) else {
                throw OAuthError(.invalidTarget, "This client may no longer request tokens for that resource.")
            }
        }
        var refresh: (token: String, record: RefreshTokenRecord)?
        if client.grantTypes.contains(.refreshToken) {
            refresh = services.newRefreshToken(client: client, subject: record.subject, scopes: record.scopes, audience: audience,
                                               authTime: record.authTime, now: now)
        }
        // Mint before the claim so the claim records everything issued: a replay racing this request
        // then always finds the tokens to revoke. A token minted by a losing request is never returned.
        let access = try await services.accessTokens.mint(subject: record.subject, clientID: client.id, scopes: record.scopes,
                                                          audience: audience, now: now, authTime: record.authTime)
        switch try await codes.redeemAuthorizationCode(digest: digest, at: now, issuing: refresh?.record,
                                                       accessTokenJTI: access.jti, accessTokenExpiresAt: access.expiresAt) {
        case .redeemed:
            break
        case .alreadyRedeemed(let spent):
            try await revokeIssued(spent, services: services, now: now)
            throw invalid
        case .notFound:
            throw invalid
        }
        var idToken: String?
        if record.scopes.contains("openid") {
            idToken = try await IDTokenMinter(issuer: services.settings.issuer, lifetime: services.settings.idTokenLifetime, keys: services.accessTokens.keys,
                                                algorithm: client.idTokenAlgorithm)
                .mint(subject: record.subject, clientID: client.id, nonce: record.nonce, authTime: record.authTime, now: now,
                      accessToken: access.token,
                      amr: try await MFAService.authenticationMethods(userID: record.subject, authTime: record.authTime,
                                                                     recorded: record.authenticationMethods, enrollments: mfa),
                      idp: record.identityProvider)
        }
        services.audit.record(AuditEvent(.tokenIssued, at: now, clientID: client.id, subject: record.subject,
                                         detail: ["grant_type": grantType.rawValue, "scope": record.scopes.description]))
        return TokenResponse(accessToken: access.token, expiresIn: access.lifetime, refreshToken: refresh?.token, scope: record.scopes,
                             idToken: idToken)
    }

    /// Revokes the refresh token family and the access token issued from a replayed code.
    private func revokeIssued(_ record: AuthorizationCodeRecord, services: GrantServices, now: Date) async throws {
        var revoked = 0
        if let family = record.refreshFamilyID {
            revoked += try await refreshTokens.revokeRefreshTokenFamily(familyID: family, at: now)
        }
        if let jti = record.accessTokenJTI, let expiresAt = record.accessTokenExpiresAt {
            try await revokedAccessTokens.revokeAccessToken(jti: jti, clientID: record.clientID, expiresAt: expiresAt, at: now)
            revoked += 1
        }
        services.audit.record(AuditEvent(.codeReplayDetected, at: now, clientID: record.clientID, subject: record.subject,
                                         detail: ["revoked": String(revoked)]))
    }
}

import Foundation

/// The client credentials grant (RFC 6749 §4.4): a confidential client acting on its own behalf.
public struct ClientCredentialsGrant: GrantHandler {
    public let grantType = GrantType.clientCredentials
    public init() {}

    public func handle(_ request: TokenRequest, client: Client, services: GrantServices) async throws -> TokenResponse {
        // §4.4: "MUST only be used by confidential clients".
        guard !client.isPublic else {
            throw OAuthError.unauthorizedClient("Public clients cannot use the client_credentials grant.")
        }
        // Issue 20: a self-registered client (open registration) never acts without a user, even one registered
        // with this grant before open registration refused it.
        guard !client.registeredAnonymously else {
            throw OAuthError.unauthorizedClient("A client from open registration cannot use the client_credentials grant.")
        }
        let scopes = try services.scopePolicy.grant(requested: try request.requestedScopes(), clientAllowed: client.allowedScopes, userAllowed: nil)
        let audience = try services.audience(for: request, client: client)
        let now = services.clock.now
        let access = try await services.accessTokens.mint(subject: client.id, clientID: client.id, scopes: scopes,
                                                          audience: audience, now: now)
        services.audit.record(AuditEvent(.tokenIssued, at: now, clientID: client.id, subject: client.id,
                                         detail: ["grant_type": grantType.rawValue, "scope": scopes.description]))
        // §4.4.3: a refresh token SHOULD NOT be included.
        return TokenResponse(accessToken: access.token, expiresIn: access.lifetime, scope: scopes)
    }
}

import Foundation
import JWTKit

/// A revocation request (RFC 7009 §2.1), free of HTTP types. Client credentials come from the same
/// `TokenRequest` parsing as `/token`.
public struct RevocationRequest: Sendable {
    public let request: TokenRequest
    public init(_ request: TokenRequest) { self.request = request }
}

/// `POST /revoke` (RFC 7009).
///
/// - The client authenticates exactly as at `/token` (§2.1).
/// - A refresh token revokes its whole family; an access token (JWT) goes on the revocation list by `jti`
///   until its `exp`.
/// - Unknown, malformed, expired or foreign tokens get the same empty 200 (§2.2), so the endpoint tells a
///   caller nothing about tokens it does not own; a foreign token is never revoked.
/// - `token_type_hint` only orders the lookups; an unknown hint is ignored (§2.2.1 lets the server search
///   all types; `unsupported_token_type` is never needed because both types are revocable).
public struct RevocationEndpoint: Sendable {
    public let services: GrantServices
    public let reader: IssuedAccessTokenReader
    public let clientAuthenticator: ClientAuthenticator

    public let refreshTokens: any RefreshTokenStore
    /// The `jti` revocation list.
    public let revokedAccessTokens: any AccessTokenRevocationStore

    public init(services: GrantServices, clients: any ClientStore, refreshTokens: any RefreshTokenStore,
                revokedAccessTokens: any AccessTokenRevocationStore, assertions: ClientAssertionVerifier? = nil) {
        self.services = services
        self.reader = IssuedAccessTokenReader(issuer: services.settings.issuer, keys: services.accessTokens.keys)
        self.clientAuthenticator = ClientAuthenticator(clients: clients, clock: services.clock, assertions: assertions)
        self.refreshTokens = refreshTokens
        self.revokedAccessTokens = revokedAccessTokens
    }

    /// What was revoked (for tests and audit); the HTTP answer is always an empty 200.
    public enum Outcome: Sendable, Equatable {
        case refreshTokenFamily(revoked: Int)
        case accessToken(jti: String)
        case nothing
    }

    @discardableResult
    public func handle(_ revocation: RevocationRequest) async throws -> Outcome {
        let request = revocation.request
        let client = try await clientAuthenticator.authenticate(request, at: "revoke", audit: services.audit)
        let token = try request.required("token")
        if request["token_type_hint"] == "access_token" {
            if let outcome = try await revokeAccessToken(token, client: client) { return outcome }
            return try await revokeRefreshToken(token, client: client) ?? .nothing
        }
        if let outcome = try await revokeRefreshToken(token, client: client) { return outcome }
        return try await revokeAccessToken(token, client: client) ?? .nothing
    }

    /// `nil` when `token` is not a refresh token of this client.
    private func revokeRefreshToken(_ token: String, client: Client) async throws -> Outcome? {
        guard let record = try await refreshTokens.refreshToken(digest: Secrets.digest(token)), record.clientID == client.id else { return nil }
        let now = services.clock.now
        let count = try await refreshTokens.revokeRefreshTokenFamily(familyID: record.familyID, at: now)
        services.audit.record(AuditEvent(.tokenRevoked, at: now, clientID: client.id, subject: record.subject,
                                         detail: ["token_type": "refresh_token", "revoked": String(count)]))
        return .refreshTokenFamily(revoked: count)
    }

    /// `nil` when `token` is not a live access token issued to this client.
    private func revokeAccessToken(_ token: String, client: Client) async throws -> Outcome? {
        guard let claims = try await reader.read(token), claims.clientID == client.id else { return nil }
        let now = services.clock.now
        guard claims.exp.value > now else { return nil } // already dead: nothing to remember
        try await revokedAccessTokens.revokeAccessToken(jti: claims.jti.value, clientID: client.id, expiresAt: claims.exp.value, at: now)
        services.introspectionCache.revoked(jti: claims.jti.value, expiresAt: claims.exp.value, now: now)
        services.audit.record(AuditEvent(.tokenRevoked, at: now, clientID: client.id, subject: claims.sub.value,
                                         detail: ["token_type": "access_token"]))
        return .accessToken(jti: claims.jti.value)
    }
}

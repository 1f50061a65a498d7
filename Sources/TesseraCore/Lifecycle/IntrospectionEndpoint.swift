import Foundation
import JWTKit
import TesseraJOSE

/// The answer of `POST /introspect` (RFC 7662 §2.2). An inactive token is exactly `{"active": false}`.
public struct IntrospectionResponse: Sendable, Codable, Equatable {
    public var active: Bool
    public var scope: String?
    public var clientID: String?
    public var sub: String?
    public var exp: Int?
    public var iat: Int?
    public var iss: String?
    public var aud: [String]?
    public var tokenType: String?
    public var jti: String?

    enum CodingKeys: String, CodingKey {
        case active, scope, sub, exp, iat, iss, aud, jti
        case clientID = "client_id"
        case tokenType = "token_type"
    }

    public static let inactive = IntrospectionResponse(active: false)

    public init(active: Bool, scope: String? = nil, clientID: String? = nil, sub: String? = nil, exp: Int? = nil, iat: Int? = nil,
                iss: String? = nil, aud: [String]? = nil, tokenType: String? = nil, jti: String? = nil) {
        self.active = active
        self.scope = scope
        self.clientID = clientID
        self.sub = sub
        self.exp = exp
        self.iat = iat
        self.iss = iss
        self.aud = aud
        self.tokenType = tokenType
        self.jti = jti
    }
}

/// `POST /introspect` (RFC 7662).
///
/// Who may ask (§2.1, §4): the caller must authenticate as a confidential client. Any such client registered
/// by an operator (CLI or initial access token) may introspect **access tokens**, whoever they were issued to — a resource server is typically its own
/// client and must be able to check the tokens presented to it (the RFC's intent; Hydra does the same).
/// **Refresh tokens** are only reported to the client they were issued to; for anyone else they are
/// `{"active": false}`, since only their owner ever holds them legitimately. A client from open registration
/// (``Client/registeredAnonymously``) is likewise told only about tokens issued to itself.
///
/// Access tokens go through a node-local ``IntrospectionCache``: a revocation on this node answers
/// `active: false` at once; one on another node, or a deleted client, within
/// ``IntrospectionCache/recheckInterval`` (2 s by default).
public struct IntrospectionEndpoint: Sendable {
    public let services: GrantServices
    /// The access-token checks, shared with ``UserInfoEndpoint``.
    public let accessTokens: AccessTokenStatusCheck
    public let clientAuthenticator: ClientAuthenticator

    public let refreshTokens: any RefreshTokenStore

    public init(services: GrantServices, accessTokens: AccessTokenStatusCheck, clients: any ClientStore, refreshTokens: any RefreshTokenStore,
                assertions: ClientAssertionVerifier? = nil) {
        self.services = services
        self.accessTokens = accessTokens
        self.clientAuthenticator = ClientAuthenticator(clients: clients, clock: services.clock, assertions: assertions)
        self.refreshTokens = refreshTokens
    }

    public func handle(_ request: TokenRequest) async throws -> IntrospectionResponse {
        let client = try await clientAuthenticator.authenticate(request, at: "introspect", audit: services.audit)
        guard !client.isPublic else { throw OAuthError.invalidClient("Introspection requires a confidential client.") }
        let token = try request.required("token")
        let answer = try await lookUp(token, hint: request["token_type_hint"], caller: client)
        // RFC 7662 §4: only clients an operator registered (CLI, initial access token) learn about other clients'
        // tokens; a self-registered client (open registration) is told only about its own.
        if client.registeredAnonymously, answer.clientID != client.id { return .inactive }
        return answer
    }

    private func lookUp(_ token: String, hint: String?, caller client: Client) async throws -> IntrospectionResponse {
        if hint == "refresh_token" {
            if let answer = try await refreshToken(token, caller: client) { return answer }
            return try await accessToken(token) ?? .inactive
        }
        if let answer = try await accessToken(token) { return answer }
        return try await refreshToken(token, caller: client) ?? .inactive
    }

    /// `nil` when `token` is not one of our JWTs; `.inactive` when it is but is expired or revoked.
    func accessToken(_ token: String) async throws -> IntrospectionResponse? {
        switch try await accessTokens.status(of: token) {
        case .notIssuedHere: return nil
        case .inactive: return .inactive
        case .active(let claims):
            return IntrospectionResponse(active: true, scope: claims.scope, clientID: claims.clientID, sub: claims.sub.value,
                                         exp: Int(claims.exp.value.timeIntervalSince1970), iat: Int(claims.iat.value.timeIntervalSince1970),
                                         iss: claims.iss.value, aud: claims.aud.value, tokenType: "access_token", jti: claims.jti.value)
        }
    }

    /// `nil` when `token` is no refresh token we know.
    func refreshToken(_ token: String, caller: Client) async throws -> IntrospectionResponse? {
        guard let record = try await refreshTokens.refreshToken(digest: Secrets.digest(token)) else { return nil }
        let now = services.clock.now
        guard record.clientID == caller.id, record.rotatedAt == nil, record.revokedAt == nil, record.expiresAt > now,
              record.familyExpiresAt > now else { return .inactive }
        return IntrospectionResponse(active: true, scope: record.scopes.isEmpty ? nil : record.scopes.description, clientID: record.clientID,
                                     sub: record.subject, exp: Int(record.expiresAt.timeIntervalSince1970),
                                     iat: Int(record.issuedAt.timeIntervalSince1970), iss: services.settings.issuer, aud: record.audience,
                                     tokenType: "refresh_token", jti: record.id)
    }
}

/// Where a presented access token stands: the one decision behind `/introspect` (RFC 7662) and
/// `/userinfo` (OIDC Core §5.3), so both refuse exactly the same tokens.
public enum AccessTokenStatus: Sendable, Equatable {
    /// Not a canonical compact JWS signed by our keys for our issuer (maybe a refresh token, maybe garbage).
    case notIssuedHere
    /// Ours, but expired, revoked (RFC 7009), its client was deleted (RFC 7592 §2.3) or its user disabled.
    case inactive
    /// Ours and live.
    case active(IssuedAccessTokenClaims)
}

/// Checks a presented access token: canonical compact JWS (``JWSCompactForm``), signature by a published
/// key, our `iss`, `exp` against the injected clock, the `jti` revocation list, that its client
/// still exists (RFC 7592 §2.3), and that its user is not disabled.
///
/// Uses ``GrantServices/introspectionCache``: a token seen before skips the signature check while its
/// key is published, and the database (revocation list, client) is asked at most once per
/// ``IntrospectionCache/recheckInterval`` per token; revocations made on this node apply at once.
/// A failure to load the keys or to reach the store is thrown, never reported as an inactive token.
public struct AccessTokenStatusCheck: Sendable {
    public let services: GrantServices
    public let reader: IssuedAccessTokenReader
    /// The `jti` revocation list.
    public let revokedAccessTokens: any AccessTokenRevocationStore
    /// Whether the token's client still exists.
    public let clients: any ClientStore
    /// Whether the token's user is disabled.
    public let users: any UserStore

    public init(services: GrantServices, revokedAccessTokens: any AccessTokenRevocationStore, clients: any ClientStore, users: any UserStore) {
        self.services = services
        self.reader = IssuedAccessTokenReader(issuer: services.settings.issuer, keys: services.accessTokens.keys)
        self.revokedAccessTokens = revokedAccessTokens
        self.clients = clients
        self.users = users
    }

    public func status(of token: String) async throws -> AccessTokenStatus {
        let cache = services.introspectionCache
        let key = IntrospectionCache.key(token)
        let now = services.clock.now
        var entry = cache.entry(key)
        if let cached = entry, !(try services.accessTokens.keys.current.records.contains { $0.kid == cached.kid }) {
            cache.remove(key) // its signing key is gone: verify afresh (and fail)
            entry = nil
        }
        let claims: IssuedAccessTokenClaims
        if let entry {
            claims = entry.claims
        } else {
            guard let read = try await reader.read(token) else { return .notIssuedHere }
            claims = read
        }
        guard claims.exp.value > now else {
            cache.remove(key)
            return .inactive
        }
        guard !cache.isRevokedLocally(jti: claims.jti.value) else { return .inactive }
        if entry == nil || !cache.isFresh(entry!, now: now) {
            guard try await !revokedAccessTokens.isAccessTokenRevoked(jti: claims.jti.value),
                  // RFC 7592 §2.3: deleting a client invalidates the access tokens issued to it.
                  try await clients.client(id: claims.clientID) != nil,
                  // A disabled user's tokens are inactive (account recovery, `UserSessions`); a client's own `sub` names no user.
                  try await users.user(id: claims.sub.value)?.disabled != true else {
                cache.remove(key)
                return .inactive
            }
            if let kid = entry?.kid ?? JWSCompactForm.keyID(token) {
                cache.store(IntrospectionCache.Entry(claims: claims, kid: kid, checkedAt: now), for: key)
            }
        }
        return .active(claims)
    }
}

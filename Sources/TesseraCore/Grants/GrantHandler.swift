public import Crypto
import Foundation
public import Logging

/// One grant type's logic at the token endpoint (fosite's `TokenEndpointHandler`,
/// node-oidc-provider's `lib/actions/grants/*`).
public protocol GrantHandler: Sendable {
    /// The `grant_type` value this handler serves.
    var grantType: GrantType { get }
    /// Handles a request from an already authenticated client that may use this grant.
    func handle(_ request: TokenRequest, client: Client, services: GrantServices) async throws -> TokenResponse
}

/// What grant handlers and endpoints share: settings, minting, policy, audit and time — never a store. Each
/// component receives the store protocols it uses in its own initializer (fosite's per-handler storage slices),
/// wired once by the composition root (`TesseraRuntime.make`).
public struct GrantServices: Sendable {
    public let settings: OAuthSettings
    public let clock: any TimeSource
    public let accessTokens: AccessTokenMinter
    public let passwords: any PasswordHasher
    public let scopePolicy: ScopePolicy
    public let audit: any AuditSink
    public let logger: Logger
    /// Keys `GrantServices.auditUsername`'s HMAC of a username that names no user (so a password typed into the
    /// username field never reaches the audit log in clear). Random per `GrantServices` unless given.
    public let auditKey: SymmetricKey
    /// Seals signing keys and TOTP secrets at rest (`KeyEncryption`); `nil` stores them as given (tests).
    public let keyEncryption: KeyEncryption?
    /// Node-local introspection cache, shared by every copy of these services (see `IntrospectionCache`).
    public let introspectionCache = IntrospectionCache()

    public init(settings: OAuthSettings, clock: any TimeSource, accessTokens: AccessTokenMinter,
                passwords: any PasswordHasher, audit: any AuditSink, logger: Logger = Logger(label: "tessera.oauth"),
                auditKey: SymmetricKey = SymmetricKey(size: .bits256), keyEncryption: KeyEncryption? = nil) {
        self.settings = settings
        self.clock = clock
        self.accessTokens = accessTokens
        self.passwords = passwords
        self.scopePolicy = ScopePolicy(defaultScopes: settings.defaultScopes)
        self.audit = audit
        self.logger = logger
        self.keyEncryption = keyEncryption
        self.auditKey = auditKey
    }

    /// Creates and stores a new refresh token. `family` continues an existing family on rotation.
    func newRefreshToken(client: Client, subject: String, scopes: ScopeSet, audience: [String], authTime: Date?,
                         now: Date, continuing family: RefreshTokenRecord? = nil) -> (token: String, record: RefreshTokenRecord) {
        let token = Secrets.random(bytes: 32)
        let familyExpiry = family?.familyExpiresAt ?? now.addingTimeInterval(settings.refreshTokenAbsoluteLifetime)
        let record = RefreshTokenRecord(
            id: UUID().uuidString, tokenDigest: Secrets.digest(token), familyID: family?.familyID ?? UUID().uuidString,
            clientID: client.id, subject: subject, scopes: scopes, audience: audience, issuedAt: now,
            expiresAt: min(now.addingTimeInterval(settings.refreshTokenIdleLifetime), familyExpiry),
            familyExpiresAt: familyExpiry, authTime: authTime)
        return (token, record)
    }
}

/// The grant handlers by `grant_type`.
public struct GrantRegistry: Sendable {
    private var handlers: [GrantType: any GrantHandler] = [:]

    public init(_ handlers: [any GrantHandler]) {
        for handler in handlers { self.handlers[handler.grantType] = handler }
    }

    /// The grants Tessera serves at `/token` today, each with its own stores.
    public static func standard(authorizationCode: AuthorizationCodeGrant, password: PasswordGrant, refreshToken: RefreshTokenGrant) -> GrantRegistry {
        GrantRegistry([authorizationCode, ClientCredentialsGrant(), password, refreshToken])
    }

    public subscript(_ type: GrantType) -> (any GrantHandler)? { handlers[type] }
    public var grantTypes: [GrantType] { handlers.keys.sorted() }
}

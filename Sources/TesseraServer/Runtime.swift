import Crypto
import Foundation
public import Logging
import ServiceLifecycle
public import TesseraCore
import TesseraFederation
public import TesseraStore

/// Everything a running Tessera node holds: configuration, storage, keys and the core's endpoints.
///
/// The composition root: `make` parses the configuration once (a value that does not parse is a start-up
/// error, never a silent default) and builds each endpoint once; routes receive the endpoint they serve,
/// so a request allocates no endpoint.
public struct TesseraRuntime: Sendable {
    public let configuration: TesseraConfiguration
    public let storage: any TesseraStorage
    /// Client lookups: the store's clients and, when enabled, Client ID Metadata Document clients.
    public let clients: ClientDirectory
    public let keys: SigningKeyManager
    public let services: GrantServices
    public let clock: any TimeSource
    public let logger: Logger
    /// The audit sink with its concrete type: `AuditFlushService` flushes it, `/metrics` reports its backlog.
    /// The same instance as `services.audit`.
    public let auditSink: BufferedAuditSink
    /// `POST /token` (RFC 6749 §3.2).
    public let tokenEndpoint: TokenEndpoint
    /// `POST /introspect` (RFC 7662).
    public let introspectionEndpoint: IntrospectionEndpoint
    /// `POST /revoke` (RFC 7009).
    public let revocationEndpoint: RevocationEndpoint
    /// `POST /register` and `/register/{client_id}` (RFC 7591, RFC 7592).
    public let registrationEndpoint: RegistrationEndpoint
    /// `GET`/`POST /userinfo` (OIDC Core §5.3).
    public let userInfoEndpoint: UserInfoEndpoint
    /// RP-initiated logout decisions (OIDC RP-Initiated Logout 1.0).
    public let logoutEndpoint: LogoutEndpoint
    /// The authorization endpoint's decisions (browser flows).
    public let authorizationEndpoint: AuthorizationEndpoint
    /// Pending authorization requests from `/authorize` through sign-in and consent (the browser flows' decisions).
    public private(set) var interactionService: InteractionService
    /// Username and password checks with the per-account lockout (the login form, the password grant).
    public let userAuthenticator: UserAuthenticator
    /// TOTP enrolment, verification and browser challenges.
    public let mfa: MFAService
    /// Re-authentication before a factor change (`/account`).
    public let stepUp: StepUpService
    /// A user's grants: revoking one (`/account`).
    public let consentManagement: ConsentManagement
    /// Sign-in through the configured upstream identity providers.
    public private(set) var federation: FederationService
    /// The configured upstream identity providers with their clients (replacing them replaces `federation`'s).
    public var identityProviders: IdentityProviderRegistry {
        didSet {
            federation.providers = identityProviders
            interactionService.upstreamProviders = Set(identityProviders.entries.map(\.settings.id))
        }
    }
    /// The RFC 8414 and OIDC Discovery documents, encoded once.
    let discoveryDocuments: DiscoveryDocuments
    /// Proxies whose `X-Forwarded-*` headers are believed (`trustedProxies`, parsed at start-up).
    let trustedProxies: TrustedProxies
    /// Automatic signing key rotation (`keyRotationInterval`, `keyPrePublication`).
    public let keyRotationPolicy: KeyRotationPolicy
    /// Checks the database answers (for `/readyz`).
    public let readiness: @Sendable () async throws -> Void
    /// Prometheus metrics of this runtime (`/metrics`); `nil` when `configuration.metrics` is off.
    public let metrics: TesseraMetrics?
    /// The key-encryption keys sealing signing keys and TOTP secrets at rest; `derivedKey(purpose:)` gives
    /// keys for other uses. Always set by `make`.
    public let keyEncryption: KeyEncryption?

    /// Wires a runtime over a store that is already migrated, creating signing keys on first start.
    ///
    /// `keyEncryption` seals secrets at rest (`serve` passes `configuration.resolveKeyEncryption()`); without it
    /// the configured keys are used, else a temporary key (tests: what it seals is unreadable after a restart).
    /// Fails with one line (`TesseraConfiguration.Invalid`) when a setting does not parse or a stored secret is
    /// sealed with a key that is not given.
    public static func make(configuration: TesseraConfiguration, storage: any TesseraStorage, clock: any TimeSource = SystemTimeSource(),
                            logger: Logger = Logger(label: "tessera"), readiness: @escaping @Sendable () async throws -> Void = {},
                            identityProviders: IdentityProviderRegistry? = nil, keyEncryption: KeyEncryption? = nil) async throws -> TesseraRuntime {
        // Parse every setting before touching the store: a bad value stops start-up with one line.
        let settings = try startupSettings(configuration)
        let registrationSettings = try registrationSettings(configuration, settings: settings)
        let trustedProxies = configuration.trustedProxies
        let metrics = configuration.metrics ? TesseraMetrics() : nil
        let logSink: any AuditSink = metrics.map { MetricsAuditSink(metrics: $0, next: LoggingAuditSink(logger: logger)) } ?? LoggingAuditSink(logger: logger)
        // A retired key stays published as long as anything it signed can be valid.
        let encryption = try keyEncryption ?? configuration.configuredKeyEncryption() ?? .generate()
        let keys = SigningKeyManager(store: storage, clock: clock, retention: settings.signingKeyRetention, encryption: encryption)
        let created: [SigningKeyRecord]
        do {
            try await SecretsAtRest.requireReadable(storage: storage, encryption: encryption)
            created = try await keys.ensureKeys()
        } catch let error as KeyEncryptionError {
            throw TesseraConfiguration.Invalid("\(error.description); give this node the key-encryption keys the database was sealed with (TESSERA_KEY_ENCRYPTION_KEYS or TESSERA_KEY_ENCRYPTION_KEY_FILE, the same on every node)")
        }
        for key in created {
            logger.info("created signing key", metadata: ["kid": .string(key.kid), "alg": .string(key.algorithm.rawValue)])
        }
        let minter = AccessTokenMinter(issuer: settings.issuer, lifetime: settings.accessTokenLifetime, algorithm: settings.accessTokenAlgorithm, keys: keys)
        let audit = BufferedAuditSink(store: storage, next: logSink, logger: logger)
        let services = GrantServices(settings: settings, clock: clock, accessTokens: minter,
                                     passwords: BcryptPasswordHasher(cost: UInt8(configuration.bcryptCost)),
                                     audit: audit, logger: logger,
                                     auditKey: auditUsernameKey(encryption: encryption), keyEncryption: encryption)
        // Each provider's client talks to it over HTTP (discovery and keys are fetched on first use, not here).
        let providers = identityProviders ?? IdentityProviderRegistry(configuration.identityProviders.map {
            IdentityProviderRegistry.Entry(settings: $0, client: UpstreamProviderClients.make($0, clock: clock, logger: logger))
        })
        // Each component is built once here with only the store protocols it uses (fosite's per-handler storage).
        let userAuthenticator = UserAuthenticator(services: services, users: storage, loginAttempts: storage, mfa: storage)
        let userSessions = UserSessions(users: storage, sessions: storage, refreshTokens: storage, audit: storage, clock: clock)
        let mfa = MFAService(services: services, store: storage, authenticator: userAuthenticator, userSessions: userSessions)
        let grants = GrantRegistry.standard(
            authorizationCode: AuthorizationCodeGrant(codes: storage, users: storage, refreshTokens: storage, revokedAccessTokens: storage, mfa: storage),
            password: PasswordGrant(authenticator: userAuthenticator, mfa: mfa, refreshTokens: storage),
            refreshToken: RefreshTokenGrant(refreshTokens: storage, users: storage))
        // private_key_jwt: client keys from `jwks`, or `jwks_uri` through the SSRF-guarded fetcher; jtis in the store.
        let clientKeys = ClientKeys(fetcher: OutboundDocumentFetcher(allowLoopback: configuration.allowLoopbackClientURLs), clock: clock)
        let assertions = ClientAssertionVerifier(issuer: settings.issuer, keys: clientKeys, replays: storage, clock: clock)
        // Every client lookup: registered clients, and clients named by a Client ID Metadata Document URL.
        let clients = ClientDirectory(store: storage, documents: configuration.clientIDMetadataDocuments ? ClientIDMetadataDocuments(
            policy: ClientIDMetadataDocument.Policy(
                allowedHosts: configuration.clientIDMetadataDocumentHosts, blockedHosts: configuration.clientIDMetadataDocumentBlockedHosts,
                scopes: registrationSettings.allowedScopes, resources: settings.defaultAudience,
                maximumCacheAge: TimeInterval(configuration.clientIDMetadataDocumentMaxAge), allowLoopbackHTTP: configuration.allowLoopbackClientURLs),
            fetcher: OutboundDocumentFetcher(allowLoopback: configuration.allowLoopbackClientURLs, maximumBytes: 5 * 1024),
            clock: clock, audit: audit) : nil)
        let tokenEndpoint = TokenEndpoint(services: services, clients: clients, grants: grants, assertions: assertions)
        let authorizationEndpoint = AuthorizationEndpoint(services: services, users: storage, consents: storage, codes: storage, mfaEnrollments: storage)
        let accessTokenStatus = AccessTokenStatusCheck(services: services, revokedAccessTokens: storage, clients: clients, users: storage)
        return TesseraRuntime(
            configuration: configuration, storage: storage, clients: clients, keys: keys, services: services, clock: clock, logger: logger,
            auditSink: audit, tokenEndpoint: tokenEndpoint,
            introspectionEndpoint: IntrospectionEndpoint(services: services, accessTokens: accessTokenStatus, clients: clients, refreshTokens: storage,
                                                         assertions: assertions),
            revocationEndpoint: RevocationEndpoint(services: services, clients: clients, refreshTokens: storage, revokedAccessTokens: storage,
                                                   assertions: assertions),
            registrationEndpoint: RegistrationEndpoint(settings: registrationSettings, clients: storage, consents: storage,
                                                       initialAccessTokens: storage, clock: clock, audit: audit),
            userInfoEndpoint: UserInfoEndpoint(services: services, accessTokens: accessTokenStatus, users: storage, profiles: storage),
            logoutEndpoint: LogoutEndpoint(services: services, clients: clients),
            authorizationEndpoint: authorizationEndpoint,
            interactionService: InteractionService(endpoint: authorizationEndpoint, interactions: storage, clients: clients, clock: clock,
                                                   upstreamProviders: Set(providers.entries.map(\.settings.id))),
            userAuthenticator: userAuthenticator, mfa: mfa, stepUp: StepUpService(services: services, mfa: mfa),
            consentManagement: ConsentManagement(services: services, consents: storage),
            federation: FederationService(services: services, providers: providers, federation: storage, users: storage, profiles: storage, mfa: storage),
            identityProviders: providers,
            discoveryDocuments: DiscoveryDocuments(issuer: settings.issuer, grantTypes: tokenEndpoint.grants.grantTypes,
                                                   scopes: settings.defaultScopes.union(registrationSettings.allowedScopes),
                                                   clientIDMetadataDocuments: configuration.clientIDMetadataDocuments),
            trustedProxies: trustedProxies,
            keyRotationPolicy: KeyRotationPolicy(interval: configuration.keyRotationInterval.map(TimeInterval.init),
                                                 prePublication: TimeInterval(configuration.keyPrePublication)),
            readiness: readiness, metrics: metrics, keyEncryption: encryption)
    }

    /// The core's protocol settings (typed since the configuration was applied: nothing left to parse).
    static func startupSettings(_ configuration: TesseraConfiguration) throws(TesseraConfiguration.Invalid) -> OAuthSettings {
        configuration.oauthSettings
    }

    /// What `/register` allows (RFC 7591 §2 `scope`). Default: the default scopes plus the OpenID Connect
    /// identity scopes, which users still consent to.
    static func registrationSettings(_ configuration: TesseraConfiguration, settings: OAuthSettings)
        throws(TesseraConfiguration.Invalid) -> RegistrationEndpoint.Settings
    {
        let allowed = configuration.registrationScopes ?? settings.defaultScopes.union(["openid", "profile", "email"])
        return RegistrationEndpoint.Settings(issuer: settings.issuer, openRegistration: configuration.openRegistration, allowedScopes: allowed,
                                             defaultScopes: settings.defaultScopes.intersection(allowed),
                                             openRegistrationScopes: configuration.openRegistrationScopes)
    }
}

extension TesseraRuntime {
    /// The key of the `username_hmac` that failed-login audit events record for usernames naming no user: derived
    /// from the primary key-encryption key (HKDF-SHA256), so every node and every restart give one name one value,
    /// and nobody without the key can test guesses against the log.
    static func auditUsernameKey(encryption: KeyEncryption) -> SymmetricKey {
        encryption.derivedKey(purpose: "tessera audit username")
    }
}

import Crypto
import Foundation
import Logging
import ServiceLifecycle
import TesseraCore
import TesseraFederation
import TesseraStore

/// Everything a running Tessera node holds: configuration, storage, keys and the core's endpoints.
/// Built once at start-up; routes only translate HTTP to calls on it.
public struct TesseraRuntime: Sendable {
    public let configuration: TesseraConfiguration
    public let storage: any TesseraStorage
    public let keys: SigningKeyManager
    public let services: GrantServices
    public let tokenEndpoint: TokenEndpoint
    public let clock: any TimeSource
    public let logger: Logger
    /// The authorization endpoint's decisions (browser flows).
    public var authorizationEndpoint: AuthorizationEndpoint { AuthorizationEndpoint(services: services) }
    /// Checks the database answers (for `/readyz`).
    public let readiness: @Sendable () async throws -> Void
    /// Prometheus metrics of this runtime (`/metrics`); `nil` when `configuration.metrics` is off.
    public var metrics: TesseraMetrics? = nil
    /// Sign-in through the configured upstream identity providers.
    public var federation: FederationService { FederationService(services: services, providers: identityProviders) }
    /// The configured upstream identity providers with their clients.
    public var identityProviders = IdentityProviderRegistry()
    /// The key-encryption keys sealing signing keys and TOTP secrets at rest; `derivedKey(purpose:)` gives
    /// keys for other uses.
    /// Always set by `make`.
    public internal(set) var keyEncryption: KeyEncryption? = nil

    /// Wires a runtime over a store that is already migrated, creating signing keys on first start.
    ///
    /// `keyEncryption` seals secrets at rest (`serve` passes `configuration.resolveKeyEncryption()`); without it
    /// the configured keys are used, else a temporary key (tests: what it seals is unreadable after a restart).
    /// Fails with one line when a stored secret is sealed with a key that is not given.
    public static func make(configuration: TesseraConfiguration, storage: any TesseraStorage, clock: any TimeSource = SystemTimeSource(),
                            logger: Logger = Logger(label: "tessera"), readiness: @escaping @Sendable () async throws -> Void = {},
                            identityProviders: IdentityProviderRegistry? = nil, keyEncryption: KeyEncryption? = nil) async throws -> TesseraRuntime {
        let settings = configuration.oauthSettings
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
        let services = GrantServices(settings: settings, clock: clock, storage: storage, accessTokens: minter,
                                     passwords: BcryptPasswordHasher(cost: UInt8(configuration.bcryptCost)),
                                     audit: BufferedAuditSink(store: storage, next: logSink, logger: logger), logger: logger,
                                     auditKey: auditUsernameKey(encryption: encryption), keyEncryption: encryption)
        var runtime = TesseraRuntime(configuration: configuration, storage: storage, keys: keys, services: services,
                                     tokenEndpoint: TokenEndpoint(services: services), clock: clock, logger: logger, readiness: readiness)
        runtime.metrics = metrics
        runtime.keyEncryption = encryption
        // Each provider's client talks to it over HTTP (discovery and keys are fetched on first use, not here).
        runtime.identityProviders = identityProviders ?? IdentityProviderRegistry(configuration.identityProviders.map {
            IdentityProviderRegistry.Entry(settings: $0, client: UpstreamProviderClients.make($0, clock: clock, logger: logger))
        })
        return runtime
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

/// Periodic upkeep on every node: re-read signing keys (so keys rotated on one node reach all within
/// `keyReloadInterval`) and purge expired refresh token families.
struct MaintenanceService: Service {
    let runtime: TesseraRuntime

    func run() async throws {
        let interval = Duration.seconds(runtime.configuration.keyReloadInterval)
        var lastPurge = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                // Graceful shutdown ends the wait at once, so SIGTERM never waits out the interval.
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await runtime.keys.reload()
                try await runtime.lifecycleMaintenance()
                if ContinuousClock.now - lastPurge > .seconds(3600) {
                    let purged = try await runtime.storage.purgeExpiredRefreshTokens(before: runtime.clock.now)
                    try await runtime.storage.purgeExpiredAuthorizationCodes(before: runtime.clock.now)
                    try await runtime.storage.purgeExpiredSessions(before: runtime.clock.now)
                    // Issue 6: stale failed-login counters and finished rate limit windows.
                    try await runtime.storage.purgeLoginAttempts(before: runtime.clock.now.addingTimeInterval(-runtime.services.settings.lockout.window))
                    try await runtime.storage.purgeRateLimits(before: runtime.clock.now.addingTimeInterval(-3600))
                    try await runtime.storage.purgeExpiredMFAChallenges(before: runtime.clock.now)
                    try await runtime.storage.purgeExpiredFederationStates(before: runtime.clock.now)
                    try await runtime.storage.purgeExpiredInteractions(before: runtime.clock.now)
                    lastPurge = ContinuousClock.now
                    runtime.logger.debug("purged expired refresh tokens", metadata: ["count": .stringConvertible(purged)])
                }
            } catch {
                runtime.logger.warning("maintenance failed", metadata: ["error": .string(String(describing: error))])
            }
        }
    }
}

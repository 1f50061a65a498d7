import Foundation
import Logging
import ServiceLifecycle
import TesseraCore

/// Periodic upkeep on every node, a `Service` of the application's `ServiceGroup`: re-read signing keys (so keys
/// rotated on one node reach all within `keyReloadInterval`), rotate them when due, and purge what expired.
///
/// It holds only what that work needs, handed over by the composition root (`TesseraRuntime.maintenanceService`).
/// Graceful shutdown or cancellation ends the wait between rounds at once, so SIGTERM never waits out the interval.
struct MaintenanceService: Service {
    /// The stores it purges expired rows from.
    typealias Stores = RefreshTokenStore & AuthorizationCodeStore & SessionStore & LoginAttemptStore & MFAStore & FederationStore
        & InteractionStore & AccessTokenRevocationStore & InitialAccessTokenStore & ClientAssertionReplayStore

    let keys: SigningKeyManager
    let storage: any Stores
    let clock: any TimeSource
    let audit: any AuditSink
    let logger: Logger
    /// `keyReloadInterval`.
    let interval: Duration
    /// Automatic signing key rotation (`keyRotationInterval`, `keyPrePublication`).
    let rotation: KeyRotationPolicy
    /// Failed-login counters older than this are dropped (the lockout window; the default one when lockout is off).
    let loginAttemptWindow: TimeInterval

    func run() async throws {
        var lastPurge = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await keys.reload()
                try await lifecycleRound()
                if ContinuousClock.now - lastPurge > .seconds(3600) {
                    let purged = try await purgeExpired()
                    lastPurge = ContinuousClock.now
                    logger.debug("purged expired refresh tokens", metadata: ["count": .stringConvertible(purged)])
                }
            } catch {
                logger.warning("maintenance failed", metadata: ["error": .string(String(describing: error))])
            }
        }
    }

    /// One round of lifecycle upkeep: rotate keys when due (safe on several nodes at once, see
    /// `KeyRotationPolicy.plan`), drop retired keys past retention, and purge revocation-list entries and initial
    /// access tokens that expired.
    func lifecycleRound() async throws {
        let created = try await keys.rotateIfDue(rotation)
        for key in created {
            audit.record(AuditEvent(.keyRotated, at: clock.now, detail: ["kid": key.kid, "alg": key.algorithm.rawValue,
                                                                         "activates_at": String(Int(key.activatesAt.timeIntervalSince1970))]))
        }
        try await keys.purgeExpired()
        let now = clock.now
        try await storage.purgeExpiredAccessTokenRevocations(before: now)
        try await storage.purgeExpiredInitialAccessTokens(before: now)
        try await storage.purgeClientAssertions(before: now)
    }

    /// The hourly purge of expired rows; returns how many refresh tokens went.
    func purgeExpired() async throws -> Int {
        let now = clock.now
        let purged = try await storage.purgeExpiredRefreshTokens(before: now)
        try await storage.purgeExpiredAuthorizationCodes(before: now)
        try await storage.purgeExpiredSessions(before: now)
        // Issue 6: stale failed-login counters.
        try await storage.purgeLoginAttempts(before: now.addingTimeInterval(-loginAttemptWindow))
        try await storage.purgeExpiredMFAChallenges(before: now)
        try await storage.purgeExpiredFederationStates(before: now)
        try await storage.purgeExpiredInteractions(before: now)
        return purged
    }
}

import Foundation
import TesseraCore

/// Token lifecycle and client management endpoints of a runtime (issue 4). Built from the runtime's
/// services, so each node's endpoints share its store, keys and clock.
extension TesseraRuntime {
    /// `POST /revoke` (RFC 7009).
    public var revocationEndpoint: RevocationEndpoint { RevocationEndpoint(services: services) }
    /// `POST /introspect` (RFC 7662).
    public var introspectionEndpoint: IntrospectionEndpoint { IntrospectionEndpoint(services: services) }
    /// `POST /register` and `/register/{client_id}` (RFC 7591, RFC 7592).
    public var registrationEndpoint: RegistrationEndpoint {
        let settings = services.settings
        // Default: the default scopes plus the OpenID Connect identity scopes, which users still consent to.
        let allowed = configuration.registrationScopes.flatMap { try? ScopeSet(parsing: $0) }
            ?? settings.defaultScopes.union(["openid", "profile", "email"])
        return RegistrationEndpoint(
            settings: .init(issuer: settings.issuer, openRegistration: configuration.openRegistration, allowedScopes: allowed,
                            defaultScopes: settings.defaultScopes.intersection(allowed),
                            openRegistrationScopes: configuration.openRegistrationScopes),
            storage: storage, clock: clock, audit: services.audit)
    }
    /// Automatic signing key rotation (`keyRotationInterval`, `keyPrePublication`).
    public var keyRotationPolicy: KeyRotationPolicy {
        KeyRotationPolicy(interval: TimeInterval(configuration.keyRotationInterval), prePublication: TimeInterval(configuration.keyPrePublication))
    }

    /// One round of lifecycle upkeep, run by `MaintenanceService` on every node: rotate keys when due (safe
    /// on several nodes at once, see `KeyRotationPolicy.plan`), drop retired keys past retention, and purge
    /// revocation-list entries and initial access tokens that expired.
    public func lifecycleMaintenance() async throws {
        let created = try await keys.rotateIfDue(keyRotationPolicy)
        for key in created {
            services.audit.record(AuditEvent(.keyRotated, at: clock.now, detail: ["kid": key.kid, "alg": key.algorithm.rawValue,
                                                                                  "activates_at": String(Int(key.activatesAt.timeIntervalSince1970))]))
        }
        try await keys.purgeExpired()
        let now = clock.now
        try await storage.purgeExpiredAccessTokenRevocations(before: now)
        try await storage.purgeExpiredInitialAccessTokens(before: now)
    }
}

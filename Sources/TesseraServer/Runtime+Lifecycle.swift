import Foundation
import TesseraCore

/// Token lifecycle upkeep of a runtime (issue 4); its endpoints are built once by `TesseraRuntime.make`.
extension TesseraRuntime {
    /// The upkeep service of this runtime, given only what it works on (`buildApplication` adds it to the group).
    var maintenanceService: MaintenanceService {
        MaintenanceService(keys: keys, storage: storage, clock: clock, audit: auditSink, logger: logger,
                           interval: .seconds(configuration.keyReloadInterval), rotation: keyRotationPolicy,
                           loginAttemptWindow: (services.settings.lockout ?? LockoutPolicy()).window)
    }

    /// One round of lifecycle upkeep, run by `MaintenanceService` on every node: rotate keys when due (safe
    /// on several nodes at once, see `KeyRotationPolicy.plan`), drop retired keys past retention, and purge
    /// revocation-list entries and initial access tokens that expired.
    public func lifecycleMaintenance() async throws {
        try await maintenanceService.lifecycleRound()
    }
}

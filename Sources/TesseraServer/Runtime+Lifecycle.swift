import Foundation
import TesseraCore

/// Token lifecycle upkeep of a runtime (issue 4); its endpoints are built once by `TesseraRuntime.make`.
extension TesseraRuntime {
    /// One round of lifecycle upkeep, run by `MaintenanceService` on every node: rotate keys when due (safe
    /// on several nodes at once, see `KeyRotationPolicy.plan`), drop retired keys past retention, and purge
    /// revocation-list entries and initial access tokens that expired.
    public func lifecycleMaintenance() async throws {
        let created = try await keys.rotateIfDue(keyRotationPolicy)
        for key in created {
            auditSink.record(AuditEvent(.keyRotated, at: clock.now, detail: ["kid": key.kid, "alg": key.algorithm.rawValue,
                                                                             "activates_at": String(Int(key.activatesAt.timeIntervalSince1970))]))
        }
        try await keys.purgeExpired()
        let now = clock.now
        try await storage.purgeExpiredAccessTokenRevocations(before: now)
        try await storage.purgeExpiredInitialAccessTokens(before: now)
    }
}

import Hummingbird
import TesseraCore

/// `GET /healthz` (the process answers) and `GET /readyz` (the database answers too).
struct HealthRoutes {
    /// Checks the database answers.
    let readiness: @Sendable () async throws -> Void

    func register(on router: Router<TesseraRequestContext>) {
        router.get("healthz") { _, _ in JSON.response(["status": "ok"]) }
        router.get("readyz") { _, _ in
            do {
                try await readiness()
                return JSON.response(["status": "ready"])
            } catch {
                throw StoreError(.unavailable, "readiness check failed")
            }
        }
    }
}

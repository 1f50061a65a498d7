import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TesseraCore

/// Builds the Hummingbird application for a runtime: routes, middleware and background services.
public func buildApplication(runtime: TesseraRuntime, extraServices: [any Service] = []) -> some ApplicationProtocol {
    let router = buildRouter(runtime: runtime)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(runtime.configuration.host, port: runtime.configuration.port), serverName: "Tessera"),
        logger: runtime.logger)
    app.addServices(MaintenanceService(runtime: runtime))
    if let audit = runtime.services.audit as? BufferedAuditSink {
        app.addServices(AuditFlushService(sink: audit, interval: .seconds(1), logger: runtime.logger))
    }
    app.addServices(extraServices)
    return app
}

/// The router alone (used by tests and by `buildApplication`).
public func buildRouter(runtime: TesseraRuntime) -> Router<TesseraRequestContext> {
    let router = Router(context: TesseraRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware(https: runtime.configuration.effectiveIssuer.hasPrefix("https://")))
    router.add(middleware: OAuthErrorMiddleware())
    router.add(middleware: RateLimitMiddleware(runtime: runtime))
    TokenRoutes(runtime: runtime).register(on: router)
    DiscoveryRoutes(runtime: runtime).register(on: router)
    RevocationRoutes(runtime: runtime).register(on: router)
    IntrospectionRoutes(runtime: runtime).register(on: router)
    RegistrationRoutes(runtime: runtime).register(on: router)
    AuthorizationRoutes(runtime: runtime).register(on: router)
    OpenIDRoutes(runtime: runtime).register(on: router)
    HealthRoutes(runtime: runtime).register(on: router)
    return router
}

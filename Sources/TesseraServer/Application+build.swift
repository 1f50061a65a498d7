import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import TesseraCore

/// Builds the Hummingbird application for a runtime: routes, middleware and background services.
/// `server` is `.http1()` or, for `--tls-cert`, the builder from `httpServer(for:)`.
public func buildApplication(runtime: TesseraRuntime, extraServices: [any Service] = [],
                             server: HTTPServerBuilder = .http1()) -> some ApplicationProtocol {
    let router = buildRouter(runtime: runtime)
    var app = Application(
        router: router,
        server: server,
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
    if let metrics = runtime.metrics { router.add(middleware: HTTPMetricsMiddleware(metrics: metrics)) }
    router.add(middleware: ForwardedHeadersMiddleware(configuration: runtime.configuration))
    router.add(middleware: SecurityHeadersMiddleware(https: runtime.configuration.usesHTTPS))
    router.add(middleware: OAuthErrorMiddleware())
    let routeTable = RouteTable()
    router.add(middleware: MethodNotAllowedMiddleware(routes: routeTable))
    router.add(middleware: RateLimitMiddleware(runtime: runtime))
    TokenRoutes(runtime: runtime).register(on: router)
    DiscoveryRoutes(runtime: runtime).register(on: router)
    RevocationRoutes(runtime: runtime).register(on: router)
    IntrospectionRoutes(runtime: runtime).register(on: router)
    RegistrationRoutes(runtime: runtime).register(on: router)
    AuthorizationRoutes(runtime: runtime).register(on: router)
    OpenIDRoutes(runtime: runtime).register(on: router)
    HealthRoutes(runtime: runtime).register(on: router)
    if let metrics = runtime.metrics { MetricsRoutes(runtime: runtime, metrics: metrics).register(on: router) }
    DocsRoutes(runtime: runtime).register(on: router)
    routeTable.load(router)
    return router
}

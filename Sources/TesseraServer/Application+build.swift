import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import TesseraCore

/// Builds the Hummingbird application for a runtime: routes, middleware and background services.
/// `server` is `.http1()` or the builder from `httpServer(for:)` (connection guard, TLS). `onServerRunning`
/// runs once the listening socket is bound (it gets that channel).
public func buildApplication(runtime: TesseraRuntime, extraServices: [any Service] = [],
                             server: HTTPServerBuilder = .http1(),
                             onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
    let router = buildRouter(runtime: runtime)
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(runtime.configuration.host, port: runtime.configuration.port), serverName: "Tessera"),
        onServerRunning: onServerRunning,
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
    // Each rate limit sits on the routes it protects (not on path strings), so `/token/` or `//login` count too.
    TokenRoutes(runtime: runtime).register(on: router.rateLimited(.token, runtime: runtime))
    DiscoveryRoutes(runtime: runtime).register(on: router)
    RevocationRoutes(runtime: runtime).register(on: router)
    IntrospectionRoutes(runtime: runtime).register(on: router.rateLimited(.introspect, runtime: runtime))
    RegistrationRoutes(runtime: runtime).register(on: router, create: router.rateLimited(.register, runtime: runtime))
    AuthorizationRoutes(runtime: runtime).register(on: router, login: router.rateLimited(.login, runtime: runtime))
    OpenIDRoutes(runtime: runtime).register(on: router)
    HealthRoutes(runtime: runtime).register(on: router)
    if let metrics = runtime.metrics { MetricsRoutes(runtime: runtime, metrics: metrics).register(on: router) }
    DocsRoutes(runtime: runtime).register(on: router)
    routeTable.load(router)
    return router
}

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
    app.addServices(runtime.maintenanceService)
    app.addServices(AuditFlushService(sink: runtime.auditSink, interval: .seconds(1), logger: runtime.logger))
    app.addServices(extraServices)
    return app
}

/// The router alone (used by tests and by `buildApplication`).
public func buildRouter(runtime: TesseraRuntime) -> Router<TesseraRequestContext> {
    let router = Router(context: TesseraRequestContext.self)
    if let metrics = runtime.metrics { router.add(middleware: HTTPMetricsMiddleware(metrics: metrics)) }
    router.add(middleware: ForwardedHeadersMiddleware(trusted: runtime.trustedProxies, https: runtime.configuration.tlsCert != nil))
    router.add(middleware: SecurityHeadersMiddleware(https: runtime.configuration.usesHTTPS))
    router.add(middleware: OAuthErrorMiddleware())
    let routeTable = RouteTable()
    router.add(middleware: MethodNotAllowedMiddleware(routes: routeTable))
    // Each rate limit sits on the routes it protects (not on path strings), so `/token/` or `//login` count too.
    // Non-browser routes get only their endpoint and values (built once by `TesseraRuntime.make`).
    let maxBodySize = runtime.configuration.maxBodySize
    // Each group gets its own counters, its limit (parsed once) and the clock.
    func rateLimited(_ kind: RateLimitKind) -> RouterGroup<TesseraRequestContext> {
        router.rateLimited(kind, limit: runtime.configuration.rateLimit(kind), clock: runtime.clock)
    }
    TokenRoutes(endpoint: runtime.tokenEndpoint, maxBodySize: maxBodySize, metrics: runtime.metrics)
        .register(on: rateLimited(.token))
    DiscoveryRoutes(documents: runtime.discoveryDocuments, keys: runtime.keys).register(on: router)
    RevocationRoutes(endpoint: runtime.revocationEndpoint, maxBodySize: maxBodySize).register(on: router)
    IntrospectionRoutes(endpoint: runtime.introspectionEndpoint, maxBodySize: maxBodySize)
        .register(on: rateLimited(.introspect))
    RegistrationRoutes(endpoint: runtime.registrationEndpoint, maxBodySize: maxBodySize)
        .register(on: router, create: rateLimited(.register))
    UserInfoRoutes(endpoint: runtime.userInfoEndpoint).register(on: router)
    AuthorizationRoutes(runtime: runtime).register(on: router, login: rateLimited(.login))
    OpenIDRoutes(endpoint: runtime.logoutEndpoint, sessions: SessionManager(runtime: runtime))
        .register(page: router.browser(runtime), form: router.browser(runtime, csrf: .report))
    HealthRoutes(readiness: runtime.readiness).register(on: router)
    if let metrics = runtime.metrics {
        MetricsRoutes(metrics: metrics, audit: runtime.auditSink, token: runtime.configuration.metricsToken).register(on: router)
    }
    DocsRoutes(issuer: runtime.configuration.effectiveIssuer, grantTypes: runtime.tokenEndpoint.grants.grantTypes.map(\.rawValue),
               logger: runtime.logger).register(on: router)
    routeTable.load(router)
    return router
}

import Foundation
public import Hummingbird
public import HummingbirdCore
import Logging
import NIOCore
public import ServiceLifecycle
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
    // Small, frequent flushes (a quarter second of events, in batches of 512) keep each one short, so the writer and the
    // core are never taken for long at a time: the issuance tail (p99) stays close to the median.
    app.addServices(AuditFlushService(sink: runtime.auditSink, interval: .milliseconds(250), logger: runtime.logger))
    app.addServices(extraServices)
    return app
}

/// The browser side, each route struct built once with only what it uses: one ``SessionManager``, the page renderers,
/// and the core's services (``InteractionService`` decides every authorization request).
func registerBrowserRoutes(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>,
                           authorize: RouterGroup<TesseraRequestContext>, runtime: TesseraRuntime) {
    let clock = runtime.clock
    let sessions = SessionManager(storage: runtime.storage, clock: clock, configuration: runtime.configuration)
    let groups = BrowserGroups(sessions: sessions, users: runtime.authorizationEndpoint, maxBodySize: runtime.configuration.maxBodySize)
    let loginPages = LoginPageRenderer(interactions: runtime.interactionService, identityProviders: runtime.identityProviders)
    let accountPages = AccountPageRenderer(grants: GrantedApplications(consents: runtime.storage, clients: runtime.clients), mfa: runtime.mfa,
                                           federation: runtime.federation, identityProviders: runtime.identityProviders)
    let mfaStep = MFAChallengeStep(sessions: sessions, mfa: runtime.mfa)
    AuthorizationRoutes(groups: groups, sessions: sessions, interactions: runtime.interactionService, authenticator: runtime.userAuthenticator,
                        federation: runtime.federation, consentManagement: runtime.consentManagement, loginPages: loginPages,
                        accountPages: accountPages, mfaStep: mfaStep, clock: clock)
        .register(on: router, login: login, authorize: authorize)
    MFARoutes(groups: groups, sessions: sessions, mfa: runtime.mfa, stepUp: runtime.stepUp, loginPages: loginPages, accountPages: accountPages,
              clock: clock)
        .register(on: router, login: login)
    FederationRoutes(groups: groups, sessions: sessions, federation: runtime.federation, mfaStep: mfaStep, accountPages: accountPages, clock: clock)
        .register(on: router, login: login)
    OpenIDRoutes(endpoint: runtime.logoutEndpoint, sessions: sessions)
        .register(page: groups.group(router), form: groups.group(router, csrf: .report))
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
    // CORS for browser-based clients, on these routes only (never on HTML pages): public documents to any origin,
    // the rest to the allowed origins (TESSERA_CORS_ORIGINS, else the redirect origins of registered public clients).
    let publicDocuments = CORSMiddleware<TesseraRequestContext>(policy: CORSPolicy(origins: .any))
    let clientOrigins = CORSMiddleware<TesseraRequestContext>(policy: CORSPolicy(origins: .allowed(
        AllowedOrigins(configured: runtime.configuration.corsOrigins, clients: runtime.storage, clock: runtime.clock))))
    TokenRoutes(endpoint: runtime.tokenEndpoint, maxBodySize: maxBodySize, metrics: runtime.metrics)
        .register(on: rateLimited(.token).add(middleware: clientOrigins))
    DiscoveryRoutes(documents: runtime.discoveryDocuments, keys: runtime.keys).register(on: router.group().add(middleware: publicDocuments))
    RevocationRoutes(endpoint: runtime.revocationEndpoint, maxBodySize: maxBodySize).register(on: router.group().add(middleware: clientOrigins))
    IntrospectionRoutes(endpoint: runtime.introspectionEndpoint, maxBodySize: maxBodySize)
        .register(on: rateLimited(.introspect))
    RegistrationRoutes(endpoint: runtime.registrationEndpoint, maxBodySize: maxBodySize)
        .register(on: router.group().add(middleware: clientOrigins), create: rateLimited(.register).add(middleware: clientOrigins))
    UserInfoRoutes(endpoint: runtime.userInfoEndpoint).register(on: router.group().add(middleware: clientOrigins))
    registerBrowserRoutes(on: router, login: rateLimited(.login), authorize: rateLimited(.authorize), runtime: runtime)
    HealthRoutes(readiness: runtime.readiness).register(on: router)
    if let metrics = runtime.metrics {
        MetricsRoutes(metrics: metrics, audit: runtime.auditSink, token: runtime.configuration.metricsToken).register(on: router)
    }
    DocsRoutes(issuer: runtime.configuration.effectiveIssuer, grantTypes: runtime.tokenEndpoint.grants.grantTypes.map(\.rawValue),
               logger: runtime.logger).register(on: router)
    routeTable.load(router)
    return router
}

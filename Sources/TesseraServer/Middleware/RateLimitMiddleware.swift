import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TesseraCore
import TesseraJOSE

/// The node-local limits, one per group of routes (RFC 6749 §10.10: limit guessing at the endpoints that
/// take credentials).
enum RateLimitKind: String, Sendable {
    /// `POST /token`: `tokenRateLimit` per `rateLimitWindow`, per authenticated client or per IP address.
    case token
    /// `POST /introspect`: like `token`, in its own window.
    case introspect
    /// `POST /login`, `POST /login/mfa`, `POST /login/federated/{provider}`: one shared `loginRateLimit` window per
    /// IP address a minute, so password guesses, second-factor guesses and upstream sign-ins (which store a
    /// pending state) draw on the same budget.
    case login
    /// Open `POST /register` (no `Authorization`): `registrationRateLimit` per IP address a minute.
    case register
    /// `GET`/`POST /authorize`: `authorizeRateLimit` per IP address a minute (a request needing a sign-in stores
    /// a pending interaction, so an anonymous flood would otherwise fill the store).
    case authorize
}

/// Node-local rate limits (``LocalRateLimiter``; a cluster of N nodes admits up to N × each limit), attached
/// to the routes they protect through a route group, so every spelling of a path that reaches the handler
/// (`/token/`, `//token`) is counted the same.
///
/// - `.token` and `.introspect`: a request that names a client in HTTP Basic is counted against that
///   client **only once the client has authenticated** (any answer but 401); a failed authentication, or
///   a request without Basic credentials, is counted against the caller's IP address. So a wrong secret
///   can never use up a client's window. Both windows are checked before the request runs; counting
///   after it means up to one request per concurrent connection may pass the limit, which is harmless.
/// - `.login`, `.authorize` and `.register` (open registration only): per IP address, counted before the request runs.
///
/// Over the limit: 429 `too_many_requests` with `Retry-After`.
///
/// It holds only its counters, its limit (built once from the configuration; `nil` when this kind is off) and the clock.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TesseraRequestContext
    let kind: RateLimitKind
    let limit: RateLimit?
    let clock: any TimeSource
    let limiter: LocalRateLimiter

    init(_ kind: RateLimitKind, limit: RateLimit?, clock: any TimeSource, limiter: LocalRateLimiter = LocalRateLimiter()) {
        self.kind = kind
        self.limit = limit
        self.clock = clock
        self.limiter = limiter
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let limit else { return try await next(request, context) }
        let ipKey = "\(kind.rawValue):ip:\(context.clientIP)"
        let now = clock.now
        switch kind {
        case .register where request.headers[.authorization] != nil:
            return try await next(request, context)  // initial access token: not open registration
        case .login, .register, .authorize:
            if let retryAfter = limiter.hit(ipKey, limit: limit, at: now) { return tooManyRequests(retryAfter, context) }
            return try await next(request, context)
        case .token, .introspect:
            break
        }
        let authorization = BasicAuthorization(header: request.headers[.authorization])
        var context = context
        context.basicAuthorization = authorization  // parsed once: the route authenticates with it
        let clientKey = authorization.clientID.map { "\(kind.rawValue):client:\($0)" }
        if let retryAfter = limiter.check(ipKey, limit: limit, at: now) ?? clientKey.flatMap({ limiter.check($0, limit: limit, at: now) }) {
            return tooManyRequests(retryAfter, context)
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Errors become responses in OAuthErrorMiddleware, outside this one: invalid_client is a failed authentication.
            let failedAuthentication = (error as? OAuthError)?.code == .invalidClient
            limiter.hit(!failedAuthentication ? clientKey ?? ipKey : ipKey, limit: limit, at: now)
            throw error
        }
        limiter.hit(response.status != .unauthorized ? clientKey ?? ipKey : ipKey, limit: limit, at: now)
        return response
    }

    private func tooManyRequests(_ retryAfter: Int, _ context: Context) -> Response {
        context.logger.notice("rate limited", metadata: ["oauth.endpoint": .string(kind.rawValue)])
        return OAuthErrorMiddleware<Context>.response(
            for: OAuthError(.tooManyRequests, "Too many requests; retry after \(retryAfter) seconds."),
            extraHeaders: [.retryAfter: String(retryAfter)])
    }

}

extension TesseraConfiguration {
    /// The limit of `kind`, or `nil` when it is off (`tokenRateLimit`/`loginRateLimit` unset, open registration off).
    func rateLimit(_ kind: RateLimitKind) -> RateLimit? {
        switch kind {
        case .token, .introspect:
            tokenRateLimit.map { RateLimit(limit: $0, window: TimeInterval(rateLimitWindow)) }
        case .login:
            loginRateLimit.map { RateLimit(limit: $0, window: 60) }
        case .register:
            openRegistration ? RateLimit(limit: registrationRateLimit, window: 60) : nil
        case .authorize:
            authorizeRateLimit.map { RateLimit(limit: $0, window: 60) }
        }
    }
}

extension RouterMethods<TesseraRequestContext> {
    /// A group of this router's routes behind the `kind` rate limit (one counter set for the whole group).
    func rateLimited(_ kind: RateLimitKind, limit: RateLimit?, clock: any TimeSource) -> RouterGroup<TesseraRequestContext> {
        group().add(middleware: RateLimitMiddleware(kind, limit: limit, clock: clock))
    }
}

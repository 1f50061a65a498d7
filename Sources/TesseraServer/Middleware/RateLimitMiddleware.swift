import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// Node-local rate limits (``LocalRateLimiter``; a cluster of N nodes admits up to N × each limit).
///
/// - `/token` and `/introspect`: a request that names a client in HTTP Basic is counted against that
///   client **only once the client has authenticated** (any answer but 401); a failed authentication, or
///   a request without Basic credentials, is counted against the caller's IP address. So a wrong secret
///   can never use up a client's window. Both windows are checked before the request runs; counting
///   after it means up to one request per concurrent connection may pass the limit, which is harmless.
/// - `POST /login` and open `POST /register`: per IP address, counted before the request runs.
///
/// Over the limit: 429 `too_many_requests` with `Retry-After`.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TesseraRequestContext
    let runtime: TesseraRuntime
    let limiter: LocalRateLimiter

    init(runtime: TesseraRuntime, limiter: LocalRateLimiter = LocalRateLimiter()) {
        self.runtime = runtime
        self.limiter = limiter
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let (name, limit) = limit(for: request.uri.path) else { return try await next(request, context) }
        if name == "register", request.headers[.authorization] != nil { return try await next(request, context) }
        let ipKey = "\(name):ip:\(context.clientIP)"
        let now = runtime.clock.now
        guard name == "token" || name == "introspect" else {
            if let retryAfter = limiter.hit(ipKey, limit: limit, at: now) { return tooManyRequests(name, retryAfter, context) }
            return try await next(request, context)
        }
        let authorization = BasicAuthorization(header: request.headers[.authorization])
        var context = context
        context.basicAuthorization = authorization  // parsed once: the route authenticates with it
        let clientKey = authorization.clientID.map { "\(name):client:\($0)" }
        if let retryAfter = limiter.check(ipKey, limit: limit, at: now) ?? clientKey.flatMap({ limiter.check($0, limit: limit, at: now) }) {
            return tooManyRequests(name, retryAfter, context)
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

    private func tooManyRequests(_ name: String, _ retryAfter: Int, _ context: Context) -> Response {
        context.logger.notice("rate limited", metadata: ["oauth.endpoint": .string(name)])
        return OAuthErrorMiddleware<Context>.response(
            for: OAuthError(.tooManyRequests, "Too many requests; retry after \(retryAfter) seconds."),
            extraHeaders: [.retryAfter: String(retryAfter)])
    }

    private func limit(for path: String) -> (String, RateLimit)? {
        let configuration = runtime.configuration
        switch path {
        case "/token", "/introspect":
            guard configuration.tokenRateLimit > 0 else { return nil }
            return (String(path.dropFirst()), RateLimit(limit: configuration.tokenRateLimit, window: TimeInterval(configuration.rateLimitWindow)))
        case _ where path == "/login" || path == "/login/mfa" || path.hasPrefix("/login/federated/"):
            // One window per IP for both steps: password guesses and second-factor guesses share it (and starting
            // an upstream sign-in, which stores a pending state).
            guard configuration.loginRateLimit > 0 else { return nil }
            return ("login", RateLimit(limit: configuration.loginRateLimit, window: 60))
        case "/register":
            guard configuration.openRegistration else { return nil }
            return ("register", RateLimit(limit: configuration.registrationRateLimit, window: 60))
        default:
            return nil
        }
    }
}

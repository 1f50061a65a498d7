import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// Rate limits shared across nodes (counters in the database, one upsert per limited request):
/// `/token` and `/introspect` per client (HTTP Basic) or else per IP address, `POST /login` and open
/// `POST /register` per IP address. Over the limit: 429 `too_many_requests` with `Retry-After`.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TesseraRequestContext
    let runtime: TesseraRuntime

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let (name, limit) = limit(for: request.uri.path) else { return try await next(request, context) }
        let ip = context.remoteAddress?.ipAddress ?? "unknown"
        var key = "\(name):ip:\(ip)"
        if name != "login", name != "register", let header = request.headers[.authorization],
           let credentials = try? BasicCredentials.parse(authorization: header) {
            key = "\(name):client:\(credentials.id)"
        }
        if name == "register", request.headers[.authorization] != nil { return try await next(request, context) }
        if let retryAfter = try await limit.hit(key, store: runtime.storage, at: runtime.clock.now) {
            context.logger.notice("rate limited", metadata: ["oauth.endpoint": .string(name)])
            return OAuthErrorMiddleware<Context>.response(
                for: OAuthError(.tooManyRequests, "Too many requests; retry after \(retryAfter) seconds."),
                extraHeaders: [.retryAfter: String(retryAfter)])
        }
        return try await next(request, context)
    }

    private func limit(for path: String) -> (String, RateLimit)? {
        let configuration = runtime.configuration
        switch path {
        case "/token", "/introspect":
            guard configuration.tokenRateLimit > 0 else { return nil }
            return (String(path.dropFirst()), RateLimit(limit: configuration.tokenRateLimit, window: TimeInterval(configuration.rateLimitWindow)))
        case "/login":
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

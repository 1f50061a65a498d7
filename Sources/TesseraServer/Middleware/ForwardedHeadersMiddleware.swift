import HTTPTypes
import Hummingbird
import TesseraCore

/// Resolves the client's address and scheme (`X-Forwarded-For` / `X-Forwarded-Proto` only from trusted
/// proxies, see `ForwardedOrigin.resolve`), stores them in the context, and makes them the audit origin
/// and the scheme session cookies see for the rest of the request.
struct ForwardedHeadersMiddleware: RouterMiddleware {
    typealias Context = TesseraRequestContext
    let trusted: TrustedProxies
    /// `https` when Tessera terminates TLS itself.
    let directScheme: String

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    /// `trusted` is parsed at start-up (`TesseraRuntime.make`), so a bad `trustedProxies` never means "trust nobody".
    init(trusted: TrustedProxies, https: Bool) {
        self.trusted = trusted
        self.directScheme = https ? "https" : "http"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let peer = context.remoteAddress?.ipAddress
        if trusted.isEmpty {
            context.origin = ForwardedOrigin(clientIP: peer, scheme: directScheme)
            guard let peer else { return try await next(request, context) }
            return try await AuditOrigin.$clientAddress.withValue(peer) { try await next(request, context) }
        }
        let origin = ForwardedOrigin.resolve(peer: peer, forwardedFor: request.headers[values: Self.forwardedFor],
                                             forwardedProto: request.headers[values: Self.forwardedProto],
                                             directScheme: directScheme, trusted: trusted)
        context.origin = origin
        return try await ForwardedOrigin.$current.withValue(origin) {
            try await AuditOrigin.$clientAddress.withValue(origin.clientIP) { try await next(request, context) }
        }
    }
}

extension ForwardedOrigin {
    /// The current request's origin when trusted proxies are configured (read by session cookies).
    @TaskLocal static var current: ForwardedOrigin?
}

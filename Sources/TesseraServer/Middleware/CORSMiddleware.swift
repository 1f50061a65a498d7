import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import TesseraCore

/// Which browser origins may call an endpoint from script (the Fetch standard's CORS protocol). Attached to routes —
/// discovery, JWKS, `/token`, `/revoke`, `/register`, `/userinfo` — never to HTML pages. No credentials (cookies)
/// are ever allowed: these endpoints authenticate with parameters and `Authorization`.
struct CORSPolicy: Sendable {
    enum Origins: Sendable {
        /// Public documents: any origin (`*`).
        case any
        /// Only these origins, echoed back with `Vary: Origin`.
        case allowed(AllowedOrigins)
    }

    let origins: Origins
    /// Headers a script may send (`Authorization`, `Content-Type`, `DPoP`).
    static let allowedHeaders = "Authorization, Content-Type, DPoP"
    /// Headers a script may read beyond the safelisted ones.
    static let exposedHeaders = "WWW-Authenticate, DPoP-Nonce"

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, or `nil` (no CORS headers: the browser
    /// keeps the answer from the script).
    func allowOrigin(_ origin: String) async -> String? {
        switch origins {
        case .any: return "*"
        case .allowed(let allowed): return await allowed.contains(origin) ? origin : nil
        }
    }
}

/// The origins allowed at `/token`, `/revoke`, `/register` and `/userinfo`: the configured ones
/// (`TESSERA_CORS_ORIGINS`), else the origins of the redirect URIs of registered public clients — re-read from the
/// store at most every ``refreshInterval`` (so a client registered on another node is allowed within it).
final class AllowedOrigins: Sendable {
    private let configured: Set<String>?
    private let clients: any ClientStore
    private let clock: any TimeSource
    let refreshInterval: TimeInterval
    private let state = Mutex<(origins: Set<String>, loadedAt: Date?)>(([], nil))

    init(configured: Set<String>?, clients: any ClientStore, clock: any TimeSource, refreshInterval: TimeInterval = 30) {
        self.configured = configured.map { Set($0.compactMap(Self.origin(of:))) }
        self.clients = clients
        self.clock = clock
        self.refreshInterval = refreshInterval
    }

    func contains(_ origin: String) async -> Bool {
        guard let normalized = Self.origin(of: origin) else { return false }
        if let configured { return configured.contains(normalized) }
        let now = clock.now
        let (origins, loadedAt) = state.withLock { ($0.origins, $0.loadedAt) }
        if let loadedAt, now.timeIntervalSince(loadedAt) < refreshInterval, now >= loadedAt { return origins.contains(normalized) }
        guard let all = try? await clients.listClients() else { return origins.contains(normalized) }
        let fresh = Set(all.filter(\.isPublic).flatMap(\.redirectURIs).compactMap(Self.origin(of:)))
        state.withLock { $0 = (fresh, now) }
        return fresh.contains(normalized)
    }

    /// `scheme://host[:port]` of an http(s) URL, lowercased, default ports dropped (RFC 6454 §6.2); `nil` otherwise
    /// (including the opaque origin `null`).
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host?.lowercased(), !host.isEmpty,
            components.user == nil, components.password == nil
        else {
            return nil
        }
        let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        if let port = components.port, !(scheme == "https" && port == 443) && !(scheme == "http" && port == 80) {
            return "\(scheme)://\(shownHost):\(port)"
        }
        return "\(scheme)://\(shownHost)"
    }
}

/// Adds CORS response headers to the routes of its group, and answers their preflight `OPTIONS` requests
/// (registered by ``RouterMethods/corsPreflight(_:policy:methods:)``).
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: CORSPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        // Errors become their RFC-shaped response here, so a script can read an `invalid_grant` too.
        var response = try await OAuthErrorMiddleware<Context>().handle(request, context: context, next: next)
        if let allowed = await policy.allowOrigin(origin) {
            response.headers[.accessControlAllowOrigin] = allowed
            response.headers[.accessControlExposeHeaders] = CORSPolicy.exposedHeaders
        }
        if case .allowed = policy.origins { response.headers[.vary] = "Origin" }
        return response
    }
}

extension RouterMethods {
    /// `OPTIONS path`: the CORS preflight (204 with the allowed methods and headers; the group's ``CORSMiddleware``
    /// adds the origin when it is allowed).
    @discardableResult
    func corsPreflight(_ path: RouterPath, methods: [HTTPRequest.Method]) -> Self {
        let allowMethods = methods.map(\.rawValue).joined(separator: ", ")
        return on(path, method: .options) { _, _ in
            var headers = HTTPFields()
            headers[.accessControlAllowMethods] = allowMethods
            headers[.accessControlAllowHeaders] = CORSPolicy.allowedHeaders
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
    }
}

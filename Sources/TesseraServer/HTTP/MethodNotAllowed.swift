import HTTPTypes
import Hummingbird
import Synchronization
import TesseraCore

/// Answers `405 Method Not Allowed` with `Allow` (RFC 9110 §15.5.6) when the path exists for other
/// methods; Hummingbird's router answers 404 there. Found by schemathesis' `unsupported_method` check.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            var response = OAuthErrorMiddleware<Context>.response(
                for: OAuthError(.invalidRequest, "Method not allowed on this endpoint."), status: .methodNotAllowed)
            response.headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            return response
        }
    }
}

/// The router's paths and their methods, filled once the routes are registered.
final class RouteTable: Sendable {
    private let entries = Mutex<[(components: [String], methods: Set<HTTPRequest.Method>)]>([])

    /// Records every route of `router` (call after the last route is added).
    func load<Context>(_ router: Router<Context>) {
        var byPath: [String: Set<HTTPRequest.Method>] = [:]
        for route in router.routes { byPath[route.path.description, default: []].insert(route.method) }
        let table = byPath.map { (components: Self.components($0.key), methods: $0.value) }
        entries.withLock { $0 = table }
    }

    /// The methods served at `path` (empty when no route has this path).
    func methods(for path: String) -> Set<HTTPRequest.Method> {
        let requested = Self.components(path)
        return entries.withLock { entries in
            entries.filter { Self.matches($0.components, requested) }.reduce(into: Set()) { $0.formUnion($1.methods) }
        }
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private static func matches(_ pattern: [String], _ path: [String]) -> Bool {
        guard pattern.count == path.count else { return pattern.last == "**" && path.count >= pattern.count - 1 }
        return zip(pattern, path).allSatisfy { wanted, actual in
            wanted == actual || wanted == "*" || wanted == "**" || (wanted.hasPrefix("{") && wanted.hasSuffix("}"))
        }
    }
}

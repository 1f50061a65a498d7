import Foundation
import Hummingbird
import TesseraCore

/// Counts and times every request by route template (the matched route, never the raw URI; `unmatched`
/// when none matched), method and status code. Outermost, so 429s and 404s count too.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: TesseraMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.recordRequest(route: context.endpointPath, method: request.method, status: response.status.code,
                                  duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(route: context.endpointPath, method: request.method, status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }
}

/// `GET /metrics`: Prometheus text exposition (format 0.0.4). With `metricsToken` set, only for a request
/// bearing it (RFC 6750 §2.1; compared in constant time): otherwise 401 with `WWW-Authenticate: Bearer` (§3).
struct MetricsRoutes {
    let metrics: TesseraMetrics
    /// Its backlog is exported as `tessera_audit_buffer_events`.
    let audit: BufferedAuditSink
    /// The bearer token `/metrics` needs (`metricsToken`); `nil`: open.
    let token: String?

    func register(on router: Router<TesseraRequestContext>) {
        let expected = token.map(Secrets.digest)
        router.get("metrics") { request, _ in
            if let expected, !Self.bears(request, expected) {
                let presented = request.headers[.authorization] != nil
                // §3.1: no error code when the request carried no credentials at all.
                let challenge = presented ? #"Bearer realm="tessera-metrics", error="invalid_token""# : #"Bearer realm="tessera-metrics""#
                return OAuthErrorMiddleware<TesseraRequestContext>.response(
                    for: OAuthError(.invalidToken, "The metrics endpoint needs its bearer token."), status: .unauthorized,
                    extraHeaders: [.wwwAuthenticate: challenge])
            }
            let body = metrics.exposition(auditPending: audit.pending)
            return Response(status: .ok, headers: [.contentType: TesseraMetrics.contentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// Whether `request` carries the token whose digest is `expected` (digests compared, so neither length nor content leaks).
    private static func bears(_ request: Request, _ expected: Data) -> Bool {
        let presented: String?
        do { presented = try BearerHeader.token(request) } catch { return false }  // malformed: answered like a wrong token
        guard let token = presented else { return false }
        return Secrets.constantTimeEquals(Secrets.digest(token), expected)
    }
}

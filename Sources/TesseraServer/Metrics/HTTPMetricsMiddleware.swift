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

/// `GET /metrics`: Prometheus text exposition (format 0.0.4).
struct MetricsRoutes {
    let runtime: TesseraRuntime
    let metrics: TesseraMetrics

    func register(on router: Router<TesseraRequestContext>) {
        router.get("metrics") { _, _ in
            let pending = (runtime.services.audit as? BufferedAuditSink)?.pending
            let body = metrics.exposition(auditPending: pending)
            return Response(status: .ok, headers: [.contentType: TesseraMetrics.contentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}

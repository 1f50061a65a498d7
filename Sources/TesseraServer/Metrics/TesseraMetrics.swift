public import HTTPTypes
public import Prometheus
import Synchronization
import TesseraCore

/// Tessera's Prometheus metrics, kept in a registry this runtime owns (never the global `MetricsSystem`,
/// so tests and several runtimes in one process stay apart). Every label has a bounded set of values:
/// route templates (never raw paths), known methods, status codes, grant types and OAuth error codes.
///
/// Series are created on first use and cached in lock-protected dictionaries, so a request costs one
/// dictionary lookup, one counter increment and one histogram observation.
public final class TesseraMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry

    struct HTTPKey: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: Int
    }

    struct HTTPSeries {
        let requests: Counter
        let duration: DurationHistogram
    }

    private let http = Mutex<[HTTPKey: HTTPSeries]>([:])
    private let grants = Mutex<[String: Counter]>([:])
    private let tokenErrors = Mutex<[String: Counter]>([:])
    private let logins: [Bool: Counter]
    private let federatedSignIns = Mutex<[String: Counter]>([:])
    private let auditPending: Gauge

    /// At most this many distinct values per label (beyond it: `other`).
    static let labelLimit = 64
    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
                                      .seconds(5), .seconds(10)]
    static let otherMethod = HTTPRequest.Method("OTHER")!

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let login = MetricNameDescriptor(namespace: "tessera", metricName: "logins", unitName: "total",
                                         helpText: "Password checks (login form and password grant) by outcome.")
        self.logins = [true: registry.makeCounter(descriptor: login, labels: [("outcome", "success")]),
                       false: registry.makeCounter(descriptor: login, labels: [("outcome", "failure")])]
        self.auditPending = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "tessera", metricName: "audit_buffer", unitName: "events",
            helpText: "Audit events waiting to be written to the database."))
    }

    // MARK: Recording

    /// One finished HTTP request. `route` is the matched route template (`nil`: no route matched).
    public func recordRequest(route: String?, method: HTTPRequest.Method, status: Int, duration: Duration) {
        let known: Bool
        switch method {
        case .get, .post, .head, .put, .delete, .patch, .options: known = true
        default: known = false
        }
        let key = HTTPKey(route: route.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched", method: known ? method : Self.otherMethod, status: status)
        let series = http.withLock { table in
            if let series = table[key] { return series }
            let labels = [("route", key.route), ("method", key.method.rawValue), ("status", String(key.status))]
            let series = HTTPSeries(
                requests: registry.makeCounter(descriptor: MetricNameDescriptor(
                    namespace: "tessera", metricName: "http_requests", unitName: "total",
                    helpText: "HTTP requests by route template, method and status code."), labels: labels),
                duration: registry.makeDurationHistogram(descriptor: MetricNameDescriptor(
                    namespace: "tessera", metricName: "http_request_duration", unitName: "seconds",
                    helpText: "HTTP request duration by route template, method and status code."), labels: labels, buckets: Self.buckets))
            table[key] = series
            return series
        }
        series.requests.increment()
        series.duration.record(duration)
    }

    /// A token issued (or refreshed) by the token endpoint.
    public func tokenIssued(grantType: String) {
        counter(in: grants, value: grantType, label: "grant_type", descriptor: MetricNameDescriptor(
            namespace: "tessera", metricName: "tokens_issued", unitName: "total", helpText: "Tokens issued by grant type.")).increment()
    }

    /// An error answered by the token endpoint (RFC 6749 §5.2 code).
    public func tokenError(code: String) {
        counter(in: tokenErrors, value: code, label: "error", descriptor: MetricNameDescriptor(
            namespace: "tessera", metricName: "token_errors", unitName: "total", helpText: "Token endpoint errors by OAuth error code.")).increment()
    }

    /// A password check: login form or password grant.
    public func login(succeeded: Bool) { logins[succeeded]!.increment() }

    /// An upstream sign-in's outcome: `success` or the failure reason (a closed set: `FederationFailure.reason`).
    public func federatedSignIn(result: String) {
        counter(in: federatedSignIns, value: result, label: "result", descriptor: MetricNameDescriptor(
            namespace: "tessera", metricName: "federated_sign_ins", unitName: "total",
            helpText: "Sign-ins through upstream identity providers by result (success or failure reason).")).increment()
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric, after sampling the gauges.
    public func exposition(auditPending pending: Int?) -> [UInt8] {
        if let pending { auditPending.set(Int64(pending)) }
        return registry.emitToBuffer()
    }

    /// The content type of `exposition`.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private func counter(in table: borrowing Mutex<[String: Counter]>, value: String, label: String, descriptor: MetricNameDescriptor) -> Counter {
        table.withLock { table in
            if let counter = table[value] { return counter }
            let bounded = table.count < Self.labelLimit && value.utf8.count <= 128 ? value : "other"
            if let counter = table[bounded] { return counter }
            let counter = registry.makeCounter(descriptor: descriptor, labels: [(label, bounded)])
            table[bounded] = counter
            return counter
        }
    }
}

/// Counts tokens issued per grant type, login and upstream sign-in outcomes from the audit events the core already emits,
/// then passes each event on.
struct MetricsAuditSink: AuditSink {
    let metrics: TesseraMetrics
    let next: any AuditSink

    func record(_ event: AuditEvent) {
        switch event.kind {
        case .tokenIssued: metrics.tokenIssued(grantType: event.detail["grant_type"] ?? "unknown")
        case .tokenRefreshed: metrics.tokenIssued(grantType: GrantType.refreshToken.rawValue)
        case .loginSucceeded: metrics.login(succeeded: true)
        case .loginFailed: metrics.login(succeeded: false)
        case .federationSignIn: metrics.federatedSignIn(result: "success")
        case .federationFailed: metrics.federatedSignIn(result: event.detail["reason"] ?? "unknown")
        default: break
        }
        next.record(event)
    }
}

import Metrics
import Prometheus

extension TesseraMetrics {
    /// Makes swift-metrics (used by libraries) report into `registry` too. Call at most once per process
    /// (`tessera serve` does); tests never do, they read the runtime's own registry.
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }
}

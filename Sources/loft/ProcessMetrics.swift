import Foundation
import GatewayKit
import LoftConfig
import Logging
import Metrics
import NIOPosix
import Prometheus

/// Every `loft` process serves its metrics (issue 14): swift-metrics bootstrapped with the
/// Prometheus backend, and `GET /metrics` on `metrics.address` at the process's own port
/// (`metrics.ports`). A port that cannot be bound is logged and the process runs without it:
/// metrics are never a reason for mail to stop.
enum ProcessMetrics {
    @discardableResult
    static func start(_ process: String, config: LoftConfig, logger: Logger) async -> MetricsEndpoint? {
        // Metrics off: swift-metrics stays un-bootstrapped, so every count is a no-op.
        guard let port = config.metrics.port(for: process) else { return nil }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // The one aggregating recorder is the message size; timers are RPC calls (1 ms … 10 s).
        factory.defaultValueHistogramBuckets = [4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864]
        factory.defaultDurationHistogramBuckets = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10_000].map {
            .microseconds(Int64($0 * 1000))
        }
        MetricsSystem.bootstrap(factory)
        Gauge(label: "loft_process_start_time_seconds", dimensions: [("process", process)]).record(Date().timeIntervalSince1970)
        do {
            let endpoint = try await MetricsEndpoint.start(
                host: config.metrics.address, port: port, group: MultiThreadedEventLoopGroup.singleton
            ) {
                var buffer: [UInt8] = []
                registry.emit(into: &buffer)
                return buffer
            }
            logger.info("metrics on http://\(config.metrics.address):\(port)/metrics")
            return endpoint
        } catch {
            logger.warning(
                "no metrics: cannot listen on \(config.metrics.address):\(port) (\(error)); set metrics.ports or metrics.address")
            return nil
        }
    }
}

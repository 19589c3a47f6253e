import Foundation
import Metrics
import NIOCore
import RPCProtocol

/// What the back-end counts for Prometheus (issue 14), through swift-metrics (the executable
/// bootstraps the Prometheus backend; without it these cost nothing):
/// - `loft_rpc_duration_seconds{method}` and `loft_rpc_calls_total{method,result}`: every call,
///   from its request to its answer; `result` is `ok` or the error kind.
/// - `loft_deliveries_total{outcome}`: each recipient of each message taken (`delivered`,
///   `queued`, `failed`); `loft_message_size_bytes`: the sizes of messages taken.
/// - `loft_logins_total{service,mechanism,result}`: `ok`, `failed`, `throttled`, `disabled`.
/// - Gauges refreshed every `gaugeInterval`: `loft_queue_messages`, `loft_queue_recipients`,
///   `loft_queue_oldest_age_seconds`, `loft_store_messages`, `loft_store_message_bytes`,
///   `loft_store_body_bytes`, `loft_store_accounts`, `loft_store_free_bytes`.
enum BackendMetrics {
    static let gaugeInterval = TimeAmount.seconds(15)

    static func call(_ method: String, result: String, nanoseconds: Int64) {
        Timer(label: "loft_rpc_duration_seconds", dimensions: [("method", method)]).recordNanoseconds(nanoseconds)
        Counter(label: "loft_rpc_calls_total", dimensions: [("method", method), ("result", result)]).increment()
    }

    static func delivered(_ outcomes: [RecipientOutcome], size: Int64) {
        Recorder(label: "loft_message_size_bytes", aggregate: true).record(size)
        for outcome in outcomes {
            let label: String =
                switch outcome.status {
                case .delivered: outcome.alsoQueued == true ? "queued" : "delivered"
                case .queued: "queued"
                default: "failed"
                }
            Counter(label: "loft_deliveries_total", dimensions: [("outcome", label)]).increment()
        }
    }

    static func login(service: String?, mechanism: String, result: String) {
        Counter(
            label: "loft_logins_total", dimensions: [("service", service ?? "unknown"), ("mechanism", mechanism), ("result", result)]
        ).increment()
    }

    static func gauges(_ s: ServerStatusResult, now: Int64) {
        Gauge(label: "loft_queue_messages").record(s.queue.messages)
        Gauge(label: "loft_queue_recipients").record(s.queue.recipients)
        Gauge(label: "loft_queue_oldest_age_seconds").record(s.queue.oldestAt.map { max(0, now - $0) } ?? 0)
        Gauge(label: "loft_store_messages").record(s.messages)
        Gauge(label: "loft_store_message_bytes").record(s.messageBytes)
        Gauge(label: "loft_store_body_bytes").record(s.bodyBytes)
        Gauge(label: "loft_store_accounts").record(s.accounts)
        if let free = s.freeBytes { Gauge(label: "loft_store_free_bytes").record(free) }
    }
}

extension Backend {
    /// Refreshes the gauges on the worker pool: one `server.status` read each round.
    func startMetricsGauges(group: any EventLoopGroup) {
        let task = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: BackendMetrics.gaugeInterval) { _ in
            self.workers.submit { state in
                guard case .active = state, let status = try? self.status() else { return }
                BackendMetrics.gauges(status, now: self.nowSeconds)
            }
        }
        metricsTicks.withLockedValue { $0 = task }
    }
}

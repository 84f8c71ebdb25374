import Foundation
import Hummingbird

/// Request counters and latency sums by route and status, printed in Prometheus text format.
/// Labels are bounded: route patterns, not paths; status codes.
public final class RequestMetrics: @unchecked Sendable {
    private struct Totals {
        var count = 0
        var seconds = 0.0
        mutating func add(_ elapsed: Double) {
            count += 1
            seconds += elapsed
        }
    }

    private let lock = NSLock()
    /// By route, then status: recording builds no label string (that waits for a scrape).
    private var requests: [String: [Int: Totals]] = [:]
    private var counters: [String: Int] = [:]

    public init() {}

    public func record(route: String, status: Int, seconds elapsed: Double) {
        lock.withLock {
            requests[route, default: [:]][status, default: Totals()].add(elapsed)
        }
    }

    /// A domain counter such as `vpt_serving_cache_hits_total`.
    public func increment(_ name: String, by amount: Int = 1) {
        lock.withLock { counters[name, default: 0] += amount }
    }

    public func value(_ name: String) -> Int { lock.withLock { counters[name] ?? 0 } }

    public func prometheusText() -> String {
        lock.withLock {
            let labelled = requests.flatMap { route, byStatus in
                byStatus.map { status, totals in ("route=\"\(route)\",status=\"\(status)\"", totals) }
            }.sorted { $0.0 < $1.0 }
            var lines = [
                "# HELP http_server_requests_total HTTP requests by route and status.", "# TYPE http_server_requests_total counter",
            ]
            for (labels, totals) in labelled { lines.append("http_server_requests_total{\(labels)} \(totals.count)") }
            lines += ["# HELP http_server_request_duration_seconds_sum Time spent serving requests.", "# TYPE http_server_request_duration_seconds_sum counter"]
            for (labels, totals) in labelled { lines.append("http_server_request_duration_seconds_sum{\(labels)} \(totals.seconds)") }
            for (name, value) in counters.sorted(by: { $0.key < $1.key }) {
                lines += ["# TYPE \(name) counter", "\(name) \(value)"]
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

/// Counts every request by its route pattern and status.
public struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics
    public init(metrics: RequestMetrics) { self.metrics = metrics }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.record(route: context.endpointPath ?? "unmatched", status: response.status.code, seconds: elapsed(start))
            return response
        } catch let error as any HTTPResponseError {
            metrics.record(route: context.endpointPath ?? "unmatched", status: error.status.code, seconds: elapsed(start))
            throw error
        } catch {
            metrics.record(route: context.endpointPath ?? "unmatched", status: 500, seconds: elapsed(start))
            throw error
        }
    }

    private func elapsed(_ start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

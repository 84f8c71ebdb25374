import Foundation
import VPTContract
import VPTLocalCloud
import VPTModel
import VPTState

/// What the checks of one tenant read: its spec, runtime config and recorded resources, loaded
/// once per report. A missing or unreadable runtime config is itself a finding, not an error.
struct TenantProbe: Sendable {
    let name: String
    let paths: FleetPaths
    let spec: TenantSpec?
    let config: RuntimeConfig?
    let configProblem: String?
    let resources: [ResourceRecord]
    let runtimeEnabled: Bool
    /// Seconds each check may take; HTTP calls use it as their socket timeout too.
    let timeout: Double
    let kms: LocalKMS?
    /// Four checks read the data plane's `/metrics`; one fetch per report serves them all, and
    /// they judge the same moment.
    private let dataPlaneMetrics = FetchOnce<(status: Int, body: String)>()

    init(name: String, paths: FleetPaths, store: StateStore, runtimeEnabled: Bool, timeout: Double, kms: LocalKMS?) {
        self.name = name
        self.paths = paths
        self.runtimeEnabled = runtimeEnabled
        self.timeout = timeout
        self.kms = kms
        spec = try? store.tenant(name)?.spec()
        resources = (try? store.resources(tenant: name)) ?? []
        do {
            config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: paths.runtimeConfig(name)))
            configProblem = nil
        } catch {
            config = nil
            configProblem = "\(paths.runtimeConfig(name).path) is unreadable: \(error.localizedDescription)"
        }
    }

    /// The verdict of a check that needs the runtime config when there is none.
    var configMissing: Verdict {
        Verdict(
            status: .unknown, observed: configProblem ?? "no runtime config",
            remedy: "re-run `vpt provision tenant \(name)` to rewrite the runtime config")
    }

    var controlPlaneURL: URL? { config.map { TenantEndpoints(config: $0).controlPlane } }
    var dataPlaneURL: URL? { config.map { TenantEndpoints(config: $0).dataPlane } }
    var caFile: String? { config?.tls?.caFile }

    func secret(_ url: URL) -> String? {
        FileManager.default.contents(atPath: url.path).map { String(decoding: $0, as: UTF8.self) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// GET (or POST) on loopback with the check's timeout.
    /// Calls give up well after the check's own deadline: a frozen tenant must be reported by that
    /// deadline ("no answer within"), not by a client error that a loaded machine can raise first.
    var callTimeout: Double { timeout * 2 + 1 }

    func http(_ method: String = "GET", _ url: URL, key: String? = nil, body: Any? = nil) throws -> (status: Int, json: Any?) {
        try HTTPCall.request(
            method, url, body: body, headers: key.map { ["Authorization": "Tecton-key \($0)"] } ?? [:], timeout: callTimeout, caFile: caFile)
    }

    func text(_ url: URL) throws -> (status: Int, body: String) {
        let (status, data) = try HTTPCall.raw("GET", url, headers: [:], timeout: callTimeout, caFile: caFile)
        return (status, String(decoding: data, as: UTF8.self))
    }

    /// The data plane's `/metrics` (status and text), fetched at most once per report. Callers
    /// check `dataPlaneURL` first.
    func dataPlaneMetricsText() throws -> (status: Int, body: String) {
        try dataPlaneMetrics.value {
            guard let url = dataPlaneURL else { throw LoopbackHTTP.Failure.malformed("no runtime config names the data plane") }
            return try text(url.appendingPathComponent("metrics"))
        }
    }
}

/// A value computed on first use and kept, error included; concurrent first callers wait for it.
final class FetchOnce<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, any Error>?

    func value(_ fetch: () throws -> Value) throws -> Value {
        try lock.withLock {
            if let result { return try result.get() }
            let fetched = Result { try fetch() }
            result = fetched
            return try fetched.get()
        }
    }
}

/// Prometheus text format, as far as the runtime's `/metrics` uses it: `name{labels} value`.
struct MetricSamples {
    var samples: [(name: String, labels: [String: String], value: Double)] = []

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let head = line[..<space]
            var labels: [String: String] = [:]
            var name = String(head)
            if let open = head.firstIndex(of: "{"), head.hasSuffix("}") {
                name = String(head[..<open])
                for pair in head[head.index(after: open)..<head.index(before: head.endIndex)].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2 { labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                }
            }
            samples.append((name, labels, value))
        }
    }

    func total(_ name: String, where predicate: ([String: String]) -> Bool = { _ in true }) -> Double {
        samples.filter { $0.name == name && predicate($0.labels) }.reduce(0) { $0 + $1.value }
    }
}

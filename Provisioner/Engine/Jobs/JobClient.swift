import Foundation
import VPTContract
import VPTState

/// Why a job operation failed: the control plane's answer, or a tenant without a runtime.
public enum JobError: Error, CustomStringConvertible, Equatable {
    case notProvisioned(String)
    case refused(String, Int, String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .notProvisioned(let tenant): "tenant '\(tenant)' has no runtime config; run `vpt provision tenant \(tenant)` first"
        case .refused(let what, let status, let message): "could not \(what) (HTTP \(status)): \(message)"
        case .unreachable(let reason): "the control plane did not answer: \(reason); is the runtime up (`vpt tenant start`)?"
        }
    }

    /// Refusals of the request itself (bad window, unknown view or job, nothing to cancel).
    public var isInput: Bool {
        if case .refused(_, let status, _) = self { return [400, 404, 409].contains(status) }
        return false
    }
}

/// `vpt jobs`: the tenant control plane's job API, called with the tenant admin key.
public struct JobClient: Sendable {
    public let paths: FleetPaths
    let store: StateStore

    public init(home: URL) throws {
        (paths, store) = try Fleet.open(home: home)
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    func call(_ tenant: String, _ method: String, _ path: String, query: [URLQueryItem] = [], body: Any? = nil, what: String) throws -> Data {
        guard try store.tenant(tenant) != nil else { throw FleetError.unknownTenant(tenant) }
        guard let config = try? JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: paths.runtimeConfig(tenant))),
            let admin = FileManager.default.contents(atPath: paths.adminKey(tenant).path).map({ String(decoding: $0, as: UTF8.self) })
        else { throw JobError.notProvisioned(tenant) }
        let endpoints = TenantEndpoints(config: config)
        var components = URLComponents(url: endpoints.controlPlane.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query }
        let response: (status: Int, body: Data)
        do {
            response = try HTTPCall.raw(
                method, components.url!, body: try body.map { try JSONSerialization.data(withJSONObject: $0) },
                headers: ["Authorization": "Tecton-key \(admin)", "Content-Type": "application/json"], timeout: 10, caFile: endpoints.caFile)
        } catch {
            throw JobError.unreachable("\(error)")
        }
        guard (200..<300).contains(response.status) else {
            let message = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["message"] as? String
            throw JobError.refused(what, response.status, message ?? String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return response.body
    }

    struct JobList: Decodable { var jobs: [MaterializationJob] }
    struct ViewList: Decodable { var featureViews: [MaterializationStatus] }

    public func list(tenant: String, workspace: String, featureView: String? = nil, state: JobState? = nil, limit: Int = 100) throws
        -> [MaterializationJob]
    {
        var query = [URLQueryItem(name: "limit", value: String(limit))]
        if let featureView { query.append(URLQueryItem(name: "feature_view", value: featureView)) }
        if let state { query.append(URLQueryItem(name: "state", value: state.rawValue)) }
        let data = try call(tenant, "GET", "/v1/workspaces/\(workspace)/jobs", query: query, what: "list the jobs of workspace '\(workspace)'")
        return try Self.decoder.decode(JobList.self, from: data).jobs
    }

    public func show(tenant: String, workspace: String, id: String) throws -> MaterializationJob {
        try Self.decoder.decode(
            MaterializationJob.self, from: try call(tenant, "GET", "/v1/workspaces/\(workspace)/jobs/\(id)", what: "read job '\(id)'"))
    }

    public func trigger(tenant: String, workspace: String, featureView: String, start: Date?, end: Date?) throws -> [MaterializationJob] {
        var body: [String: Any] = ["featureView": featureView]
        let iso = ISO8601DateFormatter()
        if let start { body["start"] = iso.string(from: start) }
        if let end { body["end"] = iso.string(from: end) }
        let data = try call(tenant, "POST", "/v1/workspaces/\(workspace)/jobs", body: body, what: "trigger '\(featureView)'")
        return try Self.decoder.decode(JobList.self, from: data).jobs
    }

    public func cancel(tenant: String, workspace: String, id: String) throws -> MaterializationJob {
        try Self.decoder.decode(
            MaterializationJob.self, from: try call(tenant, "POST", "/v1/workspaces/\(workspace)/jobs/\(id)/cancel", what: "cancel job '\(id)'"))
    }

    /// Every batch view's materialization (newest window, waiting, running and failed jobs).
    public func materialization(tenant: String) throws -> [MaterializationStatus] {
        try Self.decoder.decode(ViewList.self, from: try call(tenant, "GET", "/v1/materialization", what: "read the materialization status")).featureViews
    }
}

import Foundation
import VPTContract
import VPTState

/// `vpt jobs`: the tenant control plane's job API, called with the tenant admin key.
public struct JobClient: Sendable {
    let controlPlane: ControlPlaneClient

    public init(home: URL) throws {
        controlPlane = try ControlPlaneClient(home: home)
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    func call(_ tenant: String, _ method: String, _ path: String, query: [URLQueryItem] = [], body: Any? = nil, what: String) throws -> Data {
        try controlPlane.send(tenant, method, path, query: query, body: body, what: what)
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

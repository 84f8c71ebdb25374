import Foundation
import VPTLocalCloud

/// After provisioning: a real feature read through the tenant's own runtime. Applies a one-view
/// repository to the `vpt-health` workspace, gives the `vpt-health` service account the operator role
/// there, ingests one value and reads it back through get-features.
public struct SmokeTest: Sendable {
    public static let workspace = "vpt-health"
    public static let serviceAccount = "vpt-health"

    public enum Failure: Error, CustomStringConvertible {
        case step(String, Int, String)
        public var description: String {
            switch self {
            case .step(let step, let status, let detail): "smoke test failed at \(step) (HTTP \(status)): \(detail)"
            }
        }
    }

    let paths: FleetPaths
    let tenant: String
    let controlPlanePort: Int
    let dataPlanePort: Int
    /// The tenant CA, when its planes speak TLS (read once from the runtime config).
    let caFile: String?

    public init(paths: FleetPaths, tenant: String, controlPlanePort: Int, dataPlanePort: Int) {
        self.paths = paths
        self.tenant = tenant
        self.controlPlanePort = controlPlanePort
        self.dataPlanePort = dataPlanePort
        caFile = (try? TenantEndpoints(paths: paths, tenant: tenant))?.caFile
    }

    static var repo: [String: Any] {
        [
        "entities": [["name": "probe", "joinKeys": [["name": "probe_id", "type": "string"]]]],
        "pushSources": [[
            "name": "probe_events", "timestampField": "ts",
            "schema": [["name": "probe_id", "type": "string"], ["name": "value", "type": "int64"], ["name": "ts", "type": "string"]],
        ]],
        "featureViews": [[
            "name": "probe_fv", "entities": ["probe"], "source": "probe_events", "features": [["name": "value", "type": "int64"]],
            "ttlSeconds": 86_400, "online": true, "offline": true,
        ]],
        "featureServices": [["name": "probe_service", "featureViews": ["probe_fv"]]],
        ]
    }

    func call(_ step: String, _ method: String, port: Int, _ path: String, key: String, body: Any?, accept: Set<Int> = [200]) throws -> Any? {
        let url = URL(string: "\(caFile == nil ? "http" : "https")://127.0.0.1:\(port)\(path)")!
        let (status, json) = try HTTPCall.request(method, url, body: body, headers: ["Authorization": "Tecton-key \(key)"], caFile: caFile)
        guard accept.contains(status) else { throw Failure.step(step, status, "\((json as? [String: Any])?["message"] ?? "")") }
        return json
    }

    /// The health principal's key: created once, kept in the tenant's secrets folder.
    func healthKey(admin: String) throws -> String {
        let file = paths.secrets(tenant).appendingPathComponent("health-api-key")
        if let data = FileManager.default.contents(atPath: file.path), !data.isEmpty { return String(decoding: data, as: UTF8.self) }
        _ = try call("create service account", "POST", port: controlPlanePort, "/v1/service-accounts", key: admin, body: ["name": Self.serviceAccount], accept: [201, 409])
        let created = try call("create API key", "POST", port: controlPlanePort, "/v1/service-accounts/\(Self.serviceAccount)/api-keys", key: admin, body: nil, accept: [201])
        guard let key = (created as? [String: Any])?["key"] as? String else { throw Failure.step("create API key", 201, "no key in the answer") }
        try SecureFiles.write(Data(key.utf8), to: file)
        return key
    }

    /// Runs the check; returns the read latency in milliseconds.
    @discardableResult
    public func run() throws -> Double {
        guard let admin = FileManager.default.contents(atPath: paths.adminKey(tenant).path).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw Failure.step("read admin key", 0, "\(paths.adminKey(tenant).path) is missing")
        }
        _ = try call("apply repository", "POST", port: controlPlanePort, "/v1/workspaces/\(Self.workspace)/apply", key: admin, body: Self.repo)
        let key = try healthKey(admin: admin)
        _ = try call(
            "bind role", "PUT", port: controlPlanePort, "/v1/workspaces/\(Self.workspace)/role-bindings/\(Self.serviceAccount)", key: admin,
            body: ["role": "operator"], accept: [204])
        let value = Int64(Date().timeIntervalSince1970 * 1000)
        let record: [String: Any] = ["probe_id": "smoke", "value": String(value), "ts": ISO8601DateFormatter().string(from: Date())]
        let ingest: [String: Any] = ["workspace_name": Self.workspace, "records": ["probe_events": [["record": record]]]]
        // The data plane picks up new keys and bindings within a second.
        let deadline = Date().addingTimeInterval(10)
        while true {
            do {
                _ = try call("ingest", "POST", port: dataPlanePort, "/ingest", key: key, body: ingest)
                break
            } catch Failure.step(_, let status, _) where (status == 401 || status == 403 || status == 404) && Date() < deadline {
                usleep(200_000)
            }
        }
        let request: [String: Any] = [
            "params": ["workspace_name": Self.workspace, "feature_service_name": "probe_service", "join_key_map": ["probe_id": "smoke"]]
        ]
        let start = Date()
        let answer = try call("get-features", "POST", port: dataPlanePort, "/api/v1/feature-service/get-features", key: key, body: request)
        let latency = Date().timeIntervalSince(start) * 1000
        let features = ((answer as? [String: Any])?["result"] as? [String: Any])?["features"] as? [Any]
        guard features?.first as? String == String(value) else {
            throw Failure.step("get-features", 200, "expected [\"\(value)\"], got \(features ?? [])")
        }
        return latency
    }
}

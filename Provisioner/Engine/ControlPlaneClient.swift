import Foundation
import VPTContract
import VPTState

/// Why an operator command's call to a tenant's control plane failed.
public enum ControlPlaneError: Error, CustomStringConvertible, Equatable {
    case notProvisioned(String)
    /// What was asked, the HTTP status, and the control plane's own message.
    case refused(String, Int, String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .notProvisioned(let tenant): "tenant '\(tenant)' has no runtime config; run `vpt provision tenant \(tenant)` first"
        case .refused(let what, let status, let message): "could not \(what) (HTTP \(status)): \(message)"
        case .unreachable(let reason): "the control plane did not answer: \(reason); is the runtime up (`vpt tenant start`)?"
        }
    }

    /// Refusals of the request itself (a bad value, an unknown name, nothing to cancel): exit 65.
    public var isInput: Bool {
        if case .refused(_, let status, _) = self { return [400, 404, 409].contains(status) }
        return false
    }
}

/// The tenant control plane's admin API as the operator's commands (`vpt jobs`, `vpt keys`,
/// `vpt service-accounts`) call it: over loopback, trusting only the tenant CA, with the tenant
/// admin key. The key is read from the tenant's secrets for each call and never printed.
public struct ControlPlaneClient: Sendable {
    public let paths: FleetPaths
    let store: StateStore

    public init(paths: FleetPaths, store: StateStore) {
        self.paths = paths
        self.store = store
    }

    public init(home: URL) throws {
        (paths, store) = try Fleet.open(home: home)
    }

    /// A fleet tenant's runtime config: its ports, TLS files and the data plane's settings.
    func config(_ tenant: String) throws -> RuntimeConfig {
        guard try store.tenant(tenant) != nil else { throw FleetError.unknownTenant(tenant) }
        guard let config = try? JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: paths.runtimeConfig(tenant))) else {
            throw ControlPlaneError.notProvisioned(tenant)
        }
        return config
    }

    /// One call, whatever its status; throws only when the tenant has no runtime or nothing answered.
    public func exchange(
        _ tenant: String, _ method: String, _ path: String, query: [URLQueryItem] = [], body: Any? = nil, timeout: TimeInterval = 10
    ) throws -> (status: Int, body: Data) {
        let endpoints = TenantEndpoints(config: try config(tenant))
        guard let admin = FileManager.default.contents(atPath: paths.adminKey(tenant).path).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw ControlPlaneError.notProvisioned(tenant)
        }
        var components = URLComponents(url: endpoints.controlPlane.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query }
        do {
            return try HTTPCall.raw(
                method, components.url!, body: try body.map { try JSONSerialization.data(withJSONObject: $0) },
                headers: ["Authorization": "Tecton-key \(admin)", "Content-Type": "application/json"], timeout: timeout, caFile: endpoints.caFile)
        } catch {
            throw ControlPlaneError.unreachable("\(error)")
        }
    }

    /// One call that must succeed: a status outside 2xx throws `refused`, naming `what` and
    /// carrying the control plane's message.
    public func send(
        _ tenant: String, _ method: String, _ path: String, query: [URLQueryItem] = [], body: Any? = nil, what: String
    ) throws -> Data {
        let response = try exchange(tenant, method, path, query: query, body: body)
        guard (200..<300).contains(response.status) else {
            throw ControlPlaneError.refused(what, response.status, Self.message(response.body))
        }
        return response.body
    }

    /// The `message` of an error body, else the start of the body as text.
    public static func message(_ body: Data) -> String {
        if let message = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["message"] as? String { return message }
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.isEmpty ? "no message" : text
    }
}

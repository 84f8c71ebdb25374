import Foundation
import VPTContract

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Fetches the control plane snapshot every `interval` (so a revoked key stops working within about
/// two intervals) and installs it in the access list.
public struct SnapshotPoller: Sendable {
    public let url: URL
    public let token: String
    public let access: AccessList
    public let interval: Duration

    public init(controlPlane: URL, token: String, access: AccessList, interval: Duration = .milliseconds(500)) {
        url = controlPlane.appendingPathComponent("internal/v1/snapshot")
        self.token = token
        self.access = access
        self.interval = interval
    }

    /// One fetch; true when the access list is current (a new snapshot installed, or none newer).
    @discardableResult
    public func refresh() async -> Bool {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "since", value: String(access.version))]
        var request = URLRequest(url: components.url!, timeoutInterval: 2)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return false }
        switch (response as? HTTPURLResponse)?.statusCode {
        case 204:
            // Unchanged; after a suspension the next snapshot arrives as 200 (version reset below).
            return true
        case 503:
            let message = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["message"] as? String
            access.suspend(message ?? "the control plane cannot read the tenant's metadata")
            return false
        case 200:
            guard let snapshot = try? JSONDecoder().decode(ControlPlaneSnapshot.self, from: data) else { return false }
            access.update(snapshot)
            return true
        default: return false
        }
    }

    public func run() async {
        while !Task.isCancelled {
            await refresh()
            try? await Task.sleep(for: interval)
        }
    }
}

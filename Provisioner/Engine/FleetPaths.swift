import Foundation

/// The layout of a fleet home (`$VPT_HOME`); `docs/local-target.md` describes it.
public struct FleetPaths: Sendable {
    public let home: URL
    public init(home: URL) { self.home = home.standardizedFileURL }

    public var stateDatabase: URL { home.appendingPathComponent("state.db") }
    public var accounts: URL { home.appendingPathComponent("accounts") }
    public func account(_ id: String) -> URL { accounts.appendingPathComponent(id) }
    public func region(_ account: String, _ region: String) -> URL { self.account(account).appendingPathComponent(region) }
    public func tenant(_ name: String) -> URL { home.appendingPathComponent("tenants/\(name)") }
    public func config(_ tenant: String) -> URL { self.tenant(tenant).appendingPathComponent("config") }
    public func runtimeConfig(_ tenant: String) -> URL { config(tenant).appendingPathComponent("runtime.json") }
    public func secrets(_ tenant: String) -> URL { self.tenant(tenant).appendingPathComponent("secrets") }
    public func dataPlaneCredential(_ tenant: String) -> URL { secrets(tenant).appendingPathComponent("data-plane-credential.json") }
    /// The tenant admin API key (only copy), for operators and the provisioner's smoke test.
    public func adminKey(_ tenant: String) -> URL { secrets(tenant).appendingPathComponent("admin-api-key") }
    /// The token the data plane presents to the control plane.
    public func internalToken(_ tenant: String) -> URL { secrets(tenant).appendingPathComponent("data-plane-token") }
    public func controlPlaneDirectory(_ tenant: String) -> URL { self.tenant(tenant).appendingPathComponent("control-plane") }
    public func dataPlaneDirectory(_ tenant: String) -> URL { self.tenant(tenant).appendingPathComponent("data-plane") }
    public func runDirectory(_ tenant: String) -> URL { self.tenant(tenant).appendingPathComponent("run") }
    public func onlineStore(account: String, region: String, tenant: String) -> URL {
        self.region(account, region).appendingPathComponent("online/\(tenant)")
    }
    public func offlineStore(account: String, region: String, tenant: String) -> URL {
        self.region(account, region).appendingPathComponent("offline/\(tenant)")
    }
}

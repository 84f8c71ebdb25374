import Foundation
import VPTContract

/// Why a service-account command refused its input before calling the control plane.
public enum ServiceAccountError: Error, CustomStringConvertible, Equatable {
    case invalidLimit([String])

    public var description: String {
        switch self {
        case .invalidLimit(let problems): problems.joined(separator: "; ")
        }
    }
}

/// One service account as the operator sees it: its roles, its live keys and the serving limit
/// the feature server applies to it.
public struct ServiceAccountSummary: Codable, Sendable, Equatable {
    /// Where the applied limit comes from.
    public enum LimitSource: String, Codable, Sendable {
        /// Set for this account through the control plane.
        case account
        /// The spec's `dataPlane.rateLimit`, which every account without its own limit gets.
        case tenantDefault = "tenant-default"
        /// Neither: the account is not limited.
        case none
    }

    public var name: String
    /// Workspace → role.
    public var roles: [String: String]
    public var liveAPIKeys: Int
    /// The account's own limit, if the control plane holds one.
    public var ownRateLimit: RateLimit?
    /// The limit the feature server applies: the account's own, else the tenant default.
    public var rateLimit: RateLimit?
    public var rateLimitSource: LimitSource
}

/// `vpt service-accounts`: a tenant's service accounts and their serving limits, through the
/// control plane's admin API. A changed limit reaches the feature server with its next snapshot
/// (within about a second).
public struct ServiceAccountClient: Sendable {
    let controlPlane: ControlPlaneClient

    public init(home: URL) throws {
        controlPlane = try ControlPlaneClient(home: home)
    }

    struct Listed: Decodable {
        struct Account: Decodable {
            var name: String
            var roles: [String: String]
            var liveAPIKeys: Int
            var rateLimit: RateLimit?
        }
        var serviceAccounts: [Account]
        var tenantDefaultRateLimit: RateLimit?
    }

    public func list(tenant: String) throws -> [ServiceAccountSummary] {
        let data = try controlPlane.send(tenant, "GET", "/v1/service-accounts", what: "list the service accounts")
        let listed = try JSONDecoder().decode(Listed.self, from: data)
        let tenantDefault = listed.tenantDefaultRateLimit
        return listed.serviceAccounts.map { account in
            ServiceAccountSummary(
                name: account.name, roles: account.roles, liveAPIKeys: account.liveAPIKeys, ownRateLimit: account.rateLimit,
                rateLimit: account.rateLimit ?? tenantDefault,
                rateLimitSource: account.rateLimit != nil ? .account : tenantDefault != nil ? .tenantDefault : .none)
        }
    }

    /// Gives `account` a limit of its own, which wins over the tenant default. The values are
    /// checked here first, so a bad one never reaches the control plane.
    public func setRateLimit(tenant: String, account: String, _ limit: RateLimit) throws {
        let problems = limit.problems(at: "")
        guard problems.isEmpty else { throw ServiceAccountError.invalidLimit(problems) }
        _ = try controlPlane.send(
            tenant, "PUT", "/v1/service-accounts/\(account)/rate-limit", body: ["requestsPerSecond": limit.requestsPerSecond, "burst": limit.burst],
            what: "set the serving limit of service account '\(account)'")
    }

    /// Drops `account`'s own limit: the tenant default (or no limit) applies again.
    public func resetRateLimit(tenant: String, account: String) throws {
        _ = try controlPlane.send(
            tenant, "DELETE", "/v1/service-accounts/\(account)/rate-limit", what: "reset the serving limit of service account '\(account)'")
    }
}

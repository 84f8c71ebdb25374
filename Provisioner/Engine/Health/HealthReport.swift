import Foundation

/// One check's verdict. Severity for the overall status and exit code: fail > unknown > warn > ok.
public enum HealthStatus: String, Codable, Sendable, CaseIterable {
    case ok, warn, fail, unknown

    var severity: Int {
        switch self {
        case .ok: 0
        case .warn: 1
        case .unknown: 2
        case .fail: 3
        }
    }

    /// The worst of several statuses; `ok` for none.
    static func worst(_ statuses: [HealthStatus]) -> HealthStatus {
        statuses.max { $0.severity < $1.severity } ?? .ok
    }

    /// `vpt health` exit codes (DESIGN): 0 healthy, 1 degraded, 2 unhealthy, 3 unknown.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .warn: 1
        case .fail: 2
        case .unknown: 3
        }
    }
}

/// The result of one check on one tenant.
public struct CheckResult: Codable, Sendable, Equatable {
    /// Stable identifier, such as `runtime.data-plane`.
    public var id: String
    public var title: String
    public var status: HealthStatus
    /// What was seen, with units.
    public var observed: String
    /// What counts as healthy.
    public var threshold: String
    /// One line an operator can act on; empty when the check is ok.
    public var remedy: String
    public var durationMs: Double

    public init(id: String, title: String, status: HealthStatus, observed: String, threshold: String, remedy: String, durationMs: Double) {
        self.id = id
        self.title = title
        self.status = status
        self.observed = observed
        self.threshold = threshold
        self.remedy = remedy
        self.durationMs = durationMs
    }
}

/// Every check of one tenant.
public struct TenantHealth: Codable, Sendable, Equatable {
    public var name: String
    public var status: HealthStatus
    public var checks: [CheckResult]
}

/// The report `vpt health` prints: versioned (`docs/health-report.schema.json`).
public struct HealthReport: Codable, Sendable, Equatable {
    public static let schemaName = "vpt.health/v1"

    public struct Summary: Codable, Sendable, Equatable {
        public var tenants: Int
        public var ok: Int
        public var warn: Int
        public var fail: Int
        public var unknown: Int
    }

    public var schema: String = Self.schemaName
    public var generatedAt: Date
    public var durationMs: Double
    public var status: HealthStatus
    public var exitCode: Int32
    public var summary: Summary
    public var tenants: [TenantHealth]

    public init(generatedAt: Date, durationMs: Double, tenants: [TenantHealth]) {
        self.generatedAt = generatedAt
        self.durationMs = durationMs
        self.tenants = tenants
        status = HealthStatus.worst(tenants.map(\.status))
        exitCode = status.exitCode
        func count(_ s: HealthStatus) -> Int { tenants.filter { $0.status == s }.count }
        summary = Summary(tenants: tenants.count, ok: count(.ok), warn: count(.warn), fail: count(.fail), unknown: count(.unknown))
    }
}

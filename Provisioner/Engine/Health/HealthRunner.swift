import Foundation
import VPTLocalCloud
import VPTState

/// Runs every check of the chosen tenants in parallel, each under its own timeout, and builds the
/// report. A frozen tenant costs at most one timeout per check and never holds up the others.
public struct HealthRunner: Sendable {
    public let paths: FleetPaths
    public let store: StateStore
    /// Seconds each check may take.
    public var timeout: Double
    /// Checks in flight at once.
    public var concurrency: Int

    public init(paths: FleetPaths, store: StateStore, timeout: Double = 3, concurrency: Int = 32) {
        self.paths = paths
        self.store = store
        self.timeout = timeout
        self.concurrency = concurrency
    }

    /// Every tenant of the fleet, by name.
    public func allTenants() throws -> [String] { try store.tenants().map(\.name).sorted() }

    public func run(tenants: [String]) async throws -> HealthReport {
        let began = Date()
        for name in tenants where try store.tenant(name) == nil { throw FleetError.unknownTenant(name) }
        let runtime = (try store.setting("runtime")) != "off"
        let kms = try? LocalKMS(home: paths.home)
        let timeout = self.timeout
        let probes = tenants.map {
            TenantProbe(name: $0, paths: paths, store: store, runtimeEnabled: runtime, timeout: timeout, kms: kms)
        }
        let checks = HealthCheck.all
        let jobs = probes.indices.flatMap { p in checks.indices.map { (p, $0) } }
        var results = Array(repeating: [CheckResult?](repeating: nil, count: checks.count), count: probes.count)
        await withTaskGroup(of: (Int, Int, CheckResult).self) { group in
            var next = 0
            func launch() {
                let (p, c) = jobs[next]
                next += 1
                let probe = probes[p], check = checks[c]
                group.addTask { (p, c, await Self.run(check, on: probe, timeout: timeout)) }
            }
            while next < min(concurrency, jobs.count) { launch() }
            for await (p, c, result) in group {
                results[p][c] = result
                if next < jobs.count { launch() }
            }
        }
        let tenantsHealth = zip(probes, results).map { probe, checks in
            let list = checks.compactMap { $0 }
            return TenantHealth(name: probe.name, status: HealthStatus.worst(list.map(\.status)), checks: list)
        }
        return HealthReport(generatedAt: began, durationMs: Date().timeIntervalSince(began) * 1000, tenants: tenantsHealth)
    }

    static func run(_ check: HealthCheck, on probe: TenantProbe, timeout: Double) async -> CheckResult {
        let began = Date()
        let outcome = await CheckTimeout.run(seconds: timeout) { () -> Result<Verdict, ErrorText> in
            do { return .success(try check.run(probe)) } catch { return .failure(ErrorText(text: "\(error)")) }
        }
        let ms = (Date().timeIntervalSince(began) * 1000 * 10).rounded() / 10
        let verdict: Verdict
        switch outcome {
        case .success(let v)?: verdict = v
        case .failure(let error)?: verdict = Verdict(status: .unknown, observed: "the check failed: \(error.text)", remedy: "run with --verbose and read the tenant's logs")
        case nil:
            verdict = Verdict(
                status: check.onTimeout, observed: "no answer within \(String(format: "%g", timeout)) s", remedy: check.remedyOnTimeout)
        }
        return CheckResult(
            id: check.id, title: check.title, status: verdict.status, observed: verdict.observed, threshold: check.threshold,
            remedy: verdict.status == .ok ? "" : verdict.remedy, durationMs: ms)
    }

    struct ErrorText: Error, Sendable { let text: String }
}

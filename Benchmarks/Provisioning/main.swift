import Foundation
import VPTEngine
import VPTModel
import VPTState

// vpt-bench: provisioner benchmarks. Prints one `key=value` line per figure, stable for diffing.
// Usage: vpt-bench [all|plan-apply|fleet|cidr] [--fleet-sizes 10,100,1000] [--cidr-tenants 10000]

func spec(_ name: String) -> String {
    """
    apiVersion: vpt/v1
    kind: Tenant
    name: \(name)
    vendorAccount: {provider: local, region: eu-west-1, vpc: {cidr: auto, prefixLength: 24}}
    customerAccount:
      accountId: "210987654321"
      region: eu-west-1
      residency: {allowedRegions: [eu-west-1, eu-central-1]}
    principals:
      - {serviceAccount: fraud-scorer, workspace: prod, role: consumer}
    """
}

func freshHome(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vpt-bench-\(label)-\(UUID().uuidString.prefix(8))")
    _ = try Fleet.initialize(home: url, cidrPool: "10.0.0.0/8")
    return url
}

func milliseconds(_ start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func fmt(_ value: Double) -> String { String(format: "%.3f", value) }

func planApply(runs: Int) async throws {
    let home = try freshHome("plan-apply")
    defer { try? FileManager.default.removeItem(at: home) }
    let provisioner = try Provisioner(home: home)
    var times: [Double] = []
    for i in 0..<runs {
        let name = "bench-\(i)"
        let start = ContinuousClock.now
        let tenant = try provisioner.loadSpec(yaml: spec(name), name: name)
        _ = try provisioner.plan(tenant: name, spec: tenant)
        _ = try await provisioner.provision(tenant: name, spec: tenant)
        times.append(milliseconds(start))
    }
    print("benchmark=plan_apply_one_tenant runs=\(runs) median_ms=\(fmt(percentile(times, 0.5))) p90_ms=\(fmt(percentile(times, 0.9))) min_ms=\(fmt(times.min()!))")
}

func fleet(sizes: [Int]) async throws {
    for size in sizes {
        let home = try freshHome("fleet-\(size)")
        defer { try? FileManager.default.removeItem(at: home) }
        let provisioner = try Provisioner(home: home)
        var applyTimes: [Double] = []
        var planTimes: [Double] = []
        for i in 0..<size {
            let name = "t\(i)"
            let tenant = try provisioner.loadSpec(yaml: spec(name), name: name)
            let start = ContinuousClock.now
            _ = try await provisioner.provision(tenant: name, spec: tenant)
            applyTimes.append(milliseconds(start))
        }
        // Re-plan every tenant of the full fleet: the graph and diff cost per tenant at this size.
        for i in 0..<size {
            let name = "t\(i)"
            let start = ContinuousClock.now
            _ = try provisioner.plan(tenant: name, spec: try provisioner.loadSpec(yaml: spec(name), name: name))
            planTimes.append(milliseconds(start))
        }
        let tail = Array(applyTimes.suffix(max(1, size / 10)))
        print(
            "benchmark=fleet_provision fleet_size=\(size) total_s=\(fmt(applyTimes.reduce(0, +) / 1000)) per_tenant_ms=\(fmt(applyTimes.reduce(0, +) / Double(size))) last_10pct_per_tenant_ms=\(fmt(tail.reduce(0, +) / Double(tail.count))) replan_per_tenant_ms=\(fmt(planTimes.reduce(0, +) / Double(size)))"
        )
    }
}

func cidr(tenants: Int) throws {
    let home = try freshHome("cidr")
    defer { try? FileManager.default.removeItem(at: home) }
    let store = try StateStore(url: home.appendingPathComponent("state.db"))
    var times: [Double] = []
    let start = ContinuousClock.now
    for i in 0..<tenants {
        let one = ContinuousClock.now
        _ = try store.allocateCIDR(tenant: "t\(i)", request: .auto(prefixLength: 24))
        times.append(milliseconds(one))
    }
    let total = milliseconds(start)
    let count = store.allocations
    let blocks = try count()
    precondition(Set(blocks.values).count == tenants, "duplicate CIDR blocks")
    let first = times.prefix(1000), last = times.suffix(1000)
    print(
        "benchmark=cidr_allocation tenants=\(tenants) total_s=\(fmt(total / 1000)) first_1000_mean_ms=\(fmt(first.reduce(0, +) / Double(first.count))) last_1000_mean_ms=\(fmt(last.reduce(0, +) / Double(last.count))) p99_ms=\(fmt(percentile(times, 0.99)))"
    )
}

let arguments = CommandLine.arguments.dropFirst()
let mode = arguments.first { !$0.hasPrefix("--") } ?? "all"
func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), arguments.index(after: index) < arguments.endIndex else { return nil }
    return arguments[arguments.index(after: index)]
}
let sizes = (option("--fleet-sizes") ?? "10,100,1000").split(separator: ",").compactMap { Int($0) }
let cidrTenants = Int(option("--cidr-tenants") ?? "10000") ?? 10000

if ["all", "plan-apply"].contains(mode) { try await planApply(runs: 21) }
if ["all", "fleet"].contains(mode) { try await fleet(sizes: sizes) }
if ["all", "cidr"].contains(mode) { try cidr(tenants: cidrTenants) }

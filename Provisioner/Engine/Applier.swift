import Foundation
import VPTLocalCloud
import VPTState

/// One line of progress: a resource finished (or failed) after some time.
public struct ProgressLine: Sendable, Equatable {
    public var address: String
    public var action: PlanAction
    /// `created`, `updated`, `replaced`, `deleted`, `retained: …`, `scheduled for deletion on …`, `failed: …`.
    public var result: String
    public var seconds: Double
}

/// Why apply stopped; state records exactly what was done before.
public struct ApplyError: Error, CustomStringConvertible {
    public var failures: [(address: String, message: String)]
    public var skipped: [String]
    public var description: String {
        var lines = failures.map { "\($0.address): \($0.message)" }
        if !skipped.isEmpty { lines.append("not attempted because a dependency failed: \(skipped.joined(separator: ", "))") }
        lines.append("what finished is recorded; fix the cause and run the same command again to resume")
        return lines.joined(separator: "\n")
    }
}

/// Executes a plan: deletions in reverse dependency order, then creations and updates in dependency
/// order with independent resources in parallel (bounded). Each finished resource is recorded at once.
public struct Applier: Sendable {
    public let tenant: String
    public let store: StateStore
    public let provider: LocalProvider
    public let parallelism: Int
    public let progress: @Sendable (ProgressLine) -> Void

    public init(tenant: String, store: StateStore, provider: LocalProvider, parallelism: Int, progress: @escaping @Sendable (ProgressLine) -> Void) {
        self.tenant = tenant
        self.store = store
        self.provider = provider
        self.parallelism = max(1, parallelism)
        self.progress = progress
    }

    /// Applies `plan`; returns the outcome of each deletion (retained data, scheduled keys).
    @discardableResult
    public func apply(_ plan: Plan, desired: [DesiredResource]) async throws -> [String: DeleteOutcome] {
        let recorded = Dictionary(uniqueKeysWithValues: try store.resources(tenant: tenant).map { ($0.address, $0) })
        var outcomes: [String: DeleteOutcome] = [:]
        for change in plan.changes where change.action == .delete {
            guard let record = recorded[change.address] else { continue }
            let start = Date()
            outcomes[change.address] = try delete(record)
            progress(ProgressLine(address: change.address, action: .delete, result: describe(outcomes[change.address]!), seconds: Date().timeIntervalSince(start)))
        }
        let work = Dictionary(uniqueKeysWithValues: plan.changes.filter { $0.action != .delete }.map { ($0.address, $0) })
        let byAddress = Dictionary(uniqueKeysWithValues: desired.map { ($0.address, $0) })
        var outputs = recorded.filter { $0.value.status == .created && work[$0.key] == nil }.mapValues(\.outputs)
        var pending = TopologicalOrder.sort(desired).map(\.address).filter { work[$0] != nil }
        var finished = Set(desired.map(\.address).filter { work[$0] == nil })
        var failures: [(String, String)] = []
        var blocked: Set<String> = []

        try await withThrowingTaskGroup(of: (String, Result<[String: String], any Error>).self) { group in
            var running = 0
            func launchReady() {
                var index = 0
                while index < pending.count, running < parallelism {
                    let address = pending[index]
                    let deps = byAddress[address]!.dependsOn
                    if deps.contains(where: { blocked.contains($0) }) {
                        blocked.insert(address)
                        pending.remove(at: index)
                        continue
                    }
                    guard deps.allSatisfy({ finished.contains($0) || byAddress[$0] == nil }) else {
                        index += 1
                        continue
                    }
                    pending.remove(at: index)
                    running += 1
                    let resource = byAddress[address]!, change = work[address]!, record = recorded[address]
                    let depOutputs = outputs.filter { deps.contains($0.key) }
                    group.addTask {
                        (address, Result { try self.applyOne(resource, change, record, depOutputs) })
                    }
                }
            }
            launchReady()
            while running > 0, let (address, result) = try await group.next() {
                running -= 1
                switch result {
                case .success(let produced):
                    outputs[address] = produced
                    finished.insert(address)
                case .failure(let error):
                    failures.append((address, "\(error)"))
                    blocked.insert(address)
                }
                launchReady()
            }
        }
        if !failures.isEmpty {
            throw ApplyError(failures: failures, skipped: blocked.subtracting(failures.map(\.0)).sorted())
        }
        return outcomes
    }

    private func applyOne(
        _ resource: DesiredResource, _ change: PlannedChange, _ record: ResourceRecord?, _ deps: [String: [String: String]]
    ) throws -> [String: String] {
        let start = Date()
        do {
            if change.action == .replace, let record, record.status == .created {
                _ = try delete(record, keepRecord: true)
            }
            if change.action != .update {
                try store.record(
                    ResourceRecord(
                        tenant: tenant, address: resource.address, kind: resource.kind.rawValue, status: .creating,
                        dependsOn: resource.dependsOn, attributes: resource.attributes, outputs: [:]))
            }
            FaultInjection.hit("apply.before:\(resource.address)")
            let outputs = try provider.apply(resource, dependencies: deps)
            try store.record(
                ResourceRecord(
                    tenant: tenant, address: resource.address, kind: resource.kind.rawValue, status: .created,
                    dependsOn: resource.dependsOn, attributes: resource.attributes, outputs: outputs))
            FaultInjection.hit("apply.after:\(resource.address)")
            try store.appendEvent(tenant: tenant, action: change.action.rawValue, address: resource.address)
            let verb = ["create": "created", "update": "updated", "replace": "replaced"][change.action.rawValue] ?? "done"
            progress(ProgressLine(address: resource.address, action: change.action, result: verb, seconds: Date().timeIntervalSince(start)))
            return outputs
        } catch {
            progress(ProgressLine(address: resource.address, action: change.action, result: "failed: \(error)", seconds: Date().timeIntervalSince(start)))
            throw error
        }
    }

    /// Marks the record `deleting`, deletes (or retains) the resource, then forgets the record.
    private func delete(_ record: ResourceRecord, keepRecord: Bool = false) throws -> DeleteOutcome {
        var marked = record
        marked.status = .deleting
        try store.record(marked)
        FaultInjection.hit("apply.delete:\(record.address)")
        let kind = ResourceKind(rawValue: record.kind) ?? .principal
        let outcome = try provider.delete(kind: kind, attributes: record.attributes, outputs: record.outputs)
        if !keepRecord { try store.deleteResource(tenant: tenant, address: record.address) }
        try store.appendEvent(tenant: tenant, action: "delete", address: record.address, detail: describe(outcome))
        return outcome
    }

    func describe(_ outcome: DeleteOutcome) -> String {
        switch outcome {
        case .deleted: "deleted"
        case .retained(let why): "retained: \(why)"
        case .scheduled(let date): "scheduled for deletion on \(ISO8601DateFormatter().string(from: date))"
        }
    }
}

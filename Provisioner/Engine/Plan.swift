import VPTState

/// What apply will do to one resource.
public enum PlanAction: String, Codable, Sendable {
    case create, update, replace, delete
    /// The symbol Terraform users know.
    public var symbol: String {
        switch self {
        case .create: "+"
        case .update: "~"
        case .replace: "-/+"
        case .delete: "-"
        }
    }
}

/// One changed attribute.
public struct FieldChange: Codable, Sendable, Equatable {
    public var field: String
    public var old: String?
    public var new: String?
}

/// A planned change to one resource.
public struct PlannedChange: Codable, Sendable, Equatable {
    public var address: String
    public var kind: String
    public var action: PlanAction
    public var changes: [FieldChange]
    /// Why, for replacements (e.g. "was left half-created by an interrupted run").
    public var reason: String?
}

/// The diff between the desired graph and recorded state, in apply order.
public struct Plan: Codable, Sendable, Equatable {
    public var tenant: String
    public var changes: [PlannedChange]
    public var isEmpty: Bool { changes.isEmpty }

    /// Counts per action, for the summary line.
    public var summary: String {
        let count = { (a: PlanAction) in changes.filter { $0.action == a }.count }
        return "\(count(.create)) to create, \(count(.update)) to update, \(count(.replace)) to replace, \(count(.delete)) to delete"
    }
}

/// Compares desired resources with recorded ones.
public enum Planner {
    public static func plan(tenant: String, desired: [DesiredResource], recorded: [ResourceRecord]) -> Plan {
        let byAddress = Dictionary(uniqueKeysWithValues: recorded.map { ($0.address, $0) })
        var changes: [PlannedChange] = []
        for resource in TopologicalOrder.sort(desired) {
            guard let record = byAddress[resource.address] else {
                changes.append(
                    PlannedChange(
                        address: resource.address, kind: resource.kind.rawValue, action: .create,
                        changes: resource.attributes.sorted { $0.key < $1.key }.map { FieldChange(field: $0.key, old: nil, new: $0.value) }))
                continue
            }
            let diff = fieldChanges(record.attributes, resource.attributes)
            if record.status != .created {
                changes.append(
                    PlannedChange(
                        address: resource.address, kind: resource.kind.rawValue, action: .replace, changes: diff,
                        reason: record.status == .creating
                            ? "was left half-created by an interrupted run" : "was being deleted by an interrupted run"))
            } else if !diff.isEmpty {
                let forced = diff.map(\.field).filter { resource.replaceOnChange.contains($0) }
                changes.append(
                    PlannedChange(
                        address: resource.address, kind: resource.kind.rawValue, action: forced.isEmpty ? .update : .replace,
                        changes: diff, reason: forced.isEmpty ? nil : "\(forced.joined(separator: ", ")) cannot change in place"))
            }
        }
        let wanted = Set(desired.map(\.address))
        let removed = recorded.filter { !wanted.contains($0.address) }
        for record in TopologicalOrder.sortRecords(removed).reversed() {
            changes.append(
                PlannedChange(
                    address: record.address, kind: record.kind, action: .delete,
                    changes: record.attributes.sorted { $0.key < $1.key }.map { FieldChange(field: $0.key, old: $0.value, new: nil) }))
        }
        return Plan(tenant: tenant, changes: changes)
    }

    static func fieldChanges(_ old: [String: String], _ new: [String: String]) -> [FieldChange] {
        Set(old.keys).union(new.keys).sorted().compactMap { key in
            old[key] == new[key] ? nil : FieldChange(field: key, old: old[key], new: new[key])
        }
    }
}

/// Dependency order (Kahn's algorithm, ties broken by address so plans are stable).
enum TopologicalOrder {
    static func sort(_ resources: [DesiredResource]) -> [DesiredResource] {
        let byAddress = Dictionary(uniqueKeysWithValues: resources.map { ($0.address, $0) })
        return order(resources.map { ($0.address, $0.dependsOn) }).compactMap { byAddress[$0] }
    }

    static func sortRecords(_ records: [ResourceRecord]) -> [ResourceRecord] {
        let byAddress = Dictionary(uniqueKeysWithValues: records.map { ($0.address, $0) })
        return order(records.map { ($0.address, $0.dependsOn) }).compactMap { byAddress[$0] }
    }

    private static func order(_ nodes: [(String, [String])]) -> [String] {
        let present = Set(nodes.map(\.0))
        var remaining = Dictionary(uniqueKeysWithValues: nodes.map { ($0.0, Set($0.1.filter(present.contains))) })
        var result: [String] = []
        while !remaining.isEmpty {
            let ready = remaining.filter { $0.value.isEmpty }.keys.sorted()
            guard !ready.isEmpty else {
                result += remaining.keys.sorted()  // a cycle cannot come from TenantGraph; keep going deterministically
                break
            }
            for address in ready {
                result.append(address)
                remaining[address] = nil
            }
            for key in remaining.keys { remaining[key]!.subtract(ready) }
        }
        return result
    }
}

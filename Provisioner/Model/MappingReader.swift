import Yams

/// Reads one YAML mapping field by field, recording a typed issue for each bad or unknown key.
///
/// Readers return a placeholder for bad fields so that reading goes on and every violation is found.
final class MappingReader {
    let path: String
    let mark: Mark?
    private let entries: [(key: String, keyNode: Node, value: Node)]
    private let diagnostics: SpecDiagnostics
    private var known: [String] = []

    init(node: Node, path: String, diagnostics: SpecDiagnostics) {
        self.path = path
        self.mark = node.mark
        self.diagnostics = diagnostics
        if let mapping = node.mapping {
            entries = mapping.map { (key: $0.key.string ?? "", keyNode: $0.key, value: $0.value) }
        } else {
            entries = []
            diagnostics.add(issue(path, node, "must be a mapping of fields"))
        }
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw node for `key`, marking the key as known.
    func node(_ key: String) -> Node? {
        known.append(key)
        guard let node = entries.first(where: { $0.key == key })?.value else { return nil }
        if node.null != nil { return nil }
        return node
    }

    func string(_ key: String, default fallback: String? = nil) -> String {
        guard let node = node(key) else { return missing(key, fallback) ?? "" }
        guard let scalar = node.scalar else {
            diagnostics.add(issue(fieldPath(key), node, "must be a string"))
            return ""
        }
        return scalar.string
    }

    func optionalString(_ key: String) -> String? {
        guard node(key) != nil else { return nil }
        return string(key)
    }

    func int(_ key: String, default fallback: Int) -> Int {
        guard let node = node(key) else { return fallback }
        guard node.scalar != nil, let value = node.int else {
            diagnostics.add(issue(fieldPath(key), node, "must be a whole number"))
            return fallback
        }
        return value
    }

    func bool(_ key: String, default fallback: Bool) -> Bool {
        guard let node = node(key) else { return fallback }
        guard node.scalar != nil, let value = node.bool else {
            diagnostics.add(issue(fieldPath(key), node, "must be true or false"))
            return fallback
        }
        return value
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default fallback: E?) -> E?
    where E.RawValue == String {
        guard let node = node(key) else {
            if fallback == nil { _ = missing(key, nil) }
            return fallback
        }
        let options = E.allCases.map(\.rawValue).joined(separator: ", ")
        guard let text = node.scalar?.string, let value = E(rawValue: text) else {
            diagnostics.add(issue(fieldPath(key), node, "must be one of [\(options)]"))
            return nil
        }
        return value
    }

    /// A nested mapping; `required` sections that are absent are reported.
    func mapping(_ key: String, required: Bool) -> MappingReader? {
        guard let node = node(key) else {
            if required { _ = missing(key, nil) }
            return nil
        }
        return MappingReader(node: node, path: fieldPath(key), diagnostics: diagnostics)
    }

    /// Items of a sequence with their paths (`principals[0]`).
    func sequence(_ key: String) -> [(path: String, node: Node)] {
        guard let node = node(key) else { return [] }
        guard let sequence = node.sequence else {
            diagnostics.add(issue(fieldPath(key), node, "must be a list"))
            return []
        }
        return sequence.enumerated().map { ("\(fieldPath(key))[\($0.offset)]", $0.element) }
    }

    /// A sequence of strings.
    func strings(_ key: String) -> [String] {
        sequence(key).compactMap { item in
            guard let scalar = item.node.scalar else {
                diagnostics.add(issue(item.path, item.node, "must be a string"))
                return nil
            }
            return scalar.string
        }
    }

    /// A mapping of string to string.
    func stringMap(_ key: String) -> [String: String] {
        guard let node = node(key) else { return [:] }
        guard let mapping = node.mapping else {
            diagnostics.add(issue(fieldPath(key), node, "must be a mapping of strings"))
            return [:]
        }
        var result: [String: String] = [:]
        for (k, v) in mapping {
            guard let name = k.string, let value = v.scalar?.string else {
                diagnostics.add(issue(fieldPath(key), v, "must map strings to strings"))
                continue
            }
            result[name] = value
        }
        return result
    }

    /// Reports keys nobody asked for: a typo is never silently ignored.
    func finish() {
        for entry in entries where !known.contains(entry.key) {
            var rule = "is not a known field"
            if let guess = Self.closest(to: entry.key, in: known) { rule += "; did you mean '\(guess)'?" }
            rule += " (known: \(known.joined(separator: ", ")))"
            diagnostics.add(issue(fieldPath(entry.key), entry.keyNode, rule, showValue: false))
        }
    }

    func report(_ key: String, _ rule: String, value: String? = nil) {
        let node = entries.first(where: { $0.key == key })?.value
        diagnostics.add(
            SpecIssue(
                path: fieldPath(key), value: value ?? node?.scalar?.string, rule: rule,
                line: (node?.mark ?? mark)?.line, column: (node?.mark ?? mark)?.column))
    }

    func markOf(_ key: String) -> Mark? { entries.first(where: { $0.key == key })?.value.mark ?? mark }

    private func missing(_ key: String, _ fallback: String?) -> String? {
        if let fallback { return fallback }
        diagnostics.add(SpecIssue(path: fieldPath(key), rule: "is required", line: mark?.line, column: mark?.column))
        return nil
    }

    private func issue(_ path: String, _ node: Node, _ rule: String, showValue: Bool = true) -> SpecIssue {
        SpecIssue(
            path: path, value: showValue ? node.scalar?.string : nil, rule: rule, line: node.mark?.line,
            column: node.mark?.column)
    }

    /// Nearest known key by edit distance, when it is close enough to be a likely typo.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}

/// One violation found in a tenant spec: where, what value, which rule.
public struct SpecIssue: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dot-separated field path, e.g. `customerAccount.onlineStore.region`; `principals[1].role` for lists.
    public var path: String
    /// The offending value as written, if there is one.
    public var value: String?
    /// The rule, as the end of a sentence: `is outside residency.allowedRegions [eu-west-1]`.
    public var rule: String
    /// 1-based position in the YAML source, when known.
    public var line: Int?
    public var column: Int?

    public init(path: String, value: String? = nil, rule: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.value = value
        self.rule = rule
        self.line = line
        self.column = column
    }

    public var description: String {
        var text = path.isEmpty ? "" : "\(path): "
        if let value { text += "'\(value)' " }
        text += rule
        if let line, let column { text += " (line \(line), column \(column))" }
        return text
    }
}

/// A spec that cannot be used, with every violation found.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [SpecIssue]
    public init(issues: [SpecIssue]) { self.issues = issues }
    public var description: String {
        "the tenant spec is invalid (\(issues.count) problem\(issues.count == 1 ? "" : "s")):\n"
            + issues.map { "  - \($0)" }.joined(separator: "\n")
    }
}

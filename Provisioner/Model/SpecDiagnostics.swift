/// Collects every issue found while reading and validating one spec, so all are reported at once.
final class SpecDiagnostics {
    private(set) var issues: [SpecIssue] = []
    private var pathsWithIssues: Set<String> = []

    func add(_ issue: SpecIssue) {
        issues.append(issue)
        pathsWithIssues.insert(issue.path)
    }

    /// True when `path`, a field below it or a section above it already has an issue; later rules skip
    /// it so that one mistake is reported once.
    func hasIssue(at path: String) -> Bool {
        pathsWithIssues.contains { issue in
            issue == path || issue.hasPrefix(path + ".") || issue.hasPrefix(path + "[")
                || path.hasPrefix(issue + ".") || path.hasPrefix(issue + "[")
        }
    }
}

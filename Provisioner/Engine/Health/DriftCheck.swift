import Foundation
import VPTLocalCloud
import VPTState

/// Drift between what the state store recorded and what exists: files and folders, KMS keys,
/// IAM roles, and the modes that keep a tenant's files private (0700 folders, 0600 files).
enum DriftCheck {
    static let check = HealthCheck(
        id: "drift.resources", title: "Recorded resources exist as recorded",
        threshold: "every recorded file, folder, key and role exists; folders 0700, files 0600", onTimeout: .unknown,
        remedyOnTimeout: "walking the tenant's files took too long"
    ) { probe in
        guard !probe.resources.isEmpty else {
            return Verdict(status: .unknown, observed: "no resources recorded", remedy: "provision the tenant: `vpt provision tenant \(probe.name) -f SPEC`")
        }
        var drift: [String] = []
        let fm = FileManager.default
        let iam = LocalIAM(accountsRoot: probe.paths.accounts)
        var privateTrees = [probe.paths.tenant(probe.name)]
        for resource in probe.resources {
            guard resource.status == .created else {
                drift.append("\(resource.address) is \(resource.status.rawValue), not created")
                continue
            }
            for key in ["path", "directory"] {
                guard let path = resource.outputs[key] ?? resource.attributes[key], path.hasPrefix("/") else { continue }
                if !fm.fileExists(atPath: path) { drift.append("\(resource.address): \(path) is missing") }
                if resource.kind == "online_store" || resource.kind == "offline_store" { privateTrees.append(URL(fileURLWithPath: path)) }
            }
            switch resource.kind {
            case "cmk":
                guard let arn = resource.outputs["arn"], let ref = KMSKeyRef(arn: arn) else { break }
                if let kms = probe.kms {
                    switch Result(catching: { try kms.describe(ref) }) {
                    case .success(let key?) where key.state != .enabled: drift.append("cmk: key \(ref.keyId) is \(key.state.rawValue)")
                    case .success(nil): drift.append("cmk: key \(ref.keyId) does not exist")
                    case .failure(let error): drift.append("cmk: \(error)")
                    default: break
                    }
                }
            case "iam_role", "cross_account_role":
                if let account = resource.attributes["account"], let name = resource.attributes["name"], (try? iam.role(account: account, name: name)) == nil {
                    drift.append("\(resource.address): role \(name) does not exist in account \(account)")
                }
            default: break
            }
        }
        for tree in privateTrees { drift += modeProblems(tree) }
        guard drift.isEmpty else {
            let more = drift.count > 3 ? " (and \(drift.count - 3) more)" : ""
            return Verdict(
                status: .fail, observed: "\(drift.count) drifted: " + drift.prefix(3).joined(separator: "; ") + more,
                remedy: "re-run `vpt provision tenant \(probe.name)` to restore what is missing; restore modes with chmod 700 (folders) / 600 (files)")
        }
        return .ok("\(probe.resources.count) resources as recorded; modes private")
    }

    /// Folders not 0700 and files not 0600 below `root` (symbolic links are not followed).
    static func modeProblems(_ root: URL) -> [String] {
        var problems: [String] = []
        let fm = FileManager.default
        var stack = [root.path]
        while let path = stack.popLast() {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let mode = info.st_mode & 0o777
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if mode != 0o700 { problems.append("\(path) has mode \(String(mode, radix: 8)), not 700") }
                for name in (try? fm.contentsOfDirectory(atPath: path)) ?? [] { stack.append(path + "/" + name) }
            case S_IFREG:
                if mode != 0o600 { problems.append("\(path) has mode \(String(mode, radix: 8)), not 600") }
            default: break
            }
        }
        return problems.sorted()
    }
}

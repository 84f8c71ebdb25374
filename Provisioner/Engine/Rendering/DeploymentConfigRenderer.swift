import Foundation
import Mustache
import VPTContract
import VPTModel
import VPTTemplates

/// Renders a tenant's Terraform (vendor account, customer account) and Kubernetes manifests from
/// `Templates/terraform` and `Templates/kubernetes`. Output depends only on the inputs: same
/// spec, identity and image, same bytes (golden tests hold it to that).
public struct DeploymentConfigRenderer: Sendable {
    /// The runtime image used when the fleet names none: a digest-pinned reference that the
    /// operator replaces with `vpt render --image` or `vpt init --runtime-image`.
    public static let defaultImage = "registry.invalid/vpt/vpt-runtime@sha256:" + String(repeating: "0", count: 64)

    public let graph: TenantGraph
    /// The tenant CMK's ARN on the local target, for the container runtime config.
    public let cmkArn: String
    /// `adminKeySHA256` and `internalTokenSHA256` once provisioned.
    public let secretHashes: [String: String]
    public let image: String

    public init(graph: TenantGraph, cmkArn: String, secretHashes: [String: String], image: String = Self.defaultImage) {
        self.graph = graph
        self.cmkArn = cmkArn
        self.secretHashes = secretHashes
        self.image = image
    }

    /// `REPOSITORY@sha256:<64 hex>`: the only image references the manifests accept.
    public static func validateImage(_ image: String) -> Bool {
        let parts = image.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("sha256:") else { return false }
        let digest = parts[1].dropFirst("sha256:".count)
        let repositoryChars = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789._-/:")
        return digest.count == 64 && digest.allSatisfy { $0.isHexDigit && !$0.isUppercase }
            && parts[0].unicodeScalars.allSatisfy { repositoryChars.contains($0) }
    }

    public func render() throws -> [RenderedFile] {
        let context = try RenderContext(renderer: self)
        var files: [RenderedFile] = []
        for name in ["versions", "variables", "network", "kms", "iam", "privatelink", "outputs"] {
            files.append(try file("terraform/vendor-account/\(name).tf", context.terraform))
        }
        for name in ["versions", "variables", "kms", "cross-account-role", "offline-store", "online-store", "outputs"] {
            files.append(try file("terraform/customer-account/\(name).tf", context.terraform))
        }
        for name in ["namespace", "runtime-config", "network-policies"] {
            files.append(try file("kubernetes/\(name).yaml", context.kubernetes))
        }
        for (name, plane) in context.planes {
            files.append(try file("kubernetes/\(name).yaml", plane, template: "kubernetes/plane.yaml"))
        }
        return files.filter { !$0.contents.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    private func file(_ path: String, _ context: [String: Any], template: String? = nil) throws -> RenderedFile {
        let text = try Templates.text((template ?? path) + ".mustache")
        let rendered = try MustacheTemplate(string: text).render(context)
        return RenderedFile(path: path, contents: Self.tidy(rendered))
    }

    /// Collapses the blank lines that empty sections leave behind, and ends with one newline.
    static func tidy(_ text: String) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty, lines.last?.isEmpty ?? true { continue }
            lines.append(line)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}

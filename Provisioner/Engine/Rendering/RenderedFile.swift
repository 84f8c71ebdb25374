import Foundation
import VPTLocalCloud

/// One rendered configuration file, by path relative to the tenant's config folder.
public struct RenderedFile: Sendable, Equatable {
    public var path: String
    public var contents: String
    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

/// Writes rendered files into a folder. Files whose contents are unchanged are not touched (an
/// unchanged re-run changes no mtime), and files that an earlier rendering wrote into the same
/// subfolders but this one no longer produces (say `kms.tf` after the key moved to the customer)
/// are removed (only `.tf` and `.yaml` files: Terraform state beside them stays). Each write is atomic.
public enum RenderedFileWriter {
    /// Subfolders owned by the renderer; nothing else in the config folder is touched.
    public static let managedFolders = ["terraform/vendor-account", "terraform/customer-account", "kubernetes"]

    @discardableResult
    public static func write(_ files: [RenderedFile], into folder: URL) throws -> (written: [String], removed: [String]) {
        let fm = FileManager.default
        var written: [String] = []
        for file in files {
            let url = folder.appendingPathComponent(file.path)
            let data = Data(file.contents.utf8)
            if fm.contents(atPath: url.path) == data { continue }
            try SecureFiles.makeDirectory(url.deletingLastPathComponent())
            try SecureFiles.write(data, to: url)
            written.append(file.path)
        }
        let keep = Set(files.map(\.path))
        var removed: [String] = []
        for sub in managedFolders {
            let dir = folder.appendingPathComponent(sub)
            // Only our own kinds of file: an operator's `terraform.tfstate` or `.terraform/` stays.
            for name in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
            where !name.hasPrefix(".") && (name.hasSuffix(".tf") || name.hasSuffix(".yaml")) {
                let relative = "\(sub)/\(name)"
                if !keep.contains(relative) {
                    try fm.removeItem(at: dir.appendingPathComponent(name))
                    removed.append(relative)
                }
            }
        }
        return (written, removed)
    }
}

import Crypto
import Foundation
import VPTContract

/// One key event: who, what, when, on which target. Never a secret: key ids, versions and
/// service account names only.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var at: Date
    public var actor: String
    public var action: String
    public var target: String
    public var detail: String
    /// SHA-256 of the previous line (all zeros for the first): a removed or edited line breaks the chain.
    public var previous: String
}

/// The tenant's append-only key audit log, kept in the vendor account
/// (`accounts/VENDOR/REGION/audit/TENANT.jsonl`, 0600): one JSON line per event, chained by hash.
public struct AuditLog: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// The log of a tenant, in its vendor account's region folder under `accountsRoot`.
    public init(accountsRoot: URL, vendorAccount: String, region: String, tenant: String) {
        url = accountsRoot.appendingPathComponent("\(vendorAccount)/\(region)/audit/\(tenant).jsonl")
    }

    /// Who runs this process, for the `actor` field.
    public static var currentActor: String {
        let user = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "uid \(getuid())"
        return "\(user)@\(ProcessInfo.processInfo.hostName) (vpt pid \(getpid()))"
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// Appends one entry (O_APPEND, then fsync): never rewrites what is there.
    public func append(action: String, target: String, detail: String = "", actor: String = AuditLog.currentActor) throws {
        try SecureFiles.makeDirectory(url.deletingLastPathComponent())
        // One writer at a time (vpt and the control plane both append): the chain needs the last line.
        let lockFD = open(url.path + ".lock", O_WRONLY | O_CREAT, 0o600)
        guard lockFD >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        let lastLine = (try? String(contentsOf: url, encoding: .utf8))?.split(separator: "\n").last.map(String.init)
        let previous = lastLine.map { Hex.sha256($0) } ?? String(repeating: "0", count: 64)
        let entry = AuditEntry(at: Date(), actor: actor, action: action, target: target, detail: detail, previous: previous)
        var line = try Self.encoder.encode(entry)
        line.append(0x0A)
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
        fsync(fd)
    }

    /// Every entry, and whether the hash chain is intact (and where it breaks).
    public func read() throws -> (entries: [AuditEntry], brokenAt: Int?) {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return ([], nil) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var entries: [AuditEntry] = []
        var brokenAt: Int?
        var previous = String(repeating: "0", count: 64)
        for (index, line) in text.split(separator: "\n").enumerated() {
            let entry = try decoder.decode(AuditEntry.self, from: Data(line.utf8))
            if entry.previous != previous, brokenAt == nil { brokenAt = index + 1 }
            previous = Hex.sha256(String(line))
            entries.append(entry)
        }
        return (entries, brokenAt)
    }
}

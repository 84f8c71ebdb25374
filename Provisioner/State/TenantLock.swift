import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One writer per tenant: an exclusive `flock` on `$VPT_HOME/locks/<tenant>.lock` that also records
/// who holds it. The kernel drops the lock when its holder dies, so a killed run never leaves a stale
/// lock behind.
public final class TenantLock {
    public struct Held: Error, Equatable, CustomStringConvertible {
        public var tenant: String
        public var holder: String
        public var description: String {
            "tenant '\(tenant)' is locked by another vpt process (\(holder)); wait for it to finish and run the command again"
        }
    }

    private let fd: Int32
    public let url: URL

    /// Takes the lock or fails at once with the holder's description.
    public init(home: URL, tenant: String, purpose: String) throws {
        url = home.appendingPathComponent("locks/\(tenant).lock")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // `self.fd` is set only once the lock is held. A class whose stored properties are all set
        // runs its deinit when init throws; that deinit would truncate and close a descriptor number
        // that this init had already closed, and that another thread may own by then.
        let opened = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard opened >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        if flock(opened, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = pread(opened, &buffer, 512, 0)
            close(opened)
            let holder = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : "unknown holder"
            throw Held(tenant: tenant, holder: holder.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        fd = opened
        let note = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), \(purpose), since \(ISO8601DateFormatter().string(from: Date()))\n"
        ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}

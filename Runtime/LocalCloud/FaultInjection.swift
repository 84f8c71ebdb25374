import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Crash points for the crash-safety tests: when `VPT_FAULT` names a point, the process kills
/// itself with SIGKILL there, exactly as a power cut or `kill -9` would, with no cleanup.
///
/// `VPT_FAULT=name` fires at the first hit; `VPT_FAULT=name#3` at the third. Unset in production.
public enum FaultInjection {
    public static let environmentVariable = "VPT_FAULT"

    private static let target: (name: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment[environmentVariable], !value.isEmpty else { return nil }
        let parts = value.split(separator: "#", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()

    private static let hits = HitCounter()

    /// Marks a point; kills the process if it is the configured one.
    public static func hit(_ point: String) {
        guard let target, target.name == point else { return }
        if hits.increment() >= target.count { kill(getpid(), SIGKILL) }
    }
}

/// A lock-protected counter; fault points may be hit from concurrent tasks.
private final class HitCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What `/proc` says about a process. Pids are recycled (pid_max is 32768 on many machines, and a
/// busy machine wraps it in minutes), so a pid from a file is only acted on after its command line
/// shows it is still the process that was recorded.
public enum ProcessTable {
    /// The arguments of a live process (empty for a zombie or a pid that does not exist), read with
    /// read(2), retrying interrupted reads: proc files report no size.
    public static func arguments(_ pid: pid_t) -> [String] {
        let fd = open("/proc/\(pid)/cmdline", O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `pid` is alive and its arguments contain each of `expected`.
    public static func matches(_ pid: pid_t, containing expected: [String]) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 else { return false }
        let arguments = arguments(pid)
        return expected.allSatisfy { wanted in arguments.contains { $0.contains(wanted) } }
    }
}

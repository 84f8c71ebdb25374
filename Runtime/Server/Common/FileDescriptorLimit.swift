#if canImport(Glibc)
    import Glibc
#endif

/// The process's open-file limit. Services often start with a soft limit of 1,024 under a far
/// higher hard one; the data plane raises its soft limit to what its connection limit needs (up to
/// the hard limit), and, where the hard limit is lower, keeps fewer connections so that a full
/// house never leaves the store, the logs or the snapshot poll without a descriptor.
enum FileDescriptorLimit {
    /// Descriptors kept for everything but client connections.
    static let reserve = 256

    /// How many connections the data plane can keep open, `wanted` at most.
    static func connections(wanted: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return wanted }
        let needed = rlim_t(wanted + reserve)
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let available = Int(min(limit.rlim_cur, rlim_t(Int.max))) - reserve
        return max(1, min(wanted, available))
    }
}

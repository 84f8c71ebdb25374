import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts long-lived processes the way vpt's supervisor and launcher need them: stdin from
/// /dev/null, stdout and stderr appended to a log file (0600), and no other inherited descriptor
/// (a caller's pipe or database left open in a child keeps it alive for the child's lifetime).
public enum ProcessSpawner {
    public struct Failure: Error, CustomStringConvertible {
        public var executable: String
        public var code: Int32
        public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    /// Spawns `arguments` (the first is the executable's path); `newSession` detaches it from the
    /// caller's session so it outlives the caller.
    public static func spawn(_ arguments: [String], logFile: String, newSession: Bool = false) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for fd in 3..<Int32(1024) where fcntl(fd, F_GETFD) != -1 { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no blocked signal and default handlers: the caller's thread may block
        // signals and a service group ignores SIGTERM, and both would be inherited (a runner that
        // ignores SIGTERM cannot be cancelled).
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= Int16(0x80) }  // POSIX_SPAWN_SETSID (glibc), not imported into Swift
        posix_spawnattr_setflags(&attributes, flags)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw Failure(executable: arguments[0], code: result) }
        // A child inherits the nice value of the spawning thread, not of the process, and libdispatch
        // gives its QoS worker threads their own (user-initiated runs at -2). Left alone, a plane or
        // runner would run at whatever priority the thread that started it happened to have; it gets
        // the process's (its main thread's, the operator's `nice`) instead. glibc's posix_spawn returns
        // after the exec, before the child's runtime starts any thread, so later threads inherit this.
        let processNice = processNiceValue()
        if getpriority(PRIO_PROCESS_WHICH, id_t(pid)) != processNice { _ = setpriority(PRIO_PROCESS_WHICH, id_t(pid), processNice) }
        return pid
    }

    /// The nice value of the calling process's main thread.
    public static func processNiceValue() -> Int32 {
        getpriority(PRIO_PROCESS_WHICH, id_t(getpid()))
    }

    static let PRIO_PROCESS_WHICH = __priority_which_t(PRIO_PROCESS.rawValue)
}

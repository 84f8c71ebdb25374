import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The repository root, found from this file's path, so tests read the shipped examples and scripts.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh directory for one test, under this test process's own directory in the system temp dir.
public func temporaryDirectory(_ label: String = #function) -> URL {
    let url = testRunDirectory.appendingPathComponent("vpt-test-\(label.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// `vpt-tests-PID`: every test directory of this process, removed when the process exits. Tests
/// leave keys, stores and logs behind (some on purpose, killed mid-way), and a run makes thousands;
/// directories of a run that died without exiting are removed by the next run.
private let testRunDirectory: URL = {
    let temp = FileManager.default.temporaryDirectory
    let prefix = "vpt-tests-"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: temp.path)) ?? [] where name.hasPrefix(prefix) {
        // kill(pid, 0) fails with ESRCH once no process has that id.
        if let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH {
            try? FileManager.default.removeItem(at: temp.appendingPathComponent(name))
        }
    }
    let url = temp.appendingPathComponent("\(prefix)\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    atexit { try? FileManager.default.removeItem(at: testRunDirectory) }
    return url
}()

/// Runs an infra script with posix_spawn + waitpid (Foundation's Process does not reap a script whose
/// child daemonizes, as redis-server does); stdout goes to /dev/null.
public func runScript(_ arguments: [String]) throws {
    var pid: pid_t = 0
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    for fd in 3..<Int32(1024) where fcntl(fd, F_GETFD) != -1 { posix_spawn_file_actions_addclose(&actions, fd) }
    // The script and what it starts (redis-server) get an empty signal mask, not the test runner's.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    guard posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ) == 0 else { throw CocoaError(.executableLoad) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    guard status == 0 else { throw CocoaError(.executableLoad) }
}

/// A file's permission bits, or nil when it cannot be read.
public func fileMode(_ url: URL) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? nil
}

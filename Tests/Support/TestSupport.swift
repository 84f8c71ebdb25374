import Foundation
import VPTLocalCloud

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

/// Runs an infra script (found on PATH) and waits for it: ProcessSpawner starts it with no
/// inherited descriptor and an empty signal mask (redis-server, which the script starts, inherits
/// both), with its output to /dev/null. Foundation's Process does not reap a script whose child
/// daemonizes, as redis-server does.
public func runScript(_ arguments: [String]) throws {
    let pid = try ProcessSpawner.spawn(["/usr/bin/env"] + arguments, logFile: "/dev/null")
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    guard status == 0 else { throw CocoaError(.executableLoad) }
}

/// The standard output of a command found on PATH, once it has exited; stderr is inherited.
public func commandOutput(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return text
}

/// A file's permission bits, or nil when it cannot be read.
public func fileMode(_ url: URL) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? nil
}

/// A count that threads add to; tests read it once they are done.
public final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    public init() {}
    public func add() { lock.withLock { count += 1 } }
    public var value: Int { lock.withLock { count } }
}

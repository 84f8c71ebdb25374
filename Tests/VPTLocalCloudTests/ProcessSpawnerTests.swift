import Foundation
import Testing
@testable import VPTLocalCloud

#if canImport(Glibc)
    import Glibc
#endif

/// What a spawned plane or runner inherits from the thread that happened to start it.
@Suite struct ProcessSpawnerTests {
    /// Spawns `sleep` from a fresh thread whose nice value is 3 above the process's (as libdispatch's
    /// QoS threads differ from the main thread) and returns the child's pid.
    func spawnFromNicerThread(log: String) throws -> pid_t {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<pid_t, any Error> = .failure(CancellationError())
        let thread = Thread {
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            // Who 0 is the calling thread: Linux keeps nice values per thread.
            _ = setpriority(which, 0, ProcessSpawner.processNiceValue() + 3)
            outcome = Result { try ProcessSpawner.spawn(["/bin/sleep", "30"], logFile: log) }
            done.signal()
        }
        thread.start()
        done.wait()
        return try outcome.get()
    }

    /// Fields of /proc/PID/stat after the command name (field 3, the state, comes first).
    func statFields(_ pid: pid_t) throws -> [Substring] {
        let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let afterName = text[text.index(after: text.lastIndex(of: ")")!)...]
        return afterName.split(separator: " ")
    }

    @Test func childGetsTheProcessNiceValueNotTheSpawningThreads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vpt-spawn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pid = try spawnFromNicerThread(log: directory.appendingPathComponent("child.log").path)
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let nice = try #require(Int32(try statFields(pid)[16]))  // field 19: nice
        #expect(nice == ProcessSpawner.processNiceValue())

        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let blocked = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }
        #expect(blocked.map { $0.hasSuffix("0000000000000000") } == true, "the child starts with no blocked signal")
    }
}

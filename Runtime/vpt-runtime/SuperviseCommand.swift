import ArgumentParser
import Foundation
import VPTLocalCloud

#if canImport(Glibc)
    import Glibc
#endif

/// `vpt-runtime supervise`: runs the tenant's control plane and data plane as child processes,
/// restarts a crashed one with exponential backoff (1 s doubling to 30 s, reset after a minute of
/// uptime), and on SIGTERM/SIGINT stops both gracefully. Pid files and logs go to `--run-dir`.
struct SuperviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "supervise", abstract: "Run and restart a tenant's planes.")
    @OptionGroup var options: ConfigOption
    @Option(help: "Folder for pid files and logs.") var runDir: String

    struct Child {
        var name: String
        var pid: pid_t = 0
        var startedAt = Date.distantPast
        var backoff: Double = 1
        var restartAt: Date?
    }

    func spawn(_ name: String) throws -> pid_t {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).path
        let pid = try ProcessSpawner.spawn([binary, name, "--config", options.config], logFile: "\(runDir)/\(name).log")
        try "\(pid)\n".write(toFile: "\(runDir)/\(name).pid", atomically: true, encoding: .utf8)
        chmod("\(runDir)/\(name).pid", 0o600)
        return pid
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "\(getpid())\n".write(toFile: "\(runDir)/supervisor.pid", atomically: true, encoding: .utf8)
        chmod("\(runDir)/supervisor.pid", 0o600)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let stop = DispatchSemaphore(value: 0)
        let sources = [SIGTERM, SIGINT].map { sig -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
        // The control plane first: the data plane loads its access rules from it.
        var children = [Child(name: "control-plane"), Child(name: "data-plane")]
        for i in children.indices {
            children[i].pid = try spawn(children[i].name)
            children[i].startedAt = Date()
            if i == 0 { usleep(300_000) }
        }
        while stop.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            var status: Int32 = 0
            while case let pid = waitpid(-1, &status, WNOHANG), pid > 0 {
                guard let i = children.firstIndex(where: { $0.pid == pid }) else { continue }
                let uptime = Date().timeIntervalSince(children[i].startedAt)
                if uptime > 60 { children[i].backoff = 1 }
                children[i].pid = 0
                children[i].restartAt = Date().addingTimeInterval(children[i].backoff)
                FileHandle.standardError.write(Data("supervisor: \(children[i].name) exited (status \(status)) after \(Int(uptime)) s; restarting in \(Int(children[i].backoff)) s\n".utf8))
                children[i].backoff = min(children[i].backoff * 2, 30)
            }
            for i in children.indices where children[i].pid == 0 {
                if let at = children[i].restartAt, at <= Date() {
                    children[i].pid = (try? spawn(children[i].name)) ?? 0
                    children[i].startedAt = Date()
                    children[i].restartAt = children[i].pid == 0 ? Date().addingTimeInterval(children[i].backoff) : nil
                }
            }
        }
        _ = sources
        // Graceful stop: SIGTERM, then SIGKILL after 10 s.
        for child in children where child.pid > 0 { kill(child.pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        for child in children where child.pid > 0 {
            var status: Int32 = 0
            while waitpid(child.pid, &status, WNOHANG) == 0 {
                if Date() > deadline {
                    kill(child.pid, SIGKILL)
                    waitpid(child.pid, &status, 0)
                    break
                }
                usleep(50_000)
            }
        }
        for name in ["control-plane", "data-plane", "supervisor"] { unlink("\(runDir)/\(name).pid") }
    }
}

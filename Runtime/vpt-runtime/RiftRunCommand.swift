import ArgumentParser
import Foundation
import VPTContract
import VPTLocalCloud
import VPTRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// `vpt-runtime rift-run`: the data-plane half of a Rift job. It checks residency and has the
/// tenant's session authorized for the job's source and sinks, writes the runner's job file (0600)
/// and becomes the Python runner (exec), with an environment that carries no credential.
struct RiftRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rift-run", abstract: "Run one Rift materialization job attempt.")
    @OptionGroup var options: ConfigOption
    @Option(help: "The scheduler's job request (JSON).") var request: String
    @Option(help: "Where the runner writes its result (JSON counts).") var result: String

    func run() throws {
        do {
            let config = try RuntimeServices.loadConfig(options.config)
            guard let request = try SecureFiles.readJSON(RiftJobRequest.self, from: URL(fileURLWithPath: request)) else {
                throw RuntimeServices.StartupError.missingFile(self.request)
            }
            let job = try RiftJobBuilder.build(request, config: config)
            let jobFile = URL(fileURLWithPath: self.request).deletingPathExtension().deletingPathExtension().appendingPathExtension("job.json")
            try SecureFiles.writeJSON(job, to: jobFile)
            let environment = RiftJobBuilder.environment(from: ProcessInfo.processInfo.environment)
            let python = try Self.python(ProcessInfo.processInfo.environment)
            // Straight to the log (fd 1): buffered output would be lost at exec.
            FileHandle.standardOutput.write(
                Data("rift-run: job \(request.jobId) attempt \(request.attempt), session \(job.sessionAccessKeyId), runner \(python)\n".utf8))
            let argv = [python, "-m", "vpt_sdk.rift", "--job", jobFile.path, "--result", result]
            let cArgv = argv.map { strdup($0) } + [nil]
            let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            // exec keeps the calling thread's signal mask, and this runs on a pool thread that blocks
            // most signals: without this the runner could not be cancelled (SIGTERM).
            var empty = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, nil)
            for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { signal(sig, SIG_DFL) }
            execve(python, cArgv, cEnv)
            throw ValidationError("cannot start \(python): \(String(cString: strerror(errno)))")
        } catch let error as ValidationError {
            throw error
        } catch {
            FileHandle.standardError.write(Data("rift-run: \(error)\n".utf8))
            throw ExitCode(65)
        }
    }

    /// `VPT_RIFT_PYTHON`, else the first `python3` on PATH.
    static func python(_ environment: [String: String]) throws -> String {
        if let chosen = environment["VPT_RIFT_PYTHON"], !chosen.isEmpty { return chosen }
        for folder in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/python3"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw ValidationError("python3 is not on PATH; set VPT_RIFT_PYTHON to the interpreter that has vpt_sdk installed")
    }
}

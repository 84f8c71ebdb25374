import Foundation
import VPTContract
import VPTLocalCloud

#if canImport(Glibc)
    import Glibc
#endif

/// Starts Rift runner processes for job attempts and collects what they left behind. Each attempt
/// has its own files in `workDirectory` (0700): `ID-aN.request.json` (what to run; no location and
/// no credential), `ID-aN.result.json` (counts, written by the runner last) and `ID-aN.log`.
public struct RiftLauncher: Sendable {
    /// The runner command; `--request PATH --result PATH` is appended.
    public let command: [String]
    public let workDirectory: URL

    public init(command: [String], workDirectory: URL) {
        self.command = command
        self.workDirectory = workDirectory
    }

    /// How a runner process ended.
    public enum Exit: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): "exit \(code)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    func file(_ jobId: String, _ attempt: Int, _ suffix: String) -> URL {
        workDirectory.appendingPathComponent("\(jobId)-a\(attempt).\(suffix)")
    }

    public func start(_ request: RiftJobRequest) throws -> pid_t {
        try SecureFiles.makeDirectory(workDirectory)
        let requestFile = file(request.jobId, request.attempt, "request.json")
        let resultFile = file(request.jobId, request.attempt, "result.json")
        unlink(resultFile.path)
        try SecureFiles.writeJSON(request, to: requestFile)
        return try ProcessSpawner.spawn(
            command + ["--request", requestFile.path, "--result", resultFile.path], logFile: file(request.jobId, request.attempt, "log").path)
    }

    /// The exit of a runner this process started, or nil while it runs.
    public static func poll(_ pid: pid_t) -> Exit? {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        guard reaped == pid else {
            // ECHILD: not our child (any more); treat as gone with an unknown status.
            return reaped < 0 ? .exited(-1) : nil
        }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// Whether `pid` is alive and is a runner of `jobId` (a recycled pid is someone else).
    public static func isRunner(_ pid: pid_t, of jobId: String) -> Bool {
        ProcessTable.matches(pid, containing: ["\(jobId)-a"])
    }

    public func result(_ jobId: String, _ attempt: Int) -> RiftJobResult? {
        try? SecureFiles.readJSON(RiftJobResult.self, from: file(jobId, attempt, "result.json"))
    }

    /// The last line the runner wrote (its error when it failed), at most 500 characters.
    public func lastLogLine(_ jobId: String, _ attempt: Int) -> String? {
        guard let data = FileManager.default.contents(atPath: file(jobId, attempt, "log").path) else { return nil }
        let line = String(decoding: data.suffix(4096), as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init)
        return line.map { String($0.prefix(500)) }
    }

    /// Removes an attempt's files; the log of a failed attempt stays for the operator.
    public func cleanUp(_ jobId: String, _ attempt: Int, keepLog: Bool) {
        for suffix in ["request.json", "result.json"] + (keepLog ? [] : ["log"]) { unlink(file(jobId, attempt, suffix).path) }
    }
}

import Foundation
import VPTLocalCloud

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Starts, stops and waits for a tenant's runtime: one `vpt-runtime supervise` process per tenant (in
/// its own session, so it outlives `vpt`), which runs and restarts the control and data plane.
public struct RuntimeLauncher: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case binaryMissing(String)
        /// The plane, its port, its log, and the error it last exited with (if the log ends with one).
        case notReady(String, Int, String, cause: String?)
        public var description: String {
            switch self {
            case .binaryMissing(let path): "vpt-runtime was not found at \(path); build it (`swift build`) or set VPT_RUNTIME_BINARY"
            case .notReady(let what, let port, let log, let cause):
                "the \(what) did not become ready on port \(port)\(cause.map { " (it exits with: \($0))" } ?? ""); see \(log)"
            }
        }
    }

    public let paths: FleetPaths
    public let binary: URL

    public init(paths: FleetPaths) {
        self.paths = paths
        if let override = ProcessInfo.processInfo.environment["VPT_RUNTIME_BINARY"] {
            binary = URL(fileURLWithPath: override)
        } else {
            let own = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            let sibling = own.appendingPathComponent("vpt-runtime")
            binary = FileManager.default.fileExists(atPath: sibling.path) ? sibling : Self.searchBuildFolder(from: own) ?? sibling
        }
    }

    /// Test bundles live in the build folder too, one level down.
    private static func searchBuildFolder(from dir: URL) -> URL? {
        var current = dir
        for _ in 0..<4 {
            let candidate = current.appendingPathComponent("vpt-runtime")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            current = current.deletingLastPathComponent()
        }
        return nil
    }

    func pidFile(_ tenant: String, _ name: String) -> URL { paths.runDirectory(tenant).appendingPathComponent("\(name).pid") }

    /// The pid in a pid file, if that process is alive and still is the tenant's `name` process
    /// (`supervisor`, `control-plane` or `data-plane`): a stale pid file may name a recycled pid,
    /// and signalling it would hit an unrelated process.
    public func livePid(_ tenant: String, _ name: String) -> pid_t? {
        guard let text = try? String(contentsOf: pidFile(tenant, name), encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            ProcessTable.matches(pid, containing: [name == "supervisor" ? "supervise" : name, paths.runtimeConfig(tenant).path])
        else { return nil }
        // A killed process whose parent died too stays a zombie until init reaps it: not alive.
        return Self.processState(pid) == "Z" ? nil : pid
    }

    /// The state letter of `/proc/PID/stat` (`R`, `S`, `T` stopped, `Z` zombie), if readable.
    static func processState(_ pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].first { !$0.isWhitespace }
    }

    /// Starts the supervisor unless it runs with the same config and both planes are up; restarts it
    /// if the config changed or a plane is down.
    public func ensureRunning(tenant: String, configSHA256: String) throws {
        let marker = paths.runDirectory(tenant).appendingPathComponent("config.sha256")
        let running = livePid(tenant, "supervisor")
        // A plane that is down while its supervisor waits out a restart backoff (up to 30 s) is
        // started now: the operator asked for it, perhaps after fixing what made it exit.
        let planesUp = livePid(tenant, "control-plane") != nil && livePid(tenant, "data-plane") != nil
        if running != nil, planesUp, (try? String(contentsOf: marker, encoding: .utf8)) == configSHA256 { return }
        if running != nil { stop(tenant: tenant) }
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw Failure.binaryMissing(binary.path) }
        let run = paths.runDirectory(tenant)
        try SecureFiles.makeDirectory(run)
        let args = [binary.path, "supervise", "--config", paths.runtimeConfig(tenant).path, "--run-dir", run.path]
        let pid = try ProcessSpawner.spawn(args, logFile: run.appendingPathComponent("supervisor.log").path, newSession: true)
        try SecureFiles.write(Data(configSHA256.utf8), to: marker)
        // The supervisor is not our child for long: reap it in the background if it exits early.
        Thread.detachNewThread {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        for _ in 0..<50 where livePid(tenant, "supervisor") == nil { usleep(20_000) }
    }

    /// Stops the supervisor (which stops both planes); waits up to 15 s, then kills. Planes left
    /// without a supervisor (it was killed) are killed directly.
    public func stop(tenant: String) {
        guard let pid = livePid(tenant, "supervisor") else {
            for name in ["control-plane", "data-plane"] { if let child = livePid(tenant, name) { kill(child, SIGKILL) } }
            return
        }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while kill(pid, 0) == 0, Date() < deadline { usleep(50_000) }
        if kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            for name in ["control-plane", "data-plane"] { if let child = livePid(tenant, name) { kill(child, SIGKILL) } }
        }
    }

    /// Waits until `GET /readyz` answers 200 on a loopback port.
    public func waitReady(_ what: String, port: Int, tenant: String, timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        // The runtime config says whether the planes speak TLS and which CA to trust.
        let endpoints = try? TenantEndpoints(paths: paths, tenant: tenant)
        let scheme = endpoints?.caFile == nil ? "http" : "https"
        while Date() < deadline {
            if HTTPCall.status(URL(string: "\(scheme)://127.0.0.1:\(port)/readyz")!, caFile: endpoints?.caFile) == 200 { return }
            usleep(100_000)
        }
        let log = paths.runDirectory(tenant).appendingPathComponent("\(what.replacingOccurrences(of: " ", with: "-")).log").path
        throw Failure.notReady(what, port, log, cause: Self.exitError(inLog: log))
    }

    /// The error a plane last exited with: the last line of its log when that line is one
    /// (`vpt-runtime` ends with `Error: …` on stderr). A plane that is merely slow has none.
    static func exitError(inLog path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        // Logs grow without bound; the last line is within the last few KB.
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 8192 ? size - 8192 : 0)
        let tail = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        guard let last = tail.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) }), last.hasPrefix("Error: ") else {
            return nil
        }
        return String(last.dropFirst("Error: ".count).prefix(500))
    }
}

/// Small synchronous HTTP calls to tenant processes on loopback for the provisioner (readiness,
/// smoke test, health, keys): plain sockets for `http`, AsyncHTTPClient for `https`.
public enum HTTPCall {
    /// The status of a GET, or nil when nothing answered.
    public static func status(_ url: URL, caFile: String? = nil) -> Int? {
        (try? request("GET", url, body: nil, headers: [:], caFile: caFile))?.status
    }

    /// One request with a JSON body; returns the status and the decoded JSON (if any).
    public static func request(
        _ method: String, _ url: URL, body: Any?, headers: [String: String], timeout: TimeInterval = 5, caFile: String? = nil
    ) throws -> (status: Int, json: Any?) {
        let (status, data) = try raw(
            method, url, body: body.map { try JSONSerialization.data(withJSONObject: $0) }, headers: headers, timeout: timeout, caFile: caFile)
        return (status, try? JSONSerialization.jsonObject(with: data))
    }

    /// One request; returns the status and the raw body.
    /// `https` URLs trust only `caFile` (the tenant CA).
    public static func raw(
        _ method: String, _ url: URL, body: Data? = nil, headers: [String: String], timeout: TimeInterval = 5, caFile: String? = nil
    ) throws -> (status: Int, body: Data) {
        if url.scheme == "https" {
            return try TLSHTTP.send(method, url: url, headers: headers, body: body, timeout: timeout, caFile: caFile)
        }
        guard let host = url.host, let port = url.port else { throw LoopbackHTTP.Failure.malformed("\(url) names no host and port") }
        var path = url.path.isEmpty ? "/" : url.path
        if let query = url.query { path += "?" + query }
        return try LoopbackHTTP.send(method, host: host, port: port, path: path, headers: headers, body: body, timeout: timeout)
    }
}

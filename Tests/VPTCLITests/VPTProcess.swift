import Foundation
import VPTTestSupport

#if canImport(Glibc)
    import Glibc
#endif

func examplePath(_ name: String) -> String { repositoryRoot.appendingPathComponent("examples/\(name)").path }

/// The built `vpt` binary, next to the test bundle in the build folder.
let vptBinary: URL = {
    if let override = ProcessInfo.processInfo.environment["VPT_BINARY"] { return URL(fileURLWithPath: override) }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("vpt").path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("vpt")
}()

/// How a `vpt` process ended.
struct RunResult {
    var status: Int32
    var killedBySignal: Int32?
    var stdout: String
    var stderr: String
}

/// Runs `vpt` with arguments and extra environment, waiting for it to exit.
@discardableResult
func vpt(_ arguments: [String], home: URL, environment: [String: String] = [:]) throws -> RunResult {
    let process = try startVPT(arguments, home: home, environment: environment)
    return finish(process)
}

func startVPT(_ arguments: [String], home: URL, environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
    let process = Process()
    process.executableURL = vptBinary
    process.arguments = arguments + ["--home", home.path]
    var env = ProcessInfo.processInfo.environment
    env["VPT_FAULT"] = nil
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return (process, out, err)
}

func finish(_ started: (Process, Pipe, Pipe)) -> RunResult {
    let (process, out, err) = started
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let signaled = process.terminationReason == .uncaughtSignal
    return RunResult(
        status: process.terminationStatus, killedBySignal: signaled ? process.terminationStatus : nil,
        stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

import Foundation
import VPTContract
import VPTRuntime
import NIOCore
import NIOPosix

/// The process entry. For the data plane, NIO's event loops become Swift concurrency's executor
/// before any task runs: a request's handler then runs on the event loop that read it, instead of
/// hopping to the cooperative pool and back (two thread switches per request, and on a 2-core
/// machine four busy threads where two would do). Blocking work in handlers stays short (SQLite
/// point reads); Redis reads wait on the event loop without blocking it (RedisLoopClients).
@main
enum RuntimeEntry {
    static func main() {
        RuntimeLogHandler.bootstrap()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "data-plane" {
            // The loop count must be set before anything touches NIO's shared group. A config that
            // cannot be read here is reported by the command itself.
            NIOSingletons.groupLoopCountSuggestion = configuredEventLoops(arguments) ?? DataPlaneConfig.defaultEventLoops(cores: System.coreCount)
            if ProcessInfo.processInfo.environment["VPT_COOPERATIVE_POOL"] == nil {
                NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
            }
        }
        Task {
            await VPTRuntimeMain.main()
            exit(0)
        }
        dispatchMain()
    }

    /// `dataPlane.eventLoops` from the runtime.json named by `--config`, if set.
    static func configuredEventLoops(_ arguments: [String]) -> Int? {
        let path = arguments.firstIndex(of: "--config").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
            ?? arguments.first { $0.hasPrefix("--config=") }.map { String($0.dropFirst("--config=".count)) }
        guard let path, let loops = (try? RuntimeServices.loadConfig(path))?.dataPlane.eventLoops, loops > 0 else { return nil }
        return loops
    }
}

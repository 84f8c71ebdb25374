import Foundation
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
        if CommandLine.arguments.dropFirst().first == "data-plane", ProcessInfo.processInfo.environment["VPT_COOPERATIVE_POOL"] == nil {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        Task {
            await VPTRuntimeMain.main()
            exit(0)
        }
        dispatchMain()
    }
}

import NIOCore
import NIOPosix

/// Where a route runs: its connection's event loop. A route answers with a future of that loop;
/// one with async work to do starts it with `run`, which puts the task on the loop.
public struct RouteContext: Sendable {
    public let loop: any EventLoop
    /// The loop as a task executor, when the global executor is not NIO's (tests, tools embedding
    /// the server): a plain task would run on the cooperative pool, which blocking work may hold.
    let executor: EventLoopTaskExecutor?

    init(loop: any EventLoop, executor: EventLoopTaskExecutor?) {
        self.loop = loop
        self.executor = executor
    }

    /// The loop a caller from async code uses (tests, tools, the batch route): the one it runs on,
    /// or any loop of NIO's shared group when it runs off the loops.
    static var callersLoop: any EventLoop {
        MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
    }

    /// Runs `operation` as a task on the loop; its response completes the future.
    public func run(_ operation: @escaping @Sendable () async -> DataPlaneResponse) -> EventLoopFuture<DataPlaneResponse> {
        let promise = loop.makePromise(of: DataPlaneResponse.self)
        if let executor {
            Task(executorPreference: executor) { promise.succeed(await operation()) }
        } else {
            // The global executor is this loop already. NIO runs its jobs as the loop's serial
            // executor, so each call into a nonisolated async function goes round the loop's task
            // queue once; the loop as a task executor would avoid that, but measured 4 µs more CPU
            // per request (docs/benchmarks.md, "Eleventh session"). The serving route needs no task.
            Task { promise.succeed(await operation()) }
        }
        return promise.futureResult
    }
}

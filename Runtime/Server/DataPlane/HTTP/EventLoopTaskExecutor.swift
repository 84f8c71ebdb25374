import NIOCore

/// Runs a task's jobs on one NIO event loop, as a task executor: a route runs on the loop that read
/// its connection, never on a cooperative pool that blocking work holds, and its calls into
/// nonisolated async functions do not hop (the jobs run with the generic serial executor, which is
/// what those calls ask for).
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

import NIOCore

/// Runs a task's jobs on one NIO event loop. `vpt-runtime data-plane` makes NIO's loops the global
/// executor, so its routes run on their connection's loop without this; a process that does not
/// (tests, tools embedding the server) runs routes with this preference, so they never wait on a
/// cooperative pool that blocking work holds.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

import Foundation
import Logging
import ServiceLifecycle

/// Runs the scheduler's turns twice a second for the control plane's lifetime. On a graceful
/// shutdown the runners are stopped and their jobs wait for the next start.
public struct SchedulerService: Service {
    let scheduler: JobScheduler
    let logger: Logger
    let interval: Duration

    public init(scheduler: JobScheduler, logger: Logger, interval: Duration = .milliseconds(500)) {
        self.scheduler = scheduler
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        do {
            try await scheduler.recover()
        } catch {
            logger.error("could not recover the jobs of the previous run", metadata: ["error": "\(error)"])
        }
        // Shutdown cancels the sleep; that is the normal end, not an error.
        await cancelWhenGracefulShutdown {
            var lastError = ""
            while !Task.isCancelled {
                do {
                    try await scheduler.tick()
                    lastError = ""
                } catch {
                    // A locked metadata store (CMK disabled) fails every turn; say it once.
                    if "\(error)" != lastError { logger.error("scheduler turn failed", metadata: ["error": "\(error)"]) }
                    lastError = "\(error)"
                }
                try? await Task.sleep(for: interval)
            }
        }
        do {
            try await scheduler.shutdown()
        } catch {
            logger.error("could not record the interrupted jobs", metadata: ["error": "\(error)"])
        }
    }
}

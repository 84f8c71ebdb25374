import Foundation
import Testing

/// Runs each test of a suite on threads of its own instead of Swift concurrency's cooperative pool.
/// These tests wait on `vpt` processes, HTTP calls and sleeps synchronously, often for seconds; on
/// the pool (two threads on a 2-core machine) two such tests held every thread, and the async
/// tests of the other suites waited up to a minute and a half to start.
public struct OffCooperativePool: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(BlockingExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffCooperativePool {
    public static var offCooperativePool: Self { Self() }
}

/// A task executor that runs each job on a thread of its own. A dispatch queue would not do: its
/// threads are added one at a time while others block, so tests still waited for one.
public final class BlockingExecutor: TaskExecutor {
    public static let shared = BlockingExecutor()
    private static let marker = "vpt.tests.blocking"

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread {
            Thread.current.threadDictionary[Self.marker] = true
            job.runSynchronously(on: executor)
        }
        thread.start()
    }

    /// Whether the caller runs on one of this executor's threads.
    public static var isCurrent: Bool { Thread.current.threadDictionary[marker] as? Bool == true }
}

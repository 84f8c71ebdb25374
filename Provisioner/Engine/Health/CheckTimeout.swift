import Dispatch
import Foundation

/// Runs blocking work on a thread of its own and gives up waiting after a deadline. A check whose
/// tenant is frozen (SIGSTOP) blocks in a socket read; the report must not wait for it. The work
/// is not cancelled (blocking calls cannot be): it ends on its own socket timeout, and its late
/// result is dropped. Not a dispatch queue: libdispatch on Linux adds workers to a pool whose
/// threads all block only after about a second, which made every parallel check take a second.
enum CheckTimeout {
    static func run<T: Sendable>(seconds: Double, _ work: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let once = ResumeOnce(continuation)
            let thread = Thread { once.resume(work()) }
            thread.stackSize = 1 << 20
            thread.start()
            Task {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                once.resume(nil)
            }
        }
    }

    /// Resumes a continuation exactly once: the first of the work and the deadline wins.
    private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<T?, Never>?
        init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = continuation }
        func resume(_ value: T?) {
            lock.lock()
            let pending = continuation
            continuation = nil
            lock.unlock()
            pending?.resume(returning: value)
        }
    }
}

import NIOCore

extension EventLoopFuture {
    /// The future's value, awaited without leaving the caller's executor: NIO's `get()` first
    /// hops to the generic executor, which on an event loop is one more trip round its task queue.
    nonisolated(nonsending) func value() async throws -> Value where Value: Sendable {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Value, any Error>) in
            whenComplete { continuation.resume(with: $0) }
        }
    }
}

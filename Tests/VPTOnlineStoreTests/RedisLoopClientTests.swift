import Foundation
import NIOCore
import Testing
import VPTContract
@testable import VPTOnlineStore

#if canImport(Glibc)
    import Glibc
#endif

/// The serving path's Redis connections must not leave a request waiting forever.
@Suite struct RedisLoopClientTests {
    /// A TCP port that accepts connections (the kernel completes them in the backlog) and never answers.
    func silentListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound, "cannot listen on loopback")
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    func endpoint(_ port: Int) throws -> RedisEndpoint {
        try RedisEndpoint(config: StoreConfig(kind: "redis", account: "1", region: "r", location: "redis://127.0.0.1:\(port)/0", resource: "x", namespace: "vpt:t:"))
    }

    struct StillWaiting: Error {}

    /// `body`'s outcome, or `StillWaiting` after `seconds`: a read that hangs fails the test rather
    /// than hanging it (an event-loop future does not answer task cancellation).
    func outcome<T: Sendable>(within seconds: Double, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        let once = NSLock()
        nonisolated(unsafe) var resumed = false
        return await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
            @Sendable func finish(_ result: Result<T, any Error>) {
                once.withLock {
                    guard !resumed else { return }
                    resumed = true
                    continuation.resume(returning: result)
                }
            }
            Task {
                do { finish(.success(try await body())) } catch { finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                finish(.failure(StillWaiting()))
            }
        }
    }

    @Test func aServerThatNeverAnswersFailsTheReadAndTheNextReadTriesAgain() async throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let clients = RedisLoopClients(endpoint: try endpoint(port), timeout: .milliseconds(200))
        for attempt in 0..<2 {
            let result = await outcome(within: 20) { try await clients.send([Array("MGET".utf8), Array("k".utf8)]) }
            #expect(throws: RedisConnection.Failure.self, "attempt \(attempt)") { try result.get() }
        }
    }

    @Test func nothingListeningIsAConnectFailure() async throws {
        let (fd, port) = try silentListener()
        close(fd)  // the port is free again: connecting is refused
        let clients = RedisLoopClients(endpoint: try endpoint(port))
        await #expect {
            try await clients.send([Array("MGET".utf8), Array("k".utf8)])
        } throws: { error in
            guard case .connect(let message)? = error as? RedisConnection.Failure else { return false }
            return message.contains("127.0.0.1:\(port)")
        }
    }
}

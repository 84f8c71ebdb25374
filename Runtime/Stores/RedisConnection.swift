import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A reply of the Redis protocol (RESP2).
enum RESPValue: Equatable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8]?)
    case array([RESPValue]?)
}

/// One blocking connection to a Redis server, for the callers that are not on an event loop's
/// schedule: ingest writes (on NIO's blocking pool), audits, the store's open-time check. It rides
/// on a `RedisLoopClient` of its own, so plain TCP and TLS (`rediss://`) take the same path as the
/// serving reads; the caller's thread waits for the replies. Callers serialize use (the store holds
/// it in a pool); pipelined commands go out in one write.
final class RedisConnection: @unchecked Sendable {
    enum Failure: OnlineStoreUnavailable, CustomStringConvertible {
        case connect(String)
        case io(String)
        case tls(String)
        case protocolError(String)
        case server(String)
        var description: String {
            switch self {
            case .connect(let m): "cannot connect to redis: \(m)"
            case .io(let m): "redis connection failed: \(m)"
            case .tls(let m): "redis TLS failed: \(m)"
            case .protocolError(let m): "unexpected redis reply: \(m)"
            case .server(let m): "redis error: \(m)"
            }
        }
    }

    /// The loop the blocking connections' I/O runs on. It is not one of the data plane's serving
    /// loops: a caller may be on one of those, and a thread must never wait on its own loop.
    private static let ioGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private let client: RedisLoopClient

    /// Connects and logs in (AUTH, SELECT) now, so that a wrong endpoint, certificate or password
    /// fails here; every reply after that may take up to `timeout`.
    init(endpoint: RedisEndpoint, timeout: TimeAmount = .seconds(5)) throws {
        let loop = Self.ioGroup.next()
        let client = RedisLoopClient(loop: loop, endpoint: endpoint, timeout: timeout)
        self.client = client
        try Self.wait(for: loop.flatSubmit { client.connected() })
    }

    deinit { client.close() }

    /// Sends commands in one write and reads one reply per command.
    func pipeline(_ commands: [[[UInt8]]]) throws -> [RESPValue] {
        let client = client
        return try Self.wait(
            for: client.loop.flatSubmit {
                EventLoopFuture.whenAllSucceed(commands.map { client.send($0) }, on: client.loop)
            })
    }

    /// When the TLS server's certificate stops being valid; nil over plain TCP.
    func serverCertificateExpiry() throws -> Date? {
        let client = client
        return try Self.wait(for: client.loop.submit { client.serverCertificateExpiry })
    }

    /// One command; a server error becomes `Failure.server`.
    func command(_ arguments: [[UInt8]]) throws -> RESPValue {
        let value = try pipeline([arguments])[0]
        if case .error(let message) = value { throw Failure.server(message) }
        return value
    }

    /// Blocks the calling thread until `future` completes. Not `EventLoopFuture.wait()`, which
    /// refuses any event-loop thread: a caller on a serving loop may wait here, because the I/O
    /// runs on `ioGroup`, never on the waiting thread.
    private static func wait<T: Sendable>(for future: EventLoopFuture<T>) throws -> T {
        precondition(!future.eventLoop.inEventLoop, "a blocking redis call on its own I/O loop would never finish")
        let done = ConditionLock(value: false)
        let outcome = NIOLockedValueBox<Result<T, any Error>?>(nil)
        future.whenComplete { result in
            outcome.withLockedValue { $0 = result }
            done.lock()
            done.unlock(withValue: true)
        }
        done.lock(whenValue: true)
        done.unlock()
        return try outcome.withLockedValue { $0! }.get()
    }
}

import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Redis reads for the serving path, on the event loop that serves the request: one connection per
/// event loop, commands written as they come (so concurrent requests pipeline on it) and replies
/// matched in order. The request's task never leaves its thread, where a pool of blocking
/// connections or an I/O thread costs two thread wake-ups per read.
///
/// A connection that fails, closes, or leaves a reply unanswered for `timeout` fails every read
/// waiting on it; the next read connects again.
final class RedisLoopClients: @unchecked Sendable {
    private let endpoint: RedisEndpoint
    private let group: any EventLoopGroup
    private let lock = NSLock()
    private var clients: [ObjectIdentifier: RedisLoopClient] = [:]
    /// How long a reply may take before its connection is given up.
    let timeout: TimeAmount

    init(
        endpoint: RedisEndpoint, timeout: TimeAmount = .seconds(5),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.group = group
    }

    deinit {
        for client in clients.values { client.close() }
    }

    /// The loop whose connection a caller on this thread uses: its own, or any one off the loops.
    var currentLoop: any EventLoop { MultiThreadedEventLoopGroup.currentEventLoop ?? group.any() }

    /// Sends `command` on `loop`'s connection; the reply completes the future on `loop`.
    func send(_ command: [[UInt8]], on loop: any EventLoop) -> EventLoopFuture<RESPValue> {
        let client = self.client(for: loop)
        if loop.inEventLoop { return client.send(command) }
        return loop.flatSubmit { client.send(command) }
    }

    /// Sends `command` on the current event loop's connection (any loop's, off the loops).
    func send(_ command: [[UInt8]]) async throws -> RESPValue {
        try await send(command, on: currentLoop).get()
    }

    private func client(for loop: any EventLoop) -> RedisLoopClient {
        lock.withLock {
            if let client = clients[ObjectIdentifier(loop)] { return client }
            let client = RedisLoopClient(loop: loop, endpoint: endpoint, timeout: timeout)
            clients[ObjectIdentifier(loop)] = client
            return client
        }
    }
}

/// One event loop's connection. All state is touched on `loop` only.
final class RedisLoopClient: @unchecked Sendable {
    let loop: any EventLoop
    private let endpoint: RedisEndpoint
    private let timeout: TimeAmount
    private var channel: (any Channel)?
    private var connecting: EventLoopFuture<any Channel>?
    /// Replies not yet received, oldest first, with when each command was written.
    private var waiting = CircularBuffer<(promise: EventLoopPromise<RESPValue>, sent: NIODeadline)>()
    private var watchdog: RepeatedTask?
    /// A flush is queued behind the loop's current tasks: the reads of every request handled in
    /// this pass go out in one write (and reach redis-server as one read), not one syscall each.
    private var flushQueued = false
    /// When the TLS server's certificate on the current connection stops being valid (nil over
    /// plain TCP), for health checks to warn before it does.
    private(set) var serverCertificateExpiry: Date?

    init(loop: any EventLoop, endpoint: RedisEndpoint, timeout: TimeAmount) {
        self.loop = loop
        self.endpoint = endpoint
        self.timeout = timeout
    }

    func close() {
        loop.execute { [self] in
            watchdog?.cancel()
            channel?.close(promise: nil)
        }
    }

    func send(_ command: [[UInt8]]) -> EventLoopFuture<RESPValue> {
        loop.preconditionInEventLoop()
        let promise = loop.makePromise(of: RESPValue.self)
        if let channel {
            write(command, promise, on: channel)
        } else {
            connect().whenComplete { [self] result in
                switch result {
                case .success(let channel): write(command, promise, on: channel)
                case .failure(let error): promise.fail(error)
                }
            }
        }
        return promise.futureResult
    }

    private func write(_ command: [[UInt8]], _ promise: EventLoopPromise<RESPValue>, on channel: any Channel) {
        guard channel.isActive, self.channel === channel else {
            return promise.fail(RedisConnection.Failure.io("the connection closed"))
        }
        var buffer = channel.allocator.buffer(capacity: 64 + command.reduce(0) { $0 + $1.count + 16 })
        RESPParser.write(command, to: &buffer)
        waiting.append((promise, .now()))
        channel.write(buffer, promise: nil)
        guard !flushQueued else { return }
        flushQueued = true
        loop.execute { [self] in
            flushQueued = false
            channel.flush()
        }
    }

    /// Connects now, if not connected yet: a caller that wants a bad endpoint or login to fail up
    /// front, before its first command.
    func connected() -> EventLoopFuture<Void> {
        loop.preconditionInEventLoop()
        if channel != nil { return loop.makeSucceededVoidFuture() }
        return connect().map { _ in }
    }

    /// One connection attempt shared by the reads that arrive while it is under way; the handshake
    /// (AUTH, SELECT) goes first on the new connection.
    private func connect() -> EventLoopFuture<any Channel> {
        if let connecting { return connecting }
        let endpoint = endpoint
        let future = ClientBootstrap(group: loop)
            .connectTimeout(Self.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = try endpoint.tlsHandler() { try channel.pipeline.syncOperations.addHandler(tls) }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPReplyDecoder()), RedisReplyHandler(client: self))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMap { [self] channel -> EventLoopFuture<any Channel> in
                self.channel = channel
                startWatchdog()
                let replies = endpoint.handshake.map { command in
                    let reply = loop.makePromise(of: RESPValue.self)
                    write(command, reply, on: channel)
                    return reply.futureResult
                }
                return EventLoopFuture.whenAllSucceed(replies, on: loop).flatMapThrowing { replies in
                    for case .error(let message) in replies {
                        channel.close(promise: nil)
                        throw RedisEndpoint.handshakeFailure(message, endpoint: endpoint)
                    }
                    // The login was answered, so the TLS handshake is done and the certificate known.
                    self.serverCertificateExpiry = (try? channel.pipeline.syncOperations.nioSSL_peerCertificate())?
                        .map { Date(timeIntervalSince1970: TimeInterval($0.notValidAfter)) }
                    return channel
                }
            }
            .flatMapErrorThrowing { error in
                throw Self.setupFailure(error, endpoint: endpoint)
            }
        connecting = future
        future.whenComplete { [self] _ in connecting = nil }
        return future
    }

    static let connectTimeout = TimeAmount.seconds(2)

    /// A failure while connecting and logging in, said so that the operator knows what to change.
    /// A connection closed before the login was answered is most often a TLS server reached over
    /// `redis://`, or the reverse, or a server that verifies its clients reached without a certificate.
    static func setupFailure(_ error: any Error, endpoint: RedisEndpoint) -> any Error {
        switch error {
        case RedisConnection.Failure.tls(let message):
            return RedisConnection.Failure.connect(
                "the TLS handshake with \(endpoint.host):\(endpoint.port) failed (\(message)); check the server's certificate against the store's caFile")
        case RedisConnection.Failure.io(let message):
            // With TLS 1.3 a server that wants a client certificate says so only by closing.
            let hint =
                endpoint.tls == nil
                ? "does the server expect TLS (rediss://)?"
                : endpoint.presentsClientCertificate
                    ? "does the server's CA sign the certificate in the store's clientCertFile?"
                    : "does the server speak TLS on this port (else use redis://), and does it verify its clients "
                        + "(then name the tenant's certificate in clientCertFile and clientKeyFile)?"
            return RedisConnection.Failure.connect("\(endpoint) closed the connection before the login was answered (\(message)); \(hint)")
        case is RedisConnection.Failure, is OnlineStoreError:
            return error
        default:
            return RedisConnection.Failure.connect("\(endpoint.host):\(endpoint.port): \(error)")
        }
    }

    /// Closes a connection whose oldest reply is overdue; closing fails everything waiting on it.
    private func startWatchdog() {
        guard watchdog == nil else { return }
        let period = min(timeout, .seconds(1))
        watchdog = loop.scheduleRepeatedTask(initialDelay: period, delay: period) { [self] _ in
            if let oldest = waiting.first, oldest.sent + timeout < .now() {
                channel?.close(promise: nil)
            }
        }
    }

    func received(_ reply: RESPValue, from channel: any Channel) {
        guard let next = waiting.popFirst() else {
            // A reply nobody asked for: the stream is out of step, so start over.
            return channel.close(promise: nil)
        }
        next.promise.succeed(reply)
    }

    func closed(_ channel: any Channel, error: (any Error)?) {
        if self.channel === channel { self.channel = nil }
        let failure: RedisConnection.Failure =
            if let error = error as? NIOSSLError { .tls("\(error)") } else { .io(error.map { "\($0)" } ?? "the connection closed") }
        while let next = waiting.popFirst() { next.promise.fail(failure) }
    }
}

struct RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try RESPParser.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

final class RedisReplyHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue
    private let client: RedisLoopClient
    private var failure: (any Error)?

    init(client: RedisLoopClient) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.received(Self.unwrapInboundIn(data), from: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failure = error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.closed(context.channel, error: failure)
        context.fireChannelInactive()
    }
}

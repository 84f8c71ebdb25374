import Foundation
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The data plane's HTTP/1.1 server (HTTPS when the tenant has TLS): NIO's HTTP pipeline with
/// `DataPlaneHTTPHandler` at its end. On graceful shutdown it stops accepting, lets each open
/// connection finish the response it is writing, and returns once all have closed.
public struct DataPlaneHTTPServer: Service {
    /// How long a shutdown waits for open connections to finish.
    static let drainTimeout = TimeAmount.seconds(10)

    /// A route as async code: it runs as a task on the connection's loop.
    public typealias Responder = @Sendable (DataPlaneRequest) async -> DataPlaneResponse
    /// A route that answers on the connection's loop with a future of that loop: no task, unless
    /// the route starts one (`RouteContext.run`).
    public typealias LoopResponder = @Sendable (DataPlaneRequest, RouteContext) -> EventLoopFuture<DataPlaneResponse>

    let host: String
    let port: Int
    let tls: TLSConfiguration?
    let serverName: String
    let idleTimeout: TimeAmount
    let maxBodyBytes: Int
    let connectionLimit: ConnectionLimit
    let logger: Logger
    let respond: LoopResponder
    let onRefusal: DataPlaneHTTPHandler.RefusalObserver
    let onListening: (@Sendable (Int) -> Void)?

    /// - Parameters:
    ///   - port: 0 picks a free port; `onListening` receives the one bound.
    ///   - idleTimeout: a keep-alive connection with no request for this long is closed.
    ///   - maxBodyBytes: a larger request body is answered with 413 and never reaches `respond`.
    ///   - connectionLimit: at most this many connections are open at once (see `ConnectionLimit`).
    ///   - onRefusal: told of each such 413 (path, status, seconds), for metrics.
    public init(
        host: String = "127.0.0.1", port: Int, tls: TLSConfiguration? = nil, serverName: String, idleTimeout: TimeAmount = .seconds(300),
        maxBodyBytes: Int = JSONBody.maxRequestBytes, connectionLimit: ConnectionLimit = ConnectionLimit(), logger: Logger, onListening: (@Sendable (Int) -> Void)? = nil,
        onRefusal: @escaping @Sendable (_ path: String, _ status: Int, _ seconds: Double) -> Void = { _, _, _ in },
        respondOnLoop: @escaping LoopResponder
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.serverName = serverName
        self.idleTimeout = idleTimeout
        self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit
        self.logger = logger
        self.onListening = onListening
        self.onRefusal = onRefusal
        self.respond = respondOnLoop
    }

    /// A server whose routes are async code, each request a task on its connection's loop.
    public init(
        host: String = "127.0.0.1", port: Int, tls: TLSConfiguration? = nil, serverName: String, idleTimeout: TimeAmount = .seconds(300),
        maxBodyBytes: Int = JSONBody.maxRequestBytes, connectionLimit: ConnectionLimit = ConnectionLimit(), logger: Logger, onListening: (@Sendable (Int) -> Void)? = nil,
        onRefusal: @escaping @Sendable (_ path: String, _ status: Int, _ seconds: Double) -> Void = { _, _, _ in },
        respond: @escaping Responder
    ) {
        self.init(
            host: host, port: port, tls: tls, serverName: serverName, idleTimeout: idleTimeout, maxBodyBytes: maxBodyBytes,
            connectionLimit: connectionLimit, logger: logger, onListening: onListening, onRefusal: onRefusal,
            respondOnLoop: { request, route in route.run { await respond(request) } })
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let quiesce = ServerQuiescingHelper(group: group)
        // Is NIO the global executor (as `vpt-runtime data-plane` makes it)? Then a plain task
        // started on a loop runs on that loop; otherwise routes ask for the loop explicitly.
        let globalIsEventLoop = await Task.detached { MultiThreadedEventLoopGroup.currentEventLoop != nil }.value
        let (respond, onRefusal, serverName, idleTimeout, maxBodyBytes, connectionLimit) = (
            self.respond, self.onRefusal, self.serverName, self.idleTimeout, self.maxBodyBytes, self.connectionLimit
        )
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // One accept per read, so that the connection limit is exact.
            .serverChannelOption(.maxMessagesPerRead, value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionLimitHandler(limit: connectionLimit))
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext { try pipeline.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    // DataPlaneHTTPHandler queues pipelined requests (and keeps reading while it answers)
                    // and answers parse errors in their turn.
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
                    try pipeline.addHandler(DataPlaneHTTPHandler(
                            maxBodyBytes: maxBodyBytes, serverName: serverName, routesNeedLoopPreference: !globalIsEventLoop,
                            onRefusal: onRefusal, respond: respond))
                }
            }
            .bind(host: host, port: port).get()
        logger.info(
            "data plane listening",
            metadata: [
                "address": "\(host):\(channel.localAddress?.port ?? port)", "tls": "\(tls != nil)",
                "event_loops": "\(NIOSingletons.groupLoopCountSuggestion)", "max_connections": "\(connectionLimit.maximum)",
            ])
        onListening?(channel.localAddress?.port ?? port)
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            quiesce.initiateShutdown(promise: nil)
        }
        // The listener is closed. Open connections finish the response they are writing (a route
        // stuck on its store gets `drainTimeout`), then the service returns.
        let loop = group.next()
        let drained = loop.makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: drained)
        let bounded = loop.makePromise(of: Void.self)
        drained.futureResult.cascade(to: bounded)
        let timer = loop.scheduleTask(in: Self.drainTimeout) { bounded.succeed(()) }
        _ = try? await bounded.futureResult.get()
        timer.cancel()
    }
}

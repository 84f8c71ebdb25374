import Foundation
import NIOCore
import NIOHTTP1

/// One connection's requests, behind NIO's HTTP/1.1 decoder and encoder; requests that do not
/// parse are answered here with the documented 400 body. The body is gathered on the event loop;
/// the route runs on the same loop (answering with a future, or as a task it starts there), and
/// its response is written when the future completes.
///
/// Pipelined requests are queued here and answered in order, rather than by NIO's pipelining
/// handler: that one stops reading while a response is pending, which costs two `epoll_ctl` calls
/// before every response even when nothing is pipelined. Reading stops only when more than
/// `maxQueued` requests wait.
///
/// Why not Hummingbird here: its async channel bridge costs about 60 µs of CPU per request at
/// half load on this class of machine, twice what a get-features read itself costs (see
/// docs/benchmarks.md). The control plane, where requests are rare, keeps Hummingbird.
final class DataPlaneHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    typealias Responder = DataPlaneHTTPServer.LoopResponder
    /// Told of each request the handler answers itself, so metrics count what never reached a
    /// route: a 413 with its path and the seconds from its head to the answer, or a 400 for bytes
    /// that are not HTTP, with an empty path and zero seconds.
    typealias RefusalObserver = @Sendable (_ path: String, _ status: Int, _ seconds: Double) -> Void

    /// Pipelined requests waiting for the one in flight; past this many the connection stops reading.
    static let maxQueued = 16

    /// The request being read.
    private enum Incoming {
        case none
        case reading(HTTPRequestHead, body: ByteBuffer?)
        /// The body passed the limit: it is read and dropped, then 413 is sent and the connection closes.
        case discarding(HTTPRequestHead, since: NIODeadline)
    }

    /// A request read in full, waiting for its turn.
    private enum Ready {
        case route(HTTPRequestHead, body: ByteBuffer?)
        case refuse(HTTPRequestHead, since: NIODeadline)
        /// Bytes that are not HTTP/1.1: answered with 400 in their turn, then the connection closes.
        case malformed(HTTPParserError)
    }

    private let respond: Responder
    private let onRefusal: RefusalObserver
    private let maxBodyBytes: Int
    private let serverName: String
    private var incoming = Incoming.none
    private var queue = CircularBuffer<Ready>()
    /// A route runs or its response is being written.
    private var inFlight = false
    /// The server is shutting down: close once the request in flight is answered.
    private var quiescing = false
    private var readingPaused = false
    private var date = HTTPDateHeader()
    private var active = true
    private var loopExecutor: EventLoopTaskExecutor?

    /// Whether a plain task would leave the loop (the global executor is not NIO's): then the route
    /// runs with the loop as its task executor preference, which costs a little per suspension.
    private let routesNeedLoopPreference: Bool

    init(
        maxBodyBytes: Int, serverName: String, routesNeedLoopPreference: Bool, onRefusal: @escaping RefusalObserver,
        respond: @escaping Responder
    ) {
        self.routesNeedLoopPreference = routesNeedLoopPreference
        self.onRefusal = onRefusal
        self.respond = respond
        self.maxBodyBytes = maxBodyBytes
        self.serverName = serverName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let length = head.headers.first(name: "content-length").flatMap(Int.init)
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                if let length, length > maxBodyBytes {
                    incoming = .none
                    ready(.refuse(head, since: .now()), context: context)  // refused before the client sends the body
                    return
                }
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            if let length, length > maxBodyBytes {
                incoming = .discarding(head, since: .now())
            } else {
                incoming = .reading(head, body: nil)
            }
        case .body(var chunk):
            guard case .reading(let head, var body) = incoming else { return }
            incoming = .none  // leaves `body` the only reference, so appending does not copy
            if (body?.readableBytes ?? 0) + chunk.readableBytes > maxBodyBytes {
                incoming = .discarding(head, since: .now())
            } else if body == nil {
                incoming = .reading(head, body: chunk)
            } else {
                body!.writeBuffer(&chunk)
                incoming = .reading(head, body: body)
            }
        case .end:
            switch incoming {
            case .none:
                return  // the end of a request already refused with an early 413
            case .reading(let head, let body):
                incoming = .none
                ready(.route(head, body: body), context: context)
            case .discarding(let head, let since):
                incoming = .none
                ready(.refuse(head, since: since), context: context)
            }
        }
    }

    /// Answers `request` now, or queues it behind the one in flight.
    private func ready(_ request: Ready, context: ChannelHandlerContext) {
        guard inFlight else { return start(request, context: context) }
        queue.append(request)
        if queue.count > Self.maxQueued, !readingPaused {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    private func start(_ request: Ready, context: ChannelHandlerContext) {
        inFlight = true
        switch request {
        case .refuse(let head, let since):
            let message = "the request body is larger than \(maxBodyBytes) bytes"
            let response = DataPlaneResponse.error(APIError(.contentTooLarge, message))
            onRefusal(DataPlaneRequest.path(of: head.uri), Int(response.status.code), Double((NIODeadline.now() - since).nanoseconds) / 1e9)
            write(response, for: head, keepAlive: false, context: context)
        case .malformed(let error):
            let response = DataPlaneResponse.error(APIError.badRequest("the request is not valid HTTP/1.1 (\(error))"))
            onRefusal("", Int(response.status.code), 0)
            write(response, for: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/"), keepAlive: false, context: context)
        case .route(let head, let body):
            let request = DataPlaneRequest(method: head.method, uri: head.uri, headers: head.headers, body: body ?? ByteBuffer())
            let loop = context.eventLoop
            let route = RouteContext(loop: loop, executor: routesNeedLoopPreference ? executor(for: loop) : nil)
            // The future is of the connection's loop unless the route hopped elsewhere (say, a store
            // on another loop); its callback then runs here, where the handler lives.
            respond(request, route).hop(to: loop).assumeIsolated().whenComplete { result in
                let response: DataPlaneResponse
                switch result {
                case .success(let answer): response = answer
                case .failure: response = .error(APIError(.internalServerError, "the request failed unexpectedly"))
                }
                self.write(response, for: head, keepAlive: head.isKeepAlive, context: context)
            }
        }
    }

    private func write(_ response: DataPlaneResponse, for request: HTTPRequestHead, keepAlive requested: Bool, context: ChannelHandlerContext) {
        guard active else { return }
        let keepAlive = requested && !quiescing
        var head = HTTPResponseHead(version: request.version, status: response.status, headers: response.headers)
        head.headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        head.headers.replaceOrAdd(name: "date", value: date.value())
        head.headers.replaceOrAdd(name: "server", value: serverName)
        if !keepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        } else if request.version.major == 1, request.version.minor == 0 {
            head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if response.body.readableBytes > 0, request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        guard keepAlive else {
            // Requests pipelined behind this one go unanswered: the client retries them elsewhere.
            queue.removeAll()
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        inFlight = false
        if let next = queue.popFirst() {
            start(next, context: context)
        }
        if readingPaused, queue.count <= Self.maxQueued / 2 {
            readingPaused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        }
    }

    /// The connection's loop as a task executor, made once per connection.
    private func executor(for loop: any EventLoop) -> EventLoopTaskExecutor {
        if let loopExecutor { return loopExecutor }
        let made = EventLoopTaskExecutor(loop)
        loopExecutor = made
        return made
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        context.fireChannelInactive()
    }

    /// Nothing is being read, run or waiting.
    private var isIdle: Bool {
        if case .none = incoming, !inFlight, queue.isEmpty { return true }
        return false
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A connection with nothing read for the timeout is closed, between requests or stalled in
        // the middle of one (a client trickling a request holds no connection forever); one whose
        // route is running, or whose requests wait behind it, is not.
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if !inFlight, queue.isEmpty { context.close(promise: nil) }
            return
        }
        // Graceful shutdown: an idle connection closes now, a busy one after its current response.
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if isIdle { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A parse error is answered in order, after the requests read before it (NIO's own error
    /// handler would answer at once, ahead of a response still being prepared). Anything else
    /// closes the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.close(promise: nil)
            return
        }
        incoming = .none
        ready(.malformed(error), context: context)
    }
}

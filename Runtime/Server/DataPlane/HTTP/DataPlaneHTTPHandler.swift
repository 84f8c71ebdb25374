import Foundation
import NIOCore
import NIOHTTP1

/// One connection's requests, behind NIO's HTTP/1.1 server pipeline (which parses, answers
/// malformed requests with 400 and holds pipelined requests until the previous response ends).
/// The body is gathered on the event loop; the route runs as a task on the same loop, and its
/// response is written when it completes.
///
/// Why not Hummingbird here: its async channel bridge costs about 60 µs of CPU per request at
/// half load on this class of machine, twice what a get-features read itself costs (see
/// docs/benchmarks.md). The control plane, where requests are rare, keeps Hummingbird.
final class DataPlaneHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    typealias Responder = @Sendable (DataPlaneRequest) async -> DataPlaneResponse
    /// Told of each request the handler answers itself (a 413), with its path and the seconds from
    /// its head to the answer, so metrics count what never reached a route.
    typealias RefusalObserver = @Sendable (_ path: String, _ status: Int, _ seconds: Double) -> Void

    private enum State {
        case idle
        case reading(HTTPRequestHead, body: ByteBuffer?)
        /// The body passed the limit: it is read and dropped, then 413 is sent and the connection closes.
        case discarding(HTTPRequestHead, since: NIODeadline)
        case responding
    }

    private let respond: Responder
    private let onRefusal: RefusalObserver
    private let maxBodyBytes: Int
    private let serverName: String
    private var state = State.idle
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
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                    state = .discarding(head, since: .now())
                    finish(context: context)  // refused before the client sends the body
                    return
                }
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                state = .discarding(head, since: .now())
            } else {
                state = .reading(head, body: nil)
            }
        case .body(var chunk):
            guard case .reading(let head, var body) = state else { return }
            state = .responding  // leaves `body` the only reference, so appending does not copy
            if (body?.readableBytes ?? 0) + chunk.readableBytes > maxBodyBytes {
                state = .discarding(head, since: .now())
            } else if body == nil {
                state = .reading(head, body: chunk)
            } else {
                body!.writeBuffer(&chunk)
                state = .reading(head, body: body)
            }
        case .end:
            finish(context: context)
        }
    }

    private func finish(context: ChannelHandlerContext) {
        switch state {
        case .idle, .responding:
            return
        case .discarding(let head, let since):
            state = .responding
            let message = "the request body is larger than \(maxBodyBytes) bytes"
            let response = DataPlaneResponse.error(APIError(.contentTooLarge, message))
            onRefusal(DataPlaneRequest.path(of: head.uri), Int(response.status.code), Double((NIODeadline.now() - since).nanoseconds) / 1e9)
            write(response, for: head, keepAlive: false, context: context)
        case .reading(let head, let body):
            state = .responding
            let request = DataPlaneRequest(method: head.method, uri: head.uri, headers: head.headers, body: body ?? ByteBuffer())
            let promise = context.eventLoop.makePromise(of: DataPlaneResponse.self)
            let respond = self.respond
            if routesNeedLoopPreference {
                Task(executorPreference: executor(for: context.eventLoop)) { promise.succeed(await respond(request)) }
            } else {
                promise.completeWithTask { await respond(request) }  // the global executor is this loop already
            }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.write(response, for: head, keepAlive: head.isKeepAlive, context: context)
            }
        }
    }

    private func write(_ response: DataPlaneResponse, for request: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext) {
        state = .idle
        guard active else { return }
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
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // An idle connection between requests is closed; one waiting on its response is not.
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, case .idle = state {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

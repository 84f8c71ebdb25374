import NIOCore
import Synchronization

/// At most `maximum` open connections to one data plane. At the limit the listener stops
/// accepting: a new connection waits in the kernel's listen backlog until an open one closes, and
/// the open ones are served as before. One client that opens connections without end then cannot
/// take the process's file descriptors, which its store connections and log files also need.
public final class ConnectionLimit: Sendable {
    public let maximum: Int
    private let open = Atomic<Int>(0)
    private let reached = Atomic<Int>(0)

    /// The runtime's default when the spec sets none (`dataPlane.maxConnections`).
    public static let defaultMaximum = 10_000

    public init(maximum: Int = ConnectionLimit.defaultMaximum) {
        self.maximum = max(1, maximum)
    }

    public var openConnections: Int { open.load(ordering: .relaxed) }
    /// How many times the listener paused because every allowed connection was open.
    public var timesReached: Int { reached.load(ordering: .relaxed) }

    func opened() { open.add(1, ordering: .relaxed) }
    func closed() { open.subtract(1, ordering: .relaxed) }
    var isFull: Bool { openConnections >= maximum }
    func noteReached() { reached.add(1, ordering: .relaxed) }

    /// The connection gauges and the pause counter, in Prometheus text.
    public func prometheusText() -> String {
        [
            "# HELP vpt_open_connections Connections open to the data plane.", "# TYPE vpt_open_connections gauge",
            "vpt_open_connections \(openConnections)",
            "# HELP vpt_max_connections Connections the data plane keeps open at most.", "# TYPE vpt_max_connections gauge",
            "vpt_max_connections \(maximum)",
            "# HELP vpt_connection_limit_reached_total Times the listener stopped accepting at the connection limit.",
            "# TYPE vpt_connection_limit_reached_total counter", "vpt_connection_limit_reached_total \(timesReached)",
        ].joined(separator: "\n") + "\n"
    }
}

/// The listener's side of `ConnectionLimit`, first in the server channel's pipeline: it counts each
/// accepted connection until it closes, and holds back the listener's reads (accepts) while the
/// limit is reached.
final class ConnectionLimitHandler: ChannelDuplexHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel
    typealias OutboundIn = Never
    typealias OutboundOut = Never

    private let limit: ConnectionLimit
    /// A read was held back; the next close below the limit lets it through.
    private var holding = false

    init(limit: ConnectionLimit) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        limit.opened()
        // The child closes on its own loop; the bookkeeping below belongs to the listener's.
        let listener = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        child.closeFuture.hop(to: context.eventLoop).whenComplete { _ in
            let (handler, context) = listener.value
            handler.limit.closed()
            if handler.holding, !handler.limit.isFull {
                handler.holding = false
                context.read()
            }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        guard !limit.isFull else {
            if !holding { limit.noteReached() }
            holding = true
            return
        }
        context.read()
    }
}

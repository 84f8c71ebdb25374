import Foundation
import Logging
import NIOCore
import Synchronization
import Testing
import VPTContract
import VPTOnlineStore
import VPTTestSupport
@testable import VPTRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// The data plane's HTTP server on a real loopback port, spoken to over a plain socket so that
/// keep-alive, pipelining, closes and partial requests are exactly what the test writes.
@Suite(.offCooperativePool) struct DataPlaneHTTPServerTests {
    /// A running server; `stop()` cancels it and waits for `run()` to return.
    final class Running: Sendable {
        let port: Int
        let task: Task<Void, any Error>
        let counter: Counter
        /// How many requests reached the route.
        var calls: Int { counter.value.withLock { $0 } }

        init(port: Int, task: Task<Void, any Error>, counter: Counter) {
            self.port = port
            self.task = task
            self.counter = counter
        }

        func stop() async throws {
            task.cancel()
            try await task.value
        }
    }

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    /// Starts a server whose route echoes `METHOD PATH BODY` (or answers `respond`), on a free port.
    static func start(
        maxBodyBytes: Int = 1024, idleTimeout: TimeAmount = .seconds(300), connectionLimit: ConnectionLimit = ConnectionLimit(),
        respond: DataPlaneHTTPServer.Responder? = nil,
        onRefusal: @escaping @Sendable (String, Int, Double) -> Void = { _, _, _ in }
    ) async throws -> Running {
        let counter = Counter()
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let echo: DataPlaneHTTPServer.Responder = { request in
            DataPlaneResponse.text("\(request.method.rawValue) \(request.path) \(String(buffer: request.body))")
        }
        let route = respond ?? echo
        let server = DataPlaneHTTPServer(
            port: 0, serverName: "vpt-test", idleTimeout: idleTimeout, maxBodyBytes: maxBodyBytes, connectionLimit: connectionLimit,
            logger: Logger(label: "test"),
            onListening: { continuation.yield($0) }, onRefusal: onRefusal
        ) { request in
            counter.value.withLock { $0 += 1 }
            return await route(request)
        }
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return Running(port: port, task: task, counter: counter)
    }

    @Test func keepAliveAndPipelinedRequestsAreAnsweredInOrderOnOneConnection() async throws {
        let server = try await Self.start()
        let connection = try RawConnection(port: server.port)
        try connection.send(
            "POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\none"
                + "POST /b?q=1 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n")
        let first = try connection.readResponse()
        let second = try connection.readResponse()
        #expect(first.status == 200 && first.body == "POST /a one")
        #expect(second.status == 200 && second.body == "POST /b two", "the query string is not part of the path")
        #expect(first.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(first.headers["server"] == "vpt-test")
        #expect(first.headers["date"]?.hasSuffix(" GMT") == true)
        #expect(first.headers["connection"] == nil)
        try connection.send("GET /c HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(try connection.readResponse().body == "GET /c ")
        try await server.stop()
    }

    /// At the connection limit the listener stops accepting: a third connection waits (its request
    /// unanswered) while two are open, and is served once one of them closes; the open ones are
    /// served throughout.
    @Test func atTheConnectionLimitANewConnectionWaitsUntilOneCloses() async throws {
        let limit = ConnectionLimit(maximum: 2)
        let server = try await Self.start(connectionLimit: limit)
        var first: RawConnection? = try RawConnection(port: server.port)
        let second = try RawConnection(port: server.port)
        for connection in [first!, second] {
            try connection.send("GET /open HTTP/1.1\r\nhost: x\r\n\r\n")
            #expect(try connection.readResponse().body == "GET /open ")
        }
        #expect(limit.openConnections == 2)
        // The kernel completes the handshake from its backlog; nothing reads the request yet.
        let third = try RawConnection(port: server.port, timeout: 0.5)
        try third.send("GET /waiting HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(throws: RawConnection.Failure.timedOut) { try third.readResponse() }
        try second.send("GET /still HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(try second.readResponse().body == "GET /still ", "open connections are served at the limit")
        #expect(limit.timesReached >= 1)
        first = nil  // closes it
        third.setTimeout(5)
        #expect(try third.readResponse().body == "GET /waiting ", "the waiting connection is accepted once one closes")
        #expect(limit.openConnections == 2)
        let metrics = limit.prometheusText()
        #expect(metrics.contains("vpt_open_connections 2\n") && metrics.contains("vpt_max_connections 2\n"), "\(metrics)")
        #expect(metrics.contains("vpt_connection_limit_reached_total \(limit.timesReached)"))
        try await server.stop()
    }

    @Test func aHighConnectionLimitRaisesTheSoftFileLimitOrShrinksToTheHardOne() {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let hard = Int(min(limit.rlim_max, rlim_t(Int.max)))
        let granted = FileDescriptorLimit.connections(wanted: 5_000)
        #expect(granted == min(5_000, hard - FileDescriptorLimit.reserve))
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #expect(Int(min(limit.rlim_cur, rlim_t(Int.max))) >= granted + FileDescriptorLimit.reserve, "the soft limit covers the connections")
    }

    /// More pipelined requests than the handler queues: it stops reading until the queue drains,
    /// then reads on, and every request is answered in order. A slow first route makes them queue.
    @Test func deepPipeliningPausesReadingAndAnswersEveryRequestInOrder() async throws {
        let count = DataPlaneHTTPHandler.maxQueued * 3
        let server = try await Self.start { request in
            if request.path == "/0" { try? await Task.sleep(for: .milliseconds(300)) }
            return .text("answer \(request.path) \(String(buffer: request.body))")
        }
        let connection = try RawConnection(port: server.port)
        try connection.send((0..<count).map { "POST /\($0) HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n\(String(format: "%02d", $0 % 100))" }.joined())
        for index in 0..<count {
            #expect(try connection.readResponse().body == "answer /\(index) \(String(format: "%02d", index % 100))")
        }
        try connection.send("GET /after HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(try connection.readResponse().body == "answer /after ", "reading resumed once the queue drained")
        #expect(server.calls == count + 1)
        try await server.stop()
    }

    /// A pipelined request behind a `connection: close` one is not answered: the connection closes
    /// after the response that asked for it.
    @Test func requestsBehindAConnectionCloseAreDropped() async throws {
        let server = try await Self.start { request in
            if request.path == "/first" { try? await Task.sleep(for: .milliseconds(200)) }
            return .text("answer \(request.path)")
        }
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /first HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\nGET /second HTTP/1.1\r\nhost: x\r\n\r\n")
        let answer = try connection.readResponse()
        #expect(answer.body == "answer /first" && answer.headers["connection"] == "close")
        #expect(try connection.peerClosed())
        try await server.stop()
    }

    @Test func connectionCloseAndHTTP10AreHonoured() async throws {
        let server = try await Self.start()
        let closing = try RawConnection(port: server.port)
        try closing.send("GET /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        let answer = try closing.readResponse()
        #expect(answer.status == 200 && answer.headers["connection"] == "close")
        #expect(try closing.peerClosed())

        let old = try RawConnection(port: server.port)
        try old.send("GET /y HTTP/1.0\r\n\r\n")
        #expect(try old.readResponse().body == "GET /y ")
        #expect(try old.peerClosed(), "HTTP/1.0 closes unless asked to keep the connection")

        let kept = try RawConnection(port: server.port)
        try kept.send("GET /z HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().headers["connection"] == "keep-alive")
        try kept.send("GET /z2 HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().body == "GET /z2 ")
        try await server.stop()
    }

    @Test(arguments: ["content-length: 40\r\n\r\n" + String(repeating: "a", count: 40), "transfer-encoding: chunked\r\n\r\n28\r\n" + String(repeating: "a", count: 40) + "\r\n0\r\n\r\n"])
    func anOversizedBodyIsRefusedWith413AndNeverReachesTheRoute(_ rest: String) async throws {
        let server = try await Self.start(maxBodyBytes: 16)
        let connection = try RawConnection(port: server.port)
        try connection.send("POST /ingest HTTP/1.1\r\nhost: x\r\n" + rest)
        let answer = try connection.readResponse()
        #expect(answer.status == 413)
        #expect(answer.body.contains("larger than 16 bytes"), "\(answer.body)")
        #expect(answer.headers["connection"] == "close")
        #expect(try connection.peerClosed())
        #expect(server.calls == 0)
        try await server.stop()
    }

    @Test func expectContinueGetsAnInterimAnswerOrAnEarly413() async throws {
        let server = try await Self.start(maxBodyBytes: 1024)
        let connection = try RawConnection(port: server.port)
        try connection.send("POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n")
        #expect(try connection.readResponse().status == 100)
        try connection.send("ok")
        #expect(try connection.readResponse().body == "POST /e ok")

        let large = try RawConnection(port: server.port)
        try large.send("POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\nexpect: 100-continue\r\n\r\n")
        #expect(try large.readResponse().status == 413, "refused before the client sends the body")
        try await server.stop()
    }

    @Test func anIdleConnectionIsClosedButOneWaitingOnItsRouteIsNot() async throws {
        let server = try await Self.start(idleTimeout: .milliseconds(300)) { request in
            if request.path == "/slow" { try? await Task.sleep(for: .milliseconds(900)) }
            return .text("done \(request.path)")
        }
        let waiting = try RawConnection(port: server.port)
        try waiting.send("GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(try waiting.readResponse().body == "done /slow", "three idle periods pass while the route runs")
        let idle = try RawConnection(port: server.port)
        try idle.send("GET /fast HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(try idle.readResponse().body == "done /fast")
        #expect(try idle.peerClosed(), "closed once idle past the timeout")
        let stalled = try RawConnection(port: server.port)
        try stalled.send("POST /fast HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc")
        #expect(try stalled.peerClosed(), "a request stalled halfway holds no connection past the timeout")
        #expect(server.calls == 2)
        try await server.stop()
    }

    @Test func aMalformedRequestGets400AndTheConnectionCloses() async throws {
        let refusals = Mutex<[Int]>([])
        let server = try await Self.start(respond: { request in
            if request.path == "/slow" { try? await Task.sleep(for: .milliseconds(200)) }
            return .text("answer \(request.path)")
        }, onRefusal: { _, status, _ in refusals.withLock { $0.append(status) } })
        let connection = try RawConnection(port: server.port)
        try connection.send("THIS IS NOT HTTP\r\n\r\n")
        let answer = try connection.readResponse()
        #expect(answer.status == 400 && answer.headers["connection"] == "close")
        #expect(answer.body.contains("\"code\"") && answer.body.contains("not valid HTTP/1.1"), "the documented error body: \(answer.body)")
        #expect(try connection.peerClosed())
        #expect(server.calls == 0)

        // Garbage pipelined behind a slow request is answered after it, not ahead of it.
        let pipelined = try RawConnection(port: server.port)
        try pipelined.send("GET /slow HTTP/1.1\r\nhost: x\r\n\r\nGET /next HTTP/1.1\r\nhost: x\r\n\r\nNOT HTTP\r\n\r\n")
        #expect(try pipelined.readResponse().body == "answer /slow")
        #expect(try pipelined.readResponse().body == "answer /next")
        #expect(try pipelined.readResponse().status == 400)
        #expect(try pipelined.peerClosed())
        #expect(refusals.withLock { $0 } == [400, 400], "each 400 reaches the metrics observer")
        try await server.stop()
    }

    @Test func shutdownFinishesTheResponseInFlightAndStopsListening() async throws {
        let (entered, enteredContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let server = try await Self.start { _ in
            enteredContinuation.yield()
            for await _ in release { break }
            return .text("finished")
        }
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        var iterator = entered.makeAsyncIterator()
        _ = await iterator.next()
        server.task.cancel()  // shutdown starts while the route runs
        try await Task.sleep(for: .milliseconds(200))
        #expect(throws: (any Error).self, "the listener is closed") { try RawConnection(port: server.port) }
        releaseContinuation.yield()
        let answer = try connection.readResponse()
        #expect(answer.status == 200 && answer.body == "finished")
        #expect(try connection.peerClosed(), "a quiescing server closes the connection after the response")
        try await server.task.value
    }

    /// Routes run on the connection's event loop, so a cooperative pool held by blocking work (as a
    /// busy test process has it) does not hold up answers.
    @Test func routesRunOnTheConnectionsLoopWhileTheCooperativePoolIsHeld() async throws {
        let server = try await Self.start()
        let width = ProcessInfo.processInfo.activeProcessorCount
        let started = Counter()
        let finished = Counter()
        let blockers = (0..<width).map { _ in
            Task.detached {
                started.value.withLock { $0 += 1 }
                usleep(4_000_000)  // blocks a cooperative thread on purpose
                finished.value.withLock { $0 += 1 }
            }
        }
        // Other suites' blocking work may hold the pool first; the blockers start once it frees.
        for _ in 0..<3_000 where started.value.withLock({ $0 }) < width { usleep(10_000) }
        #expect(started.value.withLock { $0 } == width, "every cooperative thread is held")
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /during HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(try connection.readResponse().body == "GET /during ")
        #expect(finished.value.withLock { $0 } == 0, "answered while the pool was still held")
        for blocker in blockers { await blocker.value }
        try await server.stop()
    }

    @Test func theControllerAnswersUnknownRoutesMethodsAndBodiesWithTheDocumentedErrors() async throws {
        let fixture = try ControllerFixture()
        let controller = fixture.controller
        let server = try await Self.start(
            maxBodyBytes: 512, respond: { await controller.respond(to: $0) },
            onRefusal: { controller.recordRefusal(path: $0, status: $1, seconds: $2) })
        let connection = try RawConnection(port: server.port)
        let body = #"{"params": {"workspace_name": "ws", "feature_service_name": "svc", "join_key_map": {"id": "42"}}}"#
        func post(_ path: String, _ body: String, key: String?) throws -> RawConnection.Response {
            let auth = key.map { "authorization: Tecton-key \($0)\r\n" } ?? ""
            try connection.send("POST \(path) HTTP/1.1\r\nhost: x\r\n\(auth)content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)")
            return try connection.readResponse()
        }
        let served = try post("/api/v1/feature-service/get-features", body, key: fixture.key)
        #expect(served.status == 200 && served.headers["content-type"] == "application/json")
        #expect(served.body.contains(#""result":{"features":[2.5]}"#), "\(served.body)")

        let anonymous = try post("/api/v1/feature-service/get-features", body, key: nil)
        #expect(anonymous.status == 401 && anonymous.body.contains(#""code":"UNAUTHENTICATED""#))
        let notJSON = try post("/api/v1/feature-service/get-features", "{nope", key: fixture.key)
        #expect(notJSON.status == 400 && notJSON.body.contains("not valid JSON"))
        let unknown = try post("/api/v1/feature-service/nothing", body, key: fixture.key)
        #expect(unknown.status == 404 && unknown.body.contains(#""code":"NOT_FOUND""#))
        try connection.send("GET /ingest HTTP/1.1\r\nhost: x\r\n\r\n")
        let wrongMethod = try connection.readResponse()
        #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "POST")
        // A body over the limit is answered by the server, not the route, and still counted.
        let large = try RawConnection(port: server.port)
        try large.send("POST /ingest?dry_run=true HTTP/1.1\r\nhost: x\r\ncontent-length: 600\r\n\r\n" + String(repeating: "x", count: 600))
        #expect(try large.readResponse().status == 413)

        try connection.send("GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        let metrics = try connection.readResponse().body
        #expect(metrics.contains(#"http_server_requests_total{route="/api/v1/feature-service/get-features",status="200"} 1"#))
        #expect(metrics.contains(#"http_server_requests_total{route="/api/v1/feature-service/get-features",status="401"} 1"#))
        #expect(metrics.contains(#"http_server_requests_total{route="unmatched",status="404"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"http_server_requests_total{route="/ingest",status="405"} 1"#))
        #expect(metrics.contains(#"http_server_requests_total{route="/ingest",status="413"} 1"#), "\(metrics)")

        // A store that cannot serve now (SQLite locked past its busy timeout) is a retryable 503
        // whose body names no file; a store failing otherwise is a 500.
        fixture.store.failure = SQLiteStoreUnavailable(code: 5, message: "database is locked at /customer/eu-west-1/online.sqlite")
        let batch = #"{"params": {"workspace_name": "ws", "feature_service_name": "svc", "request_data": [{"join_key_map": {"id": "42"}}]}}"#
        for (path, body) in [("/api/v1/feature-service/get-features", body), ("/api/v1/feature-service/get-features-batch", batch)] {
            let busy = try post(path, body, key: fixture.key)
            #expect(busy.status == 503 && busy.body.contains("retry later") && !busy.body.contains("sqlite"), "\(path): \(busy.body)")
        }
        fixture.store.failure = CancellationError()
        #expect(try post("/api/v1/feature-service/get-features", body, key: fixture.key).status == 500)
        try await server.stop()
    }
}

import NIOCore

/// An event loop as an actor: code isolated to it runs on the loop's thread, and routes written as
/// `nonisolated(nonsending)` functions run there too, from the request to its response.
///
/// Why an actor rather than a plain task: NIO, as the global executor, runs each job as the loop's
/// *serial* executor, so every call into a plain nonisolated async function asks for the generic
/// executor and goes once round the loop's task queue (about ten times per get-features). Code
/// isolated to this actor asks for the executor it is already on, which Swift answers without a hop.
/// Where NIO is not the global executor (tests, tools embedding the server), routes still run on
/// their connection's loop, never waiting for a cooperative pool that blocking work holds.
final actor EventLoopActor {
    nonisolated let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    /// Answers `request` with `respond` and hands the response to `answer`, both on the loop. Call
    /// it on the loop: the route's task is isolated to the actor from its first job, which goes
    /// straight to the loop's queue (a plain task's would go to the global executor first).
    nonisolated func start(
        _ request: DataPlaneRequest, with respond: @escaping DataPlaneHTTPHandler.Responder,
        then answer: @escaping @Sendable (DataPlaneResponse) -> Void
    ) {
        assumeIsolated { $0.run(request, respond, answer) }
    }

    private func run(
        _ request: DataPlaneRequest, _ respond: @escaping DataPlaneHTTPHandler.Responder, _ answer: @escaping @Sendable (DataPlaneResponse) -> Void
    ) {
        // The closure uses `self`, so it is isolated to the actor. `Task.immediate` would save this
        // first trip round the loop's queue, but with it a route that sleeps (`Task.sleep`) was
        // never resumed in the handler's tests (Swift 6.3.1).
        Task { await self.serve(request, respond, answer) }
    }

    private func serve(
        _ request: DataPlaneRequest, _ respond: DataPlaneHTTPHandler.Responder, _ answer: (DataPlaneResponse) -> Void
    ) async {
        answer(await respond(request))
    }
}

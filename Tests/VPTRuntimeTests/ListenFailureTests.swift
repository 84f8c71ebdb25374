import Foundation
import Logging
import NIOCore
import Testing
import VPTLocalCloud
import VPTTestSupport
@testable import VPTRuntime

/// A plane whose port is taken fails with a message that names the port another program holds.
@Suite(.offCooperativePool) struct ListenFailureTests {
    @Test func aSecondServerOnAHeldPortFailsWithThePortNamed() async throws {
        let first = try await DataPlaneHTTPServerTests.start()
        let free = TestPorts.block(1).lowerBound
        #expect(LoopbackPort.canBind(free, reuseAddress: true))
        #expect(!LoopbackPort.canBind(first.port, reuseAddress: true))
        let second = DataPlaneHTTPServer(port: first.port, serverName: "vpt-test", logger: Logger(label: "test")) { _ in .text("") }
        do {
            try await second.run()
            Issue.record("a second server bound a port the first one listens on")
        } catch {
            let explained = ListenFailure.explain(error, plane: "control plane", ports: [free, first.port])
            #expect(String(describing: explained).hasPrefix("the control plane cannot listen on 127.0.0.1:\(first.port): another program holds the port"))
            #expect(String(describing: explained).contains("ss -tanp 'sport = :\(first.port)'"))
        }
        try await first.stop()
    }

    @Test func otherErrorsPassThroughUnchanged() {
        struct Other: Error {}
        #expect(ListenFailure.explain(Other(), plane: "data plane", ports: [1]) is Other)
        let refused = IOError(errnoCode: ECONNREFUSED, reason: "connect")
        #expect((ListenFailure.explain(refused, plane: "data plane", ports: [1]) as? IOError)?.errnoCode == ECONNREFUSED)
    }
}

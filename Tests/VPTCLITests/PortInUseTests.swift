import Foundation
import Testing
@testable import VPTEngine
import VPTLocalCloud
import VPTTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A tenant plane whose port another program holds: the plane says which port and what to do, and
/// `vpt tenant start` passes that on instead of a bare timeout; once the port is free, the same
/// command starts the tenant.
@Suite(.offCooperativePool) struct PortInUseTests {
    /// A listening socket on 127.0.0.1:`port` in this process, as another program would hold it.
    final class Holder {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let bound = LoopbackPort.withAddress(port) { bind(fd, $0, $1) }
            try #require(bound == 0 && listen(fd, 1) == 0, "could not hold port \(port)")
        }
        deinit { close(fd) }
    }

    @Test func aHeldDataPlanePortIsNamedAndFreeingItLetsTheTenantStart() throws {
        let home = temporaryDirectory("port-in-use")
        let ports = TestPorts.block(10)
        try #require(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        defer { _ = try? vpt(["tenant", "stop", "acme-eu"], home: home) }
        try #require(try vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: home).status == 0)
        let show = try JSONSerialization.jsonObject(with: Data(try vpt(["tenant", "show", "acme-eu", "-o", "json"], home: home).stdout.utf8))
        let port = try #require(Int((show as? [String: Any])?["dataPlanePort"] as? String ?? ""))
        #expect(try vpt(["tenant", "stop", "acme-eu"], home: home).status == 0)

        do {
            let holder = try Holder(port: port)
            defer { withExtendedLifetime(holder) {} }
            let refused = try vpt(["tenant", "start", "acme-eu"], home: home)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains(
                "the data plane did not become ready on port \(port) (it exits with: the data plane cannot listen on 127.0.0.1:\(port): another program holds the port"))
            #expect(refused.stderr.contains("ss -tanp 'sport = :\(port)'"))
            #expect(refused.stderr.contains("tenants/acme-eu/run/data-plane.log"))
            #expect(!refused.stderr.contains("bind(descriptor"), "NIO's own message is replaced")
            // `vpt health` names the same cause for the plane that is down.
            #expect(try vpt(["tenant", "stop", "acme-eu"], home: home).status == 0)
            let health = try vpt(["health", "acme-eu", "-o", "json"], home: home)
            #expect(health.status != 0)
            #expect(health.stdout.contains("it last exited with: the data plane cannot listen on 127.0.0.1:\(port)"), "\(health.stdout)")
        }
        // The port is free again. The supervisor keeps retrying with backoff; the next start sees
        // the plane come up.
        #expect(try vpt(["tenant", "start", "acme-eu"], home: home).status == 0)
        let endpoints = try TenantEndpoints(paths: FleetPaths(home: home), tenant: "acme-eu")
        #expect(HTTPCall.status(URL(string: "https://127.0.0.1:\(port)/readyz")!, caFile: endpoints.caFile) == 200)
    }

    @Test func theLastLineOfALogIsTheExitErrorOnlyWhenItIsOne() throws {
        let log = temporaryDirectory().appendingPathComponent("data-plane.log")
        #expect(RuntimeLauncher.exitError(inLog: log.path) == nil, "no log yet")
        try "info: listening\nError: first\ninfo: listening again\n".write(to: log, atomically: true, encoding: .utf8)
        #expect(RuntimeLauncher.exitError(inLog: log.path) == nil, "a plane that logged on after an error is not exiting with it")
        // A long log: only its tail is read.
        let filler = String(repeating: "info: a request\n", count: 5_000)
        try (filler + "Error: the data plane cannot listen\n\n").write(to: log, atomically: true, encoding: .utf8)
        #expect(RuntimeLauncher.exitError(inLog: log.path) == "the data plane cannot listen")
    }
}

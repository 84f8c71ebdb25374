import Foundation
import GRDB
import Testing
import VPTState
import VPTTestSupport

@Suite(.offCooperativePool) struct ConcurrencyTests {
    @Test func aSecondWriterOfTheSameTenantFailsFastAndNamesTheHolder() throws {
        let home = temporaryDirectory()
        try vpt(["init", "--no-runtime"], home: home)
        let lock = try TenantLock(home: home, tenant: "acme-eu", purpose: "vpt provision tenant acme-eu")
        let started = Date()
        let result = try vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: home)
        #expect(result.status == 1)
        #expect(result.stderr.contains("tenant 'acme-eu' is locked by another vpt process (pid \(getpid())"))
        #expect(result.stderr.contains("vpt provision tenant acme-eu"))
        #expect(Date().timeIntervalSince(started) < 10)
        withExtendedLifetime(lock) {}
    }

    @Test func tenantsProvisionedInParallelGetDistinctBlocksAndAConsistentState() throws {
        let home = temporaryDirectory()
        try vpt(["init", "--no-runtime"], home: home)
        let spec = try String(contentsOfFile: examplePath("acme-eu.yaml"), encoding: .utf8)
        let names = (1...6).map { "tenant-\($0)" }
        var processes: [(Process, Pipe, Pipe)] = []
        for name in names {
            let file = home.appendingPathComponent("\(name).yaml")
            try spec.replacingOccurrences(of: "name: acme-eu", with: "name: \(name)").write(to: file, atomically: true, encoding: .utf8)
            processes.append(try startVPT(["provision", "tenant", name, "-f", file.path], home: home))
        }
        let results = processes.map(finish)
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        let store = try StateStore(url: home.appendingPathComponent("state.db"))
        let blocks = try store.allocations()
        #expect(Set(blocks.keys) == Set(names))
        #expect(Set(blocks.values).count == names.count)
        #expect(Set(blocks.values.map(\.description)) == Set((0..<6).map { "10.\($0).0.0/16" }))
        let ports = try names.flatMap { try store.values(tenant: $0).filter { $0.key.hasSuffix("Port") }.map(\.value) }
        #expect(Set(ports).count == names.count * 3)  // control plane, data plane, internal (mutual TLS)
        let check = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        #expect(check == "ok")
        #expect(try store.tenants().allSatisfy { $0.status == .ready })
    }
}

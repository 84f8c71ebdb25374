import Foundation
import Testing
@testable import VPTEngine
import VPTTestSupport

@Suite struct EphemeralPortsTests {
    let linux = EphemeralPorts(range: 32768...60999)

    @Test func aRangeBelowTheEphemeralPortsGetsNoWarning() {
        #expect(linux.warning(for: 20000...29999) == nil)
        #expect(linux.warning(for: 61000...65535) == nil)
        #expect(linux.exposedCount(of: 20000...32767) == 0)
    }

    @Test func anOverlappingRangeIsCountedAndTheWarningNamesTheSettingAndTheWayOut() throws {
        #expect(linux.exposedCount(of: 32700...32799) == 32)
        let warning = try #require(linux.warning(for: 41000...41099))
        #expect(warning.contains("100 of the tenant ports 41000-41099"))
        #expect(warning.contains("32768-60999 (net.ipv4.ip_local_port_range)"))
        #expect(warning.contains("below 32768"))
        #expect(warning.contains("net.ipv4.ip_local_reserved_ports"))
    }

    @Test func reservedPortsAreSafe() {
        let reserved = EphemeralPorts(range: 32768...60999, reserved: EphemeralPorts.parseList("41000-41049,41050, 41051-41099\n"))
        #expect(reserved.warning(for: 41000...41099) == nil)
        #expect(reserved.exposedCount(of: 41000...41199) == 100)
        #expect(EphemeralPorts.parseList("junk,9-3,7") == [7...7])
    }

    @Test func theKernelsSettingsAreReadFromProc() throws {
        let folder = temporaryDirectory()
        try "32768\t60999\n".write(to: folder.appendingPathComponent("ip_local_port_range"), atomically: true, encoding: .utf8)
        try "45000-45010\n".write(to: folder.appendingPathComponent("ip_local_reserved_ports"), atomically: true, encoding: .utf8)
        #expect(EphemeralPorts.current(sysctl: folder) == EphemeralPorts(range: 32768...60999, reserved: [45000...45010]))
        #expect(EphemeralPorts.current(sysctl: folder.appendingPathComponent("missing")) == nil)
    }

    @Test func initReportsTheWarningOnlyForAFleetThatStartsProcesses() throws {
        let overlapping = try Fleet.initialize(
            home: temporaryDirectory(), portRange: 41000...41099, ephemeral: linux)
        #expect(overlapping.portRangeWarning?.contains("41000-41099") == true)
        let clear = try Fleet.initialize(home: temporaryDirectory(), portRange: 20000...20099, ephemeral: linux)
        #expect(clear.portRangeWarning == nil)
        let configurationOnly = try Fleet.initialize(home: temporaryDirectory(), runtime: false, portRange: 41000...41099, ephemeral: linux)
        #expect(configurationOnly.portRangeWarning == nil)
    }
}

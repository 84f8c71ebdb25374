import Foundation

/// The kernel's ephemeral ports: the local ports it gives outgoing connections. A tenant port in
/// that range may be the local end of some program's connection at the moment a plane starts, and
/// the plane then cannot listen on it. Ports the operator reserved (`ip_local_reserved_ports`) are
/// never handed out that way, so they are safe.
public struct EphemeralPorts: Sendable, Equatable {
    public var range: ClosedRange<Int>
    public var reserved: [ClosedRange<Int>]

    public init(range: ClosedRange<Int>, reserved: [ClosedRange<Int>] = []) {
        self.range = range
        self.reserved = reserved
    }

    /// This machine's settings, or nil where the kernel does not publish them (not Linux).
    public static func current(sysctl: URL = URL(fileURLWithPath: "/proc/sys/net/ipv4")) -> EphemeralPorts? {
        guard let text = try? String(contentsOf: sysctl.appendingPathComponent("ip_local_port_range"), encoding: .utf8) else { return nil }
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return nil }
        let reservedText = (try? String(contentsOf: sysctl.appendingPathComponent("ip_local_reserved_ports"), encoding: .utf8)) ?? ""
        return EphemeralPorts(range: bounds[0]...bounds[1], reserved: parseList(reservedText))
    }

    /// `1000,2000-2010` as ranges; malformed parts are skipped.
    static func parseList(_ text: String) -> [ClosedRange<Int>] {
        text.split(separator: ",").compactMap { part in
            let ends = part.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "-").compactMap { Int($0) }
            switch ends.count {
            case 1: return ends[0]...ends[0]
            case 2 where ends[0] <= ends[1]: return ends[0]...ends[1]
            default: return nil
            }
        }
    }

    /// How many of `ports` outgoing connections may take (in the range and not reserved).
    public func exposedCount(of ports: ClosedRange<Int>) -> Int {
        guard ports.overlaps(range) else { return 0 }
        let shared = ports.clamped(to: range)
        return shared.filter { port in !reserved.contains { $0.contains(port) } }.count
    }

    /// A warning for a fleet port range some of whose ports outgoing connections may take.
    public func warning(for ports: ClosedRange<Int>) -> String? {
        let exposed = exposedCount(of: ports)
        guard exposed > 0 else { return nil }
        return "\(exposed) of the tenant ports \(ports.lowerBound)-\(ports.upperBound) lie in the kernel's ephemeral range "
            + "\(range.lowerBound)-\(range.upperBound) (net.ipv4.ip_local_port_range), where an outgoing connection can hold one "
            + "when a tenant plane starts; choose a range below \(range.lowerBound) or reserve it (net.ipv4.ip_local_reserved_ports)"
    }
}

/// An IPv4 network in CIDR notation (`10.0.0.0/16`), host bits zero.
public struct CIDRBlock: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// Network address as a 32-bit integer.
    public let network: UInt32
    /// Prefix length, 0...32.
    public let prefixLength: Int

    /// Why a CIDR string was refused.
    public enum ParseError: Error, Equatable, Sendable {
        case syntax
        case hostBitsSet(suggested: String)
    }

    /// Creates a block; the caller guarantees the host bits of `network` are zero.
    public init(network: UInt32, prefixLength: Int) {
        precondition((0...32).contains(prefixLength), "prefix length out of range")
        self.network = network
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/n`; refuses addresses with host bits set rather than silently masking them.
    public static func parse(_ text: String) -> Result<CIDRBlock, ParseError> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (0...32).contains(prefix),
            parts[1].allSatisfy(\.isNumber)
        else { return .failure(.syntax) }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return .failure(.syntax) }
        var address: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(\.isNumber), let value = UInt32(octet),
                value <= 255
            else { return .failure(.syntax) }
            address = address << 8 | value
        }
        let mask = Self.mask(prefix)
        if address & ~mask != 0 {
            let suggested = CIDRBlock(network: address & mask, prefixLength: prefix)
            return .failure(.hostBitsSet(suggested: suggested.description))
        }
        return .success(CIDRBlock(network: address, prefixLength: prefix))
    }

    /// Netmask for a prefix length.
    public static func mask(_ prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
    }

    /// Number of addresses in the block.
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }

    /// Last address of the block.
    public var lastAddress: UInt32 { network | ~Self.mask(prefixLength) }

    /// True when the two blocks share at least one address.
    public func overlaps(_ other: CIDRBlock) -> Bool {
        network <= other.lastAddress && other.network <= lastAddress
    }

    /// True when `other` lies entirely inside this block.
    public func contains(_ other: CIDRBlock) -> Bool {
        other.prefixLength >= prefixLength && other.network & Self.mask(prefixLength) == network
    }

    /// The `index`-th sub-block of the given prefix length.
    public func subnet(prefixLength sub: Int, index: Int) -> CIDRBlock {
        precondition(sub >= prefixLength && sub <= 32)
        let step = UInt32(truncatingIfNeeded: UInt64(1) << UInt64(32 - sub))
        return CIDRBlock(network: network &+ step &* UInt32(index), prefixLength: sub)
    }

    /// Private subnets for two availability zones: quarters of the VPC, keeping half free for growth;
    /// AWS's smallest subnet is a /28, so small VPCs get fewer or larger subnets.
    public var availabilityZoneSubnets: [CIDRBlock] {
        let sub = min(prefixLength + 2, 28)
        let count = min(2, 1 << (sub - prefixLength))
        return (0..<count).map { subnet(prefixLength: sub, index: $0) }
    }

    public var description: String {
        let a = network
        return "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)/\(prefixLength)"
    }

    public static func < (lhs: CIDRBlock, rhs: CIDRBlock) -> Bool {
        (lhs.network, lhs.prefixLength) < (rhs.network, rhs.prefixLength)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard case .success(let block) = CIDRBlock.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad CIDR \(text)"))
        }
        self = block
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

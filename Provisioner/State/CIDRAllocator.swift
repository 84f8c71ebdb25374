import Foundation
import GRDB
import VPTModel

/// Why a VPC block could not be allocated.
public enum CIDRAllocationError: Error, Equatable, Sendable, CustomStringConvertible {
    case poolExhausted(pool: String, prefixLength: Int)
    case overlaps(requested: String, tenant: String, block: String)
    case outsidePool(requested: String, pool: String)

    public var description: String {
        switch self {
        case .poolExhausted(let pool, let prefix):
            "the fleet CIDR pool \(pool) has no free /\(prefix) block left; deprovision a tenant or use a smaller block"
        case .overlaps(let requested, let tenant, let block):
            "vendorAccount.vpc.cidr: '\(requested)' overlaps the VPC of tenant '\(tenant)' (\(block))"
        case .outsidePool(let requested, let pool): "'\(requested)' is not inside the fleet pool \(pool)"
        }
    }
}

/// What a tenant asks for: the lowest free block of a size, or a given block.
public enum CIDRRequest: Sendable, Equatable {
    case auto(prefixLength: Int)
    case explicit(CIDRBlock)
}

extension StateStore {
    /// The fleet's pool of VPC address space (set by `vpt init`).
    public func cidrPool() throws -> CIDRBlock {
        guard let text = try setting("cidrPool"), case .success(let block) = CIDRBlock.parse(text) else {
            return try CIDRBlock.parse("10.0.0.0/8").get()
        }
        return block
    }

    /// Every tenant's VPC block.
    public func allocations() throws -> [String: CIDRBlock] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT tenant, network, prefixLength FROM cidr_allocation")
            return Dictionary(uniqueKeysWithValues: rows.map {
                ($0["tenant"] as String, CIDRBlock(network: UInt32($0["network"] as Int64), prefixLength: $0["prefixLength"]))
            })
        }
    }

    /// Tenants whose blocks overlap `block`: the range scan on the `network` index plus the one block
    /// that starts before it (blocks never overlap each other, so no other can reach in).
    public func overlapping(_ block: CIDRBlock) throws -> [(tenant: String, block: CIDRBlock)] {
        try pool.read { db in
            var rows = try Row.fetchAll(
                db, sql: "SELECT tenant, network, prefixLength, last FROM cidr_allocation WHERE network BETWEEN ? AND ? ORDER BY network",
                arguments: [Int64(block.network), Int64(block.lastAddress)])
            if let before = try Row.fetchOne(
                db, sql: "SELECT tenant, network, prefixLength, last FROM cidr_allocation WHERE network < ? ORDER BY network DESC LIMIT 1",
                arguments: [Int64(block.network)]), (before["last"] as Int64) >= Int64(block.network)
            {
                rows.insert(before, at: 0)
            }
            return rows.map { ($0["tenant"], CIDRBlock(network: UInt32($0["network"] as Int64), prefixLength: $0["prefixLength"])) }
        }
    }

    public func allocation(tenant: String) throws -> CIDRBlock? {
        try pool.read { db in try Self.allocation(db, tenant: tenant) }
    }

    /// Gives `tenant` a block satisfying `request`, atomically across processes (one write
    /// transaction). A tenant that already holds a satisfying block keeps it; otherwise its old block
    /// is released and a new one taken in the same transaction.
    public func allocateCIDR(tenant: String, request: CIDRRequest) throws -> CIDRBlock {
        let poolBlock = try cidrPool()
        return try pool.write { db in
            if let current = try Self.allocation(db, tenant: tenant) {
                switch request {
                case .auto(let prefix) where current.prefixLength == prefix: return current
                case .explicit(let block) where block == current: return current
                default: try db.execute(sql: "DELETE FROM cidr_allocation WHERE tenant = ?", arguments: [tenant])
                }
            }
            let block: CIDRBlock
            switch request {
            case .explicit(let wanted):
                if let clash = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT tenant, network, prefixLength FROM cidr_allocation
                        WHERE network <= ? ORDER BY network DESC LIMIT 1
                        """, arguments: [Int64(wanted.lastAddress)]),
                    UInt32(clash["network"] as Int64) | ~CIDRBlock.mask(clash["prefixLength"]) >= wanted.network
                {
                    let other = CIDRBlock(network: UInt32(clash["network"] as Int64), prefixLength: clash["prefixLength"])
                    throw CIDRAllocationError.overlaps(requested: wanted.description, tenant: clash["tenant"], block: other.description)
                }
                block = wanted
            case .auto(let prefix):
                block = try Self.lowestFree(db, pool: poolBlock, prefixLength: prefix)
            }
            try db.execute(
                sql: "INSERT INTO cidr_allocation (tenant, network, last, prefixLength, explicit) VALUES (?, ?, ?, ?, ?)",
                arguments: [tenant, Int64(block.network), Int64(block.lastAddress), block.prefixLength, request != .auto(prefixLength: block.prefixLength)])
            return block
        }
    }

    /// Returns a tenant's block to the pool.
    public func releaseCIDR(tenant: String) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM cidr_allocation WHERE tenant = ?", arguments: [tenant]) }
    }

    private static func allocation(_ db: Database, tenant: String) throws -> CIDRBlock? {
        try Row.fetchOne(db, sql: "SELECT network, prefixLength FROM cidr_allocation WHERE tenant = ?", arguments: [tenant]).map {
            CIDRBlock(network: UInt32($0["network"] as Int64), prefixLength: $0["prefixLength"])
        }
    }

    /// First aligned block of the size that fits in a gap between allocations, scanning the
    /// allocations in address order once (the unique index on `network` keeps them sorted). Blocks
    /// never overlap, so each gap is `[previous.last + 1, next.network - 1]`.
    private static func lowestFree(_ db: Database, pool: CIDRBlock, prefixLength: Int) throws -> CIDRBlock {
        let size = Int64(1) << Int64(32 - prefixLength)
        let poolStart = Int64(pool.network)
        let poolEnd = Int64(pool.lastAddress)
        var cursor = poolStart
        let rows = try Row.fetchCursor(
            db, sql: "SELECT network, last FROM cidr_allocation WHERE last >= ? AND network <= ? ORDER BY network",
            arguments: [poolStart, poolEnd])
        while let row = try rows.next() {
            let start: Int64 = row[0]
            let last: Int64 = row[1]
            let candidate = (cursor + size - 1) / size * size
            if candidate + size - 1 < start { break }
            cursor = max(cursor, last + 1)
        }
        let candidate = (cursor + size - 1) / size * size
        guard candidate + size - 1 <= poolEnd, prefixLength >= pool.prefixLength else {
            throw CIDRAllocationError.poolExhausted(pool: pool.description, prefixLength: prefixLength)
        }
        return CIDRBlock(network: UInt32(candidate), prefixLength: prefixLength)
    }
}

import Foundation

/// Loopback ports for the tests' fleets (`vpt init --port-range`) and Redis servers.
///
/// Every port lies below the kernel's ephemeral range (32768–60999 on Linux). A port inside that
/// range can be the local end of some other test's outgoing connection, and a tenant plane given
/// that port cannot bind it: its readiness wait then times out (CI saw exactly that). Ranges handed
/// out in this process never overlap, so tests running in parallel never share a port either.
public enum TestPorts {
    /// Tenant port blocks come from here; the default fleet range (20000–29999) stays free for a
    /// developer's own demo running alongside the tests.
    static let tenantBand = 10_000...19_999
    /// Single ports for `redis-server`s.
    static let redisBand = 5_000...9_999

    /// `size` consecutive ports no other test in this process holds.
    public static func block(_ size: Int) -> ClosedRange<Int> { registry.take(size, in: tenantBand) }

    /// A port for a `redis-server`, not held by any other test in this process.
    public static func redisPort() -> Int { registry.take(1, in: redisBand).lowerBound }

    private static let registry = Registry()

    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var taken: [ClosedRange<Int>] = []

        /// A random aligned block of `size` ports in `band` that overlaps no block taken before.
        func take(_ size: Int, in band: ClosedRange<Int>) -> ClosedRange<Int> {
            lock.withLock {
                let slots = band.count / size
                let start = Int.random(in: 0..<slots)
                // Walk from a random slot so two test runs on one machine rarely start on the same block.
                for offset in 0..<slots {
                    let low = band.lowerBound + ((start + offset) % slots) * size
                    let block = low...(low + size - 1)
                    if !taken.contains(where: { $0.overlaps(block) }) {
                        taken.append(block)
                        return block
                    }
                }
                preconditionFailure("no free block of \(size) ports left in \(band)")
            }
        }
    }
}

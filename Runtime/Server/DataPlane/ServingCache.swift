import Foundation
import VPTContract
import VPTOnlineStore

/// The serving cache: volatile memory only, entries keyed by workspace, feature view and entity
/// key, each valid for at most `maxAge` (≤ 24 h), at most `capacity` entries with least-recently-used
/// eviction. An ingest write for a key invalidates it. Values are kept as the store holds them
/// (`OnlineRecordCodec`), smaller than decoded, and decoded per request onto the features
/// served.
public final class ServingCache: @unchecked Sendable {
    struct Key: Hashable {
        var workspace: String
        var featureView: String
        var entity: [UInt8]
    }

    private final class Node {
        let key: Key
        var value: [UInt8]?
        var insertedAt: ContinuousClock.Instant
        var previous: Node?
        var next: Node?
        init(key: Key, value: [UInt8]?, insertedAt: ContinuousClock.Instant) {
            self.key = key
            self.value = value
            self.insertedAt = insertedAt
        }
    }

    public let capacity: Int
    public let maxAge: Duration
    private let lock = NSLock()
    private var nodes: [Key: Node] = [:]
    private var head: Node?  // most recent
    private var tail: Node?  // least recent
    private let metrics: RequestMetrics

    public init(capacity: Int, maxAgeSeconds: Int, metrics: RequestMetrics) {
        self.capacity = max(1, capacity)
        self.maxAge = .seconds(min(max(1, maxAgeSeconds), 86_400))
        self.metrics = metrics
    }

    public var count: Int { lock.withLock { nodes.count } }

    static func key(_ workspace: String, _ featureView: String, _ entity: [FeatureValue]) -> Key {
        Key(workspace: workspace, featureView: featureView, entity: OnlineRecordCodec.entityKey(entity))
    }

    /// `.some(value)` on a fresh hit (the value may be nil: known missing), nil on a miss.
    public func get(_ workspace: String, _ featureView: String, _ entity: [FeatureValue], now: ContinuousClock.Instant = .now) -> [UInt8]?? {
        let key = Self.key(workspace, featureView, entity)
        let hit: [UInt8]?? = lock.withLock {
            guard let node = nodes[key] else { return nil }
            guard now - node.insertedAt < maxAge else {
                remove(node)
                return nil
            }
            moveToFront(node)
            return .some(node.value)
        }
        metrics.increment(hit == nil ? "vpt_serving_cache_misses_total" : "vpt_serving_cache_hits_total")
        return hit
    }

    public func put(_ workspace: String, _ featureView: String, _ entity: [FeatureValue], _ value: [UInt8]?, now: ContinuousClock.Instant = .now) {
        let key = Self.key(workspace, featureView, entity)
        lock.withLock {
            if let node = nodes[key] {
                node.value = value
                node.insertedAt = now
                moveToFront(node)
                return
            }
            let node = Node(key: key, value: value, insertedAt: now)
            nodes[key] = node
            insertFront(node)
            while nodes.count > capacity, let last = tail {
                remove(last)
                metrics.increment("vpt_serving_cache_evictions_total")
            }
        }
    }

    public func invalidate(_ workspace: String, _ featureView: String, _ entity: [FeatureValue]) {
        let key = Self.key(workspace, featureView, entity)
        lock.withLock { if let node = nodes[key] { remove(node) } }
    }

    private func insertFront(_ node: Node) {
        node.next = head
        node.previous = nil
        head?.previous = node
        head = node
        if tail == nil { tail = node }
    }

    private func moveToFront(_ node: Node) {
        guard head !== node else { return }
        unlink(node)
        insertFront(node)
    }

    private func unlink(_ node: Node) {
        node.previous?.next = node.next
        node.next?.previous = node.previous
        if head === node { head = node.next }
        if tail === node { tail = node.previous }
        node.previous = nil
        node.next = nil
    }

    private func remove(_ node: Node) {
        unlink(node)
        nodes[node.key] = nil
    }
}

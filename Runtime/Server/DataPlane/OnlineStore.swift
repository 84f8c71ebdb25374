import VPTContract
import VPTOnlineStore

/// An online store the data plane reads and writes; SQLite and Redis implement it.
public protocol OnlineStore: Sendable {
    func write(_ records: [OnlineRecord]) throws -> Int
    func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?]
    /// The serving path's read: each value still encoded (`OnlineRecordCodec`), for the caller to
    /// decode onto the features it serves. A store whose reads wait on the network does not hold the
    /// caller's thread.
    func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) async throws -> [[UInt8]?]
}

/// SQLite's reads take microseconds: its synchronous `readEncoded` serves on the caller's thread.
extension SQLiteOnlineStore: OnlineStore {}

extension RedisOnlineStore: OnlineStore {}

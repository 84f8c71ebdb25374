import VPTContract
import VPTOnlineStore

/// An online store the data plane reads and writes; SQLite and Redis implement it.
public protocol OnlineStore: Sendable {
    func write(_ records: [OnlineRecord]) throws -> Int
    func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?]
}

extension SQLiteOnlineStore: OnlineStore {}
extension RedisOnlineStore: OnlineStore {}

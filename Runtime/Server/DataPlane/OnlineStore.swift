import VPTContract
import VPTOnlineStore

/// An online store the data plane reads and writes; SQLite and Redis implement it.
public protocol OnlineStore: Sendable {
    func write(_ records: [OnlineRecord]) throws -> Int
    func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?]
    /// The serving path's read: a store whose reads wait on the network does not hold the caller's thread.
    func readAsync(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) async throws -> [StoredFeatures?]
}

extension OnlineStore {
    /// A local read takes microseconds (SQLite): done on the caller's thread.
    public func readAsync(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) async throws -> [StoredFeatures?] {
        try read(workspace: workspace, featureView: featureView, entityKeys: entityKeys)
    }
}

extension SQLiteOnlineStore: OnlineStore {}

extension RedisOnlineStore: OnlineStore {}

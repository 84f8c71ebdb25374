import NIOCore
import VPTContract
import VPTOnlineStore

/// An online store the data plane reads and writes; SQLite and Redis implement it.
public protocol OnlineStore: Sendable {
    func write(_ records: [OnlineRecord]) throws -> Int
    func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?]
    /// The serving path's read: each value still encoded (`OnlineRecordCodec`), for the caller to
    /// decode onto the features it serves, as a future of `loop`, the request's event loop. A store
    /// whose reads wait on the network completes it from that loop when the answer arrives, so the
    /// route goes on without a task switch; one that reads in microseconds answers at once.
    func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]], on loop: any EventLoop) -> EventLoopFuture<[[UInt8]?]>
}

/// SQLite's reads take microseconds: its synchronous read serves on the caller's thread, inside the
/// loop pass's read transaction.
extension SQLiteOnlineStore: OnlineStore {
    public func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]], on loop: any EventLoop) -> EventLoopFuture<[[UInt8]?]> {
        loop.makeCompletedFuture { try readEncoded(workspace: workspace, featureView: featureView, entityKeys: entityKeys, inPassOf: loop) }
    }
}

extension RedisOnlineStore: OnlineStore {}

/// One row of the online store: the latest feature values of one entity in one feature view.
public struct OnlineRecord: Sendable, Equatable {
    public var workspace: String
    public var featureView: String
    /// Join keys in the feature view's declared order.
    public var joinKeys: [(name: String, value: FeatureValue)]
    /// Feature values by name, in the feature view's declared order.
    public var features: [(name: String, value: FeatureValue)]
    /// When the values were true, microseconds since the Unix epoch.
    public var eventTimeMicros: Int64
    /// When they were written, microseconds since the Unix epoch (breaks event-time ties).
    public var writeTimeMicros: Int64

    public init(
        workspace: String, featureView: String, joinKeys: [(name: String, value: FeatureValue)],
        features: [(name: String, value: FeatureValue)], eventTimeMicros: Int64, writeTimeMicros: Int64
    ) {
        self.workspace = workspace
        self.featureView = featureView
        self.joinKeys = joinKeys
        self.features = features
        self.eventTimeMicros = eventTimeMicros
        self.writeTimeMicros = writeTimeMicros
    }

    public static func == (lhs: OnlineRecord, rhs: OnlineRecord) -> Bool {
        lhs.workspace == rhs.workspace && lhs.featureView == rhs.featureView
            && lhs.joinKeys.map(\.name) == rhs.joinKeys.map(\.name) && lhs.joinKeys.map(\.value) == rhs.joinKeys.map(\.value)
            && lhs.features.map(\.name) == rhs.features.map(\.name) && lhs.features.map(\.value) == rhs.features.map(\.value)
            && lhs.eventTimeMicros == rhs.eventTimeMicros && lhs.writeTimeMicros == rhs.writeTimeMicros
    }

    /// True when this record should replace `other`: newer event time, or the same event time and a
    /// newer write. Late events never overwrite newer ones.
    public func supersedes(_ other: OnlineRecord) -> Bool {
        (eventTimeMicros, writeTimeMicros) > (other.eventTimeMicros, other.writeTimeMicros)
    }
}

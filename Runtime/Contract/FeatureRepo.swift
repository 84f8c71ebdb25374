/// Scalar types of join keys, fields and features.
public enum FeatureType: String, Codable, Sendable, CaseIterable {
    case int64, float64, string, bool

    /// Whether `value` is of this type (null is allowed for features, never for join keys).
    public func accepts(_ value: FeatureValue) -> Bool {
        switch (self, value) {
        case (.int64, .int64), (.float64, .float64), (.float64, .int64), (.string, .string), (.bool, .bool): true
        default: false
        }
    }
}

/// A typed name (join key, schema field, feature).
public struct TypedField: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var type: FeatureType
    public init(name: String, type: FeatureType) {
        self.name = name
        self.type = type
    }
}

/// An entity: what features describe, identified by typed join keys.
public struct EntityDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var joinKeys: [TypedField]
    public init(name: String, joinKeys: [TypedField]) {
        self.name = name
        self.joinKeys = joinKeys
    }
}

/// A push source: records arrive through the ingest API and must match the schema.
public struct PushSourceDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var schema: [TypedField]
    /// The schema field holding the event time (an int64 of microseconds, or an ISO-8601 string).
    public var timestampField: String
    public init(name: String, schema: [TypedField], timestampField: String) {
        self.name = name
        self.schema = schema
        self.timestampField = timestampField
    }
}

/// A feature view: features of some entities, computed from a source.
public struct FeatureViewDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var entities: [String]
    public var source: String
    public var features: [TypedField]
    public var ttlSeconds: Int
    public var online: Bool
    public var offline: Bool
    public init(name: String, entities: [String], source: String, features: [TypedField], ttlSeconds: Int, online: Bool = true, offline: Bool = true) {
        self.name = name
        self.entities = entities
        self.source = source
        self.features = features
        self.ttlSeconds = ttlSeconds
        self.online = online
        self.offline = offline
    }
}

/// A feature service: the features an application asks for, by feature view.
public struct FeatureServiceDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var featureViews: [String]
    public init(name: String, featureViews: [String]) {
        self.name = name
        self.featureViews = featureViews
    }
}

/// Everything applied to one workspace.
public struct FeatureRepo: Codable, Sendable, Equatable {
    public var entities: [EntityDefinition]
    public var pushSources: [PushSourceDefinition]
    public var featureViews: [FeatureViewDefinition]
    public var featureServices: [FeatureServiceDefinition]
    public init(
        entities: [EntityDefinition] = [], pushSources: [PushSourceDefinition] = [], featureViews: [FeatureViewDefinition] = [],
        featureServices: [FeatureServiceDefinition] = []
    ) {
        self.entities = entities
        self.pushSources = pushSources
        self.featureViews = featureViews
        self.featureServices = featureServices
    }

    /// The join keys of a feature view, in entity order then declared order.
    public func joinKeys(of view: FeatureViewDefinition) -> [TypedField] {
        view.entities.flatMap { name in entities.first { $0.name == name }?.joinKeys ?? [] }
    }

    /// Every violation of the repository's references and types; empty when it can be applied.
    public func problems() -> [String] {
        var problems: [String] = []
        func unique(_ names: [String], _ what: String) {
            var seen: Set<String> = []
            for name in names where !seen.insert(name).inserted { problems.append("\(what) '\(name)' is defined twice") }
        }
        unique(entities.map(\.name), "entity")
        unique(pushSources.map(\.name), "push source")
        unique(featureViews.map(\.name), "feature view")
        unique(featureServices.map(\.name), "feature service")
        for entity in entities where entity.joinKeys.isEmpty { problems.append("entity '\(entity.name)' has no join keys") }
        for source in pushSources where !source.schema.contains(where: { $0.name == source.timestampField }) {
            problems.append("push source '\(source.name)': timestampField '\(source.timestampField)' is not in its schema")
        }
        for view in featureViews {
            if view.ttlSeconds <= 0 { problems.append("feature view '\(view.name)': ttlSeconds must be positive") }
            if view.features.isEmpty { problems.append("feature view '\(view.name)' has no features") }
            for entity in view.entities where !entities.contains(where: { $0.name == entity }) {
                problems.append("feature view '\(view.name)' references unknown entity '\(entity)'")
            }
            guard let source = pushSources.first(where: { $0.name == view.source }) else {
                problems.append("feature view '\(view.name)' references unknown push source '\(view.source)'")
                continue
            }
            for field in joinKeys(of: view) + view.features {
                guard let column = source.schema.first(where: { $0.name == field.name }) else {
                    problems.append("feature view '\(view.name)': '\(field.name)' is not in push source '\(source.name)'")
                    continue
                }
                if column.type != field.type {
                    problems.append("feature view '\(view.name)': '\(field.name)' is \(field.type.rawValue) but the source has \(column.type.rawValue)")
                }
            }
        }
        for service in featureServices {
            if service.featureViews.isEmpty { problems.append("feature service '\(service.name)' has no feature views") }
            for view in service.featureViews where !featureViews.contains(where: { $0.name == view }) {
                problems.append("feature service '\(service.name)' references unknown feature view '\(view)'")
            }
        }
        return problems
    }
}

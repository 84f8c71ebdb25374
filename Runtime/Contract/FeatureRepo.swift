import Foundation

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

/// A batch source: Parquet or CSV files (one file or a folder of them) in the customer account's
/// offline store region, read by Rift jobs. `path` is relative to the tenant's offline store.
public struct BatchSourceDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var path: String
    /// `parquet` or `csv`.
    public var format: String
    public var schema: [TypedField]
    public var timestampField: String
    public init(name: String, path: String, format: String, schema: [TypedField], timestampField: String) {
        self.name = name
        self.path = path
        self.format = format
        self.schema = schema
        self.timestampField = timestampField
    }
}

/// A batch feature view: a SQL transformation of a batch source (the relation `source`),
/// materialized by Rift on `batchSchedule` (`15m`, `1h`, `1d`) from `featureStartTime` on.
public struct BatchFeatureViewDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var entities: [String]
    public var source: String
    public var sql: String
    /// The output column holding each row's event time.
    public var timestampField: String
    public var features: [TypedField]
    public var ttlSeconds: Int
    public var online: Bool
    public var offline: Bool
    public var batchSchedule: String
    /// ISO 8601 with a zone, e.g. `2026-01-01T00:00:00Z`.
    public var featureStartTime: String
    /// Windowed aggregations of `features` (the transformation's columns); when present, the view
    /// serves the aggregates, computed at every schedule boundary, instead of the raw columns.
    public var aggregations: [AggregationDefinition]?
    public init(
        name: String, entities: [String], source: String, sql: String, timestampField: String, features: [TypedField], ttlSeconds: Int,
        online: Bool = true, offline: Bool = true, batchSchedule: String, featureStartTime: String,
        aggregations: [AggregationDefinition]? = nil
    ) {
        self.aggregations = aggregations
        self.name = name
        self.entities = entities
        self.source = source
        self.sql = sql
        self.timestampField = timestampField
        self.features = features
        self.ttlSeconds = ttlSeconds
        self.online = online
        self.offline = offline
        self.batchSchedule = batchSchedule
        self.featureStartTime = featureStartTime
    }

    /// `batchSchedule` in seconds, if it is `N` followed by `m`, `h` or `d`.
    public var scheduleSeconds: Int? { DurationText.seconds(batchSchedule) }

    /// `featureStartTime` as a date, if it is ISO 8601 with a zone.
    public var featureStart: Date? { ISO8601DateFormatter().date(from: featureStartTime) }

    /// The features the view serves: the aggregates when it declares aggregations, else its columns.
    public var servedFeatures: [TypedField] {
        guard let aggregations, !aggregations.isEmpty else { return features }
        return aggregations.map { aggregation in
            TypedField(
                name: aggregation.outputName,
                type: aggregation.outputType(input: features.first { $0.name == aggregation.column }?.type ?? .float64))
        }
    }

    /// How the feature server sees it: features of entities, read from the online store.
    public var servingView: FeatureViewDefinition {
        FeatureViewDefinition(
            name: name, entities: entities, source: source, features: servedFeatures, ttlSeconds: ttlSeconds, online: online, offline: offline)
    }
}

/// A windowed aggregation of one column of a batch feature view: at each schedule boundary B the
/// view emits, per entity, `function` over the rows with event time in [B - window, B), with event
/// time B - 1 µs. Null values are skipped (count counts values; last is the newest non-null value).
public struct AggregationDefinition: Codable, Sendable, Equatable {
    public enum Function: String, Codable, Sendable, CaseIterable {
        case count, sum, mean, min, max, last
    }
    public var function: Function
    public var column: String
    /// `N` followed by `m`, `h` or `d`.
    public var window: String
    /// The served feature's name; `COLUMN_FUNCTION_WINDOW` when left out.
    public var name: String?
    public init(function: Function, column: String, window: String, name: String? = nil) {
        self.function = function
        self.column = column
        self.window = window
        self.name = name
    }

    public var outputName: String { name ?? "\(column)_\(function.rawValue)_\(window)" }
    public var windowSeconds: Int? { DurationText.seconds(window) }

    /// count is int64 and mean float64; the others keep the column's type.
    public func outputType(input: FeatureType) -> FeatureType {
        switch function {
        case .count: .int64
        case .mean: .float64
        case .sum, .min, .max, .last: input
        }
    }
}

/// Durations written as a count and a unit: `15m`, `1h`, `7d`.
public enum DurationText {
    public static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let count = Int(text.dropLast()), count > 0 else { return nil }
        switch unit {
        case "m": return count * 60
        case "h": return count * 3600
        case "d": return count * 86_400
        default: return nil
        }
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
    public var batchSources: [BatchSourceDefinition]
    public var batchFeatureViews: [BatchFeatureViewDefinition]
    public init(
        entities: [EntityDefinition] = [], pushSources: [PushSourceDefinition] = [], featureViews: [FeatureViewDefinition] = [],
        featureServices: [FeatureServiceDefinition] = [], batchSources: [BatchSourceDefinition] = [],
        batchFeatureViews: [BatchFeatureViewDefinition] = []
    ) {
        self.entities = entities
        self.pushSources = pushSources
        self.featureViews = featureViews
        self.featureServices = featureServices
        self.batchSources = batchSources
        self.batchFeatureViews = batchFeatureViews
    }

    enum CodingKeys: String, CodingKey {
        case entities, pushSources, featureViews, featureServices, batchSources, batchFeatureViews
    }

    /// Every list may be left out (repositories written before batch views have none).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entities = try c.decodeIfPresent([EntityDefinition].self, forKey: .entities) ?? []
        pushSources = try c.decodeIfPresent([PushSourceDefinition].self, forKey: .pushSources) ?? []
        featureViews = try c.decodeIfPresent([FeatureViewDefinition].self, forKey: .featureViews) ?? []
        featureServices = try c.decodeIfPresent([FeatureServiceDefinition].self, forKey: .featureServices) ?? []
        batchSources = try c.decodeIfPresent([BatchSourceDefinition].self, forKey: .batchSources) ?? []
        batchFeatureViews = try c.decodeIfPresent([BatchFeatureViewDefinition].self, forKey: .batchFeatureViews) ?? []
    }

    /// Every view the feature server can serve: push views and batch views.
    public var servingViews: [FeatureViewDefinition] { featureViews + batchFeatureViews.map(\.servingView) }

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
        unique(featureViews.map(\.name) + batchFeatureViews.map(\.name), "feature view")
        unique(batchSources.map(\.name), "batch source")
        problems += batchProblems()
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
            for view in service.featureViews where !servingViews.contains(where: { $0.name == view }) {
                problems.append("feature service '\(service.name)' references unknown feature view '\(view)'")
            }
        }
        return problems
    }

    /// The rules of batch sources and batch feature views.
    func batchProblems() -> [String] {
        var problems: [String] = []
        for source in batchSources {
            let p = "batch source '\(source.name)'"
            if !["parquet", "csv"].contains(source.format) { problems.append("\(p): format '\(source.format)' must be parquet or csv") }
            if source.path.isEmpty || source.path.hasPrefix("/") || source.path.split(separator: "/").contains("..") {
                problems.append("\(p): path '\(source.path)' must be relative to the tenant's offline store, without '..'")
            }
            if !source.schema.contains(where: { $0.name == source.timestampField }) {
                problems.append("\(p): timestampField '\(source.timestampField)' is not in its schema")
            }
        }
        let iso = ISO8601DateFormatter()
        for view in batchFeatureViews {
            let p = "batch feature view '\(view.name)'"
            if view.ttlSeconds <= 0 { problems.append("\(p): ttlSeconds must be positive") }
            if view.features.isEmpty { problems.append("\(p) has no features") }
            if view.sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problems.append("\(p): sql is empty") }
            if view.scheduleSeconds == nil { problems.append("\(p): batchSchedule '\(view.batchSchedule)' must be a count and m, h or d, like 1h") }
            if iso.date(from: view.featureStartTime) == nil {
                problems.append("\(p): featureStartTime '\(view.featureStartTime)' must be ISO 8601 with a zone, like 2026-01-01T00:00:00Z")
            }
            for entity in view.entities where !entities.contains(where: { $0.name == entity }) {
                problems.append("\(p) references unknown entity '\(entity)'")
            }
            if !batchSources.contains(where: { $0.name == view.source }) { problems.append("\(p) references unknown batch source '\(view.source)'") }
            problems += aggregationProblems(view, p)
        }
        return problems
    }

    func aggregationProblems(_ view: BatchFeatureViewDefinition, _ p: String) -> [String] {
        var problems: [String] = []
        var names: Set<String> = []
        if let aggregations = view.aggregations, !aggregations.isEmpty, let schedule = view.scheduleSeconds, view.ttlSeconds < schedule {
            // Aggregates are computed once per period; a shorter TTL would serve nothing between boundaries.
            problems.append("\(p): ttlSeconds \(view.ttlSeconds) must be at least the batch schedule (\(schedule) s) when the view aggregates")
        }
        for (i, aggregation) in (view.aggregations ?? []).enumerated() {
            let a = "\(p): aggregations[\(i)]"
            guard let column = view.features.first(where: { $0.name == aggregation.column }) else {
                problems.append("\(a): column '\(aggregation.column)' is not one of the view's features")
                continue
            }
            if aggregation.windowSeconds == nil { problems.append("\(a): window '\(aggregation.window)' must be a count and m, h or d, like 7d") }
            if [.sum, .mean].contains(aggregation.function), ![.int64, .float64].contains(column.type) {
                problems.append("\(a): \(aggregation.function.rawValue) needs a numeric column, and '\(column.name)' is \(column.type.rawValue)")
            }
            if !names.insert(aggregation.outputName).inserted { problems.append("\(a): feature '\(aggregation.outputName)' is defined twice") }
        }
        return problems
    }
}

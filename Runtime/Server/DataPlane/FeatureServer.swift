import Foundation
import NIOCore
import VPTContract
import VPTOnlineStore

/// Online retrieval: resolves a feature service, reads each feature view's record for the entity
/// (through the serving cache), applies TTLs and builds the Tecton-shaped response.
public struct FeatureServer: Sendable {
    public let access: AccessList
    public let store: any OnlineStore
    public let cache: ServingCache?
    public let metrics: RequestMetrics

    public init(access: AccessList, store: any OnlineStore, cache: ServingCache?, metrics: RequestMetrics) {
        self.access = access
        self.store = store
        self.cache = cache
        self.metrics = metrics
    }

    struct Options {
        var names = true
        var dataTypes = false
        var status = false
        var readCache = true
        var writeCache = true

        init(_ params: TectonParams) throws {
            if let m = try params.sub("metadata_options") {
                names = m.bool("include_names", default: true)
                dataTypes = m.bool("include_data_types", default: false)
                status = m.bool("include_serving_status", default: false)
            }
            if let r = try params.sub("request_options") {
                readCache = r.bool("read_from_cache", default: true)
                writeCache = r.bool("write_to_cache", default: true)
            }
        }
    }

    /// The workspace and the feature service's plan (its views and join keys), for a caller with
    /// consumer or higher on the workspace and room for `lookups` entities under its rate limit.
    func resolve(_ params: TectonParams, key: String?, lookups: Int = 1) throws -> (workspace: String, plan: ServingPlan) {
        let workspace = try params.string("workspace_name")
        let serviceName = try params.string("feature_service_name")
        return (workspace, try access.serve(key: key, workspace: workspace, service: serviceName, minimum: .consumer, lookups: lookups))
    }

    /// Converts a request's join key value to the declared type; int64 keys come as decimal strings
    /// or JSON integers.
    static func joinKeyValue(_ raw: JSONValue?, _ field: TypedField, at path: String) throws -> FeatureValue {
        guard let raw, raw != .null else { throw APIError.badRequest("\(path).\(field.name) is required") }
        switch field.type {
        case .int64:
            if let text = raw.stringValue, let value = Int64(text) { return .int64(value) }
            if let value = raw.int64Value { return .int64(value) }
        case .string:
            if let text = raw.stringValue { return .string(text) }
        case .float64:
            if let value = raw.doubleValue { return .float64(value) }
        case .bool:
            if case .bool(let value) = raw { return .bool(value) }
        }
        throw APIError.badRequest("\(path).\(field.name) must be \(field.type == .int64 ? "an int64 (a decimal string or an integer)" : "a \(field.type.rawValue)")")
    }

    /// Features for one entity: values in service order and their statuses. The views that the cache
    /// does not answer are read from the store at once (over Redis, pipelined on one connection),
    /// and the future completes on `loop` when all have answered.
    func lookup(
        workspace: String, plan: ServingPlan, joinKeyMap: [String: JSONValue], path: String, options: Options, now: Date, on loop: any EventLoop
    ) -> EventLoopFuture<[(value: FeatureValue, present: Bool)]> {
        let reads: [EventLoopFuture<[UInt8]?>]
        do {
            reads = try plan.views.map { planned in
                let view = planned.definition.name
                let keys = try planned.joinKeys.map { try Self.joinKeyValue(joinKeyMap[$0.name], $0, at: path) }
                if options.readCache, let cache, let hit = cache.get(workspace, view, keys) { return loop.makeSucceededFuture(hit) }
                let (cache, writeCache) = (self.cache, options.writeCache)
                return store.readEncoded(workspace: workspace, featureView: view, entityKeys: [keys], on: loop).map { values in
                    if writeCache, let cache { cache.put(workspace, view, keys, values[0]) }
                    return values[0]
                }
            }
        } catch {
            return loop.makeFailedFuture(error)
        }
        // One view, the common case, skips the aggregation and its allocations.
        let encoded = reads.count == 1 ? reads[0].map { [$0] } : EventLoopFuture.whenAllSucceed(reads, on: loop)
        return encoded.flatMapThrowing { try Self.values(of: $0, plan: plan, now: now) }
    }

    /// `lookup` from async code (get-features as a dictionary, batches), on the current event loop.
    func lookup(
        workspace: String, plan: ServingPlan, joinKeyMap: [String: JSONValue], path: String, options: Options, now: Date
    ) async throws -> [(value: FeatureValue, present: Bool)] {
        let loop = RouteContext.callersLoop
        return try await lookup(workspace: workspace, plan: plan, joinKeyMap: joinKeyMap, path: path, options: options, now: now, on: loop).get()
    }

    /// Each view's stored value decoded onto the features the plan serves, in service order; a value
    /// older than its view's TTL, or absent, is missing.
    static func values(of encoded: [[UInt8]?], plan: ServingPlan, now: Date) throws -> [(value: FeatureValue, present: Bool)] {
        var result: [(value: FeatureValue, present: Bool)] = []  // labelled as returned: no array cast
        result.reserveCapacity(plan.featureCount)
        for (planned, encoded) in zip(plan.views, encoded) {
            let view = planned.definition
            let stored = try encoded.map { try OnlineRecordCodec.decodeValue($0, onto: planned.projection) }
            let fresh = stored.map { Double($0.eventTimeMicros) / 1e6 >= now.timeIntervalSince1970 - Double(view.ttlSeconds) } ?? false
            for value in stored?.values ?? Array(repeating: nil, count: view.features.count) {
                guard fresh, let value else {
                    result.append((.null, false))
                    continue
                }
                result.append((value, true))
            }
        }
        return result
    }

    func metadata(_ plan: ServingPlan, _ options: Options, statuses: [Bool]?) -> [[String: Any]] {
        var out: [[String: Any]] = []
        var index = 0
        for view in plan.views.map(\.definition) {
            for feature in view.features {
                var entry: [String: Any] = [:]
                if options.names { entry["name"] = "\(view.name).\(feature.name)" }
                if options.dataTypes { entry["dataType"] = ["type": feature.type.rawValue] }
                if options.status, let statuses { entry["status"] = statuses[index] ? "PRESENT" : "MISSING_DATA" }
                out.append(entry)
                index += 1
            }
        }
        return out
    }

    /// `POST /api/v1/feature-service/get-features`.
    public func getFeatures(body: [String: JSONValue], key: String?, now: Date = Date()) async throws -> [String: Any] {
        let params = try TectonParams(body: body)
        let (workspace, plan) = try resolve(params, key: key)
        let options = try Options(params)
        let joinKeyMap = try params.object("join_key_map") ?? [:]
        let values = try await lookup(workspace: workspace, plan: plan, joinKeyMap: joinKeyMap, path: "params.join_key_map", options: options, now: now)
        var response: [String: Any] = ["result": ["features": values.map(\.value)]]
        let meta = metadata(plan, options, statuses: values.map(\.present))
        if options.names || options.dataTypes || options.status { response["metadata"] = ["features": meta] }
        return response
    }

    /// `getFeatures` written straight to JSON bytes: the serving hot path, without intermediate
    /// dictionaries. Same document as `getFeatures` (keys sorted: metadata, then result). Runs on
    /// `loop`, the request's event loop, without a task: what the store does not answer at once
    /// completes the future from there.
    public func getFeaturesJSON(body: [String: JSONValue], key: String?, now: Date = Date(), on loop: any EventLoop) -> EventLoopFuture<[UInt8]> {
        let plan: ServingPlan
        let options: Options
        let looked: EventLoopFuture<[(value: FeatureValue, present: Bool)]>
        do {
            let params = try TectonParams(body: body)
            let workspace: String
            (workspace, plan) = try resolve(params, key: key)
            options = try Options(params)
            let joinKeyMap = try params.object("join_key_map") ?? [:]
            looked = lookup(workspace: workspace, plan: plan, joinKeyMap: joinKeyMap, path: "params.join_key_map", options: options, now: now, on: loop)
        } catch {
            return loop.makeFailedFuture(error)
        }
        return looked.map { values in Self.encode(values, plan: plan, options: options) }
    }

    /// `getFeaturesJSON` from async code, on the current event loop.
    public func getFeaturesJSON(body: [String: JSONValue], key: String?, now: Date = Date()) async throws -> [UInt8] {
        let loop = RouteContext.callersLoop
        return try await getFeaturesJSON(body: body, key: key, now: now, on: loop).get()
    }

    static func encode(_ values: [(value: FeatureValue, present: Bool)], plan: ServingPlan, options: Options) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + values.count * 48 + plan.largestMetadataBlock)
        out.append(UInt8(ascii: "{"))
        plan.writeMetadata(names: options.names, dataTypes: options.dataTypes, statuses: options.status ? values.map(\.present) : nil, to: &out)
        out.append(contentsOf: "\"result\":{\"features\":[".utf8)
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeFeature(value.value, to: &out)
        }
        out.append(contentsOf: "]}}".utf8)
        return out
    }

    /// The most entries one get-features-batch request may hold.
    static let maxBatchEntries = 1000

    /// `POST /api/v1/feature-service/get-features-batch`: `params.request_data` is a list of
    /// `{join_key_map, request_context_map}`; `result` is one `{features}` per entry, in order.
    public func getFeaturesBatch(body: [String: JSONValue], key: String?, now: Date = Date()) async throws -> [String: Any] {
        let params = try TectonParams(body: body)
        // Each entry is a lookup against the caller's rate limit (checked before the entries are);
        // a batch over the size cap is refused below and takes nothing.
        let entryCount = params.value("request_data")?.arrayValue?.count ?? 1
        let (workspace, plan) = try resolve(params, key: key, lookups: entryCount > Self.maxBatchEntries ? 0 : max(1, entryCount))
        let options = try Options(params)
        let malformed = APIError.badRequest("params.request_data must be a list of {join_key_map} objects")
        guard let entries = params.value("request_data")?.arrayValue else { throw malformed }
        let requests = entries.compactMap(\.objectValue)
        guard requests.count == entries.count else { throw malformed }
        guard requests.count <= Self.maxBatchEntries else { throw APIError.badRequest("params.request_data holds at most \(Self.maxBatchEntries) entries") }
        var results: [[String: Any]] = []
        var statuses: [[Bool]] = []
        for (i, request) in requests.enumerated() {
            let entry = TectonParams(raw: request)
            let values = try await lookup(
                workspace: workspace, plan: plan, joinKeyMap: try entry.object("join_key_map") ?? [:],
                path: "params.request_data[\(i)].join_key_map", options: options, now: now)
            results.append(["features": values.map(\.value)])
            statuses.append(values.map(\.present))
        }
        var response: [String: Any] = ["result": results]
        if options.names || options.dataTypes { response["metadata"] = ["features": metadata(plan, options, statuses: nil)] }
        if options.status { response["metadata"] = ["features": metadata(plan, options, statuses: nil), "statuses": statuses.map { $0.map { $0 ? "PRESENT" : "MISSING_DATA" } }] }
        return response
    }

    /// `POST /api/v1/feature-service/metadata`.
    public func metadata(body: [String: JSONValue], key: String?) throws -> [String: Any] {
        let params = try TectonParams(body: body)
        let (_, plan) = try resolve(params, key: key)
        let (views, joinKeys) = (plan.views.map(\.definition), plan.joinKeys)
        return [
            "featureServiceType": "DEFAULT",
            "inputJoinKeys": joinKeys.map { ["name": $0.name, "dataType": ["type": $0.type.rawValue]] },
            "inputRequestContextKeys": [] as [Any],
            "featureValues": views.flatMap { view in
                view.features.map { ["name": "\(view.name).\($0.name)", "dataType": ["type": $0.type.rawValue]] as [String: Any] }
            },
        ]
    }
}

import Foundation
import VPTContract

/// `POST /ingest`: records for push sources are checked against their schemas (a request with any bad
/// record writes nothing), written to the online store of every online feature view on that source
/// (newest event wins), invalidated in the serving cache, and appended to the offline log.
public struct IngestService: Sendable {
    public let access: AccessList
    public let store: any OnlineStore
    public let cache: ServingCache?
    public let offlineLog: OfflineLog?
    public let metrics: RequestMetrics

    public init(access: AccessList, store: any OnlineStore, cache: ServingCache?, offlineLog: OfflineLog?, metrics: RequestMetrics) {
        self.access = access
        self.store = store
        self.cache = cache
        self.offlineLog = offlineLog
        self.metrics = metrics
    }

    struct Accepted {
        var source: PushSourceDefinition
        var fields: [String: FeatureValue]
        var eventMicros: Int64
    }

    /// Converts one JSON field to its schema type, or says why not.
    static func convert(_ raw: JSONValue?, _ type: FeatureType) -> FeatureValue? {
        guard let raw, raw != .null else { return .null }
        switch type {
        case .int64:
            if let i = raw.int64Value { return .int64(i) }
            if let s = raw.stringValue, let i = Int64(s) { return .int64(i) }
        case .float64:
            if let d = raw.doubleValue { return .float64(d) }  // JSON writes 1.0 as 1
        case .string:
            if let s = raw.stringValue { return .string(s) }
        case .bool:
            if case .bool(let b) = raw { return .bool(b) }
        }
        return nil
    }

    /// Event times of one request: RFC 3339 (read by `RFC3339`; other ISO-8601 forms through
    /// Foundation, whose formatters are made once per request) or int64 microseconds.
    final class EventTimes {
        private lazy var fractional: ISO8601DateFormatter = {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter
        }()
        private lazy var whole = ISO8601DateFormatter()

        func micros(_ value: JSONValue?) -> Int64? {
            if let s = value?.stringValue {
                if let micros = RFC3339.micros(s) ?? Int64(s) { return micros }
                return (fractional.date(from: s) ?? whole.date(from: s)).map { Int64(($0.timeIntervalSince1970 * 1_000_000).rounded()) }
            }
            return value?.int64Value
        }
    }

    public func ingest(body: [String: JSONValue], key: String?, now: Date = Date()) throws -> [String: Any] {
        let params = TectonParams(raw: body)
        let workspace = try params.string("workspace_name")
        _ = try access.authorize(key: key, workspace: workspace, minimum: .operator)
        let dryRun = params.bool("dry_run", default: false)
        guard let repo = access.repo(workspace) else { throw APIError.notFound("workspace '\(workspace)' has no feature repository") }
        guard let sources = params.value("records")?.objectValue, !sources.isEmpty else {
            throw APIError.badRequest("records must be an object of push source name to a list of {record: {...}}")
        }
        var accepted: [Accepted] = []
        var invalid: [InvalidRecord] = []
        let eventTimes = EventTimes()
        for (sourceName, rawList) in sources.sorted(by: { $0.key < $1.key }) {
            guard let source = repo.pushSources.first(where: { $0.name == sourceName }) else {
                invalid.append(InvalidRecord(source: sourceName, problems: ["push source '\(sourceName)' does not exist in workspace '\(workspace)'"]))
                continue
            }
            guard let list = rawList.arrayValue else {
                invalid.append(InvalidRecord(source: sourceName, problems: ["records.\(sourceName) must be a list"]))
                continue
            }
            let schemaNames = Set(source.schema.map(\.name))
            for (index, item) in list.enumerated() {
                guard let record = item.objectValue?["record"]?.objectValue else {
                    invalid.append(InvalidRecord(source: sourceName, index: index, problems: ["each entry must be {\"record\": {...}}"]))
                    continue
                }
                var problems: [String] = []
                var fields: [String: FeatureValue] = [:]
                for field in source.schema {
                    guard record[field.name] != nil else {
                        problems.append("missing field '\(field.name)'")
                        continue
                    }
                    if let value = Self.convert(record[field.name], field.type) { fields[field.name] = value } else {
                        problems.append("field '\(field.name)' must be \(field.type.rawValue)")
                    }
                }
                for name in record.keys.filter({ !schemaNames.contains($0) }).sorted() {
                    problems.append("field '\(name)' is not in the schema of '\(sourceName)'")
                }
                let event = eventTimes.micros(record[source.timestampField])
                if record[source.timestampField] != nil, event == nil {
                    problems.append("field '\(source.timestampField)' must be an ISO-8601 time or int64 microseconds")
                }
                if problems.isEmpty, let event {
                    accepted.append(Accepted(source: source, fields: fields, eventMicros: event))
                } else {
                    invalid.append(InvalidRecord(source: sourceName, index: index, problems: problems))
                }
            }
        }
        guard invalid.isEmpty else {
            throw IngestRejected(invalidRecords: invalid)
        }
        let writeMicros = Int64((now.timeIntervalSince1970 * 1_000_000).rounded())
        var perView: [String: Int] = [:]
        if !dryRun {
            var online: [OnlineRecord] = []
            for item in accepted {
                for view in repo.featureViews where view.source == item.source.name && view.online {
                    let keys = repo.joinKeys(of: view)
                    guard keys.allSatisfy({ item.fields[$0.name] != nil && item.fields[$0.name] != .null }) else {
                        throw APIError.badRequest("join keys of '\(view.name)' must not be null")
                    }
                    online.append(
                        OnlineRecord(
                            workspace: workspace, featureView: view.name, joinKeys: keys.map { ($0.name, item.fields[$0.name]!) },
                            features: view.features.map { ($0.name, item.fields[$0.name] ?? .null) }, eventTimeMicros: item.eventMicros,
                            writeTimeMicros: writeMicros))
                    perView[view.name, default: 0] += 1
                }
            }
            // Offline first: a crash after it leaves the online store behind, never the log.
            try offlineLog?.append(workspace: workspace, records: accepted.map { ($0.source.name, $0.fields, $0.eventMicros) }, writeMicros: writeMicros)
            _ = try store.write(online)
            for record in online { cache?.invalidate(record.workspace, record.featureView, record.joinKeys.map(\.value)) }
            metrics.increment("vpt_ingest_records_total", by: accepted.count)
        }
        return [
            "workspaceName": workspace, "dryRun": dryRun, "acceptedRecords": accepted.count,
            "ingestMetrics": ["featureViewIngestMetrics": perView.sorted { $0.key < $1.key }.map { ["featureViewName": $0.key, "onlineRecordIngestCount": $0.value] }],
        ]
    }
}

/// A request with invalid records: 400 listing each one; nothing was written.
public struct IngestRejected: Error {
    public var invalidRecords: [InvalidRecord]
}

/// One rejected record (or source) of an ingest request and everything wrong with it.
public struct InvalidRecord: Sendable {
    public var source: String
    /// The record's position in its source's list; nil when the whole source was refused.
    public var index: Int?
    public var problems: [String]

    /// The response body's form: `{source, index?, problems}`.
    public var json: [String: Any] {
        var out: [String: Any] = ["source": source, "problems": problems]
        if let index { out["index"] = index }
        return out
    }
}

/// The offline log: accepted ingest records appended as JSON lines in the customer's offline store,
/// one file per push source and UTC day, fsynced before the request is answered.
public final class OfflineLog: @unchecked Sendable {
    let root: URL
    private let lock = NSLock()

    public init(root: URL) { self.root = root }

    func append(workspace: String, records: [(String, [String: FeatureValue], Int64)], writeMicros: Int64) throws {
        guard !records.isEmpty else { return }
        let day = ISO8601DateFormatter.string(from: Date(timeIntervalSince1970: Double(writeMicros) / 1e6), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        // Each line is one JSON object with sorted keys: the record's fields and three of ours
        // (a field of the same name wins). Every accepted record of a source has the same fields,
        // so the key order is sorted once per source; a record with other fields gets its own.
        var bySource: [String: [UInt8]] = [:]
        var orders: [String: [String]] = [:]
        let written = String(writeMicros)
        for (source, fields, event) in records {
            let meta = ["_event_time_micros": String(event), "_write_time_micros": written, "_workspace": workspace]
            var line = bySource.removeValue(forKey: source) ?? []  // not a copy: appends stay in place
            let mark = line.count
            if let order = orders[source], Self.writeLine(fields, meta, order: order, to: &line) {
                bySource[source] = line
                continue
            }
            line.removeSubrange(mark...)
            let order = Set(fields.keys).union(meta.keys).sorted()
            orders[source] = order
            _ = Self.writeLine(fields, meta, order: order, to: &line)
            bySource[source] = line
        }
        try lock.withLock {
            for (source, bytes) in bySource {
                let dir = root.appendingPathComponent("ingest/\(workspace)/\(source)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let file = dir.appendingPathComponent("\(day).jsonl")
                let fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
                guard fd >= 0 else { throw APIError(.internalServerError, "cannot append to the offline log") }
                defer { close(fd) }
                guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
                    throw APIError(.internalServerError, "cannot append to the offline log")
                }
            }
        }
    }

    /// Writes `{"key": value, …}\n` in `order`; false (with a partial line) when `order` is not
    /// exactly the record's keys.
    private static func writeLine(_ fields: [String: FeatureValue], _ meta: [String: String], order: [String], to line: inout [UInt8]) -> Bool {
        var fromFields = 0
        line.append(UInt8(ascii: "{"))
        for (index, key) in order.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            JSONWriter.writeString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            if let value = fields[key] {
                JSONWriter.writeFeature(value, to: &line)
                fromFields += 1
            } else if let value = meta[key] {
                JSONWriter.writeString(value, to: &line)
            } else {
                return false
            }
        }
        line.append(contentsOf: "}\n".utf8)
        return fromFields == fields.count
    }
}

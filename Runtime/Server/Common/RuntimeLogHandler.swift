import Foundation
import Logging

/// The runtime's log handler: StreamLogHandler's line format on stderr, with metadata formatted
/// when a line is written rather than whenever it changes. Hummingbird attaches a request id to
/// every request's logger, and StreamLogHandler re-renders all metadata on each such change: about
/// 3 % of the feature server's CPU (measured with perf), for lines that are almost never written.
public struct RuntimeLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata = Logger.Metadata()
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    /// Installs this handler for the process; call once, before the first logger is made.
    public static func bootstrap() {
        LoggingSystem.bootstrap { label in RuntimeLogHandler(label: label) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        FileHandle.standardError.write(Data(Self.line(event, label: label, metadata: merged).utf8))
    }

    /// `2026-11-28T01:26:33+0000 info label: key=value [source] message`.
    static func line(_ event: LogEvent, label: String, metadata: Logger.Metadata) -> String {
        let pretty = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(timestamp()) \(event.level) \(label):\(pretty.isEmpty ? "" : " " + pretty) [\(event.source)] \(event.message)\n"
    }

    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

import Foundation
import Testing
import VPTContract
import VPTTestSupport
@testable import VPTRuntime

/// The offline log's lines are what the SDK and the Rift runner read back: one JSON object per
/// record with sorted keys, int64 values as strings, and the event time, write time and workspace.
@Suite struct OfflineLogTests {
    @Test func linesHoldEveryFieldAndOursWithSortedKeysInPrivateFiles() throws {
        let root = temporaryDirectory()
        let log = OfflineLog(root: root)
        let write: Int64 = 1_795_849_200_000_000  // 2026-11-28
        try log.append(
            workspace: "prod",
            records: [
                ("clicks", ["user": .int64(42), "score": .float64(0.5), "tag": .string("a\"b"), "ok": .bool(true), "gone": .null], 10),
                ("views", ["user": .int64(7), "list": .array([.int64(1), .float64(2.5)])], 11),
                ("clicks", ["user": .int64(43), "score": .float64(-1), "tag": .string(""), "ok": .bool(false), "gone": .null], 12),
                // Other fields for the same source (only possible from a caller other than ingest): its own key order.
                ("clicks", ["user": .int64(44), "extra": .string("x")], 13),
            ],
            writeMicros: write)
        let clicks = root.appendingPathComponent("ingest/prod/clicks/2026-11-28.jsonl")
        let views = root.appendingPathComponent("ingest/prod/views/2026-11-28.jsonl")
        #expect(
            try String(contentsOf: clicks, encoding: .utf8) == """
                {"_event_time_micros":"10","_workspace":"prod","_write_time_micros":"1795849200000000","gone":null,"ok":true,"score":0.5,"tag":"a\\"b","user":"42"}
                {"_event_time_micros":"12","_workspace":"prod","_write_time_micros":"1795849200000000","gone":null,"ok":false,"score":-1.0,"tag":"","user":"43"}
                {"_event_time_micros":"13","_workspace":"prod","_write_time_micros":"1795849200000000","extra":"x","user":"44"}

                """)
        #expect(
            try String(contentsOf: views, encoding: .utf8) == """
                {"_event_time_micros":"11","_workspace":"prod","_write_time_micros":"1795849200000000","list":["1",2.5],"user":"7"}

                """)
        #expect(fileMode(clicks) == 0o600)
        #expect(fileMode(clicks.deletingLastPathComponent()) == 0o700)

        // A second request appends below the first.
        try log.append(workspace: "prod", records: [("views", ["user": .int64(8), "list": .array([])], 14)], writeMicros: write)
        #expect(try String(contentsOf: views, encoding: .utf8).split(separator: "\n").count == 2)
    }
}

import Foundation
import GRDBSQLite
import NIOCore

/// Primary-key reads of the online store for the serving path, on the SQLite C API: a small pool
/// of read-only connections, each with its statement prepared once. GRDB's reader pool costs a
/// dispatch-queue hop, an SQL-keyed statement cache lookup and argument boxing per read, which at
/// tens of thousands of reads a second is most of a read's time. Writes, audits and schema stay on
/// GRDB; the WAL journal lets these readers run beside its writer and beside the Rift runner.
final class SQLitePointReader: @unchecked Sendable {
    enum Failure: Error, CustomStringConvertible {
        case sqlite(String, Int32, String)
        var description: String {
            switch self {
            case .sqlite(let what, let code, let message): "sqlite \(what) failed (\(code)): \(message)"
            }
        }
    }

    /// One connection and its prepared statement, used by one read at a time.
    final class Slot {
        let connection: OpaquePointer
        let statement: OpaquePointer

        init(path: String, busyTimeout: Double) throws {
            var connection: OpaquePointer?
            let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            guard sqlite3_open_v2(path, &connection, flags, nil) == SQLITE_OK, let connection else {
                let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
                sqlite3_close_v2(connection)
                throw Failure.sqlite("open \(path)", SQLITE_CANTOPEN, message)
            }
            sqlite3_busy_timeout(connection, Int32(busyTimeout * 1000))
            var statement: OpaquePointer?
            let sql = "SELECT value FROM online_record WHERE workspace = ?1 AND feature_view = ?2 AND entity_key = ?3"
            guard sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
                let message = String(cString: sqlite3_errmsg(connection))
                sqlite3_close_v2(connection)
                throw Failure.sqlite("prepare", SQLITE_ERROR, message)
            }
            self.connection = connection
            self.statement = statement
        }

        deinit {
            sqlite3_finalize(statement)
            for statement in control.values { sqlite3_finalize(statement) }
            sqlite3_close_v2(connection)
        }

        /// `BEGIN`, `COMMIT` and `ROLLBACK`, prepared on first use: run once per pass of an event
        /// loop, they are not parsed each time.
        private var control: [String: OpaquePointer] = [:]

        /// Runs one statement without result rows (`BEGIN`, `COMMIT`, `ROLLBACK`).
        func execute(_ sql: String) throws {
            let statement: OpaquePointer
            if let prepared = control[sql] {
                statement = prepared
            } else {
                var prepared: OpaquePointer?
                guard sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil) == SQLITE_OK, let prepared else {
                    throw Failure.sqlite("prepare \(sql)", SQLITE_ERROR, String(cString: sqlite3_errmsg(connection)))
                }
                control[sql] = prepared
                statement = prepared
            }
            defer { sqlite3_reset(statement) }
            let code = sqlite3_step(statement)
            guard code == SQLITE_DONE else { throw Failure.sqlite(sql, code, String(cString: sqlite3_errmsg(connection))) }
        }

        /// The value column of the row, or nil when there is none.
        func read(_ workspace: String, _ featureView: String, _ key: [UInt8]) throws -> [UInt8]? {
            // SQLITE_STATIC (the nil destructor): SQLite reads the caller's bytes in place instead
            // of copying them, which saves three mallocs per read, and with them three trips
            // through SQLite's global allocator mutex that both event loops contend for. The bytes
            // stay valid because the statement is stepped, read and reset inside these closures.
            try workspace.withCString { workspace in
                try featureView.withCString { featureView in
                    try key.withUnsafeBytes { key in
                        defer {
                            sqlite3_reset(statement)
                            sqlite3_clear_bindings(statement)
                        }
                        var code = sqlite3_bind_text(statement, 1, workspace, -1, nil)
                        if code == SQLITE_OK { code = sqlite3_bind_text(statement, 2, featureView, -1, nil) }
                        // A zero-length key still binds a blob (not NULL): SQLite wants a non-nil pointer.
                        if code == SQLITE_OK {
                            code = sqlite3_bind_blob(statement, 3, key.baseAddress ?? UnsafeRawPointer(workspace), Int32(key.count), nil)
                        }
                        guard code == SQLITE_OK else { throw Failure.sqlite("bind", code, String(cString: sqlite3_errmsg(connection))) }
                        switch sqlite3_step(statement) {
                        case SQLITE_ROW:
                            let count = Int(sqlite3_column_bytes(statement, 0))
                            guard count > 0, let blob = sqlite3_column_blob(statement, 0) else { return [] }
                            return Array(UnsafeRawBufferPointer(start: blob, count: count))
                        case SQLITE_DONE:
                            return nil
                        case let failure:
                            throw Failure.sqlite("read", failure, String(cString: sqlite3_errmsg(connection)))
                        }
                    }
                }
            }
        }
    }

    private let path: String
    private let busyTimeout: Double
    private let lock = NSLock()
    private var idle: [Slot] = []
    private var passes: [ObjectIdentifier: LoopPass] = [:]

    /// - Parameter eager: open the first connection now, so a broken store fails at open time
    ///   rather than at the first request.
    init(path: String, eager: Bool, busyTimeout: Double) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        if eager { idle = [try Slot(path: path, busyTimeout: busyTimeout)] }
    }

    /// Runs `body` on an idle connection, opening another when all are busy (one per concurrent
    /// reader, so a handful on this runtime's thread pool).
    func withSlot<T>(_ body: (Slot) throws -> T) throws -> T {
        let slot = try lock.withLock { idle.popLast() } ?? Slot(path: path, busyTimeout: busyTimeout)
        defer { lock.withLock { idle.append(slot) } }
        return try body(slot)
    }

    /// Runs `body` on `loop`'s own connection (the caller is on `loop`) inside the read transaction
    /// of the loop's current pass; see `LoopPass`.
    func withLoopPass<T>(_ loop: any EventLoop, _ body: (Slot) throws -> T) throws -> T {
        let pass = try lock.withLock {
            if let pass = passes[ObjectIdentifier(loop)] { return pass }
            let pass = LoopPass(loop: loop, slot: try Slot(path: path, busyTimeout: busyTimeout))
            passes[ObjectIdentifier(loop)] = pass
            return pass
        }
        return try pass.run(body)
    }

    /// One event loop's connection, whose reads share one read transaction per pass of the loop:
    /// the first read of a pass begins it, and a task queued behind the pass's work ends it. An
    /// autocommit read takes and drops the database file's shared lock and a WAL read mark, four or
    /// five `fcntl` calls each time; a pass that serves many requests now pays them once.
    ///
    /// Reads still see every write committed before their request was read: NIO runs the queued
    /// task before it next waits for I/O, so a transaction never outlives its pass, and a client
    /// that got an ingest's 200 sends its next request after the pass that wrote that 200. The
    /// snapshot is at most one pass old, so a WAL checkpoint is never held up for long. State is
    /// touched on `loop` only.
    final class LoopPass: @unchecked Sendable {
        let loop: any EventLoop
        let slot: Slot
        private var open = false

        init(loop: any EventLoop, slot: Slot) {
            self.loop = loop
            self.slot = slot
        }

        deinit {
            if open { try? slot.execute("ROLLBACK") }
        }

        func run<T>(_ body: (Slot) throws -> T) throws -> T {
            loop.preconditionInEventLoop()
            if !open {
                try slot.execute("BEGIN")
                open = true
                loop.execute { [self] in end() }
            }
            do {
                return try body(slot)
            } catch {
                // A failed read (busy past the timeout, I/O error) ends the transaction now, so the
                // next read starts afresh.
                end()
                throw error
            }
        }

        private func end() {
            guard open else { return }
            open = false
            // A read transaction has nothing to commit; if COMMIT fails, ROLLBACK still ends it.
            if (try? slot.execute("COMMIT")) == nil { try? slot.execute("ROLLBACK") }
        }
    }
}

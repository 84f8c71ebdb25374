import GRDB
import GRDBSQLite

/// The SQLite online store could not read or write right now: locked past the busy timeout, out of
/// disk, an I/O error, the file gone or read-only. Clients get 503 and retry, as for a Redis server
/// that is down. Damage (a corrupt or foreign file) is not in this set: it stays a 500, because
/// retrying will not help and an operator has to look.
public struct SQLiteStoreUnavailable: OnlineStoreUnavailable, CustomStringConvertible {
    /// SQLite's primary result code.
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "the SQLite online store could not be used (SQLite code \(code)): \(message)" }

    /// Primary result codes that mean "not now" rather than "broken".
    static let retryable: Set<Int32> = [
        SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL,
    ]

    /// `error` as `SQLiteStoreUnavailable` when its code is retryable; otherwise `error` itself.
    static func classify(_ error: any Error) -> any Error {
        let found: (code: Int32, message: String)?
        switch error {
        case let error as DatabaseError: found = (error.resultCode.primaryResultCode.rawValue, error.message ?? "\(error.resultCode)")
        case let error as SQLitePointReader.Failure:
            switch error {
            case .sqlite(let what, let code, let message): found = (code & 0xFF, "\(what): \(message)")
            }
        default: found = nil
        }
        guard let found, retryable.contains(found.code) else { return error }
        return SQLiteStoreUnavailable(code: found.code, message: found.message)
    }
}

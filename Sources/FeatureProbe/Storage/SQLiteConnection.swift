import CSQLite
import Foundation

/// A connection to one SQLite database file through the system libsqlite3.
///
/// The only file of FeatureProbe that imports `CSQLite` and touches C pointers; everything above it
/// speaks ``SQLValue``. A connection is opened in serialized mode (`SQLITE_OPEN_FULLMUTEX`), so it
/// may be handed between threads, but the usual use is one connection per thread or process.
/// Every open sets a busy timeout, so a writer waiting for another process's transaction waits
/// instead of failing with "database is locked".
///
/// Errors are ``FeatureProbeError``s carrying SQLite's code and message, the SQL, and the path.
public final class SQLiteConnection: @unchecked Sendable {
    /// How to open the file.
    public enum Mode: Sendable, Equatable {
        /// Read and write; `create` creates the file when it does not exist.
        case readWrite(create: Bool)
        /// `SQLITE_OPEN_READONLY`: no statement can write the file.
        case readOnly
        /// Read-only with SQLite's `immutable` URI parameter: no lock, no -wal or -shm file, for a
        /// database on a read-only mount (see ``openForReading(path:busyTimeout:)``).
        case immutable
    }

    /// The file's path as given.
    public let path: String
    /// The mode it was opened with.
    public let mode: Mode
    private let handle: OpaquePointer

    /// The default busy timeout: how long a statement waits for another connection's lock.
    public static let defaultBusyTimeout: Duration = .seconds(30)

    /// The version of the linked libsqlite3, such as `3.40.1`.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Opens `path`.
    ///
    /// - Parameters:
    ///   - path: the database file.
    ///   - mode: read-write (optionally creating the file) or read-only.
    ///   - busyTimeout: how long to wait for locks held by other connections.
    /// - Throws: ``FeatureProbeError`` when SQLite cannot open the file (missing file without
    ///   `create`, missing folder, no permission).
    public init(path: String, mode: Mode, busyTimeout: Duration = SQLiteConnection.defaultBusyTimeout) throws {
        self.path = path
        self.mode = mode
        var flags = SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW
        var name = path
        switch mode {
        case .readWrite(let create): flags |= SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .immutable:
            flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
            name = "file:" + Self.percentEncoded(path) + "?immutable=1"
        }
        var pointer: OpaquePointer?
        let code = sqlite3_open_v2(name, &pointer, flags, nil)
        guard code == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(pointer)
            let how = mode == .readWrite(create: true) || mode == .readWrite(create: false) ? "for reading and writing" : "for reading"
            throw FeatureProbeError("Cannot open the SQLite database \(path) \(how): SQLite error \(code) (\(message)). The path must name an existing database file, or a new file in an existing, writable folder.",
                                    sqliteResultCode: code)
        }
        handle = pointer
        sqlite3_extended_result_codes(handle, 1)
        let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Opens an existing database for reading, also on a read-only mount.
    ///
    /// A database in WAL mode needs its `-shm` file to be read; in a folder that cannot be written
    /// SQLite cannot create it and fails with SQLITE_CANTOPEN (14). Then, when no `-wal` file with
    /// unmerged pages lies beside the database, it is reopened `immutable` (no locks, no files
    /// created); when one does, the error says how to merge it, since reading without it would
    /// show an old state.
    ///
    /// - Throws: ``FeatureProbeError`` when the file cannot be opened or read.
    public static func openForReading(path: String, busyTimeout: Duration = defaultBusyTimeout) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, mode: .readOnly, busyTimeout: busyTimeout)
        do {
            _ = try connection.scalar("SELECT count(*) FROM sqlite_master")
            return connection
        } catch let error as FeatureProbeError where resultCode(of: error) == SQLITE_CANTOPEN {
            let wal = path + "-wal"
            let walBytes = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? NSNumber)?.intValue ?? 0
            guard walBytes == 0 else {
                throw FeatureProbeError("Cannot read the database \(path): it is in WAL mode and its folder cannot be written (SQLite needs to create \(path)-shm), and \(wal) holds \(walBytes) bytes of changes not yet merged into it. Open it once where the folder is writable (for example `probe-cli query --db COPY \"PRAGMA user_version\"` on a copy of both files) to merge them, then read it here.")
            }
            return try SQLiteConnection(path: path, mode: .immutable, busyTimeout: busyTimeout)
        }
    }

    /// `path` with the characters that end or escape a URI path (`%`, `?`, `#`) percent-encoded.
    static func percentEncoded(_ path: String) -> String {
        var encoded = ""
        for character in path.unicodeScalars {
            switch character {
            case "%": encoded += "%25"
            case "?": encoded += "%3f"
            case "#": encoded += "%23"
            default: encoded.unicodeScalars.append(character)
            }
        }
        return encoded
    }

    // MARK: - Limits

    /// Bounds on the statements a connection runs, for SQL that comes from outside.
    public struct Limits: Sendable {
        /// A statement still running at this instant is stopped (SQLite's progress handler).
        public var deadline: ContinuousClock.Instant?
        /// Polled while a statement runs; returning true stops it (for Ctrl-C).
        public var isCancelled: @Sendable () -> Bool
        /// The largest string or BLOB a statement may produce (`SQLITE_LIMIT_LENGTH`).
        public var maximumValueBytes: Int?

        public init(deadline: ContinuousClock.Instant? = nil, isCancelled: @escaping @Sendable () -> Bool = { false },
                    maximumValueBytes: Int? = nil) {
            self.deadline = deadline
            self.isCancelled = isCancelled
            self.maximumValueBytes = maximumValueBytes
        }
    }

    /// Why the progress handler stopped a statement, for the error message.
    private final class ProgressGuard: @unchecked Sendable {
        let limits: Limits
        var stopReason: String?
        init(_ limits: Limits) { self.limits = limits }

        func shouldStop() -> Bool {
            if limits.isCancelled() {
                stopReason = "it was interrupted (Ctrl-C)"
                return true
            }
            if let deadline = limits.deadline, ContinuousClock.now >= deadline {
                stopReason = "it ran past its time limit"
                return true
            }
            return false
        }
    }

    private var progressGuard: ProgressGuard?

    /// Applies `limits` to every later statement of this connection.
    public func apply(_ limits: Limits) {
        let progress = ProgressGuard(limits)
        progressGuard = progress
        // Every 10,000 virtual-machine instructions: about a millisecond of work.
        sqlite3_progress_handler(handle, 10_000, { context in
            guard let context else { return 0 }
            return Unmanaged<ProgressGuard>.fromOpaque(context).takeUnretainedValue().shouldStop() ? 1 : 0
        }, Unmanaged.passUnretained(progress).toOpaque())
        if let bytes = limits.maximumValueBytes {
            sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, Int32(clamping: bytes))
        }
    }

    /// Limits the memory all of this process's SQLite connections may allocate
    /// (`sqlite3_hard_heap_limit64`); an allocation beyond it fails with SQLITE_NOMEM.
    public static func setHeapLimit(bytes: Int) {
        _ = sqlite3_hard_heap_limit64(sqlite3_int64(bytes))
    }

    // MARK: - Statements

    /// Runs one or more `;`-separated statements that return no rows of interest.
    ///
    /// - Throws: ``FeatureProbeError`` naming the failing SQL.
    public func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(errorMessage)
            throw error(code: code, message: message, sql: sql)
        }
    }

    /// Compiles one statement.
    ///
    /// - Parameter allowTrailingStatements: when false (the default), text after the first
    ///   statement other than whitespace and comments is refused.
    /// - Throws: ``FeatureProbeError`` for a syntax error, an authorizer denial, or several statements.
    public func prepare(_ sql: String, allowTrailingStatements: Bool = false) throws -> Statement {
        let utf8 = Array(sql.utf8)
        var statement: OpaquePointer?
        var trailing = ""
        let code: Int32 = utf8.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                var tail: UnsafePointer<CChar>?
                let code = sqlite3_prepare_v2(handle, chars.baseAddress, Int32(chars.count), &statement, &tail)
                if code == SQLITE_OK, let tail, let base = chars.baseAddress {
                    let consumed = base.distance(to: tail)
                    trailing = String(decoding: buffer[consumed...], as: UTF8.self)
                }
                return code
            }
        }
        guard code == SQLITE_OK else {
            sqlite3_finalize(statement)
            throw error(code: code, sql: sql)
        }
        guard let statement else {
            throw FeatureProbeError("The SQL `\(Self.oneLine(sql))` for \(path) holds no statement (only whitespace or comments); give one statement.")
        }
        if !allowTrailingStatements, !trailing.allSatisfy(\.isWhitespace) {
            // Whatever follows may be comments only; it is a second statement if it compiles to one
            // (or fails to compile).
            var next: OpaquePointer?
            let nextCode = sqlite3_prepare_v2(handle, trailing, -1, &next, nil)
            let isStatement = nextCode != SQLITE_OK || next != nil
            sqlite3_finalize(next)
            if isStatement {
                sqlite3_finalize(statement)
                throw FeatureProbeError("The SQL for \(path) holds more than one statement (`\(Self.oneLine(sql))`); give exactly one statement, without a second one after `;`.")
            }
        }
        return Statement(connection: self, handle: statement, sql: sql)
    }

    /// Runs one statement with `bindings` and returns its column names and all its rows.
    public func query(_ sql: String, _ bindings: [SQLValue] = []) throws -> (columns: [String], rows: [[SQLValue]]) {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        var rows: [[SQLValue]] = []
        while try statement.step() { rows.append(statement.row()) }
        return (statement.columnNames, rows)
    }

    /// Runs one statement with `bindings`, ignoring rows, and returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ bindings: [SQLValue] = []) throws -> Int {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        while try statement.step() {}
        return changes
    }

    /// The first column of the first row, or nil when there is no row.
    public func scalar(_ sql: String, _ bindings: [SQLValue] = []) throws -> SQLValue? {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        return try statement.step() ? statement.column(0) : nil
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last successful INSERT.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Whether a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: - Transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// Writers use `immediate: true` (`BEGIN IMMEDIATE`): the write lock is taken at the start,
    /// waiting on the busy timeout, so two writers never deadlock on a read-to-write lock upgrade
    /// (which SQLite reports as SQLITE_BUSY without waiting). Inside an open transaction the body
    /// runs in a SAVEPOINT instead.
    ///
    /// - Throws: the body's error (after rollback) or a ``FeatureProbeError`` from BEGIN/COMMIT.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        if isInTransaction {
            try execute("SAVEPOINT nested")
            do {
                let value = try body()
                try execute("RELEASE nested")
                return value
            } catch {
                try? execute("ROLLBACK TO nested")
                try? execute("RELEASE nested")
                throw error
            }
        }
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    // MARK: - Read-only guard

    /// Installs an authorizer that denies everything but reading.
    ///
    /// Allowed: SELECT, reading columns, functions (except `load_extension`), recursive CTEs, and
    /// read-only PRAGMAs: the schema inspectors (`table_info`, `table_xinfo`, `table_list`,
    /// `index_list`, `index_info`, `index_xinfo`, `foreign_key_list`, `integrity_check`,
    /// `quick_check`) with any argument, and value PRAGMAs (`user_version`, `schema_version`,
    /// `application_id`, `page_count`, `page_size`, `freelist_count`, `encoding`,
    /// `foreign_keys`, `data_version`, `database_list`, `compile_options`, `function_list`,
    /// `collation_list`, `module_list`, `pragma_list`) only when read, never assigned. The
    /// table-valued forms (`SELECT * FROM pragma_table_info('runs')`) are refused: use the PRAGMA
    /// statement. Everything else,
    /// among them INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, ATTACH, DETACH, BEGIN, ANALYZE and
    /// `PRAGMA writable_schema`, fails to compile with "not authorized", so it never runs.
    public func installReadOnlyAuthorizer() {
        sqlite3_set_authorizer(handle, { _, action, first, second, _, _ in
            SQLiteConnection.readOnlyDecision(
                action: action,
                first: first.map { String(cString: $0) },
                second: second.map { String(cString: $0) }) ? SQLITE_OK : SQLITE_DENY
        }, nil)
    }

    static let inspectingPragmas: Set<String> = [
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
        "foreign_key_list", "integrity_check", "quick_check",
    ]
    static let readablePragmas: Set<String> = [
        "user_version", "schema_version", "application_id", "page_count", "page_size", "freelist_count",
        "encoding", "foreign_keys", "data_version", "database_list", "compile_options",
        "function_list", "collation_list", "module_list", "pragma_list",
    ]

    static func readOnlyDecision(action: Int32, first: String?, second: String?) -> Bool {
        switch action {
        case SQLITE_SELECT, SQLITE_READ, SQLITE_RECURSIVE:
            return true
        case SQLITE_FUNCTION:
            return second?.lowercased() != "load_extension"
        case SQLITE_PRAGMA:
            guard let name = first?.lowercased() else { return false }
            if inspectingPragmas.contains(name) { return true }
            return readablePragmas.contains(name) && second == nil
        default:
            return false
        }
    }

    // MARK: - Errors

    func error(code: Int32, message: String? = nil, sql: String) -> FeatureProbeError {
        let text = message ?? String(cString: sqlite3_errmsg(handle))
        var primary = code & 0xff
        var hint = ""
        if primary == SQLITE_AUTH || text.contains("not authorized") { primary = SQLITE_AUTH }
        switch primary {
        case SQLITE_INTERRUPT:
            hint = " The statement was stopped because \(progressGuard?.stopReason ?? "it was interrupted"); nothing was changed."
        case SQLITE_TOOBIG:
            hint = " A string or BLOB it touches is larger than the \(sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, -1)) bytes allowed; a query may handle, even for length() or substr(); leave that column out of the query."
        case SQLITE_NOMEM:
            hint = " SQLite ran out of the memory it is allowed (the query's memory limit); narrow the query or raise the limit (probe-cli query: --max-memory)."
        case SQLITE_AUTH:
            hint = " Only reading statements are accepted here (SELECT, WITH ... SELECT, read-only PRAGMAs); writes, ATTACH/DETACH and schema changes are refused and nothing was changed."
        case SQLITE_NOTADB:
            hint = " The file is not a SQLite database; give the path of an experiment database written by probe-cli."
        case SQLITE_READONLY:
            hint = " The database was opened read-only or the file or its folder is not writable."
        case SQLITE_BUSY:
            hint = " Another process held the database lock longer than the busy timeout."
        default:
            break
        }
        return FeatureProbeError("SQLite error \(code) (\(text)) while executing `\(Self.oneLine(sql))` on \(path).\(hint)",
                                 sqliteResultCode: code)
    }

    /// SQL for an error message: whitespace runs as one space, at most 300 characters, so an
    /// error stays one paragraph whatever statement failed.
    static func oneLine(_ sql: String) -> String {
        let words = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return words.count <= 300 ? words : String(words.prefix(300)) + " ..."
    }

    /// The primary SQLite result code of a `FeatureProbeError` made by a connection, if any
    /// (for example 26 for SQLITE_NOTADB).
    public static func resultCode(of error: FeatureProbeError) -> Int32? {
        error.sqliteResultCode.map { $0 & 0xff }
    }

    /// SQLITE_NOTADB: "file is not a database".
    public static let notADatabaseCode: Int32 = SQLITE_NOTADB

    // MARK: - Statement

    /// A compiled statement of a connection; finalized when released.
    public final class Statement {
        /// The connection that compiled it (kept alive by the statement).
        public let connection: SQLiteConnection
        /// The SQL text.
        public let sql: String
        private let handle: OpaquePointer

        init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
            self.connection = connection
            self.handle = handle
            self.sql = sql
        }

        deinit { sqlite3_finalize(handle) }

        /// Whether the statement leaves the database unchanged (`sqlite3_stmt_readonly`).
        public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

        /// Binds `values` to parameters 1, 2, ... after resetting the statement.
        ///
        /// BLOBs and text are copied (`SQLITE_TRANSIENT`).
        /// - Throws: ``FeatureProbeError`` when the count differs from the statement's parameters.
        public func bind(_ values: [SQLValue]) throws {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            let expected = Int(sqlite3_bind_parameter_count(handle))
            guard values.count == expected else {
                throw FeatureProbeError("The statement `\(SQLiteConnection.oneLine(sql))` on \(connection.path) takes \(expected) parameters, \(values.count) were given.")
            }
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            for (offset, value) in values.enumerated() {
                let index = Int32(offset + 1)
                let code: Int32
                switch value {
                case .null:
                    code = sqlite3_bind_null(handle, index)
                case .integer(let integer):
                    code = sqlite3_bind_int64(handle, index, integer)
                case .real(let real):
                    code = sqlite3_bind_double(handle, index, real)
                case .text(let text):
                    let utf8 = Array(text.utf8)
                    if utf8.isEmpty {
                        code = sqlite3_bind_text(handle, index, "", 0, transient)
                    } else {
                        code = utf8.withUnsafeBufferPointer { buffer in
                            buffer.withMemoryRebound(to: CChar.self) {
                                sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), transient)
                            }
                        }
                    }
                case .blob(let bytes):
                    if bytes.isEmpty {
                        code = sqlite3_bind_zeroblob(handle, index, 0)
                    } else {
                        code = bytes.withUnsafeBytes {
                            sqlite3_bind_blob64(handle, index, $0.baseAddress, sqlite3_uint64($0.count), transient)
                        }
                    }
                }
                guard code == SQLITE_OK else { throw connection.error(code: code, sql: sql) }
            }
        }

        /// Advances to the next row: true when a row is available, false when done.
        ///
        /// - Throws: ``FeatureProbeError`` for a constraint violation, a busy timeout, and so on.
        public func step() throws -> Bool {
            let code = sqlite3_step(handle)
            switch code {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            default:
                let error = connection.error(code: code, sql: sql)
                sqlite3_reset(handle)
                throw error
            }
        }

        /// The result column names.
        public var columnNames: [String] {
            (0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) }
        }

        /// The value of column `index` (0-based) of the current row.
        public func column(_ index: Int) -> SQLValue {
            let i = Int32(index)
            switch sqlite3_column_type(handle, i) {
            case SQLITE_INTEGER:
                return .integer(sqlite3_column_int64(handle, i))
            case SQLITE_FLOAT:
                return .real(sqlite3_column_double(handle, i))
            case SQLITE_TEXT:
                guard let text = sqlite3_column_text(handle, i) else { return .text("") }
                let count = Int(sqlite3_column_bytes(handle, i))
                return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
            case SQLITE_BLOB:
                let count = Int(sqlite3_column_bytes(handle, i))
                guard count > 0, let bytes = sqlite3_column_blob(handle, i) else { return .blob([]) }
                return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
            default:
                return .null
            }
        }

        /// All columns of the current row.
        public func row() -> [SQLValue] {
            (0..<Int(sqlite3_column_count(handle))).map(column)
        }
    }
}

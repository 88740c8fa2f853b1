/// One SQL statement run against an experiment database that cannot change it.
///
/// Three locks, each enough on its own: the file is opened with `SQLITE_OPEN_READONLY`,
/// `PRAGMA query_only = ON` is set, and an authorizer
/// (``SQLiteConnection/installReadOnlyAuthorizer()``) refuses at compile time everything but
/// reading: INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, ATTACH, DETACH, transactions and
/// writing PRAGMAs such as `writable_schema` fail with "not authorized" before they run. More
/// than one statement is refused too.
public enum ReadOnlyQuery {
    /// Runs `sql` (one statement, with optional `?` parameters) on the database at `path`.
    ///
    /// - Parameters:
    ///   - limits: time, cancellation and value-size bounds for the statement.
    ///   - maximumRows: keep at most this many rows (the result says whether there were more).
    /// - Throws: ``FeatureProbeError`` when the file is missing or not SQLite, the SQL is not a
    ///   single reading statement, or a limit stops it (the message names the SQL and the path;
    ///   nothing is changed).
    public static func run(path: String, sql: String, bindings: [SQLValue] = [],
                           limits: SQLiteConnection.Limits? = nil, maximumRows: Int? = nil) throws -> QueryResult {
        let connection = try open(path: path)
        if let limits { connection.apply(limits) }
        return try run(connection, sql: sql, bindings: bindings, maximumRows: maximumRows)
    }

    /// Opens `path` read-only with the authorizer installed (also on a read-only mount, see
    /// ``SQLiteConnection/openForReading(path:busyTimeout:)``).
    public static func open(path: String) throws -> SQLiteConnection {
        _ = try ExperimentDatabase.checkPath(path, mode: .readOnly)
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection.openForReading(path: path)
            try connection.execute("PRAGMA query_only = ON")
        } catch let error as FeatureProbeError where SQLiteConnection.resultCode(of: error) == SQLiteConnection.notADatabaseCode {
            throw FeatureProbeError("\(path) is not a SQLite database (SQLite says: file is not a database); give the path of an experiment database written by probe-cli.")
        }
        connection.installReadOnlyAuthorizer()
        return connection
    }

    /// Runs one reading statement on a connection made by ``open(path:)``, keeping at most
    /// `maximumRows` rows (stepping stops at the next one, so an endless result ends too).
    public static func run(_ connection: SQLiteConnection, sql: String, bindings: [SQLValue] = [],
                           maximumRows: Int? = nil) throws -> QueryResult {
        let statement = try connection.prepare(sql)
        guard statement.isReadOnly else {
            throw FeatureProbeError("The query `\(SQLiteConnection.oneLine(sql))` on \(connection.path) would change the database; only reading statements (SELECT, WITH ... SELECT, read-only PRAGMAs) are accepted. Nothing was changed.")
        }
        try statement.bind(bindings)
        var rows: [[SQLValue]] = []
        while try statement.step() {
            if let maximumRows, rows.count >= maximumRows {
                return QueryResult(columns: statement.columnNames, rows: rows, isTruncated: true)
            }
            rows.append(statement.row())
        }
        return QueryResult(columns: statement.columnNames, rows: rows)
    }
}

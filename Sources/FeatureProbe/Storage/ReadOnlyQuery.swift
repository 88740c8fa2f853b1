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
    /// - Throws: ``FeatureProbeError`` when the file is missing or not SQLite, or the SQL is not a
    ///   single reading statement (the message names the SQL and the path; nothing is changed).
    public static func run(path: String, sql: String, bindings: [SQLValue] = []) throws -> QueryResult {
        let connection = try open(path: path)
        return try run(connection, sql: sql, bindings: bindings)
    }

    /// Opens `path` read-only with the authorizer installed.
    public static func open(path: String) throws -> SQLiteConnection {
        _ = try ExperimentDatabase.checkPath(path, mode: .readOnly)
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        do {
            try connection.execute("PRAGMA query_only = ON")
            _ = try connection.scalar("SELECT count(*) FROM sqlite_master")
        } catch let error as FeatureProbeError where SQLiteConnection.resultCode(of: error) == SQLiteConnection.notADatabaseCode {
            throw FeatureProbeError("\(path) is not a SQLite database (SQLite says: file is not a database); give the path of an experiment database written by probe-cli.")
        }
        connection.installReadOnlyAuthorizer()
        return connection
    }

    /// Runs one reading statement on a connection made by ``open(path:)``.
    public static func run(_ connection: SQLiteConnection, sql: String, bindings: [SQLValue] = []) throws -> QueryResult {
        let statement = try connection.prepare(sql)
        guard statement.isReadOnly else {
            throw FeatureProbeError("The query `\(sql)` on \(connection.path) would change the database; only reading statements (SELECT, WITH ... SELECT, read-only PRAGMAs) are accepted. Nothing was changed.")
        }
        try statement.bind(bindings)
        var rows: [[SQLValue]] = []
        while try statement.step() { rows.append(statement.row()) }
        return QueryResult(columns: statement.columnNames, rows: rows)
    }
}

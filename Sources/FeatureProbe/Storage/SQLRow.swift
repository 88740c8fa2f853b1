/// One result row read by column name, so a record is decoded from what the columns are called
/// rather than where they stand, and a value that is missing or of the wrong kind is an error
/// naming the row, the column and the value, not a silent default.
///
/// A column may hold NULL only where the accessor says so (`optional...`). The schema's CHECKs keep
/// the toolkit's own rows valid; these errors are for files changed outside it or by a newer version.
public struct SQLRow: Sendable {
    /// Column name to position, shared by the rows of one statement.
    public let positions: [String: Int]
    public let values: [SQLValue]
    /// The row in words, for errors: `run 12 in runs.sqlite`.
    public let describedAs: String

    public init(positions: [String: Int], values: [SQLValue], describedAs: String) {
        (self.positions, self.values, self.describedAs) = (positions, values, describedAs)
    }

    /// Column positions of a statement's result columns (the first of two equal names wins).
    public static func positions(of columns: [String]) -> [String: Int] {
        var positions: [String: Int] = [:]
        for (index, name) in columns.enumerated() where positions[name] == nil { positions[name] = index }
        return positions
    }

    /// The value of `column`; an error when the statement has no such column.
    public func value(_ column: String) throws -> SQLValue {
        guard let position = positions[column], position < values.count else {
            throw FeatureProbeError("Reading \(describedAs): the column '\(column)' is missing (the query returned \(positions.keys.sorted().joined(separator: ", "))). The database's schema is not one this version reads.")
        }
        return values[position]
    }

    private func invalid(_ column: String, _ value: SQLValue, expected: String) -> FeatureProbeError {
        FeatureProbeError("Reading \(describedAs): the column '\(column)' holds \(Self.shown(value)), which is not \(expected). The database was changed outside the toolkit or by a newer version; repair or remove that row, or read the file with the version that wrote it.")
    }

    static func shown(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case .integer(let v): return "the integer \(v)"
        case .real(let v): return "the real \(v)"
        case .text(let v): return "the text '\(v.count > 80 ? String(v.prefix(80)) + "..." : v)'"
        case .blob(let v): return "a BLOB of \(v.count) bytes"
        }
    }

    /// The value of `column` as `extract` reads it; NULL or another kind is an error.
    private func required<T>(_ column: String, _ expected: String, _ extract: (SQLValue) -> T?) throws -> T {
        let v = try value(column)
        guard let result = extract(v) else { throw invalid(column, v, expected: expected) }
        return result
    }

    /// The value of `column` as `extract` reads it, nil for NULL; another kind is an error.
    private func optional<T>(_ column: String, _ expected: String, _ extract: (SQLValue) -> T?) throws -> T? {
        let v = try value(column)
        if v.isNull { return nil }
        guard let result = extract(v) else { throw invalid(column, v, expected: expected + " or NULL") }
        return result
    }

    public func int64(_ column: String) throws -> Int64 { try required(column, "an integer") { $0.int64 } }
    public func optionalInt64(_ column: String) throws -> Int64? { try optional(column, "an integer") { $0.int64 } }
    public func int(_ column: String) throws -> Int { Int(try int64(column)) }
    public func optionalInt(_ column: String) throws -> Int? { try optionalInt64(column).map { Int($0) } }
    public func double(_ column: String) throws -> Double { try required(column, "a number") { $0.double } }
    public func optionalDouble(_ column: String) throws -> Double? { try optional(column, "a number") { $0.double } }
    public func string(_ column: String) throws -> String { try required(column, "text") { $0.string } }
    public func optionalString(_ column: String) throws -> String? { try optional(column, "text") { $0.string } }

    /// A REAL column that stores NaN as NULL (SQLite has no NaN): NULL reads as NaN.
    public func doubleOrNaN(_ column: String) throws -> Double { try optionalDouble(column) ?? .nan }

    /// A text column holding one of `T`'s raw values.
    public func oneOf<T: RawRepresentable & CaseIterable>(_ column: String, as type: T.Type) throws -> T where T.RawValue == String {
        let v = try value(column)
        guard let text = v.string, let result = T(rawValue: text) else {
            throw invalid(column, v, expected: "one of " + T.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))
        }
        return result
    }
}

extension SQLiteConnection {
    /// Runs one statement and returns its rows for decoding by column name; `describe` words a
    /// row for errors from what it can read of it (`run 12`), or nil for `a row of <table>`.
    public func rows(_ sql: String, _ bindings: [SQLValue] = [], table: String,
                     describe: (SQLRow) -> String? = { _ in nil }) throws -> [SQLRow] {
        let result = try query(sql, bindings)
        let positions = SQLRow.positions(of: result.columns)
        return result.rows.map { values in
            let bare = SQLRow(positions: positions, values: values, describedAs: "a row of \(table) in \(path)")
            return SQLRow(positions: positions, values: values, describedAs: describe(bare).map { "\($0) in \(path)" } ?? bare.describedAs)
        }
    }
}

extension SQLiteConnection.Statement {
    /// The current row for decoding by column name (see ``SQLiteConnection/rows(_:_:table:describe:)``).
    public func namedRow(table: String, describe: (SQLRow) -> String? = { _ in nil }) -> SQLRow {
        let (positions, values) = (SQLRow.positions(of: columnNames), row())
        let bare = SQLRow(positions: positions, values: values, describedAs: "a row of \(table) in \(connection.path)")
        return SQLRow(positions: positions, values: values,
                      describedAs: describe(bare).map { "\($0) in \(connection.path)" } ?? bare.describedAs)
    }
}

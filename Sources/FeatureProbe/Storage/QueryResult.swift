/// The column names and rows of a query.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[SQLValue]]
    /// Whether the statement had more rows than were kept (see ``ReadOnlyQuery/run(_:sql:bindings:maximumRows:)``).
    public var isTruncated: Bool

    public init(columns: [String], rows: [[SQLValue]], isTruncated: Bool = false) {
        self.columns = columns
        self.rows = rows
        self.isTruncated = isTruncated
    }
}

/// The one public error type of FeatureProbe: a one-paragraph message naming the bad value, where
/// it came from, and what would be accepted.
public struct FeatureProbeError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    /// SQLite's (extended) result code when SQLite reported the failure, nil otherwise; callers
    /// that react to a kind of SQLite failure (busy, not a database, cannot open) read it here
    /// rather than from the message.
    public let sqliteResultCode: Int32?

    public init(_ message: String, sqliteResultCode: Int32? = nil) {
        self.message = message
        self.sqliteResultCode = sqliteResultCode
    }

    public var description: String { message }
}

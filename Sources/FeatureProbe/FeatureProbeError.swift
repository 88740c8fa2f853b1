/// The one public error type of FeatureProbe: a one-paragraph message naming the bad value, where
/// it came from, and what would be accepted.
public struct FeatureProbeError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

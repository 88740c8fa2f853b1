/// An error of the drawing layer: a bad format name, or cairo refusing a surface (for example a
/// picture too large for it). The message names the value and what would be accepted.
public struct DrawingError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

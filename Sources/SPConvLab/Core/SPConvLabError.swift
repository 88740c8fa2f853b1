/// The one public error type of SPConvLab.
///
/// Every case carries a complete, one-paragraph message that names the bad value, where it came
/// from, and what would be accepted, so a command-line tool can print `description` as is.
public struct SPConvLabError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of input was wrong.
    public enum Kind: String, Sendable {
        case invalidConfiguration   // a model or SPConv configuration that cannot be built
        case invalidWeights         // a weights file that is malformed or does not fit the model
        case invalidInput           // an input tensor or image that cannot be used
        case io                     // a file that cannot be read or written
        case backend                // oneDNN or BLAS refused an operation
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

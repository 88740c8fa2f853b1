import SPConvCore
import SPConvKernels

/// What a model needs of its inputs, for the batch sources: its name (in messages), its input
/// channels and square size, and the normalisation its images get unless the user chooses one.
/// A zoo model's comes from its `ModelSpec`; an imported ONNX model's from its input.
public struct InputSpec: Sendable {
    public let name: String
    public let channels: Int
    public let size: Int
    public let defaultNormalization: Normalization

    public init(name: String, channels: Int, size: Int, defaultNormalization: Normalization) {
        self.name = name
        self.channels = channels
        self.size = size
        self.defaultNormalization = defaultNormalization
    }

    /// A zoo model's input.
    public init(_ spec: ModelSpec) {
        self.init(name: spec.displayName, channels: spec.inputChannels, size: spec.inputSize,
                  defaultNormalization: .default(for: spec))
    }
}

import SPConvCore
import SPConvKernels

/// The tensors and metadata of one safetensors file, decoded to `Float`.
///
/// Names are the keys of the file's JSON header (for PyTorch checkpoints, the dotted `state_dict`
/// paths such as `layer1.0.conv1.weight`). `names` keeps the order in which the header lists them;
/// tensors the reader skips (`*.num_batches_tracked`) appear in neither `names` nor `tensors`.
public struct SafetensorsArchive: Sendable, Equatable {
    /// The tensor names in header order.
    public let names: [String]
    /// The tensors by name.
    public let tensors: [String: Tensor]
    /// The free-form string pairs of the header's `__metadata__` entry (empty if absent).
    public let metadata: [String: String]

    /// Creates an archive from tensors in the order they should be written.
    ///
    /// - Precondition: names are unique and none is `__metadata__`.
    public init(_ orderedTensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) {
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in orderedTensors {
            precondition(name != Safetensors.metadataKey, "'\(Safetensors.metadataKey)' is reserved and cannot name a tensor")
            precondition(tensors.updateValue(tensor, forKey: name) == nil, "tensor name '\(name)' appears twice; names must be unique")
        }
        self.names = orderedTensors.map(\.name)
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, or `nil` if the file has none.
    public subscript(name: String) -> Tensor? { tensors[name] }

    /// The tensors paired with their names, in header order (the input `Safetensors.encode` takes).
    public var orderedTensors: [(name: String, tensor: Tensor)] {
        names.map { ($0, tensors[$0]!) }
    }
}

import Foundation
import SPConvLab

/// What reports and summaries say a model is: a zoo model's architecture and variant, or an
/// imported file.
public struct ModelDescription: Sendable {
    public var displayName: String
    /// `resnet20`, ..., or the ONNX file's name.
    public var architecture: String
    /// `vanilla`, `spconv`, or `onnx`.
    public var variant: String
    public var ratio: Double?
    public var groups: Int?

    public init(spec: ModelSpec) {
        let configuration = spec.variant.spconvConfiguration
        self.init(displayName: spec.displayName, architecture: spec.architecture.rawValue, variant: spec.variant.name,
                  ratio: configuration?.ratio, groups: configuration?.groups)
    }

    public init(displayName: String, architecture: String, variant: String, ratio: Double? = nil, groups: Int? = nil) {
        (self.displayName, self.architecture, self.variant, self.ratio, self.groups) = (displayName, architecture, variant, ratio, groups)
    }
}

/// A model whose intermediate outputs can be captured by name, batch by batch: a zoo `Network`
/// (names are module paths) or an imported ONNX model (`ONNXFeatureModel`: node names).
public protocol CapturableModel: AnyObject {
    var modelDescription: ModelDescription { get }
    /// What its inputs must be.
    var inputSpec: InputSpec { get }
    /// The output shape of every capturable name for one image (batch dimension 1 first).
    func outputShapes() throws -> [String: [Int]]
    /// Runs `batch` and returns the outputs of `names`, row-major.
    func capture(_ batch: Tensor, names: Set<String>) throws -> [String: Tensor]
}

extension Network: CapturableModel {
    public var modelDescription: ModelDescription { ModelDescription(spec: spec) }
    public var inputSpec: InputSpec { InputSpec(spec) }

    public func capture(_ batch: Tensor, names: Set<String>) throws -> [String: Tensor] {
        try forward(batch, capturing: names).captured
    }
}

/// An imported ONNX model as a capturable model: names are its node names (each node's first
/// output), and a session is prepared per batch size, keeping the captured values unfused.
public final class ONNXFeatureModel: CapturableModel {
    public let model: ONNXModel
    public let path: String
    private var sessions: [Int: ONNXSession] = [:]
    private var kept: Set<String> = []

    /// Reads the ONNX file at `path`; its input must be square (the batch sources make square images).
    public init(contentsOf path: String) throws {
        let model = try ONNXModel(contentsOf: path)
        let shape = model.inputShape.dropFirst().map { $0! }
        guard shape[1] == shape[2] else {
            throw SPConvLabError(.invalidInput, "\(path): the model's input '\(model.inputName)' is \(shape[1])x\(shape[2]); images are made square, so only models with a square input (H = W) can read them yet.")
        }
        self.model = model
        self.path = path
    }

    public var modelDescription: ModelDescription {
        let file = URL(fileURLWithPath: path).lastPathComponent
        return ModelDescription(displayName: "\(file) (ONNX)", architecture: file, variant: "onnx")
    }

    public var inputSpec: InputSpec {
        let shape = model.inputShape.dropFirst().map { $0! }
        return InputSpec(name: modelDescription.displayName, channels: shape[0], size: shape[1],
                         defaultNormalization: shape[0] == 3 ? .imagenet : .identity)
    }

    /// The value each node name stands for: the node's first output.
    private func value(of node: String) -> String? { model.nodes.first { $0.name == node }?.outputs.first }

    public func outputShapes() throws -> [String: [Int]] {
        let shapes = try model.shapes(batch: 1)
        var result: [String: [Int]] = [:]
        for node in model.nodes {
            if let output = node.outputs.first, let shape = shapes[output] { result[node.name] = shape }
        }
        return result
    }

    public func capture(_ batch: Tensor, names: Set<String>) throws -> [String: Tensor] {
        let values = Dictionary(uniqueKeysWithValues: names.map { ($0, value(of: $0) ?? $0) })
        let wanted = Set(values.values)
        if !wanted.isSubset(of: kept) {
            kept.formUnion(wanted)
            sessions = [:]
        }
        let n = batch.shape[0]
        let session = try sessions[n] ?? ONNXSession(model, batch: n, keeping: kept)
        sessions[n] = session
        let captured = try session.run(batch, capturing: wanted).captured
        return values.compactMapValues { captured[$0] }
    }
}

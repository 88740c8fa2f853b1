/// A value recorded on a `Tape`: an index into the tape's values.
public struct Variable: Hashable, Sendable {
    public let id: Int
}

/// Identifies one trainable tensor: the module that owns it and its local name (`weight`, `bias`).
public struct ParameterKey: Hashable {
    public let module: ObjectIdentifier
    public let name: String

    public init(_ module: AnyObject, _ name: String) {
        self.module = ObjectIdentifier(module)
        self.name = name
    }
}

/// Reverse-mode automatic differentiation over whole-tensor ops.
///
/// A training forward pass records every op with a closure that maps the gradient of its output
/// to the gradients of its inputs; `backward(from:)` replays them in reverse, adding up the
/// gradients of values used more than once (a residual input, a split tensor) and collecting
/// the gradients of the parameters by `ParameterKey`. A tape serves one step and is then dropped
/// with everything it kept alive.
public final class Tape {
    private var values: [Tensor] = []
    private var nodes: [Node?] = []
    /// The gradient of every parameter the ops reported, after `backward(from:)`.
    public private(set) var parameterGradients: [ParameterKey: Tensor] = [:]

    private struct Node {
        let inputs: [Int]
        let backward: (Tensor) throws -> [Tensor?]
    }

    public init() {}

    /// The value of a variable.
    public func value(_ variable: Variable) -> Tensor { values[variable.id] }

    /// Records a value with no inputs (a batch, a constant).
    public func constant(_ tensor: Tensor) -> Variable {
        values.append(tensor.rowMajor())
        nodes.append(nil)
        return Variable(id: values.count - 1)
    }

    /// Records the result of an op and how to differentiate it.
    ///
    /// - Parameter backward: maps `dL/d output` to `dL/d input` for each of `inputs` in order
    ///   (nil where an input needs none); it reports parameter gradients with `accumulate`.
    public func record(_ output: Tensor, inputs: [Variable], backward: @escaping (Tensor) throws -> [Tensor?]) -> Variable {
        values.append(output)
        nodes.append(Node(inputs: inputs.map(\.id), backward: backward))
        return Variable(id: values.count - 1)
    }

    /// Adds `gradient` to the parameter's gradient (a parameter may be used by several ops).
    public func accumulate(_ key: ParameterKey, _ gradient: Tensor) {
        if let existing = parameterGradients[key] {
            parameterGradients[key] = TrainingKernels.add(existing, gradient)
        } else {
            parameterGradients[key] = gradient
        }
    }

    /// Back-propagates from `output`, seeded with `seed` (default: ones, for a scalar loss).
    ///
    /// - Returns: the gradients of the constants (leaves) that `output` depends on, by variable;
    ///   intermediate gradients are freed as soon as they have been propagated.
    @discardableResult
    public func backward(from output: Variable, seed: Tensor? = nil) throws -> [Variable: Tensor] {
        var gradients = [Tensor?](repeating: nil, count: values.count)
        gradients[output.id] = seed ?? Tensor(repeating: 1, shape: values[output.id].shape)
        for id in stride(from: output.id, through: 0, by: -1) {
            guard let node = nodes[id], let gradient = gradients[id] else { continue }
            let inputGradients = try node.backward(gradient)
            precondition(inputGradients.count == node.inputs.count, "an op returned \(inputGradients.count) gradients for \(node.inputs.count) inputs")
            for (input, inputGradient) in zip(node.inputs, inputGradients) {
                guard let inputGradient else { continue }
                precondition(inputGradient.shape == values[input].shape,
                             "gradient \(inputGradient.shape) does not match its value \(values[input].shape)")
                gradients[input] = gradients[input].map { TrainingKernels.add($0, inputGradient) } ?? inputGradient
            }
            if id != output.id { gradients[id] = nil }
        }
        var result: [Variable: Tensor] = [:]
        for (id, gradient) in gradients.enumerated() { if let gradient { result[Variable(id: id)] = gradient } }
        return result
    }
}

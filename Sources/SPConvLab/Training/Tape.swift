import SPConvCore
import SPConvKernels

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
    /// Row-major copies of channel-blocked values, made on first request.
    private var rowMajorValues: [Int: Tensor] = [:]
    /// The gradient of every parameter the ops reported, after `backward(from:)`.
    public private(set) var parameterGradients: [ParameterKey: Tensor] = [:]

    private struct Node {
        let inputs: [Int]
        /// False when `backward` needs a row-major gradient (the tape converts a blocked one).
        let takesBlockedGradient: Bool
        let backward: (Tensor) throws -> [Tensor?]
        /// For a one-input op: adds its input's gradient to the one already there (channel-blocked
        /// by 16) instead of returning it, so no separate gradient tensor and add are needed.
        var addsInputGradient: ((Tensor, inout Tensor) throws -> Void)? = nil
    }

    public init() {}

    /// The value of a variable, row-major.
    public func value(_ variable: Variable) -> Tensor {
        let stored = values[variable.id]
        guard stored.layout != .rowMajor else { return stored }
        if let converted = rowMajorValues[variable.id] { return converted }
        let converted = stored.rowMajor()
        rowMajorValues[variable.id] = converted
        return converted
    }

    /// The value of a variable as recorded: channel-blocked when the op that made it left it so
    /// (convolutions, batch norm and ReLU keep oneDNN's layout between them).
    func storedValue(_ variable: Variable) -> Tensor { values[variable.id] }

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
        record(output, inputs: inputs, takesBlockedGradient: false, backward: backward)
    }

    /// `record`, for ops whose `backward` accepts a gradient in either layout (and may return
    /// channel-blocked ones).
    func record(_ output: Tensor, inputs: [Variable], takesBlockedGradient: Bool,
                backward: @escaping (Tensor) throws -> [Tensor?]) -> Variable {
        values.append(output)
        nodes.append(Node(inputs: inputs.map(\.id), takesBlockedGradient: takesBlockedGradient, backward: backward))
        return Variable(id: values.count - 1)
    }

    /// `record(_:inputs:takesBlockedGradient:backward:)` for a one-input op that can also add its
    /// input's gradient into an existing channel-blocked (by 16) one: `backward` runs when its
    /// input has no gradient yet (or one in another layout), `addingInputGradient` otherwise.
    func record(_ output: Tensor, input: Variable, backward: @escaping (Tensor) throws -> [Tensor?],
                addingInputGradient: @escaping (Tensor, inout Tensor) throws -> Void) -> Variable {
        values.append(output)
        nodes.append(Node(inputs: [input.id], takesBlockedGradient: true, backward: backward, addsInputGradient: addingInputGradient))
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
    /// - Returns: the gradients of the constants (leaves) that `output` depends on, by variable,
    ///   row-major; intermediate gradients are freed as soon as they have been propagated.
    @discardableResult
    public func backward(from output: Variable, seed: Tensor? = nil) throws -> [Variable: Tensor] {
        var gradients = [Tensor?](repeating: nil, count: values.count)
        gradients[output.id] = seed ?? Tensor(repeating: 1, shape: values[output.id].shape)
        for id in stride(from: output.id, through: 0, by: -1) {
            guard let node = nodes[id], var gradient = gradients[id] else { continue }
            if !node.takesBlockedGradient { gradient = gradient.rowMajor() }
            if let adds = node.addsInputGradient, gradients[node.inputs[0]]?.layout == .channelBlocked(16) {
                try adds(gradient, &gradients[node.inputs[0]]!)
                if id != output.id { gradients[id] = nil }
                continue
            }
            let inputGradients = try node.backward(gradient)
            precondition(inputGradients.count == node.inputs.count, "an op returned \(inputGradients.count) gradients for \(node.inputs.count) inputs")
            for (input, inputGradient) in zip(node.inputs, inputGradients) {
                guard let inputGradient else { continue }
                precondition(inputGradient.shape == values[input].shape,
                             "gradient \(inputGradient.shape) does not match its value \(values[input].shape)")
                if gradients[input] == nil {
                    gradients[input] = inputGradient
                } else if gradients[input]!.layout == inputGradient.layout {
                    // In place: the array element is passed inout, so its storage stays uniquely
                    // referenced and nothing is allocated (copy-on-write copies it only if an op
                    // handed the same tensor to two inputs).
                    TrainingKernels.addInPlace(&gradients[input]!, inputGradient)
                } else {
                    gradients[input] = sum(values[input], gradients[input]!, inputGradient)
                }
            }
            if id != output.id { gradients[id] = nil }
        }
        /// `a + b` of two layouts, in the one of `value` (so a blocked chain stays blocked).
        func sum(_ value: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
            return a.layout == value.layout ? TrainingKernels.add(a, TrainingKernels.inLayout(of: a, b))
                                            : TrainingKernels.add(TrainingKernels.inLayout(of: b, a), b)
        }
        var result: [Variable: Tensor] = [:]
        for (id, gradient) in gradients.enumerated() { if let gradient { result[Variable(id: id)] = gradient.rowMajor() } }
        return result
    }
}

import SPConvCore
import SPConvKernels

/// Stochastic gradient descent with momentum and weight decay, PyTorch's `torch.optim.SGD`
/// (dampening 0, not Nesterov), over every parameter of a network (weights, biases, BatchNorm's
/// affine parameters; not its running statistics).
public final class SGD {
    public var momentum: Float
    public var weightDecay: Float
    /// The momentum buffer of each parameter, by `state_dict` name, once it has had a step.
    public private(set) var velocities: [String: Tensor] = [:]
    /// Parameter names in `state_dict` order, with the key their gradients come under.
    public let parameters: [(name: String, key: ParameterKey)]
    /// `parameters` by name, for the update's walk over the `state_dict`.
    private let keys: [String: ParameterKey]

    public init(network: Network, momentum: Float, weightDecay: Float) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        var parameters: [(String, ParameterKey)] = []
        for (path, module) in network.root.namedModules() {
            module.visitOwnTensors { local, role, _ in
                if role == .parameter { parameters.append((path.isEmpty ? local : path + "." + local, ParameterKey(module, local))) }
            }
        }
        self.parameters = parameters
        keys = Dictionary(uniqueKeysWithValues: parameters.map { ($0.0, $0.1) })
    }

    /// Applies one step with `gradients` from a tape; a parameter without a gradient is an error
    /// in the model's training forward, so it stops the run.
    public func step(_ network: Network, gradients: [ParameterKey: Tensor], learningRate: Float) throws {
        var missing: [String] = []
        network.root.visitTensors { name, role, tensor in
            guard role == .parameter, let key = keys[name] else { return }
            guard let gradient = gradients[key] else { missing.append(name); return }
            var velocity = velocities[name] ?? Tensor.zeros(tensor.shape)
            TrainingKernels.sgdStep(parameter: &tensor, gradient: gradient, velocity: &velocity,
                                    isFirstStep: velocities[name] == nil, learningRate: learningRate,
                                    momentum: momentum, weightDecay: weightDecay)
            velocities[name] = velocity
        }
        guard missing.isEmpty else {
            throw SPConvLabError(.backend, "The training forward of \(network.spec.displayName) gave no gradient for \(missing.count) parameter(s): \(missing.prefix(5).joined(separator: ", ")).")
        }
    }

    /// Replaces the momentum buffers (from a checkpoint); every name must be a parameter of the right shape.
    public func restore(_ buffers: [String: Tensor], network: Network, source: String) throws {
        var shapes: [String: [Int]] = [:]
        network.root.visitTensors { name, role, tensor in if role == .parameter { shapes[name] = tensor.shape } }
        for (name, buffer) in buffers where shapes[name] != buffer.shape {
            throw SPConvLabError(.invalidWeights, "The optimizer state in \(source) has a momentum buffer '\(name)' of shape \(buffer.shape), but \(network.spec.displayName) has \(shapes[name].map { "shape \($0)" } ?? "no such parameter"). The checkpoint was made for another model.")
        }
        velocities = buffers
    }
}

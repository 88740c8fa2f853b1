import SPConvCore
import SPConvKernels

/// Whether a stored tensor is a trainable parameter or a buffer (BatchNorm running statistics).
public enum TensorRole: Sendable {
    case parameter
    case buffer
}

/// Which implementation the ops of a forward pass use.
public enum Backend: Sendable {
    /// oneDNN / BLAS / vectorised kernels, with inference-time fusion (BN folded into convs).
    case fast
    /// The plain `ReferenceOps` loops, op by op exactly as PyTorch's module graph runs them.
    case reference
}

/// A module of a network: holds its weights and writes its forward pass once, as ops of a
/// ``Graph`` (``build(_:builder:)``), which the interpreters run: reference, cost, fast and training.
///
/// Modules form a tree whose edges are named like PyTorch attributes, so the dotted path of a
/// module (`layer1.0.conv1.gwc`) is the same string that prefixes its `state_dict` keys.
public protocol Layer: AnyObject {
    /// The PyTorch class name (`Conv2d`, `BatchNorm2d`, `SPConv`, ...), for reports and cost tables.
    var typeName: String { get }

    /// The named children in PyTorch's registration order.
    var children: [(name: String, layer: any Layer)] { get }

    /// Visits this module's own tensors (not its children's) with their local names.
    func visitOwnTensors(_ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows

    /// Writes this module's ops into a graph on `input` (children through `builder.call`) and
    /// returns its output value; see ``Graph``.
    func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value
}

extension Layer {
    /// The module's own `state_dict` (keys relative to it: `gwc.weight`, `bn1.running_var`, ...).
    public var localWeights: [String: Tensor] {
        var weights: [String: Tensor] = [:]
        visitTensors { name, _, tensor in weights[name] = tensor }
        return weights
    }

    /// Runs this module alone on `input` (compiling its graph for the input's shape on each call;
    /// a ``Network`` keeps its compiled graphs).
    ///
    /// - Returns: the output, row-major.
    public func callAsFunction(_ input: Tensor, backend: Backend = .fast) throws -> Tensor {
        let graph = try GraphBuilder.build(layer: self)
        switch backend {
        case .reference: return try graph.runReference(input, weights: localWeights)
        case .fast: return try CompiledGraph(graph, weights: localWeights, inputShape: input.shape).run(input).output
        }
    }

    /// The module's cost ledger (its ops' parameters, MACs and FLOPs) for `inputShape`.
    public func cost(inputShape: [Int]) throws -> CostLedger {
        try GraphBuilder.build(layer: self).trace(inputShape: inputShape, weights: localWeights).ledger
    }
}

extension Layer {
    public var children: [(name: String, layer: any Layer)] { [] }
    public func visitOwnTensors(_ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {}

    /// Visits every tensor in the subtree in `state_dict` order with its full dotted name.
    public func visitTensors(prefix: String = "", _ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {
        try visitOwnTensors { name, role, tensor in try body(prefix + name, role, &tensor) }
        for (name, child) in children {
            try child.visitTensors(prefix: prefix + name + ".", body)
        }
    }

    /// Hands the tensor at `path` to `body` as `name`, writing it back only when `body` changed
    /// it, so a visit that only reads leaves the module's revision counter alone. (Comparing an
    /// unchanged tensor is O(1): arrays sharing storage compare equal without reading it.)
    public func visitTensor(_ path: ReferenceWritableKeyPath<Self, Tensor>, _ name: String, _ role: TensorRole,
                            _ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {
        var tensor = self[keyPath: path]
        try body(name, role, &tensor)
        if tensor != self[keyPath: path] { self[keyPath: path] = tensor }
    }

    /// Every module in the subtree with its dotted path, parents before children (`""` is self).
    public func namedModules(prefix: String = "") -> [(path: String, layer: any Layer)] {
        var result: [(String, any Layer)] = [(prefix, self)]
        for (name, child) in children {
            result += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return result
    }
}

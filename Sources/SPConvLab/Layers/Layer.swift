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

/// A module of a network: holds its weights and runs one step of the forward pass.
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

    /// Runs the module on `input`; children are called through `context.call` so captures work.
    func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor

    /// Propagates a shape and records this module's cost (and its children's) in the ledger.
    func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int]

    /// Runs the module in training mode on a tape (batch statistics in BatchNorm, every op
    /// recorded for the backward pass); see `Tape`.
    func trainingForward(_ input: Variable, tape: Tape) throws -> Variable

    /// Writes this module's ops into a graph on `input` (children through `builder.call`) and
    /// returns its output value; see ``Graph``.
    func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value
}

extension Layer {
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable {
        throw SPConvLabError(.invalidConfiguration, "\(typeName) has no training mode.")
    }

    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        throw SPConvLabError(.invalidConfiguration, "\(typeName) has no graph form yet.")
    }

    public var children: [(name: String, layer: any Layer)] { [] }
    public func visitOwnTensors(_ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {}

    /// Visits every tensor in the subtree in `state_dict` order with its full dotted name.
    public func visitTensors(prefix: String = "", _ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {
        try visitOwnTensors { name, role, tensor in try body(prefix + name, role, &tensor) }
        for (name, child) in children {
            try child.visitTensors(prefix: prefix + name + ".", body)
        }
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

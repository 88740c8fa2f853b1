import SPConvCore
import SPConvKernels

/// A network as a typed graph of ops: the first step of "Engine v2" (issue 13).
///
/// Each zoo layer writes its graph once (``Layer/build(_:builder:)``); interpreters run it:
/// ``Graph/runReference(_:weights:)`` op by op on the float32 reference ops, and
/// ``Graph/trace(inputShape:weights:)`` for shapes and the cost ledger of docs/COST.md. The
/// nodes are in execution (topological) order; every value is produced by exactly one node, and
/// node `k` reads only the graph input and the outputs of nodes before it.
///
/// Module names are attributes of the nodes: `module` is the dotted PyTorch `state_dict` path
/// of the module that owns the op (`layer1.0.conv1.gwc`), with the op's step name for ops that are
/// functional steps inside a module (`layer1.0.add`), so weights, captures and cost rows keep
/// one name per module. Parameters are named by their full `state_dict` keys.
///
/// Interpreters: reference (``runReference(_:weights:capturing:)``), shape and cost
/// (``trace(inputShape:weights:)``), fast (``CompiledGraph``, where BN folding, conv post-ops and
/// SPConv's fused kernel are rewrites of the graph), and training (``runTraining(_:tape:modules:)``).
public struct Graph: Sendable {
    /// A value (tensor) of the graph: the input is value 0, node `k` produces value `k + 1`.
    public struct Value: Hashable, Sendable, CustomStringConvertible {
        public let id: Int
        public var description: String { "%\(id)" }
    }

    /// What a node computes. Shapes are NCHW; parameters are listed in ``Node/parameters``.
    public enum Op: Sendable, Equatable {
        /// Convolution; parameters `weight` `[O, I/groups, k, k]` and optionally `bias` `[O]`.
        case conv2d(Conv2DGeometry, outputChannels: Int)
        /// Inference batch norm; parameters `weight`, `bias`, `running_mean`, `running_var`.
        case batchNorm(epsilon: Float)
        case relu
        /// Element-wise sum of two values of one shape.
        case add
        /// Channels `range` of the input.
        case sliceChannels(Range<Int>)
        case maxPool(kernelSize: Int, stride: Int, padding: Int)
        case avgPool(kernelSize: Int, stride: Int, padding: Int)
        /// Mean over H and W: `[N, C, 1, 1]`.
        case globalAveragePool
        /// `[N, C, 1, 1]` (or `[N, F]`) flattened, times `weight` `[O, F]` transposed, plus `bias`.
        case linear
        /// SPConv's parameter-free fusion of (representative, redundant):
        /// `softmax(stack(GAP(a), GAP(b)))`-weighted sum, per sample and channel.
        case spconvFusion
    }

    public struct Node: Sendable {
        public var op: Op
        public var inputs: [Value]
        public var output: Value
        /// The dotted path of the module (or module step) the op belongs to.
        public var module: String
        /// The PyTorch type name reported in the cost ledger (`Conv2d`, `BatchNorm2d`, `add`, ...).
        public var type: String
        /// The full `state_dict` keys of the op's parameters, in the order ``Op`` lists them.
        public var parameters: [String]
    }

    /// One call of a module: the nodes it (and its children) wrote, and the value it returned.
    public struct Module: Sendable {
        /// The dotted path (`layer1.0.conv1`).
        public var path: String
        /// The PyTorch class name (`SPConv`, `BasicBlock`, ...).
        public var type: String
        /// The nodes written inside the call, contiguous in node order.
        public var nodes: Range<Int>
        public var input: Value
        public var output: Value
    }

    public private(set) var nodes: [Node] = []
    /// Every module call, parents after their children (in the order the calls returned).
    public internal(set) var modules: [Module] = []
    /// The network's input.
    public let input = Value(id: 0)
    /// The network's output (the last value set by the builder).
    public internal(set) var output = Value(id: 0)

    /// The nodes reading each value (indexed by value id), in node order: what the rewrites ask
    /// ("is this value's only reader a batch norm?").
    package var readers: [[Int]] {
        var readers = [[Int]](repeating: [], count: nodes.count + 1)
        for (index, node) in nodes.enumerated() { for value in node.inputs { readers[value.id].append(index) } }
        return readers
    }

    /// The calls of `type` modules (`SPConv`, ...) by their first node: where a module rewrite starts.
    package func moduleCalls(ofType type: String) -> [Int: Module] {
        Dictionary(modules.filter { $0.type == type && !$0.nodes.isEmpty }.map { ($0.nodes.lowerBound, $0) },
                   uniquingKeysWith: { first, _ in first })
    }

    init() {}

    /// Appends a node and returns its output value.
    mutating func append(_ op: Op, inputs: [Value], module: String, type: String, parameters: [String]) -> Value {
        precondition(inputs.allSatisfy { $0.id <= nodes.count }, "a node may read only earlier values; got \(inputs) at node \(nodes.count)")
        let output = Value(id: nodes.count + 1)
        nodes.append(Node(op: op, inputs: inputs, output: output, module: module, type: type, parameters: parameters))
        return output
    }
}

/// Builds a ``Graph`` from layers, keeping the dotted module path of each call.
public final class GraphBuilder {
    public private(set) var graph = Graph()
    private var pathStack: [String] = []

    public init() {}

    /// The current module's dotted path.
    public var currentPath: String { pathStack.joined(separator: ".") }

    /// Builds `layer` as submodule `name` of the current module on `input`.
    public func call(_ layer: any Layer, _ name: String, _ input: Graph.Value) throws -> Graph.Value {
        pathStack.append(name)
        defer { pathStack.removeLast() }
        let first = graph.nodes.count
        let output = try layer.build(input, builder: self)
        graph.modules.append(Graph.Module(path: currentPath, type: layer.typeName, nodes: first..<graph.nodes.count,
                                          input: input, output: output))
        return output
    }

    /// Adds an op of the current module (or, with `step`, a functional step inside it) whose
    /// parameters are the current module's tensors `parameters` (local names such as `weight`).
    @discardableResult
    public func add(_ op: Graph.Op, type: String, step: String? = nil, inputs: [Graph.Value], parameters: [String] = []) -> Graph.Value {
        let module = currentPath
        let path = step.map { module.isEmpty ? $0 : module + "." + $0 } ?? module
        let keys = parameters.map { module.isEmpty ? $0 : module + "." + $0 }
        let value = graph.append(op, inputs: inputs, module: path, type: type, parameters: keys)
        graph.output = value
        return value
    }

    /// Builds the graph of one layer as the root module, so its parameter keys are the layer's
    /// own `state_dict` keys (`gwc.weight`, `conv1.bn1.bias`, ...).
    public static func build(layer: any Layer) throws -> Graph {
        let builder = GraphBuilder()
        builder.graph.output = try layer.build(builder.graph.input, builder: builder)
        return builder.graph
    }
}

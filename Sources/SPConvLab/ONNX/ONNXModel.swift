import Foundation
import SPConvCore
import SPConvKernels
import SwiftProtobuf

/// An ONNX model, read with apple/swift-protobuf from the code generated for `onnx.proto`
/// (`Generated/onnx.pb.swift`, made by `tools/generate_onnx_swift.sh`), and checked before any
/// of it is used: every op is in the supported set (``ONNXModel/supportedOps``) with attributes
/// of the types it allows, every tensor is float32 (or int64 for shapes and indices), every
/// initializer holds the elements its dimensions claim, every node input is produced by the
/// graph, and the nodes form no cycle. A file that fails any check is refused with one message
/// naming the node or field, its value and what is accepted, before a tensor is built; no
/// allocation is sized by a claim in the file (a dimension product is checked against the bytes
/// present first).
///
/// Layer names are the ONNX node names (PyTorch's export keeps the module path in them,
/// `/layer1/layer1.0/conv1/Conv`); ``ONNXModel/Node/modulePath`` gives the short module path.
public struct ONNXModel: Sendable {
    /// A constant tensor of the model: an initializer or a folded `Constant` node.
    public enum Constant: Sendable, Equatable {
        case float(shape: [Int], values: [Float])
        case int64(shape: [Int], values: [Int64])

        public var shape: [Int] {
            switch self {
            case .float(let shape, _), .int64(let shape, _): return shape
            }
        }

        /// The same values under another shape of as many elements.
        func reshaped(_ shape: [Int]) -> Constant {
            switch self {
            case .float(_, let values): return .float(shape: shape, values: values)
            case .int64(_, let values): return .int64(shape: shape, values: values)
            }
        }
    }

    /// A node attribute, by ONNX type.
    public enum Attribute: Sendable, Equatable {
        case int(Int)
        case ints([Int])
        case float(Float)
        case floats([Float])
        case string(String)
        case tensor(Constant)
    }

    public struct Node: Sendable {
        /// The node's name, or `<OpType>_<index>` when the file leaves it empty.
        public let name: String
        public let opType: String
        /// Value names; an empty name is an omitted optional input.
        public let inputs: [String]
        public let outputs: [String]
        public let attributes: [String: Attribute]

        /// The module path in a PyTorch-exported name, or nil when the name is not such a path.
        /// The exporter names a node by its module scopes, where a child of a container appears
        /// under its qualified name (`layer1.0`, `conv.0.2`): `/layer1/layer1.0/conv1/Conv` ->
        /// `layer1.0.conv1`, `/features/features.3/conv/conv.0/conv.0.2/Clip` ->
        /// `features.3.conv.0.2`, `/se/fc1/Conv` -> `se.fc1`.
        public var modulePath: String? {
            guard name.hasPrefix("/") else { return nil }
            let scopes = name.split(separator: "/").map(String.init).dropLast()
            guard !scopes.isEmpty else { return nil }
            var segments: [String] = []
            for scope in scopes {
                if let last = segments.last, scope.hasPrefix(last + ".") { segments[segments.count - 1] = scope } else { segments.append(scope) }
            }
            return segments.joined(separator: ".")
        }
    }

    /// The file (or other source) the model came from, for messages.
    public let source: String
    /// The opset version of the default (`ai.onnx`) domain.
    public let opset: Int
    /// The graph's one image input and its shape (nil where a dimension is symbolic, such as the batch).
    public let inputName: String
    public let inputShape: [Int?]
    public let outputNames: [String]
    /// The nodes in an order where each reads only the input, constants and earlier outputs.
    public let nodes: [Node]
    public let constants: [String: Constant]

    /// The ops accepted, with the attributes each may carry and how many inputs it takes.
    public static let supportedOps: [String: (attributes: [String: AttributeKind], inputs: ClosedRange<Int>)] = [
        "Conv": (["auto_pad": .string, "dilations": .ints, "group": .int, "kernel_shape": .ints, "pads": .ints, "strides": .ints], 2...3),
        "BatchNormalization": (["epsilon": .float, "momentum": .float, "training_mode": .int, "spatial": .int], 5...5),
        "Relu": ([:], 1...1), "Sigmoid": ([:], 1...1), "HardSwish": ([:], 1...1), "Identity": ([:], 1...1),
        "Clip": (["min": .float, "max": .float], 1...3),
        "HardSigmoid": (["alpha": .float, "beta": .float], 1...1),
        "LeakyRelu": (["alpha": .float], 1...1),
        "Add": ([:], 2...2), "Sub": ([:], 2...2), "Mul": ([:], 2...2), "Div": ([:], 2...2),
        "MaxPool": (["auto_pad": .string, "ceil_mode": .int, "dilations": .ints, "kernel_shape": .ints, "pads": .ints,
                     "storage_order": .int, "strides": .ints], 1...1),
        "AveragePool": (["auto_pad": .string, "ceil_mode": .int, "count_include_pad": .int, "dilations": .ints,
                         "kernel_shape": .ints, "pads": .ints, "strides": .ints], 1...1),
        "GlobalAveragePool": ([:], 1...1), "GlobalMaxPool": ([:], 1...1),
        "Flatten": (["axis": .int], 1...1),
        "Reshape": (["allowzero": .int], 2...2),
        "Gemm": (["alpha": .float, "beta": .float, "transA": .int, "transB": .int], 2...3),
        "MatMul": ([:], 2...2),
        "Concat": (["axis": .int], 1...Int.max),
        "Split": (["axis": .int, "split": .ints, "num_outputs": .int], 1...2),
        "Slice": (["starts": .ints, "ends": .ints, "axes": .ints], 1...5),
        "Transpose": (["perm": .ints], 1...1),
        "Squeeze": (["axes": .ints], 1...2), "Unsqueeze": (["axes": .ints], 1...2),
        "Pad": (["mode": .string, "pads": .ints, "value": .float], 1...4),
        "Softmax": (["axis": .int], 1...1),
        "Dropout": (["ratio": .float, "seed": .int], 1...3),
        "Shape": (["start": .int, "end": .int], 1...1),
        "Gather": (["axis": .int], 2...2),
        // Only in the shape arithmetic torch.onnx.export writes (Shape -> Gather -> Cast -> ...).
        "Cast": (["to": .int, "saturate": .int], 1...1),
        "ConstantOfShape": (["value": .tensor], 1...1),
        "Constant": (["value": .tensor, "value_float": .float, "value_floats": .floats, "value_int": .int, "value_ints": .ints], 0...0),
    ]

    public enum AttributeKind: String, Sendable {
        case int, ints, float, floats, string, tensor
    }

    /// The element count of `shape`, or nil when it overflows or passes ``maximumElements``.
    static func elements(_ shape: [Int]) -> Int? {
        var total = 1
        for d in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow, product <= maximumElements else { return nil }
            total = product
        }
        return total
    }

    /// The most nodes a graph may have (so ledger totals cannot overflow).
    static let maximumNodes = 1 << 16

    /// ONNX `TensorProto.DataType` codes accepted: FLOAT (1) and INT64 (7).
    static let float32Type: Int32 = 1, int64Type: Int32 = 7

    /// Reads and checks the ONNX file at `path`.
    public init(contentsOf path: String) throws {
        let reader = try FileBytes.Reader(path: path)
        // Protobuf's own limit: a message larger than 2 GiB cannot be parsed by any reader.
        guard reader.size <= Int(Int32.max) else {
            throw SPConvLabError(.io, "'\(path)' is \(MemoryBudget.formatted(reader.size)), more than protobuf's 2 GiB limit for one message; ONNX files that large keep their weights in external data files, which this reader does not support.")
        }
        try self.init(serialized: Data(try reader.readAll()), source: path)
    }

    /// Decodes and checks a serialized `ModelProto`; `source` names it in messages.
    public init(serialized bytes: Data, source: String) throws {
        let proto: Onnx_ModelProto
        do {
            proto = try Onnx_ModelProto(serializedBytes: bytes)
        } catch {
            throw SPConvLabError(.invalidWeights, "'\(source)' is not a readable ONNX model: the protobuf decoder stopped with \(error) after reading a \(bytes.count)-byte file (truncated, or not an ONNX file); expected a ModelProto as written by torch.onnx.export or onnx.save.")
        }
        try self.init(proto, source: source)
    }

    init(_ proto: Onnx_ModelProto, source: String) throws {
        self.source = source
        func fail(_ message: String) -> SPConvLabError { SPConvLabError(.invalidWeights, "\(source): \(message)") }

        // Opsets: the default domain only.
        var opset: Int?
        for entry in proto.opsetImport {
            if entry.domain.isEmpty || entry.domain == "ai.onnx" {
                opset = Int(entry.version)
            }
        }
        guard let opset, (7...23).contains(opset) else {
            throw fail("the model imports opset \(proto.opsetImport.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }) ; expected the default domain (ai.onnx) at a version from 7 to 23, as torch.onnx.export writes (13 to 21).")
        }
        self.opset = opset
        let graph = proto.graph

        // Constants: initializers, then Constant nodes.
        var constants: [String: Constant] = [:]
        for tensor in graph.initializer {
            constants[tensor.name] = try Self.constant(tensor, what: "initializer '\(tensor.name)'", source: source)
        }

        // The image input: a graph input that is not an initializer.
        let inputs = graph.input.filter { constants[$0.name] == nil }
        guard inputs.count == 1, let input = inputs.first else {
            throw fail("the graph has \(inputs.count) inputs that are not initializers (\(inputs.map(\.name))); expected exactly one, the image batch.")
        }
        guard input.type.tensorType.elemType == Self.float32Type else {
            throw fail("input '\(input.name)' has element type \(Self.typeName(input.type.tensorType.elemType)); expected float32 (1).")
        }
        let dims = input.type.tensorType.shape.dim
        guard dims.count == 4 else {
            throw fail("input '\(input.name)' has rank \(dims.count); expected a 4-D NCHW image batch.")
        }
        inputName = input.name
        inputShape = try dims.enumerated().map { axis, dim -> Int? in
            guard case .dimValue? = dim.value else { return nil }
            guard dim.dimValue > 0, dim.dimValue <= 1 << 24 else {
                throw fail("input '\(input.name)' has dimension \(dim.dimValue) on axis \(axis); expected a positive size of at most 2^24, or a symbolic one.")
            }
            return Int(dim.dimValue)
        }
        guard inputShape[1] != nil, inputShape[2] != nil, inputShape[3] != nil else {
            throw fail("input '\(input.name)' has a symbolic channel, height or width (\(inputShape.map { $0.map(String.init) ?? "?" })); expected fixed C, H and W (only the batch may be symbolic).")
        }

        guard Self.elements(inputShape.dropFirst().map { $0! }) != nil else {
            throw fail("input '\(input.name)' has \(inputShape.dropFirst().map { $0!.description }.joined(separator: "x")) values per image, more than \(Self.maximumElements); expected an image batch that fits in memory.")
        }
        guard graph.node.count <= Self.maximumNodes else {
            throw fail("the graph has \(graph.node.count) nodes; at most \(Self.maximumNodes) are accepted.")
        }

        // Nodes: supported ops, their attributes, their input counts.
        var nodes: [Node] = []
        for (index, node) in graph.node.enumerated() {
            let name = node.name.isEmpty ? "\(node.opType)_\(index)" : node.name
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw fail("node '\(name)' is op '\(node.opType)' of domain '\(node.domain)'; only the default domain (ai.onnx) is supported.")
            }
            guard let spec = Self.supportedOps[node.opType] else {
                throw fail("node '\(name)' has op type '\(node.opType)', which is not supported; supported op types: \(Self.supportedOps.keys.sorted().joined(separator: ", ")).")
            }
            guard spec.inputs.contains(node.input.count) else {
                throw fail("node '\(name)' (\(node.opType)) has \(node.input.count) inputs; expected \(spec.inputs.upperBound == Int.max ? "at least \(spec.inputs.lowerBound)" : spec.inputs.lowerBound == spec.inputs.upperBound ? "\(spec.inputs.lowerBound)" : "\(spec.inputs.lowerBound) to \(spec.inputs.upperBound)").")
            }
            guard !node.output.isEmpty, node.output.allSatisfy({ !$0.isEmpty }) || node.opType == "Dropout" || node.opType == "Split" else {
                throw fail("node '\(name)' (\(node.opType)) has no named output; expected at least one.")
            }
            var attributes: [String: Attribute] = [:]
            for attribute in node.attribute {
                guard let kind = spec.attributes[attribute.name] else {
                    throw fail("node '\(name)' (\(node.opType)) has attribute '\(attribute.name)', which is not supported for \(node.opType); supported: \(spec.attributes.keys.sorted().joined(separator: ", ")).")
                }
                attributes[attribute.name] = try Self.attribute(attribute, kind: kind, node: name, source: source)
            }
            if node.opType == "BatchNormalization", case .int(let mode)? = attributes["training_mode"], mode != 0 {
                throw fail("node '\(name)' (BatchNormalization) has training_mode \(mode); expected 0 (inference).")
            }
            if node.opType == "Constant" {
                guard attributes.count == 1, let (_, value) = attributes.first, let output = node.output.first else {
                    throw fail("node '\(name)' (Constant) has \(attributes.count) value attributes; expected exactly one.")
                }
                switch value {
                case .tensor(let c): constants[output] = c
                case .float(let f): constants[output] = .float(shape: [], values: [f])
                case .floats(let f): constants[output] = .float(shape: [f.count], values: f)
                case .int(let i): constants[output] = .int64(shape: [], values: [Int64(i)])
                case .ints(let i): constants[output] = .int64(shape: [i.count], values: i.map(Int64.init))
                case .string: throw fail("node '\(name)' (Constant) holds a string; expected a float32 or int64 tensor.")
                }
                continue
            }
            nodes.append(Node(name: name, opType: node.opType, inputs: node.input, outputs: node.output, attributes: attributes))
        }
        // Layers are chosen, captured and fused by node name, so a name must say which node it is
        // (ONNX IR: node names are unique in a graph; unnamed nodes were named above by op and index).
        var named: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            if let first = named.updateValue(index, forKey: node.name) {
                throw fail("two nodes (a \(nodes[first].opType) and a \(node.opType)) are both named '\(node.name)'; node names must be unique in a graph (an unnamed node is called <op>_<index>). Rename one of them.")
            }
        }
        self.constants = constants
        self.nodes = try Self.topologicalOrder(nodes, available: Set(constants.keys).union([input.name]), fail: fail)

        let produced = Set(self.nodes.flatMap(\.outputs)).union(constants.keys).union([input.name])
        outputNames = graph.output.map(\.name)
        guard !outputNames.isEmpty else { throw fail("the graph declares no output; expected at least one.") }
        for output in outputNames where !produced.contains(output) {
            throw fail("graph output '\(output)' is produced by no node; expected the output of a node.")
        }
    }

    /// `nodes` ordered so each reads only `available` values and earlier outputs (Kahn's
    /// algorithm, keeping the file's order where it already is one).
    static func topologicalOrder(_ nodes: [Node], available: Set<String>, fail: (String) -> SPConvLabError) throws -> [Node] {
        var producer: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                if producer[output] != nil || available.contains(output) {
                    throw fail("value '\(output)' is written by node '\(node.name)' and also by \(producer[output].map { "node '\(nodes[$0].name)'" } ?? "an initializer or the input"); expected each value to have one producer.")
                }
                producer[output] = index
            }
        }
        var waiting = [Int](repeating: 0, count: nodes.count)
        var readers = [[Int]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where !input.isEmpty && !available.contains(input) {
                guard let from = producer[input] else {
                    throw fail("node '\(node.name)' (\(node.opType)) reads '\(input)', which no node, initializer or graph input produces (a dangling input); expected every input to be produced in the graph.")
                }
                waiting[index] += 1
                readers[from].append(index)
            }
        }
        var ready = (0..<nodes.count).filter { waiting[$0] == 0 }.reversed().map { $0 }
        var order: [Node] = []
        order.reserveCapacity(nodes.count)
        while let next = ready.popLast() {
            order.append(nodes[next])
            for reader in readers[next] {
                waiting[reader] -= 1
                if waiting[reader] == 0 { ready.append(reader); ready.sort(by: >) }
            }
        }
        if order.count < nodes.count, let stuck = (0..<nodes.count).first(where: { waiting[$0] > 0 }) {
            throw fail("node '\(nodes[stuck].name)' (\(nodes[stuck].opType)) is on a cycle: its inputs depend on its own output; expected an acyclic graph.")
        }
        return order
    }

    /// A `TensorProto` as a constant, after checking its type and that it holds what its
    /// dimensions claim (before anything is allocated for it).
    static func constant(_ tensor: Onnx_TensorProto, what: String, source: String) throws -> Constant {
        func fail(_ message: String) -> SPConvLabError { SPConvLabError(.invalidWeights, "\(source): \(what) \(message)") }
        if tensor.hasDataLocation && tensor.dataLocation == .external || !tensor.externalData.isEmpty {
            throw fail("keeps its data in an external file; expected the data inside the model (save with onnx.save(..., save_as_external_data=False)).")
        }
        var count = 1
        for dim in tensor.dims {
            guard dim >= 0, dim <= Int64(Int32.max) else {
                throw fail("has dimension \(dim); expected sizes from 0 to 2^31 - 1.")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
            guard !overflow, product <= 1 << 40 else {
                throw fail("claims dimensions \(tensor.dims), more elements than any file can hold; expected a real tensor.")
            }
            count = product
        }
        let shape = tensor.dims.map(Int.init)
        switch tensor.dataType {
        case float32Type:
            if !tensor.rawData.isEmpty {
                guard tensor.rawData.count == count * 4 else {
                    throw fail("claims \(shape) (\(count) float32 values, \(count * 4) bytes) but holds \(tensor.rawData.count) bytes; expected exactly \(count * 4).")
                }
                let values = StoredFloatFormat.float32.decode([UInt8](tensor.rawData), from: 0, count: count)
                return .float(shape: shape, values: values)
            }
            guard tensor.floatData.count == count else {
                throw fail("claims \(shape) (\(count) float32 values) but holds \(tensor.floatData.count); expected exactly \(count).")
            }
            return .float(shape: shape, values: tensor.floatData)
        case int64Type:
            if !tensor.rawData.isEmpty {
                guard tensor.rawData.count == count * 8 else {
                    throw fail("claims \(shape) (\(count) int64 values, \(count * 8) bytes) but holds \(tensor.rawData.count) bytes; expected exactly \(count * 8).")
                }
                let bytes = [UInt8](tensor.rawData)
                let values = (0..<count).map { index in
                    (0..<8).reduce(Int64(0)) { bits, byte in bits | Int64(bytes[8 * index + byte]) << (8 * byte) }
                }
                return .int64(shape: shape, values: values)
            }
            guard tensor.int64Data.count == count else {
                throw fail("claims \(shape) (\(count) int64 values) but holds \(tensor.int64Data.count); expected exactly \(count).")
            }
            return .int64(shape: shape, values: tensor.int64Data)
        default:
            throw fail("has element type \(typeName(tensor.dataType)); expected float32 (1), or int64 (7) for shapes and indices.")
        }
    }

    static func attribute(_ a: Onnx_AttributeProto, kind: AttributeKind, node: String, source: String) throws -> Attribute {
        func fail(_ found: String) -> SPConvLabError {
            SPConvLabError(.invalidWeights, "\(source): attribute '\(a.name)' of node '\(node)' is \(found); expected \(kind.rawValue).")
        }
        func checked(_ v: Int64) throws -> Int {
            guard v >= Int64(Int32.min), v <= Int64(Int32.max) else { throw fail("the integer \(v), outside ±2^31") }
            return Int(v)
        }
        switch (kind, a.type) {
        case (.int, .int): return .int(try checked(a.i))
        case (.ints, .ints): return .ints(try a.ints.map(checked))
        case (.float, .float): return .float(a.f)
        case (.floats, .floats): return .floats(a.floats)
        case (.string, .string):
            guard let text = String(data: a.s, encoding: .utf8) else { throw fail("a string that is not UTF-8") }
            return .string(text)
        case (.tensor, .tensor): return .tensor(try constant(a.t, what: "attribute '\(a.name)' of node '\(node)'", source: source))
        default: throw fail("of type \(a.type)")
        }
    }

    static func typeName(_ code: Int32) -> String {
        let names: [Int32: String] = [0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
                                      8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16"]
        return "\(names[code] ?? "unknown") (\(code))"
    }
}

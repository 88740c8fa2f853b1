import Foundation
import SPConvCore
import SPConvKernels

/// An ONNX model prepared to run on batches of one size.
///
/// Preparing folds the model's shape arithmetic at that batch size (``ONNXModel/shapes(batch:)``),
/// builds a oneDNN convolution per `Conv` node with its weights packed once (a `Relu` that is a
/// convolution's only reader becomes its post-op), and refuses what the fast path cannot run
/// (non-square kernels, ceil-mode pooling that changes a size, a `Pad` that is not constant) by
/// node name. Running evaluates the nodes in order on row-major float32 tensors and can keep any
/// node's output (for captures and similarity).
public final class ONNXSession {
    public let model: ONNXModel
    public let batch: Int
    private let known: [String: ONNXModel.Known]
    private var convolutions: [String: (kernel: ConvolutionKernel, packed: [Float], bias: Tensor?, pads: [Int]?)] = [:]
    /// Relu nodes folded into the convolution before them: Relu node name -> conv output name.
    private var foldedRelus: [String: String] = [:]
    /// Add nodes done by a convolution's sum post-op: Add node name -> (conv node, the other addend).
    private var fusedAdds: [String: (conv: ONNXModel.Node, residual: String)] = [:]
    /// Convolutions that run at their Add's place instead of their own.
    private var deferredConvolutions: Set<String> = []
    /// Values that fusion made unobservable (a convolution's output before its ReLU or add).
    public private(set) var fusedAway: Set<String> = []
    /// For each node (by index), the values read for the last time there, freed after it runs.
    private var lastReads: [[String]] = []
    /// oneDNN poolings for the pooling nodes, used when their input arrives channel-blocked (from a
    /// convolution), so the map is pooled in place of a reorder to row-major and back.
    private var poolings: [String: PoolingKernel] = [:]

    /// Prepares `model` for batches of `batch` images. Values in `keeping` stay observable for
    /// `run(_:capturing:)`: no fusion hides them.
    public init(_ model: ONNXModel, batch: Int, keeping: Set<String> = []) throws {
        guard batch >= 1, model.inputShape[0] == nil || model.inputShape[0] == batch else {
            throw SPConvLabError(.invalidInput, "\(model.source): the model's input '\(model.inputName)' takes batches of \(model.inputShape[0].map(String.init) ?? "any size"); got a batch of \(batch).")
        }
        self.model = model
        self.batch = batch
        known = try model.infer(batch: batch).known
        var readers: [String: Int] = [:]
        for node in model.nodes { for input in node.inputs { readers[input, default: 0] += 1 } }
        let outputs = Set(model.outputNames)
        var plans: [String: ConvolutionPlan] = [:]
        for node in model.nodes where node.opType == "Conv" {
            plans[node.name] = try planConvolution(node)
        }
        for node in model.nodes where ["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"].contains(node.opType) {
            preparePooling(node)
        }
        // A convolution whose only reader is an Add (the residual of a ResNet block) does the add
        // as oneDNN's sum post-op, and a ReLU that is the add's only reader as well.
        func producer(_ value: String) -> ONNXModel.Node? { model.nodes.first { $0.outputs.first == value } }
        func soleReader(_ value: String) -> ONNXModel.Node? {
            guard readers[value] == 1, !outputs.contains(value), !keeping.contains(value) else { return nil }
            return model.nodes.first { $0.inputs.contains(value) }
        }
        for add in model.nodes where add.opType == "Add" && add.inputs.count == 2 {
            for (mine, other) in [(0, 1), (1, 0)] {
                guard let conv = producer(add.inputs[mine]), conv.opType == "Conv", plans[conv.name]?.pads == nil,
                      soleReader(add.inputs[mine])?.name == add.name,
                      known[add.inputs[other]]?.shape == known[add.outputs[0]]?.shape, case .tensor? = known[add.inputs[other]]
                else { continue }
                let relu = soleReader(add.outputs[0]).flatMap { $0.opType == "Relu" ? $0 : nil }
                plans[conv.name]!.key.postOps = relu == nil ? [.sum] : [.sum, .relu]
                fusedAdds[add.name] = (conv, add.inputs[other])
                deferredConvolutions.insert(conv.name)
                fusedAway.insert(add.inputs[mine])
                if let relu {
                    foldedRelus[relu.name] = add.outputs[0]
                    fusedAway.insert(add.outputs[0])
                }
                break
            }
        }
        // A ReLU, or a Clip with constant bounds (ReLU6), that is a convolution's only reader.
        for node in model.nodes where (node.opType == "Relu" || node.opType == "Clip") && foldedRelus[node.name] == nil {
            let source = node.inputs[0]
            guard let conv = producer(source), conv.opType == "Conv", !deferredConvolutions.contains(conv.name),
                  soleReader(source)?.name == node.name, plans[conv.name] != nil,
                  let postOp = try activation(node) else { continue }
            plans[conv.name]!.key.postOps = [postOp]
            foldedRelus[node.name] = source
            fusedAway.insert(source)
        }
        // Weights are packed once, for the kernel that runs with its post-ops.
        for (name, plan) in plans {
            let kernel = try ConvolutionKernel(plan.key)
            convolutions[name] = (kernel, try kernel.packWeights(plan.weights), plan.bias, plan.pads)
        }
        computeLastReads()
    }

    /// Which values each node reads for the last time (graph outputs are never freed; a fused
    /// convolution reads its input at its Add's place, which comes later).
    private func computeLastReads() {
        var last: [String: Int] = [:]
        for (index, node) in model.nodes.enumerated() {
            var reads = node.inputs
            if let fused = fusedAdds[node.name] { reads += fused.conv.inputs }
            for value in reads where !value.isEmpty { last[value] = index }
        }
        let outputs = Set(model.outputNames)
        lastReads = [[String]](repeating: [], count: model.nodes.count)
        for (value, index) in last where !outputs.contains(value) { lastReads[index].append(value) }
    }

    /// The post-op doing a Relu or Clip node, or nil when its bounds are computed at run time.
    private func activation(_ node: ONNXModel.Node) throws -> ConvolutionKernel.PostOp? {
        if node.opType == "Relu" { return .relu }
        func bound(_ index: Int, _ attribute: String, _ fallback: Float) -> Float? {
            if index < node.inputs.count, !node.inputs[index].isEmpty {
                guard case .constant(.float(_, let v))? = known[node.inputs[index]], v.count == 1 else { return nil }
                return v[0]
            }
            return float(node, attribute, fallback)
        }
        guard let lower = bound(1, "min", -.greatestFiniteMagnitude), let upper = bound(2, "max", .greatestFiniteMagnitude) else { return nil }
        return .clip(lower: lower, upper: upper)
    }

    private func fail(_ node: ONNXModel.Node, _ message: String) -> SPConvLabError {
        SPConvLabError(.invalidWeights, "\(model.source): node '\(node.name)' (\(node.opType)) \(message)")
    }

    private func weight(_ name: String) throws -> Tensor {
        guard case .constant(.float(let shape, let values))? = known[name] else {
            throw SPConvLabError(.invalidWeights, "\(model.source): '\(name)' must be a float32 initializer (a weight computed at run time is not supported).")
        }
        return Tensor(shape: shape, scalars: values)
    }

    private func ints(_ node: ONNXModel.Node, _ name: String) -> [Int]? {
        if case .ints(let v)? = node.attributes[name] { return v }
        return nil
    }

    private func int(_ node: ONNXModel.Node, _ name: String, _ fallback: Int) -> Int {
        if case .int(let v)? = node.attributes[name] { return v }
        return fallback
    }

    private func float(_ node: ONNXModel.Node, _ name: String, _ fallback: Float) -> Float {
        if case .float(let v)? = node.attributes[name] { return v }
        return fallback
    }

    /// Explicit pads [top, left, bottom, right] of a window op (auto_pad resolved), given its input
    /// and output sizes.
    private func pads(_ node: ONNXModel.Node, input: [Int], output: [Int], kernel: [Int]) throws -> [Int] {
        var autoPad = "NOTSET"
        if case .string(let a)? = node.attributes["auto_pad"] { autoPad = a }
        let strides = ints(node, "strides") ?? [1, 1], dilations = ints(node, "dilations") ?? [1, 1]
        switch autoPad {
        case "SAME_UPPER", "SAME_LOWER":
            var result = [0, 0, 0, 0]
            for axis in 0..<2 {
                let total = max(0, (output[axis + 2] - 1) * strides[axis] + dilations[axis] * (kernel[axis] - 1) + 1 - input[axis + 2])
                let small = total / 2, large = total - small
                (result[axis], result[axis + 2]) = autoPad == "SAME_UPPER" ? (small, large) : (large, small)
            }
            return result
        case "VALID": return [0, 0, 0, 0]
        default: return ints(node, "pads") ?? [0, 0, 0, 0]
        }
    }

    /// A convolution before its kernel is built: the fusions above set its post-ops.
    private struct ConvolutionPlan {
        var key: ConvolutionKernel.Key
        var weights: Tensor
        var bias: Tensor?
        /// Asymmetric pads [top, left, bottom, right], applied by a padding pass before it.
        var pads: [Int]?
    }

    private func planConvolution(_ node: ONNXModel.Node) throws -> ConvolutionPlan {
        var w = try weight(node.inputs[1])
        let bias = node.inputs.count > 2 && !node.inputs[2].isEmpty ? try weight(node.inputs[2]) : nil
        let x = known[node.inputs[0]]!.shape, y = known[node.outputs[0]]!.shape
        guard w.shape[2] == w.shape[3] else { throw fail(node, "has a \(w.shape[2])x\(w.shape[3]) kernel; only square kernels run yet.") }
        let strides = ints(node, "strides") ?? [1, 1], dilations = ints(node, "dilations") ?? [1, 1]
        guard strides[0] == strides[1], dilations[0] == dilations[1] else {
            throw fail(node, "has strides \(strides) and dilations \(dilations); only equal ones on both axes run yet.")
        }
        let p = try pads(node, input: x, output: y, kernel: [w.shape[2], w.shape[3]])
        let symmetric = p.allSatisfy { $0 == p[0] }
        let groups = int(node, "group", 1)
        // On a 1x1 map with symmetric padding the only tap that meets the map is the one at
        // (pad, pad): the convolution is that tap's 1x1 convolution, without the padded taps.
        if x[2] == 1, x[3] == 1, symmetric, dilations[0] == 1, p[0] < w.shape[2], y[2] == 1, y[3] == 1, w.shape[2] > 1 {
            w = ONNXOps.tap(w, row: p[0], column: p[0])
            return ConvolutionPlan(key: .init(inputShape: x, outputChannels: w.shape[0],
                                              geometry: Conv2DGeometry(kernelSize: 1, stride: 1, padding: 0, groups: groups),
                                              hasBias: bias != nil, postOps: []),
                                   weights: w, bias: bias, pads: nil)
        }
        let geometry = Conv2DGeometry(kernelSize: w.shape[2], stride: strides[0], padding: symmetric ? p[0] : 0,
                                      dilation: dilations[0], groups: groups)
        let inputShape = symmetric ? x : [x[0], x[1], x[2] + p[0] + p[2], x[3] + p[1] + p[3]]
        return ConvolutionPlan(key: .init(inputShape: inputShape, outputChannels: w.shape[0], geometry: geometry,
                                          hasBias: bias != nil, postOps: []),
                               weights: w, bias: bias, pads: symmetric ? nil : p)
    }

    /// A oneDNN pooling for `node` where one exists (4-D, floor-mode sizes); nil leaves the node
    /// to `ElementwiseKernels.windowPool`.
    private func preparePooling(_ node: ONNXModel.Node) {
        guard let x = known[node.inputs[0]]?.shape, let y = known[node.outputs[0]]?.shape, x.count == 4, y.count == 4 else { return }
        let global = node.opType.hasPrefix("Global")
        let kernel = global ? [x[2], x[3]] : ints(node, "kernel_shape") ?? []
        guard kernel.count == 2, let p = try? pads(node, input: x, output: y, kernel: kernel) else { return }
        let key = PoolingKernel.Key(inputShape: x, kernel: kernel, strides: global ? kernel : ints(node, "strides") ?? [1, 1],
                                    dilations: global ? [1, 1] : ints(node, "dilations") ?? [1, 1], pads: global ? [0, 0, 0, 0] : p,
                                    isMax: node.opType.hasSuffix("MaxPool"), countIncludesPad: int(node, "count_include_pad", 0) != 0)
        guard key.outputExtent(0) == y[2], key.outputExtent(1) == y[3], let pooling = try? PoolingKernel(key) else { return }
        poolings[node.name] = pooling
    }

    /// Runs the model on `input` (`[batch, C, H, W]`). Returns the graph outputs in the model's
    /// order and the values named in `capturing` (value names; ``ONNXModel/Node/outputs``).
    public func run(_ input: Tensor, capturing: Set<String> = []) throws -> (outputs: [Tensor], captured: [String: Tensor]) {
        if !capturing.isDisjoint(with: fusedAway) {
            throw SPConvLabError(.invalidInput, "\(model.source): \(capturing.intersection(fusedAway).sorted()) cannot be captured: the session fused that step into the convolution before it; prepare the session with keeping: those names.")
        }
        let expected = known[model.inputName]!.shape
        guard input.shape == expected else {
            throw SPConvLabError(.invalidInput, "\(model.source): input '\(model.inputName)' expects \(expected); got \(input.shape).")
        }
        var values: [String: Tensor] = [model.inputName: input.rowMajor()]
        var captured: [String: Tensor] = [:]
        func value(_ name: String) throws -> Tensor {
            if let v = values[name] { return v }
            switch known[name] {
            case .constant(.float(let shape, let v))?: return Tensor(shape: shape, scalars: v)
            case .constant(.int64(let shape, let v))?: return Tensor(shape: shape, scalars: v.map { Float($0) })
            default: throw SPConvLabError(.invalidWeights, "\(model.source): value '\(name)' is read before it is computed.")
            }
        }
        for (index, node) in model.nodes.enumerated() {
            // Values no later node reads are freed, so memory holds the live values only.
            defer { for dead in lastReads[index] { values[dead] = nil } }
            // Nodes whose outputs folded to constants (shape arithmetic) have nothing to run.
            if let first = node.outputs.first, case .constant? = known[first] { continue }
            if deferredConvolutions.contains(node.name) { continue }
            if let source = foldedRelus[node.name] {
                values[node.outputs[0]] = try value(source)
                if capturing.contains(node.outputs[0]) { captured[node.outputs[0]] = try value(source).rowMajor() }
                continue
            }
            // A fused add's residual read for the last time here is handed over, so the
            // convolution writes its sum in that buffer instead of a copy of it.
            if let fused = fusedAdds[node.name] {
                let residual = lastReads[index].contains(fused.residual) ? values.removeValue(forKey: fused.residual) : nil
                let conv = convolutions[fused.conv.name]!
                let result = try conv.kernel.run(input: try value(fused.conv.inputs[0]), packedWeights: conv.packed, bias: conv.bias,
                                                 residual: try residual ?? value(fused.residual))
                values[node.outputs[0]] = result
                if capturing.contains(node.outputs[0]) { captured[node.outputs[0]] = result.rowMajor() }
                continue
            }
            let results = try evaluate(node, value)
            for (name, result) in zip(node.outputs, results) where !name.isEmpty {
                values[name] = result
                if capturing.contains(name) { captured[name] = result.rowMajor() }
            }
        }
        return (try model.outputNames.map { try value($0).rowMajor() }, captured)
    }

    private func evaluate(_ node: ONNXModel.Node, _ value: (String) throws -> Tensor) throws -> [Tensor] {
        func x(_ i: Int = 0) throws -> Tensor { try value(node.inputs[i]) }
        func optional(_ i: Int) throws -> Tensor? {
            i < node.inputs.count && !node.inputs[i].isEmpty ? try value(node.inputs[i]) : nil
        }
        func shape(_ i: Int = 0) -> [Int] { known[node.outputs[i]]!.shape }
        if let pooling = poolings[node.name], case .channelBlocked = try x().layout {
            return [try pooling.run(try x())]
        }
        switch node.opType {
        case "Conv":
            let conv = convolutions[node.name]!
            var input = try x()
            if let p = conv.pads { input = ONNXOps.pad(input.rowMajor(), pads: [0, 0, p[0], p[1], 0, 0, p[2], p[3]], value: 0) }
            // The output stays in the kernel's layout (channel-blocked where oneDNN chose it), so the
            // next convolution, and element-wise ops between, take it without a reorder.
            return [try conv.kernel.run(input: input, packedWeights: conv.packed, bias: conv.bias)]
        case "BatchNormalization":
            let input = try x().rowMajor()
            guard input.rank == 4 else { throw fail(node, "runs on 4-D inputs only; got \(input.shape).") }
            return [Ops.batchNorm(input, mean: try x(3), variance: try x(4), scale: try x(1), shift: try x(2),
                                  epsilon: float(node, "epsilon", 1e-5))]
        case "Relu": return [ONNXOps.map(try x()) { max($0, 0) }]
        case "Clip":
            let lo = try optional(1)?.scalars.first ?? float(node, "min", -.infinity)
            let hi = try optional(2)?.scalars.first ?? float(node, "max", .infinity)
            return [ONNXOps.map(try x()) { min(max($0, lo), hi) }]
        case "Sigmoid": return [ONNXOps.map(try x()) { 1 / (1 + Foundation.exp(-$0)) }]
        case "HardSigmoid":
            let (alpha, beta) = (float(node, "alpha", 0.2), float(node, "beta", 0.5))
            return [ONNXOps.map(try x()) { min(max(alpha * $0 + beta, 0), 1) }]
        case "HardSwish": return [ONNXOps.map(try x()) { $0 * min(max($0 / 6 + 0.5, 0), 1) }]
        case "LeakyRelu":
            let alpha = float(node, "alpha", 0.01)
            return [ONNXOps.map(try x()) { $0 >= 0 ? $0 : alpha * $0 }]
        case "Identity", "Dropout": return [try x()]
        case "Add": return [ONNXOps.binary(try x(0), try x(1), shape()) { $0 + $1 }]
        case "Sub": return [ONNXOps.binary(try x(0), try x(1), shape()) { $0 - $1 }]
        case "Mul": return [ONNXOps.binary(try x(0), try x(1), shape()) { $0 * $1 }]
        case "Div": return [ONNXOps.binary(try x(0), try x(1), shape()) { $0 / $1 }]
        case "MaxPool", "AveragePool":
            let input = try x()
            let kernel = ints(node, "kernel_shape")!
            let p = try pads(node, input: input.shape, output: shape(), kernel: kernel)
            return [ONNXOps.pool(input, output: shape(), kernel: kernel, strides: ints(node, "strides") ?? [1, 1],
                                 dilations: ints(node, "dilations") ?? [1, 1], pads: p, isMax: node.opType == "MaxPool",
                                 countIncludesPad: int(node, "count_include_pad", 0) != 0)]
        case "GlobalAveragePool": return [Ops.adaptiveAvgPool2d(try x().rowMajor(), outputSize: 1)]
        case "GlobalMaxPool":
            let input = try x()
            let k = [input.shape[2], input.shape[3]]
            return [ONNXOps.pool(input, output: shape(), kernel: k, strides: k, dilations: [1, 1], pads: [0, 0, 0, 0],
                                 isMax: true, countIncludesPad: false)]
        case "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Cast":
            return [Tensor(shape: shape(), scalars: try x().rowMajor().scalars)]
        case "Gemm":
            return [ONNXOps.gemm(try x(0), try x(1), try optional(2), alpha: float(node, "alpha", 1), beta: float(node, "beta", 1),
                                 transA: int(node, "transA", 0) != 0, transB: int(node, "transB", 0) != 0)]
        case "MatMul": return [ONNXOps.matmul(try x(0), try x(1))]
        case "Concat":
            let parts = try node.inputs.indices.map { try x($0) }
            return [ONNXOps.concat(parts, axis: resolvedAxis(int(node, "axis", 0), rank: parts[0].rank), shape: shape())]
        case "Transpose":
            let input = try x()
            return [ONNXOps.transpose(input, perm: ints(node, "perm") ?? Array((0..<input.rank).reversed()))]
        case "Softmax":
            let input = try x().rowMajor()
            return [Ops.softmax(input, axis: resolvedAxis(int(node, "axis", -1), rank: input.rank))]
        case "Gather":
            let input = try x(), indices = try x(1)
            return [ONNXOps.gather(input, indices: indices.scalars.map { Int($0) }, axis: resolvedAxis(int(node, "axis", 0), rank: input.rank),
                                   shape: shape())]
        case "Slice":
            let input = try x().rowMajor()
            func constInts(_ i: Int) -> [Int]? {
                guard i < node.inputs.count, case .constant(.int64(_, let v))? = known[node.inputs[i]] else { return nil }
                return v.map { Int(clamping: $0) }
            }
            let plan = try ONNXModel.slicePlan(node, shape: input.shape, starts: constInts(1) ?? ints(node, "starts"),
                                               ends: constInts(2) ?? ints(node, "ends"), axes: constInts(3) ?? ints(node, "axes"),
                                               steps: constInts(4)) { self.fail(node, $0) }
            return [ONNXOps.slice(input, starts: plan.starts, steps: plan.steps, shape: plan.shape)]
        case "Split":
            let input = try x().rowMajor()
            let a = resolvedAxis(int(node, "axis", 0), rank: input.rank)
            var start = 0
            return (0..<node.outputs.count).map { i in
                let extent = shape(i)[a]
                var starts = [Int](repeating: 0, count: input.rank)
                starts[a] = start
                start += extent
                return ONNXOps.slice(input, starts: starts, steps: [Int](repeating: 1, count: input.rank), shape: shape(i))
            }
        case "Pad":
            let input = try x().rowMajor()
            func constInts(_ i: Int) -> [Int]? {
                guard i < node.inputs.count, case .constant(.int64(_, let v))? = known[node.inputs[i]] else { return nil }
                return v.map { Int(clamping: $0) }
            }
            let pads = try ONNXModel.padAmounts(node, rank: input.rank, pads: constInts(1) ?? ints(node, "pads"), axes: constInts(3)) { self.fail(node, $0) }
            let fill = try optional(2)?.scalars.first ?? float(node, "value", 0)
            guard pads.allSatisfy({ $0 >= 0 }) else { throw fail(node, "crops with negative pads \(pads); only padding runs.") }
            return [ONNXOps.pad(input, pads: pads, value: fill)]
        default:
            throw fail(node, "cannot run yet (shape inference or the runner lacks it).")
        }
    }

    private func resolvedAxis(_ axis: Int, rank: Int) -> Int { axis < 0 ? axis + rank : axis }
}

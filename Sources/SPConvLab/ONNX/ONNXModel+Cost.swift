import SPConvCore
import SPConvKernels

/// Shapes and the cost ledger of an ONNX model, under the conventions of docs/COST.md.
///
/// Shapes are inferred node by node from the input's (batch 1 for the ledger); the integer
/// arithmetic PyTorch's exporter writes around `Reshape` (`Shape`, `Gather`, `Cast`, `Div`,
/// `Unsqueeze`, `Concat`, ...) is folded to constants on the way, so every shape is known.
/// A node whose inputs do not fit its op (channel counts, ranks, a reshape that does not
/// preserve the element count) is refused with its name.
extension ONNXModel {
    /// What the pass knows about a value: the shape of a float tensor computed at run time, or a
    /// constant (folded).
    enum Known {
        case tensor([Int])
        case constant(Constant)

        var shape: [Int] {
            switch self {
            case .tensor(let s): return s
            case .constant(let c): return c.shape
            }
        }
    }

    /// The shapes of every value for an input batch of `batch` images, and the ledger (one row
    /// per node, named by the node, costs per image).
    public func cost(batch: Int = 1) throws -> CostLedger {
        try infer(batch: batch).ledger
    }

    /// The output shape of every node's outputs for `batch` images, by value name.
    public func shapes(batch: Int) throws -> [String: [Int]] {
        try infer(batch: batch).known.mapValues(\.shape)
    }

    func infer(batch: Int) throws -> (known: [String: Known], ledger: CostLedger) {
        var known: [String: Known] = constants.mapValues { .constant($0) }
        known[inputName] = .tensor([batch] + inputShape.dropFirst().map { $0! })
        var ledger = CostLedger()
        for node in nodes {
            let (outputs, cost) = try infer(node, known: known, batch: batch)
            if let cost, cost.macs > Self.maximumMACs || cost.flops > 4 * Self.maximumMACs {
                throw SPConvLabError(.invalidWeights, "\(source): node '\(node.name)' (\(node.opType)) would cost \(cost.macs) MACs per image, more than \(Self.maximumMACs); expected a model that can run.")
            }
            for (name, value) in zip(node.outputs, outputs) where !name.isEmpty {
                guard Self.elements(value.shape) != nil else {
                    throw SPConvLabError(.invalidWeights, "\(source): node '\(node.name)' (\(node.opType)) would make '\(name)' of shape \(value.shape), more than \(Self.maximumElements) elements; expected a model whose values fit in memory.")
                }
                known[name] = value
            }
            if let cost, case .tensor(let shape)? = outputs.first {
                ledger.layers.append(LayerCost(path: node.name, type: node.opType, outputShape: shape,
                                               params: cost.params, macs: cost.macs, flops: cost.flops))
            }
        }
        return (known, ledger)
    }

    private func infer(_ node: Node, known: [String: Known], batch: Int) throws -> ([Known], (params: Int, macs: Int, flops: Int)?) {
        func fail(_ message: String) -> SPConvLabError {
            SPConvLabError(.invalidWeights, "\(source): node '\(node.name)' (\(node.opType)) \(message)")
        }
        func input(_ i: Int) throws -> Known? {
            guard i < node.inputs.count, !node.inputs[i].isEmpty else { return nil }
            guard let value = known[node.inputs[i]] else { throw fail("reads '\(node.inputs[i])' before it is computed.") }
            return value
        }
        func required(_ i: Int) throws -> Known {
            guard let value = try input(i) else { throw fail("lacks its input \(i + 1).") }
            return value
        }
        func ints(_ i: Int, _ what: String) throws -> [Int]? {
            guard let value = try input(i) else { return nil }
            guard case .constant(.int64(_, let values)) = value else { throw fail("needs its \(what) (input \(i + 1)) as an int64 constant; it is computed at run time.") }
            return values.map { Int(clamping: $0) }
        }
        func intAttribute(_ name: String, _ fallback: Int) throws -> Int {
            guard let a = node.attributes[name] else { return fallback }
            guard case .int(let v) = a else { throw fail("has attribute '\(name)' of the wrong type.") }
            return v
        }
        func intsAttribute(_ name: String) throws -> [Int]? {
            guard let a = node.attributes[name] else { return nil }
            guard case .ints(let v) = a else { throw fail("has attribute '\(name)' of the wrong type.") }
            return v
        }
        /// Elements of a shape; a product that overflows, or passes what any model could hold, is refused.
        func count(_ shape: [Int]) throws -> Int {
            try shape.reduce(1) { total, d in
                let (product, overflow) = total.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow, product <= Self.maximumElements else {
                    throw fail("would make a value of shape \(shape), more than \(Self.maximumElements) elements; expected a model whose values fit in memory.")
                }
                return product
            }
        }
        /// Elements per image of a batch-first shape.
        func perImage(_ shape: [Int]) throws -> Int { try count(shape) / max(batch, 1) }
        func axis(_ a: Int, rank: Int) throws -> Int {
            // A scalar has no axis: Concat, Split, Softmax, Gather and Squeeze of rank-0 values are refused
            // here (found by fuzz-onnx: a Concat of scalars indexed the empty shape).
            let resolved = a < 0 ? a + rank : a
            guard (0..<rank).contains(resolved) else { throw fail("has axis \(a) for rank \(rank)\(rank == 0 ? " (a scalar has no axis)" : "").") }
            return resolved
        }
        func parameters(_ indices: [Int]) -> Int {
            indices.reduce(0) { total, i in
                guard i < node.inputs.count, case .float(let shape, _)? = constants[node.inputs[i]] else { return total }
                return total + ((try? count(shape)) ?? 0)
            }
        }
        func elementwise(_ flopsPerElement: Int) throws -> ([Known], (Int, Int, Int)?) {
            let shape = try required(0).shape
            return try ([.tensor(shape)], (0, 0, flopsPerElement * perImage(shape)))
        }
        /// Output size of a sliding window (conv, pooling) on one axis.
        func window(_ size: Int, kernel: Int, stride: Int, dilation: Int, pads: (Int, Int), ceil: Bool, autoPad: String) throws -> Int {
            guard stride > 0, dilation > 0, kernel > 0 else { throw fail("has a kernel, stride or dilation below 1.") }
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER": return (size + stride - 1) / stride
            case "VALID": return max(0, (size - dilation * (kernel - 1) - 1) / stride + 1)
            case "NOTSET", "": break
            default: throw fail("has auto_pad '\(autoPad)'; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID.")
            }
            let span = size + pads.0 + pads.1 - dilation * (kernel - 1) - 1
            guard span >= 0 else { throw fail("has a window larger than its padded input (\(size) + pads \(pads)).") }
            return (ceil ? (span + stride - 1) / stride : span / stride) + 1
        }
        func spatial(_ x: [Int], kernel: [Int]) throws -> [Int] {
            let strides = try intsAttribute("strides") ?? [1, 1], dilations = try intsAttribute("dilations") ?? [1, 1]
            let pads = try intsAttribute("pads") ?? [0, 0, 0, 0]
            var autoPad = "NOTSET"
            if case .string(let a)? = node.attributes["auto_pad"] { autoPad = a }
            guard pads.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else { throw fail("has pads \(pads); expected sizes from 0 to 2^31 - 1.") }
            guard kernel.count == 2, strides.count == 2, dilations.count == 2, pads.count == 4 else {
                throw fail("has kernel \(kernel), strides \(strides), dilations \(dilations), pads \(pads); expected 2-D windows (2 values each, 4 pads).")
            }
            let ceil = try intAttribute("ceil_mode", 0) != 0
            return [try window(x[2], kernel: kernel[0], stride: strides[0], dilation: dilations[0], pads: (pads[0], pads[2]), ceil: ceil, autoPad: autoPad),
                    try window(x[3], kernel: kernel[1], stride: strides[1], dilation: dilations[1], pads: (pads[1], pads[3]), ceil: ceil, autoPad: autoPad)]
        }
        func image(_ k: Known) throws -> [Int] {
            guard case .tensor(let shape) = k, shape.count == 4 else { throw fail("needs a 4-D NCHW input; got \(k.shape).") }
            return shape
        }

        switch node.opType {
        case "Conv":
            let x = try image(try required(0)), w = try required(1).shape
            guard w.count == 4 else { throw fail("has weight shape \(w); expected [O, C/groups, kH, kW].") }
            let groups = try intAttribute("group", 1)
            guard groups > 0, x[1] == w[1] * groups, w[0] % groups == 0 else {
                throw fail("has input channels \(x[1]), weight \(w) and group \(groups); expected input channels = weight's second dimension x groups.")
            }
            if let k = try intsAttribute("kernel_shape"), k != [w[2], w[3]] { throw fail("has kernel_shape \(k) but weight \(w).") }
            let hw = try spatial(x, kernel: [w[2], w[3]])
            let out = [x[0], w[0]] + hw
            let macs = try perImage(out) * count([w[1], w[2], w[3]])
            let hasBias = try input(2) != nil
            return ([.tensor(out)], (parameters([1, 2]), macs, 2 * macs + (hasBias ? w[0] * hw[0] * hw[1] : 0)))
        case "BatchNormalization":
            let x = try required(0).shape
            guard x.count >= 2 else { throw fail("needs an input of rank 2 or more; got \(x).") }
            for i in 1...4 where try required(i).shape != [x[1]] { throw fail("has a parameter of shape \(try required(i).shape) for \(x[1]) channels.") }
            return try ([.tensor(x)], (parameters([1, 2]), 0, 2 * perImage(x)))
        case "Relu": return try elementwise(1)
        case "Clip", "LeakyRelu": return try elementwise(2)
        case "Sigmoid", "HardSigmoid": return try elementwise(3)
        case "HardSwish": return try elementwise(4)
        case "Identity", "Dropout":
            let x = try required(0)
            return ([x], nil)
        case "Add", "Sub", "Mul", "Div":
            let (a, b) = (try required(0), try required(1))
            if case .constant(.int64(let sa, let va)) = a, case .constant(.int64(let sb, let vb)) = b {
                guard va.count == vb.count || va.count == 1 || vb.count == 1 else { throw fail("combines int64 constants of shapes \(sa) and \(sb).") }
                let n = max(va.count, vb.count)
                let values: [Int64] = try (0..<n).map { i in
                    let (x, y) = (va[va.count == 1 ? 0 : i], vb[vb.count == 1 ? 0 : i])
                    switch node.opType {
                    case "Add": return x &+ y
                    case "Sub": return x &- y
                    case "Mul": return x &* y
                    default:
                        guard y != 0, !(x == .min && y == -1) else { throw fail("divides the int64 \(x) by \(y).") }
                        return x / y
                    }
                }
                return ([.constant(.int64(shape: sa.count >= sb.count ? sa : sb, values: values))], nil)
            }
            let shape = try Self.broadcast(a.shape, b.shape) ?? { throw fail("combines shapes \(a.shape) and \(b.shape), which do not broadcast.") }()
            return try ([.tensor(shape)], (0, 0, perImage(shape)))
        case "MaxPool", "AveragePool":
            let x = try image(try required(0))
            guard let kernel = try intsAttribute("kernel_shape") else { throw fail("has no kernel_shape.") }
            let hw = try spatial(x, kernel: kernel)
            let out = [x[0], x[1]] + hw
            let perOutput = kernel.reduce(1, *) - (node.opType == "MaxPool" ? 1 : 0)
            return try ([.tensor(out)], (0, 0, perOutput * perImage(out)))
        case "GlobalAveragePool", "GlobalMaxPool":
            let x = try image(try required(0))
            let out = [x[0], x[1], 1, 1]
            return ([.tensor(out)], (0, 0, x[1] * x[2] * x[3] - (node.opType == "GlobalMaxPool" ? x[1] : 0)))
        case "Flatten":
            let x = try required(0).shape
            let a = try axis(try intAttribute("axis", 1), rank: x.count + 1)
            return try ([.tensor([count(Array(x[..<a])), count(Array(x[a...]))])], (0, 0, 0))
        case "Reshape":
            let x = try required(0)
            guard var target = try ints(1, "shape") else { throw fail("lacks its shape.") }
            let allowZero = try intAttribute("allowzero", 0)
            for (i, d) in target.enumerated() where d == 0 && i < x.shape.count && allowZero == 0 { target[i] = x.shape[i] }
            if let inferred = target.firstIndex(of: -1) {
                let rest = try count(target.enumerated().filter { $0.offset != inferred }.map(\.element))
                let total = try count(x.shape)
                guard rest > 0, total % rest == 0 else { throw fail("cannot reshape \(x.shape) to \(target).") }
                target[inferred] = total / rest
            }
            guard target.allSatisfy({ $0 >= 0 }), try count(target) == count(x.shape) else {
                throw fail("reshapes \(x.shape) to \(target); expected the same number of elements.")
            }
            if case .constant(let c) = x { return ([.constant(c.reshaped(target))], nil) }
            return ([.tensor(target)], (0, 0, 0))
        case "Gemm":
            let (a, b) = (try required(0).shape, try required(1).shape)
            guard a.count == 2, b.count == 2 else { throw fail("needs 2-D operands; got \(a) and \(b).") }
            let (m, k) = try intAttribute("transA", 0) != 0 ? (a[1], a[0]) : (a[0], a[1])
            let (k2, n) = try intAttribute("transB", 0) != 0 ? (b[1], b[0]) : (b[0], b[1])
            guard k == k2 else { throw fail("multiplies \(a) by \(b) (inner sizes \(k) and \(k2)).") }
            let hasBias = try input(2) != nil
            return ([.tensor([m, n])], (parameters([1, 2]), k * n, 2 * k * n + (hasBias ? n : 0)))
        case "MatMul":
            let (a, b) = (try required(0).shape, try required(1).shape)
            guard a.count >= 2, b.count == 2, a.last == b[0] else { throw fail("multiplies \(a) by \(b); expected [..., K] x [K, N].") }
            let out = Array(a.dropLast()) + [b[1]]
            let macs = try perImage(Array(a.dropLast()) + [1]) * count(b)
            return ([.tensor(out)], (parameters([1]), macs, 2 * macs))
        case "Concat":
            guard case .int(let rawAxis)? = node.attributes["axis"] else { throw fail("has no axis.") }
            let parts = try (0..<node.inputs.count).map { try required($0) }
            if parts.allSatisfy({ if case .constant(.int64) = $0 { return true } else { return false } }) {
                let values = parts.flatMap { part -> [Int64] in if case .constant(.int64(_, let v)) = part { return v } else { return [] } }
                return ([.constant(.int64(shape: [values.count], values: values))], nil)
            }
            let first = parts[0].shape
            let a = try axis(rawAxis, rank: first.count)
            var out = first
            out[a] = 0
            for part in parts {
                var s = part.shape
                guard s.count == first.count else { throw fail("concatenates ranks \(first.count) and \(s.count).") }
                out[a] += s[a]
                s[a] = first[a]
                guard s == first else { throw fail("concatenates \(first) and \(part.shape) along axis \(a).") }
            }
            return ([.tensor(out)], (0, 0, 0))
        case "Transpose":
            let x = try required(0).shape
            let perm = try intsAttribute("perm") ?? Array((0..<x.count).reversed())
            guard perm.sorted() == Array(0..<x.count) else { throw fail("has perm \(perm) for rank \(x.count).") }
            if case .constant(.int64(_, let v)) = try required(0) {
                return ([.constant(.int64(shape: perm.map { x[$0] }, values: ONNXOps.transposeIndices(x, perm: perm).map { v[$0] }))], nil)
            }
            return ([.tensor(perm.map { x[$0] })], (0, 0, 0))
        case "Unsqueeze", "Squeeze":
            let x = try required(0)
            let axes = try ints(1, "axes") ?? intsAttribute("axes")
            var out = x.shape
            if node.opType == "Unsqueeze" {
                guard let axes else { throw fail("has no axes.") }
                for a in axes.map({ $0 < 0 ? $0 + x.shape.count + axes.count : $0 }).sorted() {
                    guard (0...out.count).contains(a) else { throw fail("has axis \(a) for rank \(out.count).") }
                    out.insert(1, at: a)
                }
            } else {
                let drop = try Set((axes ?? out.indices.filter { out[$0] == 1 }).map { try axis($0, rank: x.shape.count) })
                guard drop.allSatisfy({ out[$0] == 1 }) else { throw fail("squeezes a dimension that is not 1 in \(x.shape).") }
                out = out.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
            }
            if case .constant(let c) = x { return ([.constant(c.reshaped(out))], nil) }
            return ([.tensor(out)], (0, 0, 0))
        case "ConstantOfShape":
            guard let dims = try ints(0, "shape"), dims.allSatisfy({ $0 >= 0 }), dims.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) <= 1 << 24 else {
                throw fail("needs a constant shape of non-negative sizes with at most 2^24 elements.")
            }
            let count = dims.reduce(1, *)
            switch node.attributes["value"] {
            case .tensor(.int64(_, let v))?: return ([.constant(.int64(shape: dims, values: [Int64](repeating: v.first ?? 0, count: count)))], nil)
            case .tensor(.float(_, let v))?: return ([.constant(.float(shape: dims, values: [Float](repeating: v.first ?? 0, count: count)))], nil)
            default: return ([.constant(.float(shape: dims, values: [Float](repeating: 0, count: count)))], nil)
            }
        case "Shape":
            let x = try required(0).shape
            let rank = x.count
            var start = try intAttribute("start", 0), end = try intAttribute("end", rank)
            if start < 0 { start += rank }
            if end < 0 { end += rank }
            start = min(max(start, 0), rank)
            end = min(max(end, start), rank)
            let dims = x[start..<end].map(Int64.init)
            return ([.constant(.int64(shape: [dims.count], values: dims))], nil)
        case "Gather":
            let (data, indices) = (try required(0), try required(1))
            guard case .constant(.int64(let ishape, let idx)) = indices else { throw fail("needs constant int64 indices.") }
            let a = try axis(try intAttribute("axis", 0), rank: data.shape.count)
            if case .constant(.int64(let dshape, let values)) = data, dshape.count <= 1 {
                let n = values.count
                let picked: [Int64] = try idx.map { i in
                    let j = Int(i < 0 ? i + Int64(n) : i)
                    guard (0..<n).contains(j) else { throw fail("gathers index \(i) of \(n) values.") }
                    return values[j]
                }
                return ([.constant(.int64(shape: ishape, values: picked))], nil)
            }
            var out = data.shape
            out.replaceSubrange(a...a, with: ishape)
            return ([.tensor(out)], (0, 0, 0))
        case "Cast":
            let x = try required(0)
            let to = try intAttribute("to", 0)
            guard to == Int(Self.float32Type) || to == Int(Self.int64Type) else {
                throw fail("casts to element type \(Self.typeName(Int32(clamping: to))); expected float32 (1) or int64 (7).")
            }
            if case .constant(let c) = x {
                switch (c, to) {
                case (.int64(let s, let v), 1): return ([.constant(.float(shape: s, values: v.map { Float($0) }))], nil)
                case (.float(let s, let v), 7): return ([.constant(.int64(shape: s, values: v.map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 }))], nil)
                default: return ([x], nil)
                }
            }
            return ([.tensor(x.shape)], nil)
        case "Softmax":
            let x = try required(0).shape
            let a = try axis(try intAttribute("axis", -1), rank: x.count)
            return try ([.tensor(x)], (0, 0, perImage(x) / max(x[a], 1) * (5 * x[a] - 2)))
        case "Slice":
            let x = try required(0)
            let plan = try Self.slicePlan(node, shape: x.shape, starts: try ints(1, "starts") ?? intsAttribute("starts"),
                                          ends: try ints(2, "ends") ?? intsAttribute("ends"), axes: try ints(3, "axes") ?? intsAttribute("axes"),
                                          steps: try ints(4, "steps"), fail: fail)
            if case .constant(.int64(_, let v)) = x {
                let picked = ONNXOps.sliceIndices(x.shape, starts: plan.starts, steps: plan.steps, out: plan.shape).map { v[$0] }
                return ([.constant(.int64(shape: plan.shape, values: picked))], nil)
            }
            return ([.tensor(plan.shape)], (0, 0, 0))
        case "Split":
            let x = try required(0).shape
            let a = try axis(try intAttribute("axis", 0), rank: x.count)
            let sizes = try Self.splitSizes(node, extent: x[a], given: try ints(1, "split") ?? intsAttribute("split"), fail: fail)
            return (sizes.map { size in var s = x; s[a] = size; return .tensor(s) }, (0, 0, 0))
        case "Pad":
            let x = try required(0).shape
            let pads = try Self.padAmounts(node, rank: x.count, pads: try ints(1, "pads") ?? intsAttribute("pads"), axes: try ints(3, "axes"), fail: fail)
            if case .string(let mode)? = node.attributes["mode"], mode != "constant" {
                throw fail("pads in mode '\(mode)'; only mode 'constant' is supported.")
            }
            let out = (0..<x.count).map { x[$0] + pads[$0] + pads[$0 + x.count] }
            guard out.allSatisfy({ $0 >= 0 }) else { throw fail("crops \(x) by pads \(pads) below zero.") }
            return ([.tensor(out)], (0, 0, 0))
        default:
            throw fail("has no shape rule.")
        }
    }

    /// ONNX Slice resolved on `shape`: per axis the first index, the step and the output extent
    /// (negative starts and ends count from the end, bounds clamp as ONNX specifies).
    static func slicePlan(_ node: Node, shape: [Int], starts: [Int]?, ends: [Int]?, axes: [Int]?, steps: [Int]?,
                          fail: (String) -> SPConvLabError) throws -> (starts: [Int], steps: [Int], shape: [Int]) {
        guard let starts, let ends, starts.count == ends.count else { throw fail("needs starts and ends of one length.") }
        let axes = axes ?? Array(0..<starts.count), steps = steps ?? [Int](repeating: 1, count: starts.count)
        guard axes.count == starts.count, steps.count == starts.count else { throw fail("has axes \(axes) and steps \(steps) for \(starts.count) starts.") }
        var first = [Int](repeating: 0, count: shape.count), step = [Int](repeating: 1, count: shape.count), out = shape
        for i in 0..<starts.count {
            let a = axes[i] < 0 ? axes[i] + shape.count : axes[i]
            guard (0..<shape.count).contains(a), steps[i] != 0 else { throw fail("has axis \(axes[i]) or step \(steps[i]) out of range for rank \(shape.count).") }
            let n = shape[a]
            func resolve(_ v: Int, low: Int, high: Int) -> Int { min(max(v < 0 ? v + n : v, low), high) }
            let (s, e) = steps[i] > 0 ? (resolve(starts[i], low: 0, high: n), resolve(ends[i], low: 0, high: n))
                                      : (resolve(starts[i], low: -1, high: n - 1), resolve(ends[i], low: -1, high: n - 1))
            // A step longer than the axis takes one element at most; clamped, no sum overflows.
            let stepSize = max(min(steps[i], n + 1), -(n + 1))
            first[a] = s
            step[a] = stepSize
            out[a] = stepSize > 0 ? max(0, (e - s + stepSize - 1) / stepSize) : max(0, (s - e - stepSize - 1) / -stepSize)
        }
        return (first, step, out)
    }

    /// The sizes of Split's outputs along an axis of `extent`.
    static func splitSizes(_ node: Node, extent: Int, given: [Int]?, fail: (String) -> SPConvLabError) throws -> [Int] {
        if let given {
            // Each size is checked before they are added, so the sum cannot overflow.
            guard given.count == node.outputs.count, given.allSatisfy({ $0 >= 0 && $0 <= extent }), given.reduce(0, +) == extent else {
                throw fail("splits an extent of \(extent) into \(given) for \(node.outputs.count) outputs.")
            }
            return given
        }
        let parts = node.outputs.count
        let size = (extent + parts - 1) / parts
        return (0..<parts).map { max(0, min(size, extent - $0 * size)) }
    }

    /// Pad's amounts as ONNX's [begin_0 ... begin_r, end_0 ... end_r] over every axis.
    static func padAmounts(_ node: Node, rank: Int, pads: [Int]?, axes: [Int]?, fail: (String) -> SPConvLabError) throws -> [Int] {
        guard let pads else { throw fail("has no pads.") }
        let axes = try (axes ?? Array(0..<rank)).map { a -> Int in
            let r = a < 0 ? a + rank : a
            guard (0..<rank).contains(r) else { throw fail("has axis \(a) for rank \(rank).") }
            return r
        }
        guard pads.count == 2 * axes.count else { throw fail("has \(pads.count) pads for \(axes.count) axes.") }
        guard pads.allSatisfy({ $0 >= -Int(Int32.max) && $0 <= Int(Int32.max) }) else { throw fail("has pads \(pads); expected sizes within ±(2^31 - 1).") }
        var full = [Int](repeating: 0, count: 2 * rank)
        for (i, a) in axes.enumerated() { (full[a], full[a + rank]) = (pads[i], pads[i + axes.count]) }
        return full
    }

    /// The most elements one value may have (4 GiB of float32), and the most MACs per image one
    /// node may cost: beyond them a file describes no model that can run, and the counts
    /// could overflow.
    static let maximumElements = 1 << 30, maximumMACs = 1 << 44

    /// NumPy broadcasting of two shapes, or nil when they do not broadcast.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a, pb = [Int](repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            out.append(x == 1 ? y : x)
        }
        return out
    }
}

import SPConvCore
import SPConvKernels

extension Graph {
    /// Runs the graph op by op on the float32 reference ops (the twin of every fast path).
    ///
    /// - Parameters:
    ///   - input: `[N, C, H, W]`, row-major.
    ///   - weights: every parameter the nodes name, by `state_dict` key.
    /// - Returns: the output value, row-major.
    /// - Throws: ``SPConvLabError`` when a parameter is missing.
    public func runReference(_ input: Tensor, weights: [String: Tensor]) throws -> Tensor {
        try runReference(input, weights: weights, capturing: []).output
    }

    /// ``runReference(_:weights:)`` that also returns the outputs of the modules at `paths`
    /// (row-major, by path; paths that name no module are left out).
    public func runReference(_ input: Tensor, weights: [String: Tensor],
                             capturing paths: Set<String>) throws -> (output: Tensor, captured: [String: Tensor]) {
        let captures = captureValues(paths)
        var captured: [String: Tensor] = [:]
        for (path, value) in captures where value == self.input { captured[path] = input.rowMajor() }
        var values: [Tensor?] = Array(repeating: nil, count: nodes.count + 1)
        values[0] = input.rowMajor()
        // Values are released after their last reader, so memory follows the live set.
        var lastUse = Array(repeating: -1, count: nodes.count + 1)
        for (index, node) in nodes.enumerated() { for value in node.inputs { lastUse[value.id] = index } }
        for (index, node) in nodes.enumerated() {
            func parameter(_ position: Int) throws -> Tensor {
                let key = node.parameters[position]
                guard let tensor = weights[key] else {
                    throw SPConvLabError(.invalidWeights, "the graph node '\(node.module)' (\(node.type)) needs the parameter '\(key)', which the weights lack")
                }
                return tensor
            }
            let x = values[node.inputs[0].id]!
            let result: Tensor
            switch node.op {
            case .conv2d(let geometry, _):
                result = ReferenceOps.conv2d(x, weight: try parameter(0), bias: node.parameters.count > 1 ? try parameter(1) : nil,
                                             geometry: geometry)
            case .batchNorm(let epsilon):
                result = ReferenceOps.batchNorm(x, mean: try parameter(2), variance: try parameter(3), scale: try parameter(0),
                                                shift: try parameter(1), epsilon: epsilon)
            case .relu:
                result = ReferenceOps.relu(x)
            case .add:
                result = ReferenceOps.add(x, values[node.inputs[1].id]!)
            case .sliceChannels(let range):
                result = ReferenceOps.sliceChannels(x, range)
            case .maxPool(let kernelSize, let stride, let padding):
                result = ReferenceOps.maxPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding)
            case .avgPool(let kernelSize, let stride, let padding):
                result = ReferenceOps.avgPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding)
            case .globalAveragePool:
                result = ReferenceOps.adaptiveAvgPool2d(x, outputSize: 1)
            case .linear:
                let flat = Tensor(shape: [x.shape[0], x.count / x.shape[0]], scalars: x.scalars)
                result = ReferenceOps.linear(flat, weight: try parameter(0), bias: try parameter(1))
            case .spconvFusion:
                result = Self.referenceFusion(x, values[node.inputs[1].id]!)
            }
            values[node.output.id] = result
            for (path, value) in captures where value == node.output { captured[path] = result }
            for value in node.inputs where lastUse[value.id] == index && value != output { values[value.id] = nil }
        }
        return (values[output.id]!, captured)
    }

    /// The output value of each module at `paths` (the last call of a path, for a module run twice).
    func captureValues(_ paths: Set<String>) -> [String: Value] {
        guard !paths.isEmpty else { return [:] }
        var result: [String: Value] = [:]
        for module in modules where paths.contains(module.path) { result[module.path] = module.output }
        return result
    }

    /// SPConv's fusion by its definition: stack the two global means on a trailing axis, softmax
    /// over it, and weight and sum the two maps.
    static func referenceFusion(_ representative: Tensor, _ redundant: Tensor) -> Tensor {
        let (n, c, _, _) = representative.nchw
        let meanRep = ReferenceOps.adaptiveAvgPool2d(representative, outputSize: 1)
        let meanRed = ReferenceOps.adaptiveAvgPool2d(redundant, outputSize: 1)
        var stacked = [Float](repeating: 0, count: n * c * 2)
        for i in 0..<(n * c) { stacked[2 * i] = meanRep.scalars[i]; stacked[2 * i + 1] = meanRed.scalars[i] }
        let weights = ReferenceOps.softmax(Tensor(shape: [n, c, 2], scalars: stacked), axis: 2)
        let weightRep = Tensor(shape: [n, c, 1, 1], scalars: (0..<(n * c)).map { weights.scalars[2 * $0] })
        let weightRed = Tensor(shape: [n, c, 1, 1], scalars: (0..<(n * c)).map { weights.scalars[2 * $0 + 1] })
        return ReferenceOps.add(ReferenceOps.multiply(redundant, weightRed), ReferenceOps.multiply(representative, weightRep))
    }

    /// Propagates shapes through the graph, checking that every op can run on its input, and
    /// counts each op's parameters, MACs and FLOPs under the conventions of docs/COST.md (slices
    /// are free and not listed).
    ///
    /// - Parameters:
    ///   - inputShape: `[N, C, H, W]`.
    ///   - weights: the parameters, for their sizes.
    /// - Returns: the ledger (one row per op in node order) and the output shape of every value.
    /// - Throws: ``SPConvLabError`` `.invalidInput` (or `.invalidConfiguration` for an SPConv
    ///   layer at stride 2 on an odd size) naming the op, its input shape and what it needs.
    public func trace(inputShape: [Int], weights: [String: Tensor]) throws -> (ledger: CostLedger, shapes: [[Int]]) {
        var shapes: [[Int]] = [inputShape]
        var ledger = CostLedger()
        for node in nodes {
            let x = shapes[node.inputs[0].id]
            try checkInput(of: node, shapes: shapes, weights: weights)
            let elements = x.dropFirst().reduce(1, *)
            let parameterCount = node.parameters.reduce(0) { $0 + (weights[$1]?.count ?? 0) }
            var out = x
            var (params, macs, flops) = (0, 0, elements)
            switch node.op {
            case .conv2d(let geometry, let outputChannels):
                out = [x[0], outputChannels, geometry.outputExtent(x[2]), geometry.outputExtent(x[3])]
                let outputElements = out.dropFirst().reduce(1, *)
                macs = outputElements * (x[1] / geometry.groups) * geometry.kernelSize * geometry.kernelSize
                params = parameterCount
                flops = 2 * macs + (node.parameters.count > 1 ? outputElements : 0)
            case .batchNorm:
                params = 2 * x[1]
                flops = 2 * elements
            case .relu, .add:
                break
            case .sliceChannels(let range):
                shapes.append([x[0], range.count, x[2], x[3]])
                continue
            case .maxPool(let kernelSize, let stride, let padding), .avgPool(let kernelSize, let stride, let padding):
                let g = Conv2DGeometry(kernelSize: kernelSize, stride: stride, padding: padding)
                out = [x[0], x[1], g.outputExtent(x[2]), g.outputExtent(x[3])]
                let isMax = if case .maxPool = node.op { true } else { false }
                flops = (isMax ? kernelSize * kernelSize - 1 : kernelSize * kernelSize) * out.dropFirst().reduce(1, *)
            case .globalAveragePool:
                out = [x[0], x[1], 1, 1]
            case .linear:
                let outputFeatures = weights[node.parameters[0]]?.shape.first ?? 0
                out = [x[0], outputFeatures]
                macs = elements * outputFeatures
                params = parameterCount
                flops = 2 * macs + outputFeatures
            case .spconvFusion:
                flops = x[1] * (2 * x[2] * x[3] + 8) + 3 * elements
            }
            shapes.append(out)
            ledger.layers.append(LayerCost(path: node.module, type: node.type, outputShape: out, params: params, macs: macs, flops: flops))
        }
        return (ledger, shapes)
    }

    /// The output shape of every module for `inputShape`, by dotted path.
    public func moduleShapes(inputShape: [Int], weights: [String: Tensor]) throws -> [String: [Int]] {
        let shapes = try trace(inputShape: inputShape, weights: weights).shapes
        return Dictionary(modules.map { ($0.path, shapes[$0.output.id]) }, uniquingKeysWith: { _, last in last })
    }

    /// Throws when `node` cannot run on the shapes of its inputs.
    private func checkInput(of node: Node, shapes: [[Int]], weights: [String: Tensor]) throws {
        let x = shapes[node.inputs[0].id]
        let name = node.module.isEmpty ? node.type : "\(node.type) \(node.module)"
        func spatial(_ what: String, _ geometry: Conv2DGeometry) throws {
            guard x.count == 4, geometry.outputExtent(x[2]) >= 1, geometry.outputExtent(x[3]) >= 1 else {
                throw SPConvLabError(.invalidInput, "\(name) (\(what), kernel \(geometry.kernelSize), padding \(geometry.padding), stride \(geometry.stride)) cannot run on an input of shape \(x): it needs [N, C, H, W] with H and W of at least \(geometry.dilation * (geometry.kernelSize - 1) + 1 - 2 * geometry.padding), or the output would be empty. Use a larger input size.")
            }
        }
        switch node.op {
        case .conv2d(let geometry, _):
            let weight = weights[node.parameters[0]]
            let inputChannels = (weight?.shape[1] ?? 0) * geometry.groups
            guard x.count == 4, x[1] == inputChannels else {
                throw SPConvLabError(.invalidInput, "\(name) expects an input of shape [N, \(inputChannels), H, W]; got \(x).")
            }
            try spatial("convolution", geometry)
        case .batchNorm:
            let channels = weights[node.parameters[0]]?.count ?? 0
            guard x.count == 4, x[1] == channels else {
                throw SPConvLabError(.invalidInput, "\(name) expects [N, \(channels), H, W]; got \(x).")
            }
        case .maxPool(let kernelSize, let stride, let padding), .avgPool(let kernelSize, let stride, let padding):
            try spatial("pooling", Conv2DGeometry(kernelSize: kernelSize, stride: stride, padding: padding))
        case .add, .spconvFusion:
            let y = shapes[node.inputs[1].id]
            guard x == y else {
                if let spconv = modules.last(where: { $0.type == "SPConv" && $0.nodes.contains(node.output.id - 1) }) {
                    throw SPConvLabError(.invalidConfiguration, "SPConv layer \(spconv.path) has stride 2 but its input is \(shapes[spconv.input.id].dropFirst(2).map(String.init).joined(separator: "x")): an odd size makes the 2x2 average pool and the strided 3x3 conv disagree (\(x) against \(y)). Choose an input size that keeps this layer's input even (for the CIFAR ResNets a multiple of 4, for example 28 or 32).")
                }
                throw SPConvLabError(.invalidInput, "\(name) combines values of shapes \(x) and \(y); they must be equal.")
            }
        case .sliceChannels(let range):
            guard x.count == 4, range.upperBound <= x[1] else {
                throw SPConvLabError(.invalidInput, "\(name) takes channels \(range) of an input of shape \(x).")
            }
        case .linear:
            let features = weights[node.parameters[0]]?.shape.last ?? 0
            guard x.dropFirst().reduce(1, *) == features else {
                throw SPConvLabError(.invalidInput, "\(name) expects \(features) features per sample; got input \(x).")
            }
        case .relu, .globalAveragePool:
            break
        }
    }
}

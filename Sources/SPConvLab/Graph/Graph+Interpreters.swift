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
            for value in node.inputs where lastUse[value.id] == index && value != output { values[value.id] = nil }
        }
        return values[output.id]!
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

    /// Propagates shapes through the graph and counts each op's parameters, MACs and FLOPs under
    /// the conventions of docs/COST.md (slices are free and not listed).
    ///
    /// - Parameters:
    ///   - inputShape: `[N, C, H, W]`.
    ///   - weights: the parameters, for their sizes.
    /// - Returns: the ledger (one row per op in node order) and the output shape of every value.
    public func trace(inputShape: [Int], weights: [String: Tensor]) throws -> (ledger: CostLedger, shapes: [[Int]]) {
        var shapes: [[Int]] = [inputShape]
        var ledger = CostLedger()
        for node in nodes {
            let x = shapes[node.inputs[0].id]
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
                let extent = { (size: Int) in (size + 2 * padding - kernelSize) / stride + 1 }
                out = [x[0], x[1], extent(x[2]), extent(x[3])]
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
}

import CDNNL
import Foundation

/// The three oneDNN convolutions of a training step for one input shape: forward, the gradient
/// with respect to the input (backward data) and with respect to the weights and bias (backward
/// weights).
///
/// Everything is in PyTorch's plain layouts: activations and their gradients `[N, C, H, W]`
/// row-major, weights `[C_out, C_in / groups, K, K]`, bias `[C_out]`. Training changes the weights
/// on every step, so there is nothing to pack once; oneDNN runs its GEMM-based kernels on these
/// layouts. Kernels are shared process-wide by shape (`ConvolutionTrainingKernel.cached`).
final class ConvolutionTrainingKernel: @unchecked Sendable {
    struct Key: Hashable, Sendable {
        var inputShape: [Int]
        var outputChannels: Int
        var geometry: Conv2DGeometry
        var hasBias: Bool
    }

    let key: Key
    let outputShape: [Int]
    private let forwardPrimitive: DNNLPrimitive
    private let backwardDataPrimitive: DNNLPrimitive
    private let backwardWeightsPrimitive: DNNLPrimitive
    private let source: MemoryDescriptor
    private let weights: MemoryDescriptor
    private let bias: MemoryDescriptor?
    private let destination: MemoryDescriptor

    private static let cache = LockedBox<[Key: ConvolutionTrainingKernel]>([:])

    /// The kernel for `key`, built on first use.
    static func cached(_ key: Key) throws -> ConvolutionTrainingKernel {
        try cache.withLock {
            if let hit = cache.value[key] { return hit }
            let kernel = try ConvolutionTrainingKernel(key)
            cache.value[key] = kernel
            return kernel
        }
    }

    private init(_ key: Key) throws {
        self.key = key
        let g = key.geometry
        let (n, c, h, w) = (key.inputShape[0], key.inputShape[1], key.inputShape[2], key.inputShape[3])
        let (o, k) = (key.outputChannels, g.kernelSize)
        outputShape = [n, o, g.outputExtent(h), g.outputExtent(w)]
        source = try MemoryDescriptor(key.inputShape, tag: dnnl_nchw)
        destination = try MemoryDescriptor(outputShape, tag: dnnl_nchw)
        weights = g.groups == 1 ? try MemoryDescriptor([o, c, k, k], tag: dnnl_oihw)
                                : try MemoryDescriptor([g.groups, o / g.groups, c / g.groups, k, k], tag: dnnl_goihw)
        bias = key.hasBias ? try MemoryDescriptor([o], tag: dnnl_a) : nil
        let what = "a training convolution of input \(key.inputShape) with \(g)"

        var strides: [Int64] = [Int64(g.stride), Int64(g.stride)]
        var dilates: [Int64] = [Int64(g.dilation - 1), Int64(g.dilation - 1)]
        var pads: [Int64] = [Int64(g.padding), Int64(g.padding)]
        var src = source.raw, wei = weights.raw, dst = destination.raw
        var biasRaw = bias?.raw ?? dnnl_memory_desc_t()
        let hasBias = key.hasBias

        var forwardOp = dnnl_convolution_desc_t()
        var dataOp = dnnl_convolution_desc_t()
        var weightsOp = dnnl_convolution_desc_t()
        let algorithm = dnnl_convolution_direct
        let statuses: [dnnl_status_t] = withUnsafeMutablePointer(to: &biasRaw) { biasPointer in
            strides.withUnsafeMutableBufferPointer { sp in
                dilates.withUnsafeMutableBufferPointer { dp in
                    pads.withUnsafeMutableBufferPointer { pp in
                        let b = hasBias ? biasPointer : nil
                        return [
                            dnnl_dilated_convolution_forward_desc_init(
                                &forwardOp, dnnl_forward_training, algorithm, &src, &wei, b, &dst,
                                sp.baseAddress, dp.baseAddress, pp.baseAddress, pp.baseAddress),
                            dnnl_dilated_convolution_backward_data_desc_init(
                                &dataOp, algorithm, &src, &wei, &dst,
                                sp.baseAddress, dp.baseAddress, pp.baseAddress, pp.baseAddress),
                            dnnl_dilated_convolution_backward_weights_desc_init(
                                &weightsOp, algorithm, &src, &wei, b, &dst,
                                sp.baseAddress, dp.baseAddress, pp.baseAddress, pp.baseAddress),
                        ]
                    }
                }
            }
        }
        for status in statuses { try DNNL.check(status, what) }
        let forward = try withUnsafePointer(to: &forwardOp) {
            try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), what: what)
        }
        forwardPrimitive = forward
        backwardDataPrimitive = try withUnsafePointer(to: &dataOp) {
            try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), hint: forward, what: "the input gradient of " + what)
        }
        backwardWeightsPrimitive = try withUnsafePointer(to: &weightsOp) {
            try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), hint: forward, what: "the weight gradient of " + what)
        }
    }

    /// oneDNN's implementation names (forward, backward data, backward weights), for profiles.
    var implementationNames: [String] {
        [forwardPrimitive, backwardDataPrimitive, backwardWeightsPrimitive].map(\.implementationName)
    }

    /// `y = conv(x, weight) + bias`.
    func forward(_ input: Tensor, weight: Tensor, bias biasTensor: Tensor?) throws -> Tensor {
        precondition(input.shape == key.inputShape && input.layout == .rowMajor, "kernel built for \(key.inputShape)")
        var output = Tensor.zeros(outputShape)
        try input.withUnsafeBufferPointer { x in
            try weight.withUnsafeBufferPointer { wt in
                try output.withUnsafeMutableBufferPointer { y in
                    var arguments: [DNNLPrimitive.Argument] = [
                        .init(slot: DNNLArgument.src, descriptor: source, pointer: UnsafeMutableRawPointer(mutating: x.baseAddress!)),
                        .init(slot: DNNLArgument.weights, descriptor: weights, pointer: UnsafeMutableRawPointer(mutating: wt.baseAddress!)),
                        .init(slot: DNNLArgument.dst, descriptor: destination, pointer: UnsafeMutableRawPointer(y.baseAddress!)),
                    ]
                    try withOptionalPointer(biasTensor) { b in
                        if let b, let bias { arguments.append(.init(slot: DNNLArgument.bias, descriptor: bias, pointer: b)) }
                        try forwardPrimitive.execute(arguments)
                    }
                }
            }
        }
        return output
    }

    /// `dL/dx` from `dL/dy`.
    func inputGradient(_ gradOutput: Tensor, weight: Tensor) throws -> Tensor {
        precondition(gradOutput.shape == outputShape, "gradient \(gradOutput.shape) must match output \(outputShape)")
        var gradInput = Tensor.zeros(key.inputShape)
        try gradOutput.withUnsafeBufferPointer { dy in
            try weight.withUnsafeBufferPointer { wt in
                try gradInput.withUnsafeMutableBufferPointer { dx in
                    try backwardDataPrimitive.execute([
                        .init(slot: DNNLArgument.diffDestination, descriptor: destination, pointer: UnsafeMutableRawPointer(mutating: dy.baseAddress!)),
                        .init(slot: DNNLArgument.weights, descriptor: weights, pointer: UnsafeMutableRawPointer(mutating: wt.baseAddress!)),
                        .init(slot: DNNLArgument.diffSource, descriptor: source, pointer: UnsafeMutableRawPointer(dx.baseAddress!)),
                    ])
                }
            }
        }
        return gradInput
    }

    /// `dL/dweight` and, when the convolution has a bias, `dL/dbias`, from the input and `dL/dy`.
    func weightGradients(input: Tensor, gradOutput: Tensor) throws -> (weight: Tensor, bias: Tensor?) {
        let weightShape = [key.outputChannels, key.inputShape[1] / key.geometry.groups,
                           key.geometry.kernelSize, key.geometry.kernelSize]
        var gradWeight = Tensor.zeros(weightShape)
        var gradBias: Tensor? = key.hasBias ? .zeros([key.outputChannels]) : nil
        try input.withUnsafeBufferPointer { x in
            try gradOutput.withUnsafeBufferPointer { dy in
                try gradWeight.withUnsafeMutableBufferPointer { dw in
                    var arguments: [DNNLPrimitive.Argument] = [
                        .init(slot: DNNLArgument.src, descriptor: source, pointer: UnsafeMutableRawPointer(mutating: x.baseAddress!)),
                        .init(slot: DNNLArgument.diffDestination, descriptor: destination, pointer: UnsafeMutableRawPointer(mutating: dy.baseAddress!)),
                        .init(slot: DNNLArgument.diffWeights, descriptor: weights, pointer: UnsafeMutableRawPointer(dw.baseAddress!)),
                    ]
                    if gradBias != nil, let bias {
                        try gradBias!.withUnsafeMutableBufferPointer { db in
                            arguments.append(.init(slot: DNNLArgument.diffBias, descriptor: bias, pointer: UnsafeMutableRawPointer(db.baseAddress!)))
                            try backwardWeightsPrimitive.execute(arguments)
                        }
                    } else {
                        try backwardWeightsPrimitive.execute(arguments)
                    }
                }
            }
        }
        return (gradWeight, gradBias)
    }
}

/// Calls `body` with a mutable raw pointer to `tensor`'s elements, or nil when there is no tensor.
private func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafeMutableRawPointer?) throws -> R) rethrows -> R {
    guard let tensor else { return try body(nil) }
    return try tensor.withUnsafeBufferPointer { try body(UnsafeMutableRawPointer(mutating: $0.baseAddress!)) }
}

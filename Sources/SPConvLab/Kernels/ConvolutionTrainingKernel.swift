import CDNNL
import Foundation
import SPConvCore

/// The three oneDNN convolutions of a training step for one input shape: forward, the gradient
/// with respect to the input (backward data) and with respect to the weights and bias (backward
/// weights).
///
/// Callers see PyTorch's plain layouts: activations and their gradients `[N, C, H, W]` row-major
/// (or, where the primitives use them with whole blocks, oneDNN's `nChw16c`, which the training
/// ops keep between convolutions and take here without a reorder), weights
/// `[C_out, C_in / groups, K, K]`, bias `[C_out]`. Inside, oneDNN picks the layouts its fastest
/// kernels want (`format_tag_any`: channel-blocked activations and weights for its direct JIT
/// kernels, about 4x faster than its GEMM kernels on plain layouts here) and the kernel reorders
/// row-major tensors at the boundary; the forward's input in the primitive's layout is kept for
/// the weight gradient.
/// A grouped convolution whose groups are not whole channel blocks lacks a JIT kernel in oneDNN
/// 2.6 for at least one of the three (SPConv's 8-channel halves: its weight gradient), so it runs
/// as a dense convolution with block-diagonal weights, and only the diagonal blocks of the dense
/// weight gradient are returned (the off-diagonal zeros never move).
/// Kernels are shared process-wide by shape (`ConvolutionTrainingKernel.cached`).
package final class ConvolutionTrainingKernel: @unchecked Sendable {
    package struct Key: Hashable, Sendable {
        package var inputShape: [Int]
        package var outputChannels: Int
        package var geometry: Conv2DGeometry
        package var hasBias: Bool

        package init(inputShape: [Int], outputChannels: Int, geometry: Conv2DGeometry, hasBias: Bool) {
            (self.inputShape, self.outputChannels, self.geometry, self.hasBias) = (inputShape, outputChannels, geometry, hasBias)
        }
    }

    /// What the forward pass keeps for the backward pass: its input in the primitive's layout.
    package struct Saved {
        fileprivate let source: [Float]
    }

    package let key: Key
    package let outputShape: [Int]
    /// True when a grouped convolution runs densified (block-diagonal weights).
    package let runsDense: Bool
    private let forwardPrimitive: DNNLPrimitive
    private let backwardDataPrimitive: DNNLPrimitive
    private let backwardWeightsPrimitive: DNNLPrimitive
    private let bias: MemoryDescriptor?
    // Conversions between the caller's plain layouts and each primitive's.
    private let sourceIn, weightsIn, destinationOut: LayoutConversion
    private let gradOutputIn, dataWeightsIn, gradInputOut: LayoutConversion
    private let weightsSourceIn, weightsGradOutputIn, gradWeightsOut: LayoutConversion
    /// The channel block of the activations (input, output and their gradients) the primitives
    /// read and write in `nChw16c` with whole blocks, which callers may pass and get back blocked.
    private let blockedInput: Int?, blockedOutput: Int?

    private static let cache = LockedBox<[Key: ConvolutionTrainingKernel]>([:])

    /// The kernel for `key`, built on first use.
    package static func cached(_ key: Key) throws -> ConvolutionTrainingKernel {
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
        let (n, h, w) = (key.inputShape[0], key.inputShape[2], key.inputShape[3])
        let o = key.outputChannels
        outputShape = [n, o, g.outputExtent(h), g.outputExtent(w)]
        let what = "a training convolution of input \(key.inputShape) with \(g)"
        bias = key.hasBias ? try MemoryDescriptor([o], tag: dnnl_a) : nil

        // Grouped first; dense when the grouped one has no direct JIT kernel.
        var chosen: (primitives: Primitives, groups: Int)?
        for groups in g.groups == 1 ? [1] : [g.groups, 1] {
            let made = try Primitives(key, groups: groups, what: what)
            chosen = (made, groups)
            // All three must be direct: oneDNN 2.6 runs SPConv's grouped 3x3 forward and input
            // gradient with JIT kernels but its weight gradient with GEMM, 5x slower than dense.
            let names = [made.forward, made.data, made.weights].map(\.implementationName)
            if names.allSatisfy({ $0.contains("jit") && !$0.contains("gemm") }) { break }
        }
        guard let (primitives, groups) = chosen else { throw SPConvLabError(.backend, "oneDNN has no kernel for \(what).") }
        runsDense = groups != g.groups
        forwardPrimitive = primitives.forward
        backwardDataPrimitive = primitives.data
        backwardWeightsPrimitive = primitives.weights

        let userSource = try MemoryDescriptor(key.inputShape, tag: dnnl_nchw)
        let userDestination = try MemoryDescriptor(outputShape, tag: dnnl_nchw)
        let userWeights = try Primitives.weightDescriptor(key, groups: groups, tag: nil)
        let f = primitives.forward, d = primitives.data, wt = primitives.weights
        sourceIn = try LayoutConversion(userSource, f.memoryDescriptor(dnnl_query_src_md))
        weightsIn = try LayoutConversion(userWeights, f.memoryDescriptor(dnnl_query_weights_md))
        destinationOut = try LayoutConversion(f.memoryDescriptor(dnnl_query_dst_md), userDestination)
        gradOutputIn = try LayoutConversion(userDestination, d.memoryDescriptor(dnnl_query_diff_dst_md))
        dataWeightsIn = try LayoutConversion(userWeights, d.memoryDescriptor(dnnl_query_weights_md))
        gradInputOut = try LayoutConversion(d.memoryDescriptor(dnnl_query_diff_src_md), userSource)
        weightsSourceIn = try LayoutConversion(sourceIn.to, wt.memoryDescriptor(dnnl_query_src_md))
        weightsGradOutputIn = try LayoutConversion(gradOutputIn.to, wt.memoryDescriptor(dnnl_query_diff_dst_md))
        gradWeightsOut = try LayoutConversion(wt.memoryDescriptor(dnnl_query_diff_weights_md), userWeights)
        // Only AVX-512's 16-channel blocks, and only without padding channels.
        func block(_ shape: [Int], _ descriptors: [MemoryDescriptor]) throws -> Int? {
            guard DNNL.shared.channelBlock == 16, shape[1] % 16 == 0 else { return nil }
            let blocked = try MemoryDescriptor(shape, tag: dnnl_nChw16c)
            return descriptors.allSatisfy { $0.isEqual(to: blocked) } ? 16 : nil
        }
        blockedInput = try block(key.inputShape, [sourceIn.to, gradInputOut.from])
        blockedOutput = try block(outputShape, [destinationOut.from, gradOutputIn.to])
    }

    /// The three primitives for one group count, every layout left to oneDNN.
    private struct Primitives {
        package let forward: DNNLPrimitive
        package let data: DNNLPrimitive
        package let weights: DNNLPrimitive

        package static func weightDescriptor(_ key: Key, groups: Int, tag: dnnl_format_tag_t?) throws -> MemoryDescriptor {
            let (c, k, o) = (key.inputShape[1], key.geometry.kernelSize, key.outputChannels)
            return groups == 1 ? try MemoryDescriptor([o, c, k, k], tag: tag ?? dnnl_oihw)
                               : try MemoryDescriptor([groups, o / groups, c / groups, k, k], tag: tag ?? dnnl_goihw)
        }

        package init(_ key: Key, groups: Int, what: String) throws {
            let g = key.geometry
            let (n, h, w) = (key.inputShape[0], key.inputShape[2], key.inputShape[3])
            var src = try MemoryDescriptor(key.inputShape, tag: dnnl_format_tag_any).raw
            var dst = try MemoryDescriptor([n, key.outputChannels, g.outputExtent(h), g.outputExtent(w)], tag: dnnl_format_tag_any).raw
            var wei = try Primitives.weightDescriptor(key, groups: groups, tag: dnnl_format_tag_any).raw
            var bias = key.hasBias ? try MemoryDescriptor([key.outputChannels], tag: dnnl_a).raw : dnnl_memory_desc_t()
            var strides: [Int64] = [Int64(g.stride), Int64(g.stride)]
            var dilates: [Int64] = [Int64(g.dilation - 1), Int64(g.dilation - 1)]
            var pads: [Int64] = [Int64(g.padding), Int64(g.padding)]
            var forwardOp = dnnl_convolution_desc_t(), dataOp = dnnl_convolution_desc_t(), weightsOp = dnnl_convolution_desc_t()
            let hasBias = key.hasBias
            let algorithm = dnnl_convolution_direct
            let statuses: [dnnl_status_t] = withUnsafeMutablePointer(to: &bias) { biasPointer in
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
            // oneDNN's default scratchpad is per thread and sized when a primitive is created, so a
            // kernel made on one thread and run on another would find none; the caller provides it.
            var attributes: dnnl_primitive_attr_t?
            try DNNL.check(dnnl_primitive_attr_create(&attributes), "primitive attributes")
            defer { dnnl_primitive_attr_destroy(attributes) }
            try DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "a user scratchpad")
            let forward = try withUnsafePointer(to: &forwardOp) {
                try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), attributes: attributes, what: what)
            }
            self.forward = forward
            data = try withUnsafePointer(to: &dataOp) {
                try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), attributes: attributes, hint: forward,
                                  what: "the input gradient of " + what)
            }
            weights = try withUnsafePointer(to: &weightsOp) {
                try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), attributes: attributes, hint: forward,
                                  what: "the weight gradient of " + what)
            }
        }
    }

    /// The weight in the primitive's user layout (densified when the groups run dense).
    private func userWeights(_ weight: Tensor) -> [Float] {
        runsDense ? ConvolutionKernel.blockDiagonal(weight, groups: key.geometry.groups).scalars : weight.scalars
    }

    /// The elements of `tensor` in the primitive's layout `blocked` (when it is that layout
    /// already) or through `conversion` from row-major.
    private func primitiveLayout(_ tensor: Tensor, blocked: Int?, _ conversion: LayoutConversion) throws -> [Float] {
        if let blocked, tensor.layout == .channelBlocked(blocked) { return tensor.scalars }
        return try conversion(tensor.rowMajor().scalars)
    }

    /// `y = conv(x, weight) + bias`, and what the backward pass needs. `x` may be row-major or
    /// channel-blocked; `y` is channel-blocked when the primitive writes whole 16-channel blocks,
    /// unless `blockedOutput` is false (then oneDNN's reorder makes it row-major).
    package func forward(_ input: Tensor, weight: Tensor, bias biasTensor: Tensor?, blockedOutput allowsBlocked: Bool = true) throws
        -> (output: Tensor, saved: Saved) {
        precondition(input.shape == key.inputShape, "kernel built for \(key.inputShape)")
        let source = try primitiveLayout(input, blocked: blockedInput, sourceIn)
        let weights = try weightsIn(userWeights(weight))
        var destination = uninitializedFloats(destinationOut.from.byteCount / 4)
        try execute(forwardPrimitive, [
            (DNNLArgument.src, sourceIn.to, source), (DNNLArgument.weights, weightsIn.to, weights),
        ] + (bias.map { [(DNNLArgument.bias, $0, biasTensor!.scalars)] } ?? []),
            DNNLArgument.dst, destinationOut.from, &destination)
        let output = try blockedOutput.flatMap { allowsBlocked ? Tensor(blockedShape: outputShape, block: $0, scalars: destination) : nil }
            ?? Tensor(shape: outputShape, scalars: try destinationOut(destination))
        return (output, Saved(source: source))
    }

    /// `dL/dx`, `dL/dweight` and (with a bias) `dL/dbias` from `dL/dy` (in either layout); `dL/dx`
    /// is channel-blocked when the primitive writes whole 16-channel blocks.
    package func backward(_ gradOutput: Tensor, weight: Tensor, saved: Saved) throws -> (input: Tensor, weight: Tensor, bias: Tensor?) {
        precondition(gradOutput.shape == outputShape, "gradient \(gradOutput.shape) must match output \(outputShape)")
        let gradDestination = try primitiveLayout(gradOutput, blocked: blockedOutput, gradOutputIn)
        let weights = try dataWeightsIn(userWeights(weight))
        var gradSource = uninitializedFloats(gradInputOut.from.byteCount / 4)
        try execute(backwardDataPrimitive, [
            (DNNLArgument.diffDestination, gradOutputIn.to, gradDestination), (DNNLArgument.weights, dataWeightsIn.to, weights),
        ], DNNLArgument.diffSource, gradInputOut.from, &gradSource)

        var gradWeights = uninitializedFloats(gradWeightsOut.from.byteCount / 4)
        var gradBias = [Float](repeating: 0, count: key.outputChannels)
        let inputs: [(Int32, MemoryDescriptor, [Float])] = [
            (DNNLArgument.src, weightsSourceIn.to, try weightsSourceIn(saved.source)),
            (DNNLArgument.diffDestination, weightsGradOutputIn.to, try weightsGradOutputIn(gradDestination)),
        ]
        if let bias {
            try gradBias.withUnsafeMutableBufferPointer { db in
                try execute(backwardWeightsPrimitive, inputs, DNNLArgument.diffWeights, gradWeightsOut.from, &gradWeights,
                            extra: (DNNLArgument.diffBias, bias, UnsafeMutableRawPointer(db.baseAddress!)))
            }
        } else {
            try execute(backwardWeightsPrimitive, inputs, DNNLArgument.diffWeights, gradWeightsOut.from, &gradWeights)
        }
        let g = key.geometry
        var weightGradient = Tensor(shape: runsDense ? [key.outputChannels, key.inputShape[1], g.kernelSize, g.kernelSize] : weight.shape,
                                    scalars: try gradWeightsOut(gradWeights))
        if runsDense { weightGradient = ConvolutionKernel.diagonalBlocks(weightGradient, groups: g.groups) }
        let gradInput = try blockedInput.map { Tensor(blockedShape: key.inputShape, block: $0, scalars: gradSource) }
            ?? Tensor(shape: key.inputShape, scalars: try gradInputOut(gradSource))
        return (gradInput, weightGradient, key.hasBias ? Tensor(shape: [key.outputChannels], scalars: gradBias) : nil)
    }

    /// Runs a primitive on read-only inputs and one (or two) outputs, with a scratchpad of its own.
    private func execute(_ primitive: DNNLPrimitive, _ inputs: [(Int32, MemoryDescriptor, [Float])],
                         _ outputSlot: Int32, _ outputDescriptor: MemoryDescriptor, _ output: inout [Float],
                         extra: (Int32, MemoryDescriptor, UnsafeMutableRawPointer)? = nil) throws {
        try output.withUnsafeMutableBytes { out in
            try withPointers(inputs.map(\.2)) { pointers in
                var arguments = zip(inputs, pointers).map { DNNLPrimitive.Argument(slot: $0.0, descriptor: $0.1, pointer: $1) }
                arguments.append(.init(slot: outputSlot, descriptor: outputDescriptor, pointer: out.baseAddress!))
                if let extra { arguments.append(.init(slot: extra.0, descriptor: extra.1, pointer: extra.2)) }
                let scratchpad = primitive.memoryDescriptor(dnnl_query_scratchpad_md)
                var space = [UInt8](unsafeUninitializedCapacity: max(scratchpad.byteCount, 1)) { _, count in count = max(scratchpad.byteCount, 1) }
                try space.withUnsafeMutableBytes { bytes in
                    if scratchpad.byteCount > 0 {
                        arguments.append(.init(slot: DNNLArgument.scratchpad, descriptor: scratchpad, pointer: bytes.baseAddress!))
                    }
                    try primitive.execute(arguments)
                }
            }
        }
    }
}

/// Calls `body` with raw pointers to each array's elements (oneDNN takes `void *` for inputs it only reads).
private func withPointers<R>(_ arrays: [[Float]], _ body: ([UnsafeMutableRawPointer]) throws -> R) rethrows -> R {
    func nest(_ index: Int, _ collected: [UnsafeMutableRawPointer]) throws -> R {
        guard index < arrays.count else { return try body(collected) }
        return try arrays[index].withUnsafeBytes { try nest(index + 1, collected + [UnsafeMutableRawPointer(mutating: $0.baseAddress!)]) }
    }
    return try nest(0, [])
}

/// An array oneDNN is about to overwrite completely (a destination, padding included).
private func uninitializedFloats(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

/// A reorder between two layouts of one tensor, or nothing when they are the same.
package struct LayoutConversion {
    package let from: MemoryDescriptor
    package let to: MemoryDescriptor
    private let reorder: DNNLPrimitive?

    package init(_ from: MemoryDescriptor, _ to: MemoryDescriptor) throws {
        self.from = from
        self.to = to
        reorder = from.isEqual(to: to) ? nil : try DNNLPrimitive(reorderFrom: from, to: to)
    }

    /// `data` (in `from`'s layout) in `to`'s layout.
    package func callAsFunction(_ data: [Float]) throws -> [Float] {
        guard let reorder else { return data }
        var converted = uninitializedFloats(to.byteCount / 4)
        try data.withUnsafeBytes { s in
            try converted.withUnsafeMutableBytes { d in
                try reorder.execute([
                    .init(slot: DNNLArgument.from, descriptor: from, pointer: UnsafeMutableRawPointer(mutating: s.baseAddress!)),
                    .init(slot: DNNLArgument.to, descriptor: to, pointer: d.baseAddress!),
                ])
            }
        }
        return converted
    }
}

import CDNNL
import Foundation
import SPConvCore

/// A oneDNN forward convolution for one input shape, with weights packed once into the layout
/// the primitive prefers.
///
/// Layout: input `[N, C_in, H, W]` row-major or channel-blocked, weight `[C_out, C_in / groups, K, K]`
/// (PyTorch's OIHW), bias `[C_out]`; the output `[N, C_out, H_out, W_out]` is channel-blocked with
/// the engine's block size, the layout oneDNN's direct JIT kernels run fastest on.
/// A grouped convolution whose groups are not whole channel blocks has no JIT kernel in oneDNN
/// 2.6 (only a slow reference one); it runs as a dense convolution with block-diagonal weights.
/// Optional fused post-operations run on the output before it is stored: `.sum` adds the
/// tensor passed as `residual` (the destination starts as a copy of it), `.relu` clamps at zero.
package final class ConvolutionKernel: @unchecked Sendable {
    package enum PostOp: Hashable, Sendable {
        case sum, relu
        /// min(max(x, lower), upper): ONNX's Clip (ReLU6 with 0 and 6).
        case clip(lower: Float, upper: Float)
    }

    package struct Key: Hashable, Sendable {
        package var inputShape: [Int]
        package var outputChannels: Int
        package var geometry: Conv2DGeometry
        package var hasBias: Bool
        package var postOps: [PostOp]

        package init(inputShape: [Int], outputChannels: Int, geometry: Conv2DGeometry, hasBias: Bool, postOps: [PostOp]) {
            (self.inputShape, self.outputChannels, self.geometry, self.hasBias, self.postOps) = (inputShape, outputChannels, geometry, hasBias, postOps)
        }
    }

    package let key: Key
    package let outputShape: [Int]
    /// The groups the primitive really uses: `key.geometry.groups`, or 1 for the dense fallback.
    package let effectiveGroups: Int
    /// The source layout the primitive reads; inputs in another layout are converted first.
    package let sourceLayout: TensorLayout
    package let block: Int
    private let primitive: DNNLPrimitive
    private let sourceDescriptor: MemoryDescriptor
    private let userWeightDescriptor: MemoryDescriptor
    private let packedWeightDescriptor: MemoryDescriptor
    private let biasDescriptor: MemoryDescriptor?
    private let destinationDescriptor: MemoryDescriptor

    package init(_ key: Key) throws {
        self.key = key
        let (n, _, h, w) = (key.inputShape[0], key.inputShape[1], key.inputShape[2], key.inputShape[3])
        let g = key.geometry
        let (ho, wo) = (g.outputExtent(h), g.outputExtent(w))
        outputShape = [n, key.outputChannels, ho, wo]
        block = DNNL.shared.channelBlock
        let blockTag = block == 16 ? dnnl_nChw16c : dnnl_nChw8c
        destinationDescriptor = try MemoryDescriptor(outputShape, tag: blockTag)
        biasDescriptor = key.hasBias ? try MemoryDescriptor([key.outputChannels], tag: dnnl_a) : nil
        // oneDNN 2.6's direct JIT kernels need whole channel blocks per group, except for a
        // row-major source with few channels (its "first convolution" kernel). Try the layouts and
        // group counts in order of cost and keep the first that has a JIT kernel; the reference
        // kernel, hundreds of times slower, only when nothing else exists.
        let candidates: [(groups: Int, layout: TensorLayout)] = [
            (g.groups, .channelBlocked(block)), (1, .channelBlocked(block)),
            (g.groups, .rowMajor), (1, .rowMajor),
        ]
        var chosen: (primitive: DNNLPrimitive, weights: MemoryDescriptor, groups: Int, layout: TensorLayout, source: MemoryDescriptor)?
        var seen = Set<String>()
        for candidate in candidates where seen.insert("\(candidate.groups) \(candidate.layout)").inserted {
            let source = try MemoryDescriptor(key.inputShape, tag: candidate.layout == .rowMajor ? dnnl_nchw : blockTag)
            guard let made = try? ConvolutionKernel.makePrimitive(key, groups: candidate.groups, source: source,
                                                                  destination: destinationDescriptor, bias: biasDescriptor,
                                                                  algorithm: dnnl_convolution_direct)
            else { continue }
            let isReference = made.0.implementationName.hasPrefix("ref")
            if chosen == nil || !isReference {
                chosen = (made.0, made.1, candidate.groups, candidate.layout, source)
            }
            if !isReference { break }
        }
        guard var chosen else {
            throw SPConvLabError(.backend, "oneDNN has no convolution for input \(key.inputShape) with \(g) on this machine.")
        }
        // Where a direct JIT kernel exists and the input has enough channels, let oneDNN's heuristic
        // weigh Winograd against it. Not elsewhere: an 8-channel input ran 2.5x slower in Winograd
        // than the direct kernel on a row-major source, and with 16 input channels oneDNN's choice
        // of Winograd was 2.3x slower (16->32 on 16x16) or no faster (16->16 on 32x32) than direct,
        // while from 32 channels up it was 2-2.8x faster (resnet56 b32 on Zen 4).
        // Nor on maps smaller than its 4x4 output tile allows to pay: oneDNN's heuristic takes
        // Winograd there too, and a 128-channel 3x3 on a 1x1 map ran 17x slower than direct
        // (0.33 against 0.020 ms at batch 32), 64 channels on 2x2 2.7x slower, 32 on 4x4 even,
        // while resnet50's 512-channel 7x7 stage gains (3.9 against 6.9 ms at batch 8).
        if ConvolutionKernel.mayUseWinograd(inputChannels: key.inputShape[1])
            && (ConvolutionKernel.algorithm == dnnl_convolution_winograd || min(ho, wo) >= ConvolutionKernel.winogradMinimumOutputExtent)
            && !chosen.primitive.implementationName.hasPrefix("ref"),
           let made = try? ConvolutionKernel.makePrimitive(key, groups: chosen.groups, source: chosen.source,
                                                           destination: destinationDescriptor, bias: biasDescriptor,
                                                           algorithm: ConvolutionKernel.algorithm),
           made.0.implementationName.contains("wino") {
            chosen = (made.0, made.1, chosen.groups, chosen.layout, chosen.source)
        }
        primitive = chosen.primitive
        userWeightDescriptor = chosen.weights
        effectiveGroups = chosen.groups
        sourceLayout = chosen.layout
        sourceDescriptor = chosen.source
        packedWeightDescriptor = primitive.memoryDescriptor(dnnl_query_weights_md)
    }

    /// The convolution algorithm offered to oneDNN besides the direct one. By default `auto`:
    /// oneDNN picks Winograd (F(4x4, 3x3), AVX-512 only in oneDNN 2.6) for the 3x3 stride-1 shapes
    /// where its heuristic expects it to beat its direct kernel. `SPCONVLAB_CONV_ALGO=direct`
    /// forbids Winograd (for comparisons); `winograd` takes it wherever oneDNN has it, whatever
    /// the channel count.
    package static let algorithm: dnnl_alg_kind_t = {
        // An unknown value runs as auto; Engine.environmentWarnings reports it.
        switch Engine.convolutionAlgorithm(ProcessInfo.processInfo.environment["SPCONVLAB_CONV_ALGO"]).algorithm {
        case .winograd: return dnnl_convolution_winograd
        case .direct: return dnnl_convolution_direct
        case .auto, .ownWinograd, .ownDirect, .own: return dnnl_convolution_auto
        }
    }()

    /// Whether a convolution with `inputChannels` is offered Winograd here (oneDNN runs it only for
    /// 3x3 stride 1, and decides itself where it pays): oneDNN 2.6 has
    /// it only for AVX-512, and the engine offers it from `winogradMinimumInputChannels` up.
    package static func mayUseWinograd(inputChannels: Int) -> Bool {
        algorithm != dnnl_convolution_direct && DNNL.shared.channelBlock == 16
            && (algorithm == dnnl_convolution_winograd || inputChannels >= winogradMinimumInputChannels)
    }

    package static let winogradMinimumInputChannels = 32
    /// The smallest output height and width offered Winograd (unless `SPCONVLAB_CONV_ALGO=winograd`).
    package static let winogradMinimumOutputExtent = 7

    /// oneDNN's name of the implementation running this convolution (`jit:avx512_core`,
    /// `jit_wino_4x3:avx512_core`, `jit_1x1:avx2`, ...).
    package var implementationName: String { primitive.implementationName }

    /// Creates the primitive for a group count, returning it and the PyTorch-order weight layout.
    private static func makePrimitive(_ key: Key, groups: Int, source: MemoryDescriptor, destination: MemoryDescriptor,
                                      bias biasDescriptor: MemoryDescriptor?,
                                      algorithm: dnnl_alg_kind_t) throws -> (DNNLPrimitive, MemoryDescriptor) {
        let g = key.geometry
        let (c, k, o) = (key.inputShape[1], g.kernelSize, key.outputChannels)
        let weightDims = groups == 1 ? [o, c, k, k] : [groups, o / groups, c / groups, k, k]
        let userWeights = try MemoryDescriptor(weightDims, tag: groups == 1 ? dnnl_oihw : dnnl_goihw)
        let anyWeights = try MemoryDescriptor(weightDims, tag: dnnl_format_tag_any)
        var op = dnnl_convolution_desc_t()
        var src = source.raw, wei = anyWeights.raw, dst = destination.raw
        var bias = biasDescriptor?.raw ?? dnnl_memory_desc_t()
        var strides: [Int64] = [Int64(g.stride), Int64(g.stride)]
        var dilates: [Int64] = [Int64(g.dilation - 1), Int64(g.dilation - 1)]
        var pads: [Int64] = [Int64(g.padding), Int64(g.padding)]
        let hasBias = biasDescriptor != nil
        let status = withUnsafeMutablePointer(to: &bias) { biasPointer in
            strides.withUnsafeMutableBufferPointer { sp in
                dilates.withUnsafeMutableBufferPointer { dp in
                    pads.withUnsafeMutableBufferPointer { pp in
                        dnnl_dilated_convolution_forward_desc_init(
                            &op, dnnl_forward_inference, algorithm, &src, &wei,
                            hasBias ? biasPointer : nil, &dst, sp.baseAddress, dp.baseAddress, pp.baseAddress, pp.baseAddress)
                    }
                }
            }
        }
        try DNNL.check(status, "a convolution of input \(key.inputShape) with \(g)")

        var attributes: dnnl_primitive_attr_t?
        try DNNL.check(dnnl_primitive_attr_create(&attributes), "primitive attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        if !key.postOps.isEmpty {
            var postOps: dnnl_post_ops_t?
            try DNNL.check(dnnl_post_ops_create(&postOps), "post-ops")
            defer { dnnl_post_ops_destroy(postOps) }
            for postOp in key.postOps {
                switch postOp {
                case .sum: try DNNL.check(dnnl_post_ops_append_sum(postOps, 1), "a sum post-op")
                case .relu: try DNNL.check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "a ReLU post-op")
                case .clip(let lower, let upper):
                    try DNNL.check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_clip, lower, upper), "a clip post-op")
                }
            }
            try DNNL.check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "post-ops")
        }
        let primitive = try withUnsafePointer(to: &op) {
            try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), attributes: attributes,
                              what: "a convolution of input \(key.inputShape) with \(g)")
        }
        return (primitive, userWeights)
    }

    /// Reorders PyTorch-layout weights into the primitive's preferred layout (done once per layer).
    package func packWeights(_ weight: Tensor) throws -> [Float] {
        let weight = effectiveGroups == key.geometry.groups ? weight : ConvolutionKernel.blockDiagonal(weight, groups: key.geometry.groups)
        let count = packedWeightDescriptor.byteCount / MemoryLayout<Float>.stride
        if packedWeightDescriptor.isEqual(to: userWeightDescriptor) { return weight.scalars }
        let reorder = try DNNLPrimitive(reorderFrom: userWeightDescriptor, to: packedWeightDescriptor)
        var packed = [Float](repeating: 0, count: count)
        try weight.scalars.withUnsafeBytes { s in
            try packed.withUnsafeMutableBytes { d in
                try reorder.execute([
                    .init(slot: DNNLArgument.from, descriptor: userWeightDescriptor, pointer: UnsafeMutableRawPointer(mutating: s.baseAddress!)),
                    .init(slot: DNNLArgument.to, descriptor: packedWeightDescriptor, pointer: d.baseAddress!),
                ])
            }
        }
        return packed
    }

    /// The dense `[C_out, C_in, K, K]` weight equal to a grouped one (zero outside each group's block).
    package static func blockDiagonal(_ weight: Tensor, groups: Int) -> Tensor {
        let (o, cPerGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        var dense = [Float](repeating: 0, count: o * cPerGroup * groups * kh * kw)
        forEachBlockDiagonalIndex(outputChannels: o, channelsPerGroup: cPerGroup, groups: groups, taps: kh * kw) { g, d in
            dense[d] = weight.scalars[g]
        }
        return Tensor(shape: [o, cPerGroup * groups, kh, kw], scalars: dense)
    }

    /// The grouped `[C_out, C_in / groups, K, K]` weight held in the diagonal blocks of a dense one
    /// (the inverse of `blockDiagonal`; a weight gradient computed densely keeps only these).
    package static func diagonalBlocks(_ dense: Tensor, groups: Int) -> Tensor {
        let (o, c, kh, kw) = (dense.shape[0], dense.shape[1], dense.shape[2], dense.shape[3])
        var grouped = [Float](repeating: 0, count: o * (c / groups) * kh * kw)
        forEachBlockDiagonalIndex(outputChannels: o, channelsPerGroup: c / groups, groups: groups, taps: kh * kw) { g, d in
            grouped[g] = dense.scalars[d]
        }
        return Tensor(shape: [o, c / groups, kh, kw], scalars: grouped)
    }

    /// Calls `body(grouped, dense)` with the index of every element of a grouped weight and the
    /// index of the same element in the dense block-diagonal weight.
    private static func forEachBlockDiagonalIndex(outputChannels o: Int, channelsPerGroup: Int, groups: Int, taps: Int,
                                                  _ body: (Int, Int) -> Void) {
        let c = channelsPerGroup * groups, oPerGroup = o / groups
        for oc in 0..<o {
            let group = oc / oPerGroup
            for icg in 0..<channelsPerGroup {
                let ic = group * channelsPerGroup + icg
                for t in 0..<taps { body((oc * channelsPerGroup + icg) * taps + t, (oc * c + ic) * taps + t) }
            }
        }
    }

    /// Runs the convolution. `residual` must be given exactly when the post-ops include `.sum`.
    /// With a `residual` (the sum post-op), the output is written over the residual's storage
    /// when the caller holds no other reference to it, and over a copy otherwise.
    package func run(input: Tensor, packedWeights: [Float], bias: Tensor?, residual: consuming Tensor? = nil) throws -> Tensor {
        var residual = residual
        return try OpProfiler.measure(profileLabel) {
            try runUnprofiled(input: input, packedWeights: packedWeights, bias: bias, residual: residual.take())
        }
    }

    /// `conv 3x3 16->16 s1` (with `g2` when grouped, `dense` when run densified), for profiles.
    package var profileLabel: String {
        let g = key.geometry
        let groups = g.groups == 1 ? "" : effectiveGroups == g.groups ? " g\(g.groups)" : " g\(g.groups) dense"
        return "conv \(g.kernelSize)x\(g.kernelSize) \(key.inputShape[1])->\(key.outputChannels) s\(g.stride)\(groups)"
            + (sourceLayout == .rowMajor ? " (nchw src)" : "") + (implementationName.contains("wino") ? " winograd" : "")
    }

    private func runUnprofiled(input: Tensor, packedWeights: [Float], bias: Tensor?, residual: consuming Tensor?) throws -> Tensor {
        var output: Tensor
        if let residual = residual.take() {
            precondition(residual.shape == outputShape, "residual \(residual.shape) must match output \(outputShape)")
            output = residual.channelBlocked(block)
        } else {
            output = Tensor(blockedShape: outputShape, block: block) { _ in }
        }
        try runUnprofiled(input: input, packedWeights: packedWeights, bias: bias, into: &output)
        return output
    }

    /// Runs the convolution into `output`, channel-blocked of the kernel's output shape, which
    /// allocates nothing when `output`'s storage is not shared and `input` is in `sourceLayout`.
    /// With the sum post-op, `output` must hold the residual; the result is written over it.
    package func run(input: Tensor, packedWeights: [Float], bias: Tensor?, into output: inout Tensor) throws {
        try OpProfiler.measure(profileLabel) {
            try runUnprofiled(input: input, packedWeights: packedWeights, bias: bias, into: &output)
        }
    }

    private func runUnprofiled(input: Tensor, packedWeights: [Float], bias: Tensor?, into output: inout Tensor) throws {
        precondition(input.shape == key.inputShape, "kernel built for \(key.inputShape), got \(input.shape)")
        precondition(output.shape == outputShape && output.layout == .channelBlocked(block),
                     "output \(output.shape) \(output.layout) must be \(outputShape) blocked by \(block)")
        // Conversions here are part of this convolution's time in profiles.
        let input: Tensor = switch (sourceLayout, input.layout) {
        case (.rowMajor, .channelBlocked(let b)): LayoutKernels.toRowMajor(input, block: b)
        case (.rowMajor, .rowMajor), (.channelBlocked, .channelBlocked(block)): input
        case (.channelBlocked, .rowMajor): LayoutKernels.toBlocked(input, block: block)
        case (.channelBlocked, .channelBlocked(let b)): LayoutKernels.toBlocked(LayoutKernels.toRowMajor(input, block: b), block: block)
        }
        // oneDNN takes `void *` for every argument but writes only the destination.
        try input.withUnsafeBufferPointer { s in
            try packedWeights.withUnsafeBufferPointer { wp in
                try (bias?.scalars ?? []).withUnsafeBufferPointer { bp in
                    try output.withUnsafeMutableBufferPointer { d in
                        let source = DNNLPrimitive.Argument(slot: DNNLArgument.src, descriptor: sourceDescriptor,
                                                            pointer: UnsafeMutableRawPointer(mutating: s.baseAddress!))
                        let weights = DNNLPrimitive.Argument(slot: DNNLArgument.weights, descriptor: packedWeightDescriptor,
                                                             pointer: UnsafeMutableRawPointer(mutating: wp.baseAddress!))
                        let destination = DNNLPrimitive.Argument(slot: DNNLArgument.dst, descriptor: destinationDescriptor,
                                                                 pointer: UnsafeMutableRawPointer(d.baseAddress!))
                        let bias = biasDescriptor.map {
                            DNNLPrimitive.Argument(slot: DNNLArgument.bias, descriptor: $0, pointer: UnsafeMutableRawPointer(mutating: bp.baseAddress!))
                        }
                        try primitive.execute(source, weights, destination, bias)
                    }
                }
            }
        }
    }
}

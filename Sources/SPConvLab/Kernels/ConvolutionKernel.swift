import CDNNL

/// A oneDNN forward convolution for one input shape, with weights packed once into the layout
/// the primitive prefers.
///
/// Layout: input `[N, C_in, H, W]`, weight `[C_out, C_in / groups, K, K]` (PyTorch's OIHW),
/// bias `[C_out]`, output `[N, C_out, H_out, W_out]`, all NCHW float32.
/// Optional fused post-operations run on the output before it is stored: `.sum` adds the
/// tensor passed as `residual` (the destination starts as a copy of it), `.relu` clamps at zero.
final class ConvolutionKernel: @unchecked Sendable {
    enum PostOp: Hashable, Sendable { case sum, relu }

    struct Key: Hashable, Sendable {
        var inputShape: [Int]
        var outputChannels: Int
        var geometry: Conv2DGeometry
        var hasBias: Bool
        var postOps: [PostOp]
    }

    let key: Key
    let outputShape: [Int]
    private let primitive: DNNLPrimitive
    private let sourceDescriptor: MemoryDescriptor
    private let userWeightDescriptor: MemoryDescriptor
    private let packedWeightDescriptor: MemoryDescriptor
    private let biasDescriptor: MemoryDescriptor?
    private let destinationDescriptor: MemoryDescriptor

    init(_ key: Key) throws {
        self.key = key
        let (n, c, h, w) = (key.inputShape[0], key.inputShape[1], key.inputShape[2], key.inputShape[3])
        let g = key.geometry
        let (ho, wo) = (g.outputExtent(h), g.outputExtent(w))
        outputShape = [n, key.outputChannels, ho, wo]
        sourceDescriptor = try MemoryDescriptor(key.inputShape, tag: dnnl_nchw)
        destinationDescriptor = try MemoryDescriptor(outputShape, tag: dnnl_nchw)
        let k = g.kernelSize
        if g.groups == 1 {
            userWeightDescriptor = try MemoryDescriptor([key.outputChannels, c, k, k], tag: dnnl_oihw)
        } else {
            userWeightDescriptor = try MemoryDescriptor(
                [g.groups, key.outputChannels / g.groups, c / g.groups, k, k], tag: dnnl_goihw)
        }
        let anyWeights = try MemoryDescriptor(
            g.groups == 1 ? [key.outputChannels, c, k, k] : [g.groups, key.outputChannels / g.groups, c / g.groups, k, k],
            tag: dnnl_format_tag_any)
        biasDescriptor = key.hasBias ? try MemoryDescriptor([key.outputChannels], tag: dnnl_a) : nil

        var op = dnnl_convolution_desc_t()
        var src = sourceDescriptor.raw, wei = anyWeights.raw, dst = destinationDescriptor.raw
        var bias = biasDescriptor?.raw ?? dnnl_memory_desc_t()
        var strides: [Int64] = [Int64(g.stride), Int64(g.stride)]
        var dilates: [Int64] = [Int64(g.dilation - 1), Int64(g.dilation - 1)]
        var pads: [Int64] = [Int64(g.padding), Int64(g.padding)]
        let status = withUnsafeMutablePointer(to: &bias) { biasPointer in
            strides.withUnsafeMutableBufferPointer { sp in
                dilates.withUnsafeMutableBufferPointer { dp in
                    pads.withUnsafeMutableBufferPointer { pp in
                        dnnl_dilated_convolution_forward_desc_init(
                            &op, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei,
                            key.hasBias ? biasPointer : nil, &dst, sp.baseAddress, dp.baseAddress, pp.baseAddress, pp.baseAddress)
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
                }
            }
            try DNNL.check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "post-ops")
        }
        primitive = try withUnsafePointer(to: &op) {
            try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), attributes: attributes,
                              what: "a convolution of input \(key.inputShape) with \(g)")
        }
        packedWeightDescriptor = primitive.memoryDescriptor(dnnl_query_weights_md)
    }

    /// Reorders PyTorch-layout weights into the primitive's preferred layout (done once per layer).
    func packWeights(_ weight: Tensor) throws -> [Float] {
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

    /// Runs the convolution. `residual` must be given exactly when the post-ops include `.sum`.
    func run(input: Tensor, packedWeights: [Float], bias: Tensor?, residual: Tensor? = nil) throws -> Tensor {
        precondition(input.shape == key.inputShape, "kernel built for \(key.inputShape), got \(input.shape)")
        var output: Tensor
        if let residual {
            precondition(residual.shape == outputShape, "residual \(residual.shape) must match output \(outputShape)")
            output = residual
        } else {
            output = Tensor(uninitializedShape: outputShape) { _ in }
        }
        // oneDNN takes `void *` for every argument but writes only the destination.
        try input.withUnsafeBufferPointer { s in
            try packedWeights.withUnsafeBufferPointer { wp in
                try (bias?.scalars ?? []).withUnsafeBufferPointer { bp in
                    try output.withUnsafeMutableBufferPointer { d in
                        var arguments: [DNNLPrimitive.Argument] = [
                            .init(slot: DNNLArgument.src, descriptor: sourceDescriptor, pointer: UnsafeMutableRawPointer(mutating: s.baseAddress!)),
                            .init(slot: DNNLArgument.weights, descriptor: packedWeightDescriptor, pointer: UnsafeMutableRawPointer(mutating: wp.baseAddress!)),
                            .init(slot: DNNLArgument.dst, descriptor: destinationDescriptor, pointer: UnsafeMutableRawPointer(d.baseAddress!)),
                        ]
                        if let biasDescriptor {
                            arguments.append(.init(slot: DNNLArgument.bias, descriptor: biasDescriptor, pointer: UnsafeMutableRawPointer(mutating: bp.baseAddress!)))
                        }
                        try primitive.execute(arguments)
                    }
                }
            }
        }
        return output
    }
}

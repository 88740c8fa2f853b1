import CDNNL

/// A oneDNN max or average pooling on channel-blocked feature maps, for one input shape.
///
/// Average pooling counts padding in the divisor (PyTorch's default `count_include_pad=True`);
/// floor mode. `[N, C, H, W] -> [N, C, H', W']`, `H' = (H + 2p - K) / s + 1`.
final class PoolingKernel: @unchecked Sendable {
    struct Key: Hashable, Sendable {
        var inputShape: [Int]
        var kernelSize: Int
        var stride: Int
        var padding: Int
        var isMax: Bool
    }

    let outputShape: [Int]
    private let block: Int
    private let primitive: DNNLPrimitive
    private let source: MemoryDescriptor
    private let destination: MemoryDescriptor
    private let workspace: MemoryDescriptor

    init(_ key: Key) throws {
        block = DNNL.shared.channelBlock
        let tag = block == 16 ? dnnl_nChw16c : dnnl_nChw8c
        let g = Conv2DGeometry(kernelSize: key.kernelSize, stride: key.stride, padding: key.padding)
        let s = key.inputShape
        outputShape = [s[0], s[1], g.outputExtent(s[2]), g.outputExtent(s[3])]
        source = try MemoryDescriptor(s, tag: tag)
        destination = try MemoryDescriptor(outputShape, tag: tag)
        var op = dnnl_pooling_v2_desc_t()
        var src = source.raw, dst = destination.raw
        var strides: [Int64] = [Int64(key.stride), Int64(key.stride)]
        var kernel: [Int64] = [Int64(key.kernelSize), Int64(key.kernelSize)]
        var dilation: [Int64] = [0, 0]
        var pads: [Int64] = [Int64(key.padding), Int64(key.padding)]
        let status = strides.withUnsafeMutableBufferPointer { sp in
            kernel.withUnsafeMutableBufferPointer { kp in
                dilation.withUnsafeMutableBufferPointer { dp in
                    pads.withUnsafeMutableBufferPointer { pp in
                        dnnl_pooling_v2_forward_desc_init(&op, dnnl_forward_inference,
                                                          key.isMax ? dnnl_pooling_max : dnnl_pooling_avg_include_padding,
                                                          &src, &dst, sp.baseAddress, kp.baseAddress, dp.baseAddress,
                                                          pp.baseAddress, pp.baseAddress)
                    }
                }
            }
        }
        try DNNL.check(status, "a pooling of input \(s)")
        primitive = try withUnsafePointer(to: &op) {
            try DNNLPrimitive(opDescriptor: UnsafeRawPointer($0), what: "a pooling of input \(s)")
        }
        workspace = primitive.memoryDescriptor(dnnl_query_workspace_md)
    }

    func run(_ input: Tensor) throws -> Tensor {
        try OpProfiler.measure("pool (oneDNN)") { try runUnprofiled(input) }
    }

    private func runUnprofiled(_ input: Tensor) throws -> Tensor {
        let input = input.channelBlocked(block)
        var output = Tensor(blockedShape: outputShape, block: block) { _ in }
        var scratch = [Float](repeating: 0, count: max(workspace.byteCount / 4, 1))
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in
                try scratch.withUnsafeMutableBytes { ws in
                    var arguments: [DNNLPrimitive.Argument] = [
                        .init(slot: DNNLArgument.src, descriptor: source, pointer: UnsafeMutableRawPointer(mutating: x.baseAddress!)),
                        .init(slot: DNNLArgument.dst, descriptor: destination, pointer: UnsafeMutableRawPointer(y.baseAddress!)),
                    ]
                    if workspace.byteCount > 0 {
                        arguments.append(.init(slot: DNNLArgument.workspace, descriptor: workspace, pointer: ws.baseAddress!))
                    }
                    try primitive.execute(arguments)
                }
            }
        }
        return output
    }
}

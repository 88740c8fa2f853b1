import CDNNL
import CKernels
import SPConvCore

/// A max or average pooling on channel-blocked feature maps, for one input shape: the engine's
/// own loop (``ck_pool_planes``, which allocates nothing) for the zoo's square windows (no
/// dilation, the same padding on every side, padding counted in an average), oneDNN's otherwise.
///
/// Any window: kernel, strides and dilations per axis, pads [top, left, bottom, right]. Average
/// pooling divides by the whole window (`countIncludesPad`, PyTorch's default) or by its in-map
/// elements (ONNX's default). Floor mode: `H' = (H + top + bottom - (d(K - 1) + 1)) / s + 1`.
package final class PoolingKernel: @unchecked Sendable {
    package struct Key: Hashable, Sendable {
        package var inputShape: [Int]
        package var kernel: [Int]
        package var strides: [Int]
        package var dilations: [Int]
        package var pads: [Int]
        package var isMax: Bool
        package var countIncludesPad: Bool

        /// The square, symmetric window of the zoo's `MaxPool2d` / `AvgPool2d` (padding counted).
        package init(inputShape: [Int], kernelSize: Int, stride: Int, padding: Int, isMax: Bool) {
            self.init(inputShape: inputShape, kernel: [kernelSize, kernelSize], strides: [stride, stride], dilations: [1, 1],
                      pads: [padding, padding, padding, padding], isMax: isMax, countIncludesPad: true)
        }

        package init(inputShape: [Int], kernel: [Int], strides: [Int], dilations: [Int], pads: [Int], isMax: Bool, countIncludesPad: Bool) {
            (self.inputShape, self.kernel, self.strides, self.dilations) = (inputShape, kernel, strides, dilations)
            (self.pads, self.isMax, self.countIncludesPad) = (pads, isMax, countIncludesPad)
        }

        /// Output extent along spatial `axis` (0: height, 1: width).
        package func outputExtent(_ axis: Int) -> Int {
            let span = dilations[axis] * (kernel[axis] - 1) + 1
            return (inputShape[axis + 2] + pads[axis] + pads[axis + 2] - span) / strides[axis] + 1
        }
    }

    package let outputShape: [Int]
    package let block: Int
    private let primitive: DNNLPrimitive
    private let source: MemoryDescriptor
    private let destination: MemoryDescriptor
    private let workspace: MemoryDescriptor
    /// The own loop's descriptor, where it runs this pooling.
    private let own: ck_pool?

    package init(_ key: Key) throws {
        block = DNNL.shared.channelBlock
        let square = key.kernel[0] == key.kernel[1] && key.strides[0] == key.strides[1] && key.dilations == [1, 1]
            && Set(key.pads).count == 1 && (key.isMax || key.countIncludesPad)
        own = square ? ck_pool(block: block, h: key.inputShape[2], w: key.inputShape[3], ho: key.outputExtent(0), wo: key.outputExtent(1),
                               ks: key.kernel[0], stride: key.strides[0], pad: key.pads[0], is_max: key.isMax ? 1 : 0) : nil
        let tag = block == 16 ? dnnl_nChw16c : dnnl_nChw8c
        let s = key.inputShape
        outputShape = [s[0], s[1], key.outputExtent(0), key.outputExtent(1)]
        source = try MemoryDescriptor(s, tag: tag)
        destination = try MemoryDescriptor(outputShape, tag: tag)
        var op = dnnl_pooling_v2_desc_t()
        var src = source.raw, dst = destination.raw
        var strides = key.strides.map { Int64($0) }
        var kernel = key.kernel.map { Int64($0) }
        var dilation = key.dilations.map { Int64($0 - 1) }  // oneDNN counts the gaps: 0 is dense
        var padsBefore = [Int64(key.pads[0]), Int64(key.pads[1])], padsAfter = [Int64(key.pads[2]), Int64(key.pads[3])]
        let algorithm = key.isMax ? dnnl_pooling_max
            : key.countIncludesPad ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding
        let status = strides.withUnsafeMutableBufferPointer { sp in
            kernel.withUnsafeMutableBufferPointer { kp in
                dilation.withUnsafeMutableBufferPointer { dp in
                    padsBefore.withUnsafeMutableBufferPointer { lp in
                        padsAfter.withUnsafeMutableBufferPointer { rp in
                            dnnl_pooling_v2_forward_desc_init(&op, dnnl_forward_inference, algorithm, &src, &dst, sp.baseAddress,
                                                              kp.baseAddress, dp.baseAddress, lp.baseAddress, rp.baseAddress)
                        }
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

    package func run(_ input: Tensor) throws -> Tensor {
        var output = Tensor(blockedShape: outputShape, block: block) { _ in }
        try run(input, into: &output)
        return output
    }

    /// Pools into `output` (channel-blocked, the kernel's output shape); allocates nothing when
    /// `input` is blocked like the kernel and `output`'s storage is not shared.
    package func run(_ input: Tensor, into output: inout Tensor) throws {
        precondition(output.shape == outputShape && output.layout == .channelBlocked(block),
                     "output \(output.shape) \(output.layout) must be \(outputShape) blocked by \(block)")
        if let own {
            let input = input.channelBlocked(block)
            OpProfiler.measure("pool (own)") {
                input.withUnsafeBufferPointer { x in
                    output.withUnsafeMutableBufferPointer { y in
                        let planes = outputShape[0] * ((outputShape[1] + block - 1) / block)
                        parallelFor(planes, work: OwnPooling(pool: own, input: x.baseAddress!, output: y.baseAddress!))
                    }
                }
            }
            return
        }
        try OpProfiler.measure("pool (oneDNN)") { try runUnprofiled(input, into: &output) }
    }

    private func runUnprofiled(_ input: Tensor, into output: inout Tensor) throws {
        let input = input.channelBlocked(block)
        var scratch = workspace.byteCount > 0 ? [Float](repeating: 0, count: workspace.byteCount / 4 + 1) : []
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in
                try scratch.withUnsafeMutableBytes { ws in
                    let source = DNNLPrimitive.Argument(slot: DNNLArgument.src, descriptor: self.source,
                                                        pointer: UnsafeMutableRawPointer(mutating: x.baseAddress!))
                    let destination = DNNLPrimitive.Argument(slot: DNNLArgument.dst, descriptor: self.destination,
                                                             pointer: UnsafeMutableRawPointer(y.baseAddress!))
                    let work = workspace.byteCount > 0
                        ? DNNLPrimitive.Argument(slot: DNNLArgument.workspace, descriptor: workspace, pointer: ws.baseAddress!) : nil
                    try primitive.execute(source, destination, work)
                }
            }
        }
    }
}

/// Planes (image, channel block) of the own pooling loop, split over the threads.
struct OwnPooling: ParallelWork {
    let pool: ck_pool
    let input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>

    func run(_ planes: Range<Int>) {
        withUnsafePointer(to: pool) { ck_pool_planes($0, input, output, planes.lowerBound, planes.upperBound) }
    }
}

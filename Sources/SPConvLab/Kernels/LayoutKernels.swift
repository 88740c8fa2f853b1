import CKernels
import SPConvCore

/// Kernels on oneDNN's channel-blocked layout `nChw{b}c`: `[N][ceil(C/b)][H][W][b]`.
///
/// Element `(n, c, y, x)` lives at `((n * CB + c / b) * H * W + y * W + x) * b + c % b` with
/// `CB = ceil(C / b)`; the lanes past C in the last block are kept zero, as oneDNN requires.
/// The hot loops work on whole blocks as SIMD vectors (`SIMD16<Float>` or `SIMD8<Float>`).
package enum LayoutKernels {
    /// Row-major NCHW -> channel-blocked.
    package static func toBlocked(_ input: Tensor, block b: Int) -> Tensor {
        let (n, c, h, w) = input.nchw
        let plane = h * w, cb = (c + b - 1) / b
        return Tensor(blockedShape: input.shape, block: b) { out in
            if c % b != 0 { out.initialize(repeating: 0) }
            input.withUnsafeBufferPointer { x in
                for s in 0..<n {
                    for ch in 0..<c {
                        let src = x.baseAddress! + (s * c + ch) * plane
                        let dst = out.baseAddress! + (s * cb + ch / b) * plane * b + ch % b
                        for i in 0..<plane { dst[i * b] = src[i] }
                    }
                }
            }
        }
    }

    /// Channel-blocked -> row-major NCHW.
    package static func toRowMajor(_ input: Tensor, block b: Int) -> Tensor {
        sliceToRowMajor(input, 0..<input.shape[1], block: b)
    }

    /// Channels `range` of a channel-blocked tensor, as a row-major tensor.
    package static func sliceToRowMajor(_ input: Tensor, _ range: Range<Int>, block b: Int) -> Tensor {
        var output = Tensor(uninitializedShape: [input.shape[0], range.count, input.shape[2], input.shape[3]]) { _ in }
        sliceToRowMajor(input, range, block: b, into: &output)
        return output
    }

    /// ``sliceToRowMajor(_:_:block:)`` into a row-major `output` of the slice's shape.
    package static func sliceToRowMajor(_ input: Tensor, _ range: Range<Int>, block b: Int, into output: inout Tensor) {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let plane = h * w, cb = (c + b - 1) / b, count = range.count
        let firstBlock = range.lowerBound / b, blocks = (range.upperBound - 1) / b - firstBlock + 1
        precondition(output.shape == [n, count, h, w] && output.layout == .rowMajor, "slice output \(output.shape) \(output.layout)")
        output.withUnsafeMutableBufferPointer { out in
            let dstBase = out.baseAddress!
            input.withUnsafeBufferPointer { x in
                let srcBase = x.baseAddress!
                // One item per sample and input block: the block's pixels are read once, in order,
                // each pixel's lanes going to their channels' planes.
                parallelFor(n * blocks, work: SliceToRowMajorWork(source: srcBase, destination: dstBase, range: range, block: b,
                                                                 inputBlocks: cb, firstBlock: firstBlock, blocks: blocks, plane: plane))
            }
        }
    }

    /// Channels `range` of a channel-blocked tensor, as a new channel-blocked tensor.
    package static func sliceChannels(_ input: Tensor, _ range: Range<Int>, block b: Int) -> Tensor {
        var output = Tensor(blockedShape: [input.shape[0], range.count, input.shape[2], input.shape[3]], block: b) { _ in }
        sliceChannels(input, range, block: b, into: &output)
        return output
    }

    /// ``sliceChannels(_:_:block:)`` into a channel-blocked `output` of the slice's shape.
    package static func sliceChannels(_ input: Tensor, _ range: Range<Int>, block b: Int, into output: inout Tensor) {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let plane = h * w, cbIn = (c + b - 1) / b, count = range.count, cbOut = (count + b - 1) / b
        precondition(output.shape == [n, count, h, w] && output.layout == .channelBlocked(b), "slice output \(output.shape) \(output.layout)")
        output.withUnsafeMutableBufferPointer { out in
            let dstBase = out.baseAddress!
            input.withUnsafeBufferPointer { x in
                let srcBase = x.baseAddress!
                parallelFor(n * cbOut, work: SliceBlockedWork(source: srcBase, destination: dstBase, first: range.lowerBound, count: count,
                                                              block: b, inputBlocks: cbIn, outputBlocks: cbOut, plane: plane))
            }
        }
    }

    /// One output block: channels `first ..< first + lanes` of a channel-blocked sample, the
    /// remaining lanes zero.
    @inline(__always)
    fileprivate static func copyBlock(_ sample: UnsafePointer<Float>, plane: Int, block b: Int, first: Int, lanes: Int,
                                  to destination: UnsafeMutablePointer<Float>) {
        if first % b == 0 && lanes == b {
            destination.update(from: sample + (first / b) * plane * b, count: plane * b)
            return
        }
        // A block that straddles two input blocks, or a partial last block: gather lane by lane
        // with each lane's offset worked out once.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: b) { laneOffset in
            for lane in 0..<lanes {
                let ch = first + lane
                laneOffset[lane] = (ch / b) * plane * b + ch % b
            }
            for i in 0..<plane {
                let row = destination + i * b
                for lane in 0..<lanes { row[lane] = sample[laneOffset[lane] + i * b] }
                for lane in lanes..<b { row[lane] = 0 }
            }
        }
    }

    /// Mean of each channel of a channel-blocked tensor, as row-major `[N, C, 1, 1]`.
    package static func globalAveragePool(_ input: Tensor, block b: Int) -> Tensor {
        var output = Tensor(uninitializedShape: [input.shape[0], input.shape[1], 1, 1]) { _ in }
        globalAveragePool(input, block: b, into: &output)
        return output
    }

    /// ``globalAveragePool(_:block:)`` into a row-major `[N, C, 1, 1]` `output`.
    package static func globalAveragePool(_ input: Tensor, block b: Int, into output: inout Tensor) {
        precondition(output.shape == [input.shape[0], input.shape[1], 1, 1] && output.layout == .rowMajor, "pool output \(output.shape)")
        b == 16 ? globalAveragePool(input, vector: SIMD16<Float>.self, into: &output)
                : globalAveragePool(input, vector: SIMD8<Float>.self, into: &output)
    }

    @inline(__always)
    private static func globalAveragePool<V: SIMD>(_ input: Tensor, vector: V.Type, into output: inout Tensor) where V.Scalar == Float {
        let b = V.scalarCount
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let plane = h * w, cb = (c + b - 1) / b
        output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { x in
                let raw = UnsafeRawPointer(x.baseAddress!)
                for s in 0..<n {
                    for block in 0..<cb {
                        let base = (s * cb + block) * plane * b
                        var sum = V()
                        for i in 0..<plane { sum += raw.loadUnaligned(fromByteOffset: (base + i * b) * 4, as: V.self) }
                        let mean = sum / V(repeating: Float(plane))
                        for lane in 0..<b where block * b + lane < c { out[s * c + block * b + lane] = mean[lane] }
                    }
                }
            }
        }
    }

    /// SPConv's fusion on channel-blocked `rep` and `red` (and `residual`), output channel-blocked;
    /// the same arithmetic as `ElementwiseKernels.softmaxFusion`.
    package static func softmaxFusion(representative rep: Tensor, redundant red: Tensor, epilogue: FusionEpilogue?, block b: Int) -> Tensor {
        let (scale, shift) = FusionLanes.make(channels: rep.shape[1], block: b, epilogue: epilogue)
        var output = Tensor(blockedShape: rep.shape, block: b) { _ in }
        softmaxFusion(representative: rep, redundant: red, residual: epilogue?.residual, laneScale: scale, laneShift: shift,
                      relu: epilogue?.relu ?? false, block: b, into: &output)
        return output
    }

    /// ``softmaxFusion(representative:redundant:epilogue:block:)`` into a channel-blocked `output`
    /// of `rep`'s shape, with the epilogue's per-lane constants made beforehand (``FusionLanes/make``).
    package static func softmaxFusion(representative rep: Tensor, redundant red: Tensor, residual: Tensor?, laneScale scale: [Float],
                                      laneShift shift: [Float], relu: Bool, block b: Int, into output: inout Tensor) {
        let (n, c, h, w) = (rep.shape[0], rep.shape[1], rep.shape[2], rep.shape[3])
        let cb = (c + b - 1) / b
        precondition(residual == nil || residual!.layout == .channelBlocked(b), "residual must share the block layout")
        precondition(output.shape == rep.shape && output.layout == .channelBlocked(b), "fusion output \(output.shape) \(output.layout)")
        precondition(scale.count == cb * b && shift.count == cb * b, "fusion lanes for \(c) channels")
        let empty: [Float] = []
        output.withUnsafeMutableBufferPointer { out in
            rep.withUnsafeBufferPointer { a in
                red.withUnsafeBufferPointer { r in
                    (residual?.scalars ?? empty).withUnsafeBufferPointer { res in
                        scale.withUnsafeBufferPointer { sc in
                            shift.withUnsafeBufferPointer { sh in
                                let fusion = FusionLanes(scale: sc.baseAddress!, shift: sh.baseAddress!, relu: relu)
                                let (aBase, rBase, oBase) = (a.baseAddress!, r.baseAddress!, out.baseAddress!)
                                let resBase = residual == nil ? nil : res.baseAddress
                                parallelFor(n * cb, work: FusionWork(channelBlocks: cb, plane: h * w, width: w, representative: aBase, redundant: rBase,
                                                                     residual: resBase, output: oBase, lanes: fusion, block: b))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The fusion on `items` (sample, channel block) pairs, counted from the pointers given, of
    /// channel-blocked maps with `plane` pixels in rows of `width`: per lane, the two means, their
    /// softmax weights (times the epilogue's scale), then one sweep
    /// `relu?(w_a * a + w_r * r + shift + residual)` (`ck_fuse_blocks`, built for the widest
    /// instruction set this CPU has).
    package static func fuseBlocks(_ items: Range<Int>, channelBlocks cb: Int, plane: Int, width: Int, representative: UnsafePointer<Float>,
                           redundant: UnsafePointer<Float>, residual: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                           lanes: FusionLanes, block b: Int) {
        precondition(b == 8 || b == 16, "fuseBlocks: blocks of \(b) lanes; 8 or 16 are built")
        ck_fuse_blocks(items.lowerBound, items.upperBound, cb, plane, width, representative, redundant, residual, output, lanes.scale, lanes.shift,
                       lanes.relu ? 1 : 0, Int32(b))
    }
}

/// The per-lane constants of SPConv's fusion: the epilogue's scale and shift for every lane of every
/// channel block (1 and 0 without an epilogue; 0 past C so the padding lanes stay zero), and its ReLU.
package struct FusionLanes {
    package let scale: UnsafePointer<Float>
    package let shift: UnsafePointer<Float>
    package let relu: Bool

    package init(scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, relu: Bool) {
        (self.scale, self.shift, self.relu) = (scale, shift, relu)
    }

    /// The scale and shift arrays for `channels` channels in blocks of `block`.
    package static func make(channels c: Int, block b: Int, epilogue: FusionEpilogue?) -> (scale: [Float], shift: [Float]) {
        let lanes = (c + b - 1) / b * b
        var scale = [Float](repeating: 0, count: lanes), shift = scale
        for ch in 0..<c {
            scale[ch] = epilogue?.scale?[ch] ?? 1
            shift[ch] = epilogue?.shift?[ch] ?? 0
        }
        return (scale, shift)
    }
}

/// ``LayoutKernels/sliceToRowMajor(_:_:block:into:)``'s items: one per sample and input block.
private struct SliceToRowMajorWork: ParallelWork {
    let source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>
    let range: Range<Int>, block: Int, inputBlocks: Int, firstBlock: Int, blocks: Int, plane: Int

    func run(_ items: Range<Int>) {
        let (b, count) = (block, range.count)
        for item in items {
            let (s, block) = (item / blocks, firstBlock + item % blocks)
            let lanes = max(range.lowerBound, block * b)..<min(range.upperBound, (block + 1) * b)
            let from = source + ((s * inputBlocks + block) * plane * b)
            let to = destination + (s * count + lanes.lowerBound - range.lowerBound) * plane
            let (first, width) = (lanes.lowerBound - block * b, lanes.count)
            for i in 0..<plane {
                let pixel = from + i * b + first
                for j in 0..<width { to[j * plane + i] = pixel[j] }
            }
        }
    }
}

/// ``LayoutKernels/sliceChannels(_:_:block:into:)``'s items: one per sample and output block.
private struct SliceBlockedWork: ParallelWork {
    let source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>
    let first: Int, count: Int, block: Int, inputBlocks: Int, outputBlocks: Int, plane: Int

    func run(_ items: Range<Int>) {
        for item in items {
            let (s, outputBlock) = (item / outputBlocks, item % outputBlocks)
            LayoutKernels.copyBlock(source + s * inputBlocks * plane * block, plane: plane, block: block,
                                    first: first + outputBlock * block, lanes: min(block, count - outputBlock * block),
                                    to: destination + item * plane * block)
        }
    }
}

/// ``LayoutKernels/softmaxFusion(representative:redundant:residual:laneScale:laneShift:relu:block:into:)``'s
/// items: one per (sample, channel block).
private struct FusionWork: ParallelWork {
    let channelBlocks: Int, plane: Int, width: Int
    let representative: UnsafePointer<Float>, redundant: UnsafePointer<Float>, residual: UnsafePointer<Float>?
    let output: UnsafeMutablePointer<Float>
    let lanes: FusionLanes, block: Int

    func run(_ items: Range<Int>) {
        LayoutKernels.fuseBlocks(items, channelBlocks: channelBlocks, plane: plane, width: width, representative: representative, redundant: redundant,
                                 residual: residual, output: output, lanes: lanes, block: block)
    }
}

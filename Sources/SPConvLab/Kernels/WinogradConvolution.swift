import CDNNL
import CKernels
import SPConvCore

/// A 3x3 convolution with stride 1 and padding 1 by Winograd's F(4x4, 3x3), the engine's own
/// (`ck_winograd_tiles`, CKernels' `winograd.h`), for inference on channel-blocked maps: the
/// Winograd oneDNN 2.6 lacks on AVX2, and on AVX-512 a second candidate next to its own.
///
/// Each 4x4 output tile costs 36 multiply-adds per pair of input and output channels where the
/// direct convolution needs 144; the transforms around them add a few per pixel, and the
/// rounding error is larger than the direct sum's (about ten times, bounded relative to the
/// output's scale in `WinogradConvolutionTests`). Bias, a residual held in the output, and a
/// ReLU are applied in the output transform. The weight is transformed (in double precision)
/// and packed once, at construction; a call allocates nothing.
package final class WinogradConvolution: @unchecked Sendable {
    /// True where the C build in use runs `block`-lane Winograd: 16 lanes need AVX-512, 8 lanes
    /// AVX2 + FMA.
    package static func isAvailable(block: Int) -> Bool { DirectConvolution.isAvailable(block: block) }

    /// Whether this kernel computes a convolution of `geometry` from `inputChannels` to
    /// `outputChannels` on maps blocked by `block`: 3x3, stride 1, padding 1, no dilation, one
    /// group, whole channel blocks in and out, and a C build that runs the block.
    package static func applies(_ geometry: Conv2DGeometry, inputChannels: Int, outputChannels: Int, block: Int) -> Bool {
        geometry.kernelSize == 3 && geometry.stride == 1 && geometry.padding == 1 && geometry.dilation == 1 && geometry.groups == 1
            && inputChannels % block == 0 && outputChannels % block == 0 && isAvailable(block: block)
    }

    /// Whether Winograd can pay for a layer whose `tiles` 4x4 output tiles (over the batch) read
    /// `inputChannels` into `outputChannels`: its transformed weights are four times the direct
    /// kernel's, and each is used `tiles` times, so on few tiles a layer streams its weights
    /// from memory. Offered where there are at least 16 tiles (four multiply-adds per weight
    /// byte) or the weights fit in 256 KiB. Timing one layer cannot see this, because its weights
    /// stay in the last-level cache between runs; in a whole network they may not: resnet110 at
    /// batch 1 (4 tiles per 64-channel layer, 21 MB of transformed weights in that stage) took
    /// 2.7-3.8 ms with them against 1.4 ms on oneDNN's kernels, while resnet56 (half the layers)
    /// still gained.
    package static func paysOff(tiles: Int, inputChannels: Int, outputChannels: Int) -> Bool {
        tiles >= 16 || 36 * inputChannels * outputChannels * MemoryLayout<Float>.stride <= 256 << 10
    }

    /// The descriptor handed to C; its pointers are this object's storage.
    private var descriptor: ck_winograd
    private let storage: [UnsafeMutableBufferPointer<Float>]
    package let batch: Int, outputChannels: Int, height: Int, width: Int, block: Int
    /// 4x4 output tiles in the batch, and how many a thread transforms and multiplies at a time.
    package let tiles: Int, chunk: Int
    /// Floats of scratch one thread needs (``run(_:into:scratch:)`` takes one part per thread).
    package let scratchPerThread: Int

    /// `conv2d(x[:, channels], weight, bias, padding: 1)` (then `+ output` with `sum`, then ReLU
    /// with `relu`) for `batch` input maps `[batch, inputChannels, height, width]` blocked by `block`;
    /// `weight` is OIHW `[C_out, channels.count, 3, 3]`. `threads` is how many share a call.
    package init(weight: Tensor, bias: [Float]?, channels: Range<Int>, inputChannels: Int, batch: Int, height: Int, width: Int,
                 block: Int, sum: Bool, relu: Bool, threads: Int) {
        let (out, k) = (weight.shape[0], weight.shape[1])
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3 && k == channels.count
                     && channels.lowerBound >= 0 && channels.upperBound <= inputChannels,
                     "Winograd convolution: weight \(weight.shape) for channels \(channels) of \(inputChannels)")
        precondition(block == 8 || block == 16, "Winograd convolution: blocks of \(block) lanes; 8 or 16 are built")
        precondition(out % block == 0, "Winograd convolution: \(out) output channels are not whole blocks of \(block)")
        precondition(bias.map { $0.count == out } ?? true, "Winograd convolution: \(bias!.count) biases for \(out) channels")
        let ob = out / block
        (self.batch, outputChannels, self.height, self.width, self.block) = (batch, out, height, width, block)
        let packed = Self.transformedWeight(weight, block: block)
        let buffers = [packed, bias ?? []].map { array -> UnsafeMutableBufferPointer<Float> in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(array.count, 1))
            buffer.initialize(repeating: 0)
            _ = buffer.update(fromContentsOf: array)
            return buffer
        }
        storage = buffers
        tiles = batch * ((height + 3) / 4) * ((width + 3) / 4)
        let (cb0, cb1) = (channels.lowerBound / block, (channels.upperBound - 1) / block)
        let perTile = 36 * ((cb1 - cb0 + 1) * block + ob * block)
        // A chunk's transformed inputs and products stay in about 384 KiB (L2 on every CPU of this
        // kind), at least one full register tile of rows, and each thread gets a chunk.
        let fitsCache = max(6, (384 << 10) / (MemoryLayout<Float>.stride * perTile))
        chunk = max(1, min(fitsCache, (tiles + max(1, threads) - 1) / max(1, threads)))
        scratchPerThread = chunk * perTile
        descriptor = ck_winograd(block: block, in_blocks: (inputChannels + block - 1) / block, h: height, w: width,
                                 c0: channels.lowerBound, k: k, out_blocks: ob, weight: UnsafePointer(buffers[0].baseAddress!),
                                 bias: bias == nil ? nil : UnsafePointer(buffers[1].baseAddress!), sum: sum ? 1 : 0, relu: relu ? 1 : 0,
                                 chunk: chunk)
    }

    deinit { for buffer in storage { buffer.deallocate() } }

    /// The transform G g G^T of each 3x3 filter (G from Lavin and Gray's F(4x4, 3x3) with points
    /// 0, +-1, +-2), in double precision, packed as `[36][C_out / block][C_in][block]`.
    package static func transformedWeight(_ weight: Tensor, block: Int) -> [Float] {
        let (out, k) = (weight.shape[0], weight.shape[1])
        let g: [[Double]] = [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                             [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]
        let ob = out / block
        var packed = [Float](repeating: 0, count: 36 * ob * k * block)
        let w = weight.scalars
        for o in 0..<out {
            for c in 0..<k {
                let f = (0..<9).map { Double(w[(o * k + c) * 9 + $0]) }
                // (G f) is 6x3, then (G f) G^T is 6x6.
                var gf = [Double](repeating: 0, count: 18)
                for i in 0..<6 { for b in 0..<3 { gf[i * 3 + b] = (0..<3).reduce(0) { $0 + g[i][$1] * f[$1 * 3 + b] } } }
                for i in 0..<6 {
                    for j in 0..<6 {
                        let u = (0..<3).reduce(0) { $0 + gf[i * 3 + $1] * g[j][$1] }
                        packed[(((i * 6 + j) * ob + o / block) * k + c) * block + o % block] = Float(u)
                    }
                }
            }
        }
        return packed
    }

    /// Runs the convolution on channel-blocked `input` (`[batch, inputChannels, height, width]`)
    /// into `output` (`[batch, outputChannels, height, width]` blocked; holding the residual when
    /// built with `sum`). `scratch` holds ``scratchPerThread`` floats for each of
    /// ``DNNL/maxThreads`` threads, or fewer: then the tiles run on the calling thread.
    package func run(_ input: Tensor, into output: inout Tensor, scratch: inout Tensor) {
        let d = descriptor
        precondition(input.layout == .channelBlocked(block) && input.count == batch * Int(d.in_blocks) * height * width * block,
                     "Winograd convolution: input \(input.shape) \(input.layout) for \(batch) maps of \(height)x\(width)")
        precondition(output.layout == .channelBlocked(block) && output.shape == [batch, outputChannels, height, width],
                     "Winograd convolution: output \(output.shape) \(output.layout)")
        precondition(scratch.count >= scratchPerThread, "Winograd convolution: scratch of \(scratch.count) floats")
        let threads = max(1, DNNL.maxThreads)
        let chunks = (tiles + chunk - 1) / chunk
        let perThread = scratch.count >= threads * scratchPerThread
        withUnsafePointer(to: descriptor) { conv in
            input.withUnsafeBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { s in
                    output.withUnsafeMutableBufferPointer { y in
                        let work = WinogradWork(conv: conv, x: x.baseAddress!, y: y.baseAddress!, scratch: s.baseAddress!,
                                                perThread: scratchPerThread, chunk: chunk, tiles: tiles)
                        if perThread {
                            parallelFor(chunks, work: work)
                        } else {
                            work.runHere(0..<chunks)
                        }
                    }
                }
            }
        }
    }

    /// ``run(_:into:scratch:)`` with the output and the scratch two tensors of one array (the
    /// buffers an SPConv layer's steps share).
    package func run(_ input: Tensor, in tensors: inout [Tensor], output: Int, scratch: Int) {
        precondition(output != scratch, "Winograd convolution: the output and the scratch must be different buffers")
        tensors.withUnsafeMutableBufferPointer { buffers in run(input, into: &buffers[output], scratch: &buffers[scratch]) }
    }

    /// 4x4 tiles per image, and per row of tiles.
    package var tilesPerImage: Int { tileRows * tilesPerRow }
    package var tileRows: Int { (height + 3) / 4 }
    package var tilesPerRow: Int { (width + 3) / 4 }
    /// Floats of one input image and of one output image.
    package var inputImage: Int { Int(descriptor.in_blocks) * height * width * block }
    package var outputImage: Int { outputChannels * height * width }

    /// Tiles `tiles` (numbered across the images from `x` on) on the calling thread, with
    /// ``scratchPerThread`` floats of `scratch`: the pieces ``SPConvDirect`` runs per image.
    package func run(from x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, tiles: Range<Int>,
                     scratch: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: descriptor) { conv in
            let status = ck_winograd_tiles(conv, x, y, tiles.lowerBound, tiles.upperBound, scratch)
            precondition(status == 0, "Winograd convolution: the C build in use has no kernel for blocks of \(block) lanes")
        }
    }

    /// The convolution of a whole batch into a new tensor (with `sum`, added to `residual`), for
    /// tests and one-off calls.
    package func callAsFunction(_ input: Tensor, residual: Tensor? = nil) -> Tensor {
        var output = residual?.channelBlocked(block) ?? Tensor(zeroedShape: [batch, outputChannels, height, width], layout: .channelBlocked(block))
        var scratch = Tensor(zeroedShape: [max(1, DNNL.maxThreads), scratchPerThread], layout: .rowMajor)
        run(input, into: &output, scratch: &scratch)
        return output
    }
}

/// ``WinogradConvolution``'s chunks of tiles, each thread in its own part of the scratch.
private struct WinogradWork: ParallelWork {
    let conv: UnsafePointer<ck_winograd>
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    let perThread: Int, chunk: Int, tiles: Int

    func run(_ chunks: Range<Int>) { run(chunks, scratch: scratch + Int(omp_get_thread_num()) * perThread) }

    func runHere(_ chunks: Range<Int>) { run(chunks, scratch: scratch) }

    private func run(_ chunks: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        let status = ck_winograd_tiles(conv, x, y, chunks.lowerBound * chunk, min(chunks.upperBound * chunk, tiles), scratch)
        precondition(status == 0, "Winograd convolution: the C build in use has no kernel for blocks of \(conv.pointee.block) lanes")
    }
}

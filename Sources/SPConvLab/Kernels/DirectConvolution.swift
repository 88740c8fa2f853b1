import CDNNL
import CKernels
import SPConvCore

/// A direct convolution for inference that reads a range of input channels of a channel-blocked
/// map where they lie (`ck_direct_conv_rows`, CKernels' `direct_conv.h`), one image at a time: the
/// engine's own kernel for SPConv's branches, whose few channels oneDNN would pad to a whole
/// block, read from a separate split map, and dispatch as one primitive per branch.
///
/// The weight is packed once, at construction; a call allocates nothing.
package final class DirectConvolution: @unchecked Sendable {
    /// True where the C build in use has the registers for `block`-lane vectors: 16 lanes need
    /// AVX-512, 8 lanes AVX2 + FMA (the baseline build's multiply-adds are library calls).
    package static func isAvailable(block: Int) -> Bool {
        _ = DNNL.shared  // chooses the C kernels' instruction set
        let isa = ck_active_isa()
        return block == 16 ? isa == 2 : block == 8 && isa >= 1
    }

    /// The descriptor handed to C; its pointers are this object's storage.
    private(set) var descriptor: ck_direct_conv
    private let packed: UnsafeMutableBufferPointer<Float>
    private let packedBias: UnsafeMutableBufferPointer<Float>?
    /// Floats per image of the input and of the output map.
    package let inputImage: Int, outputImage: Int
    package let outputBlocks: Int, outputRows: Int

    /// `conv2d(x[:, channels], weight, bias, stride, padding)` for input maps `[_, inputChannels, h, w]`
    /// blocked by `block`; `weight` is OIHW `[C_out, channels.count, K, K]` with square K.
    package init(weight: Tensor, bias: Tensor?, channels: Range<Int>, inputChannels: Int, height h: Int, width w: Int,
                 stride: Int, padding: Int, block: Int) {
        let (oc, k, ks) = (weight.shape[0], weight.shape[1], weight.shape[2])
        precondition(weight.rank == 4 && weight.shape[3] == ks && k == channels.count && channels.upperBound <= inputChannels,
                     "direct convolution: weight \(weight.shape) for channels \(channels) of \(inputChannels)")
        precondition(block == 8 || block == 16, "direct convolution: blocks of \(block) lanes; 8 or 16 are built")
        let ob = (oc + block - 1) / block, taps = ks * ks
        let ho = (h + 2 * padding - ks) / stride + 1, wo = (w + 2 * padding - ks) / stride + 1
        precondition(ho > 0 && wo > 0, "direct convolution: a \(ks)x\(ks) kernel does not fit a \(h)x\(w) map padded by \(padding)")
        packed = .allocate(capacity: ob * taps * k * block)
        packed.initialize(repeating: 0)
        let wts = weight.scalars
        for o in 0..<oc {
            for ic in 0..<k {
                for t in 0..<taps {
                    packed[(((o / block) * taps + t) * k + ic) * block + o % block] = wts[(o * k + ic) * taps + t]
                }
            }
        }
        if let bias {
            let lanes = UnsafeMutableBufferPointer<Float>.allocate(capacity: ob * block)
            lanes.initialize(repeating: 0)
            for o in 0..<oc { lanes[o] = bias.scalars[o] }
            packedBias = lanes
        } else {
            packedBias = nil
        }
        let inBlocks = (inputChannels + block - 1) / block
        descriptor = ck_direct_conv(block: block, in_blocks: inBlocks, h: h, w: w, c0: channels.lowerBound, k: k, ks: ks,
                                    stride: stride, pad: padding, out_blocks: ob, ho: ho, wo: wo,
                                    weight: UnsafePointer(packed.baseAddress!), bias: packedBias.map { UnsafePointer($0.baseAddress!) })
        (inputImage, outputImage) = (inBlocks * h * w * block, ob * ho * wo * block)
        (outputBlocks, outputRows) = (ob, ho)
    }

    deinit {
        packed.deallocate()
        packedBias?.deallocate()
    }

    /// Output rows `rows` of output blocks `blocks` of one image: `x` points at the image's input
    /// map, `y` at its output map.
    package func run(image x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, blocks: Range<Int>, rows: Range<Int>) {
        withUnsafePointer(to: descriptor) { d in
            ck_direct_conv_rows(d, x, y, blocks.lowerBound, blocks.upperBound, rows.lowerBound, rows.upperBound)
        }
    }

    /// The whole output of image `x` into `y`.
    package func run(image x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        run(image: x, into: y, blocks: 0..<outputBlocks, rows: 0..<outputRows)
    }

    /// `conv2d` of a whole channel-blocked batch, in a new tensor (for tests and one-off calls).
    package func callAsFunction(_ x: Tensor, outputChannels: Int) -> Tensor {
        let (n, b) = (x.shape[0], descriptor.block)
        precondition(x.layout == .channelBlocked(b) && x.count == n * inputImage, "direct convolution: input \(x.shape) \(x.layout)")
        return Tensor(blockedShape: [n, outputChannels, descriptor.ho, descriptor.wo], block: b) { out in
            let y = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                let x = xs.baseAddress!
                parallelFor(n) { images in
                    for i in images { self.run(image: x + i * self.inputImage, into: y + i * self.outputImage) }
                }
            }
        }
    }
}

/// An SPConv layer's inference with the engine's own kernels, image by image: the representative
/// branch (`gwc` and `pwc` merged into one dense conv with both batch norms folded) reads a
/// zero-bordered copy of the image's representative channel blocks, so every output pixel is a
/// full register tile; the redundant conv reads its channels of the input where they lie; then
/// the fusion with the layer's epilogue sweeps that image's two maps while they are in cache. No
/// split, no intermediate map the size of the batch, one parallel region per layer (two at batch
/// 1, whose single image is split over the threads by rows, then by channel blocks).
package struct SPConvDirect {
    /// Reads the bordered copy: `[representativeBlocks][h + 2 padding][w + 2 padding][block]`.
    package let representative: DirectConvolution
    package let redundant: DirectConvolution
    package let block: Int
    /// The input's channel blocks, extent and border of the copy the representative conv reads.
    package let inputBlocks: Int, representativeBlocks: Int, height: Int, width: Int, padding: Int

    package init(representative: DirectConvolution, redundant: DirectConvolution, inputChannels: Int, height: Int, width: Int,
                 padding: Int) {
        let d = representative.descriptor
        precondition(representative.outputImage == redundant.outputImage && d.block == redundant.descriptor.block
                     && d.h == height + 2 * padding && d.w == width + 2 * padding && d.pad == 0,
                     "SPConv branches: representative conv \(d.h)x\(d.w) for a \(height)x\(width) map bordered by \(padding)")
        (self.representative, self.redundant, block) = (representative, redundant, Int(d.block))
        (inputBlocks, representativeBlocks) = ((inputChannels + block - 1) / block, Int(d.in_blocks))
        (self.height, self.width, self.padding) = (height, width, padding)
    }

    /// Floats of scratch per thread: the two output maps of one image and the bordered copy.
    package var scratchPerThread: Int { 2 * representative.outputImage + representative.inputImage }

    /// Runs the layer on channel-blocked `input` into `output`; `scratch` holds
    /// ``scratchPerThread`` floats for each of ``DNNL/maxThreads`` threads (or for one, then
    /// images run one at a time, each split over the threads).
    package func run(_ input: Tensor, residual: Tensor?, lanes: FusionLanes, scratch: inout Tensor, into output: inout Tensor) {
        let n = input.shape[0]
        let threads = max(1, DNNL.maxThreads)
        precondition(scratch.count >= scratchPerThread, "SPConv scratch of \(scratch.count) floats")
        precondition(output.layout == .channelBlocked(block) && output.count == n * representative.outputImage,
                     "SPConv output of \(output.count) floats for \(n) images of \(representative.outputImage)")
        precondition(input.count == n * inputBlocks * height * width * block, "SPConv input \(input.shape) \(input.layout)")
        let perThread = scratch.count >= threads * scratchPerThread
        let empty: [Float] = []
        input.withUnsafeBufferPointer { xs in
            (residual?.scalars ?? empty).withUnsafeBufferPointer { res in
                scratch.withUnsafeMutableBufferPointer { s in
                    output.withUnsafeMutableBufferPointer { out in
                        let work = SPConvImagesWork(layer: self, input: xs.baseAddress!, residual: residual == nil ? nil : res.baseAddress,
                                                    scratch: s.baseAddress!, output: out.baseAddress!, lanes: lanes)
                        if n >= threads && perThread {
                            parallelFor(n, work: work)
                        } else {
                            for i in 0..<n { work.runSplit(image: i) }
                        }
                    }
                }
            }
        }
    }

    /// Copies the representative channel blocks of image `x` into `to` with a zero border.
    fileprivate func border(image x: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>) {
        let (p, b) = (padding, block)
        let (ph, pw) = (height + 2 * p, width + 2 * p)
        for cb in 0..<representativeBlocks {
            let source = x + cb * height * width * b, plane = to + cb * ph * pw * b
            (plane).update(repeating: 0, count: p * pw * b)
            (plane + (p + height) * pw * b).update(repeating: 0, count: p * pw * b)
            for row in 0..<height {
                let line = plane + (p + row) * pw * b
                line.update(repeating: 0, count: p * b)
                (line + p * b).update(from: source + row * width * b, count: width * b)
                (line + (p + width) * b).update(repeating: 0, count: p * b)
            }
        }
    }
}

/// ``SPConvDirect``'s images: each thread runs whole images in its own part of the scratch.
private struct SPConvImagesWork: ParallelWork {
    let layer: SPConvDirect
    let input: UnsafePointer<Float>, residual: UnsafePointer<Float>?
    let scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    let lanes: FusionLanes

    private var inputImage: Int { layer.inputBlocks * layer.height * layer.width * layer.block }

    func run(_ images: Range<Int>) {
        let image = layer.representative.outputImage
        let mine = scratch + Int(omp_get_thread_num()) * layer.scratchPerThread
        let bordered = mine + 2 * image
        for i in images {
            let x = input + i * inputImage
            layer.border(image: x, into: bordered)
            layer.representative.run(image: bordered, into: mine)
            layer.redundant.run(image: x, into: mine + image)
            fuse(image: i, representative: mine, redundant: mine + image, blocks: 0..<layer.representative.outputBlocks)
        }
    }

    fileprivate func fuse(image i: Int, representative a: UnsafePointer<Float>, redundant r: UnsafePointer<Float>, blocks: Range<Int>) {
        let rep = layer.representative
        let ob = rep.outputBlocks, plane = Int(rep.descriptor.ho * rep.descriptor.wo)
        let at = i * rep.outputImage
        ck_fuse_blocks(blocks.lowerBound, blocks.upperBound, ob, plane, a, r, residual.map { $0 + at }, output + at, lanes.scale,
                       lanes.shift, lanes.relu ? 1 : 0, Int32(layer.block))
    }

    /// One image split over the threads: the bordered copy, the two convolutions by output rows,
    /// then the fusion by channel blocks (it needs every row's sum first), in the first thread's
    /// part of the scratch.
    func runSplit(image i: Int) {
        let image = layer.representative.outputImage
        let x = input + i * inputImage
        layer.border(image: x, into: scratch + 2 * image)
        parallelFor(layer.representative.outputRows, work: RowsWork(layer: layer, image: x, scratch: scratch))
        parallelFor(layer.representative.outputBlocks, work: FuseWork(images: self, image: i, scratch: scratch))
    }

    private struct RowsWork: ParallelWork {
        let layer: SPConvDirect
        let image: UnsafePointer<Float>
        let scratch: UnsafeMutablePointer<Float>

        func run(_ rows: Range<Int>) {
            let (rep, red) = (layer.representative, layer.redundant)
            rep.run(image: scratch + 2 * rep.outputImage, into: scratch, blocks: 0..<rep.outputBlocks, rows: rows)
            red.run(image: image, into: scratch + rep.outputImage, blocks: 0..<red.outputBlocks, rows: rows)
        }
    }

    private struct FuseWork: ParallelWork {
        let images: SPConvImagesWork
        let image: Int
        let scratch: UnsafeMutablePointer<Float>

        func run(_ blocks: Range<Int>) {
            let size = images.layer.representative.outputImage
            images.fuse(image: image, representative: scratch, redundant: scratch + size, blocks: blocks)
        }
    }
}

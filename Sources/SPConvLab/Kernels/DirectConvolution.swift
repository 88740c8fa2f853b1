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
        let isa = ck_engine_isa()
        return block == 16 ? isa == 2 : block == 8 && isa >= 1
    }

    /// The descriptor handed to C; its pointers are this object's storage.
    package private(set) var descriptor: ck_direct_conv
    /// Whether each run needs the input's AvgPool2d(2, 2) map for pwc (SPConv's representative
    /// branch at stride 2, `pooledPointwise`).
    package private(set) var readsPooledMap = false
    private let storage: [UnsafeMutableBufferPointer<Float>]
    /// Floats per image of the input and of the output map.
    package let inputImage: Int, outputImage: Int
    package let outputBlocks: Int, outputRows: Int

    /// A strided 1x1 in dense mode, given scratch: the input's every s-th pixel of every s-th row
    /// copied once per pass (by `pool`, a 1x1 max pooling with the stride) and the same 1x1 at
    /// stride 1 over those maps (`conv`, its pixels as long rows). Without scratch the C kernel
    /// gathers row groups into a 64 KiB buffer instead, again for every chunk of output blocks.
    private let subsampled: (pool: ck_pool, conv: DirectConvolution)?

    /// Copies `arrays` into storage this object owns and points `descriptor`'s weight, bias and
    /// extra weight at them (in that order; an empty array is NULL). With `subsampled`, the
    /// descriptor points at that stride-1 conv's weight and bias instead (a 1x1's packing is the
    /// same at any stride), which it keeps alive.
    private init(_ descriptor: ck_direct_conv, weight: [Float], bias: [Float], extra: [Float],
                 subsampled: (pool: ck_pool, conv: DirectConvolution)? = nil) {
        self.subsampled = subsampled
        let buffers = [weight, bias, extra].map { array -> UnsafeMutableBufferPointer<Float> in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(array.count, 1))
            buffer.initialize(repeating: 0)
            _ = buffer.update(fromContentsOf: array)
            return buffer
        }
        var d = descriptor
        if let shared = subsampled?.conv.descriptor {
            (d.weight, d.bias) = (shared.weight, shared.bias)
        } else {
            d.weight = UnsafePointer(buffers[0].baseAddress!)
            d.bias = bias.isEmpty ? nil : UnsafePointer(buffers[1].baseAddress!)
        }
        d.extra_weight = extra.isEmpty ? nil : UnsafePointer(buffers[2].baseAddress!)
        (self.descriptor, storage) = (d, buffers)
        (inputImage, outputImage) = (d.in_blocks * d.h * d.w * d.in_lanes, d.out_blocks * d.ho * d.wo * d.block)
        (outputBlocks, outputRows) = (d.out_blocks, d.ho)
    }

    /// `conv2d(x[:, channels], weight, bias, stride, padding)` for input maps `[_, inputChannels, h, w]`
    /// blocked by `block`; `weight` is OIHW `[C_out, channels.count, K, K]` with square K. With
    /// `sum` the output buffer's values (a residual) are added, then with `relu` a ReLU.
    /// `rowGroups` lets a convolution without padding run in grouped mode, whose tiles span
    /// several rows (across images too) but which reads the whole input once per output block;
    /// without it, dense mode reads each row's input from cache for a chunk of output blocks
    /// (better where the input is larger than the cache). With `rowMajorInput` the input is read
    /// as row-major NCHW maps where they lie (the network's input), in dense mode.
    package convenience init(weight: Tensor, bias: Tensor?, channels: Range<Int>, inputChannels: Int, height h: Int, width w: Int,
                             stride: Int, padding: Int, block: Int, sum: Bool = false, relu: Bool = false, rowGroups: Bool = true,
                             rowMajorInput: Bool = false) {
        let (oc, k, ks) = (weight.shape[0], weight.shape[1], weight.shape[2])
        precondition(weight.rank == 4 && weight.shape[3] == ks && k == channels.count && channels.upperBound <= inputChannels,
                     "direct convolution: weight \(weight.shape) for channels \(channels) of \(inputChannels)")
        precondition(block == 8 || block == 16, "direct convolution: blocks of \(block) lanes; 8 or 16 are built")
        let ob = (oc + block - 1) / block, taps = ks * ks
        let ho = (h + 2 * padding - ks) / stride + 1, wo = (w + 2 * padding - ks) / stride + 1
        precondition(ho > 0 && wo > 0, "direct convolution: a \(ks)x\(ks) kernel does not fit a \(h)x\(w) map padded by \(padding)")
        var packed = [Float](repeating: 0, count: ob * taps * k * block)
        let wts = weight.scalars
        for o in 0..<oc {
            for ic in 0..<k {
                for t in 0..<taps { packed[(((o / block) * taps + t) * k + ic) * block + o % block] = wts[(o * k + ic) * taps + t] }
            }
        }
        var lanes = [Float]()
        if let bias {
            lanes = [Float](repeating: 0, count: ob * block)
            for o in 0..<oc { lanes[o] = bias.scalars[o] }
        }
        // Without padding every tap is on the map, and grouped mode with one group (the same
        // packing) runs it in tiles of several rows, across images too.
        let grouped = padding == 0 && rowGroups && !rowMajorInput
        let (inLanes, inBlocks) = rowMajorInput ? (1, inputChannels) : (block, (inputChannels + block - 1) / block)
        var subsampled: (pool: ck_pool, conv: DirectConvolution)?
        if ks == 1 && stride > 1 && padding == 0 && !grouped && !rowMajorInput && channels == 0..<inputChannels {
            let rows = Self.pointwiseRows(channels: inputChannels, height: ho, width: wo)
            let conv = DirectConvolution(weight: weight, bias: bias, channels: channels, inputChannels: inputChannels, height: rows.height,
                                         width: rows.width, stride: 1, padding: 0, block: block, sum: sum, relu: relu, rowGroups: false)
            subsampled = (ck_pool(block: block, h: h, w: w, ho: ho, wo: wo, ks: 1, stride: stride, pad: 0, is_max: 1), conv)
        }
        let d = ck_direct_conv(block: block, in_blocks: inBlocks, h: h, w: w, c0: channels.lowerBound, k: k,
                               ks: ks, stride: stride, pad: padding, out_blocks: ob, ho: ho, wo: wo, weight: nil, bias: nil,
                               group_lanes: grouped ? 1 : 0, group_k: grouped ? k : 0, group_out: grouped ? ob * block : 0, extra_taps: 0,
                               extra_h: (0, 0, 0, 0), extra_w: (0, 0, 0, 0), extra_weight: nil, extra_x: nil, extra_xs: 0, sum: sum ? 1 : 0, relu: relu ? 1 : 0,
                               in_lanes: inLanes, out_plane: 0)
        // A strided 1x1 shares its stride-1 twin's packed weights.
        self.init(d, weight: subsampled == nil ? packed : [], bias: subsampled == nil ? lanes : [], extra: [], subsampled: subsampled)
    }

    /// The extent a 1x1 convolution with stride 1 and no padding sees a `channels`-channel
    /// `[height][width]` map as. It treats its pixels as one sequence, so the map is equally
    /// `[height width / w'][w']` for any w' dividing height width: rows as long as possible (whole
    /// register tiles, not a 7- or 14-pixel row's remainders) while one row's input stays within
    /// about 256 KiB, so it is read from cache for every output block of a chunk
    /// (``ck_direct_conv``'s loop); never narrower than the map's own rows. An image that is split
    /// over `parts` threads by rows gets a row count they share evenly where a width at least half
    /// the widest allows it (resnet50's 28x28 maps at batch 1: 8 rows of 98 pixels, not 7 of 112).
    package static func pointwiseRows(channels: Int, height h: Int, width w: Int, parts: Int = 1) -> (height: Int, width: Int) {
        let pixels = h * w, bytesPerPixel = 4 * channels
        let fits = (w...pixels).filter { pixels % $0 == 0 && $0 * bytesPerPixel <= 256 << 10 }
        let widest = fits.last ?? w
        let even = fits.last { (pixels / $0) % max(1, parts) == 0 && 2 * $0 >= widest }
        let width = even ?? widest
        return (pixels / width, width)
    }

    /// Floats of scratch a batch of `images` needs for the fastest run (``run(batch:from:into:scratch:)``):
    /// the subsampled maps of a strided 1x1, else 0.
    package func scratchCount(batch images: Int) -> Int {
        guard let subsampled else { return 0 }
        return images * subsampled.conv.inputImage
    }

    /// How many groups one output block of `outputChannels / groups`-channel groups holds in
    /// grouped mode: 1 (the groups are whole blocks) or 2 (half blocks); nil where grouped mode
    /// does not apply (the dense merged conv runs instead).
    package static func groupLanes(outputChannels out: Int, representative rep: Int, groups: Int, block: Int) -> Int? {
        let (perGroup, groupK) = (out / groups, rep / groups)
        if perGroup % block == 0 { return 1 }
        // Pairs of groups' inputs interleaved within each block (ck_direct_conv_border).
        if 2 * perGroup == block && groups % 2 == 0 && [1, 2, 4, 8].contains(groupK) && block % (2 * groupK) == 0 { return 2 }
        return nil
    }

    /// The input channel at each position of grouped mode's input copy: with 2 groups per output
    /// block, pairs of groups interleaved (position 2 groupK q + 2 i + s holds channel
    /// (2q + s) groupK + i); otherwise every channel where it is.
    package static func groupedPositions(channels: Int, groupK: Int, groupLanes: Int) -> [Int] {
        guard groupLanes == 2 else { return Array(0..<channels) }
        return (0..<channels).map { p in
            let (q, r) = (p / (2 * groupK), p % (2 * groupK))
            return (2 * q + r % 2) * groupK + r / 2
        }
    }

    /// SPConv's representative branch in grouped mode: `scale * (gwc(x) + pwc(x or AvgPool2d(2, 2)(x))) + shift`
    /// (bn1 folded) over a copy of the representative channels in ``groupedPositions`` order
    /// with a one-pixel zero border (`height` and `width` are the bordered extents). `gwc` is
    /// `[C_out, rep / groups, 3, 3]`, `pwc` `[C_out, rep, 1, 1]`. Nil where ``groupLanes`` is.
    /// At stride 2, pwc reads AvgPool2d(2, 2)(x) as four taps of a quarter each over the copy,
    /// or with `pooledPointwise` from a pooled map handed to each run (``readsPooledMap``).
    package convenience init?(spconvRepresentative gwc: Tensor, pointwise pwc: Tensor, scale: [Float], shift: [Float], groups: Int,
                              stride: Int, height h: Int, width w: Int, block: Int, pooledPointwise: Bool = false) {
        precondition(!pooledPointwise || stride == 2, "SPConv's pwc reads a pooled map at stride 2 only")
        let (out, gk, rep) = (gwc.shape[0], gwc.shape[1], pwc.shape[1])
        guard let g = Self.groupLanes(outputChannels: out, representative: rep, groups: groups, block: block), out % block == 0, gk * groups == rep else { return nil }
        let ob = out / block, perGroup = out / groups
        // The output channel in lane l of block b.
        func channel(_ b: Int, _ l: Int) -> Int { g == 2 ? b * block + (l % 2) * perGroup + l / 2 : b * block + l }
        var weight = [Float](repeating: 0, count: ob * 9 * gk * block)
        var bias = [Float](repeating: 0, count: ob * block)
        for b in 0..<ob {
            for l in 0..<block {
                let o = channel(b, l)
                bias[b * block + l] = shift[o]
                for t in 0..<9 {
                    for i in 0..<gk { weight[((b * 9 + t) * gk + i) * block + l] = scale[o] * gwc.scalars[(o * gk + i) * 9 + t] }
                }
            }
        }
        // pwc: the centre tap at stride 1; at stride 2 (it reads AvgPool2d(2, 2)) a quarter in each
        // tap of that window, or one tap over the pooled map, whose channels are in their order.
        let taps = stride == 1 || pooledPointwise ? [(1, 1)] : [(1, 1), (1, 2), (2, 1), (2, 2)]
        let share: Float = stride == 1 || pooledPointwise ? 1 : 0.25
        let positions = pooledPointwise ? Array(0..<rep) : Self.groupedPositions(channels: rep, groupK: gk, groupLanes: g)
        var extra = [Float](repeating: 0, count: ob * taps.count * rep * block)
        for b in 0..<ob {
            for e in taps.indices {
                for p in 0..<rep {
                    for l in 0..<block {
                        let o = channel(b, l)
                        extra[((b * taps.count + e) * rep + p) * block + l] = scale[o] * (share * pwc.scalars[o * rep + positions[p]])
                    }
                }
            }
        }
        var hs = (0, 0, 0, 0), ws = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &hs) { hb in
            withUnsafeMutableBytes(of: &ws) { wb in
                for (e, tap) in taps.enumerated() {
                    hb.storeBytes(of: tap.0, toByteOffset: e * MemoryLayout<Int>.stride, as: Int.self)
                    wb.storeBytes(of: tap.1, toByteOffset: e * MemoryLayout<Int>.stride, as: Int.self)
                }
            }
        }
        let (ho, wo) = ((h - 3) / stride + 1, (w - 3) / stride + 1)
        let d = ck_direct_conv(block: block, in_blocks: (rep + block - 1) / block, h: h, w: w, c0: 0, k: rep, ks: 3, stride: stride, pad: 0,
                               out_blocks: ob, ho: ho, wo: wo, weight: nil, bias: nil, group_lanes: g, group_k: gk, group_out: perGroup,
                               extra_taps: taps.count, extra_h: hs, extra_w: ws, extra_weight: nil, extra_x: nil, extra_xs: 0, sum: 0, relu: 0,
                               in_lanes: block, out_plane: 0)
        self.init(d, weight: weight, bias: bias, extra: extra)
        readsPooledMap = pooledPointwise
    }

    deinit {
        for buffer in storage { buffer.deallocate() }
    }

    /// Bytes of packed weights, bias and extra weights.
    package var weightBytes: Int { subsampled?.conv.weightBytes ?? storage.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride }

    /// Output rows `rows` of output blocks `blocks` of one image: `x` points at the image's input
    /// map, `y` at its output map.
    /// `pooled` is the image's pooled map where ``readsPooledMap`` (else nil).
    package func run(image x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, blocks: Range<Int>, rows: Range<Int>,
                     pooled: UnsafePointer<Float>? = nil) {
        withDescriptor(pooled: pooled, stride: 0) { d in
            ck_direct_conv_rows(d, x, y, blocks.lowerBound, blocks.upperBound, rows.lowerBound, rows.upperBound)
        }
    }

    /// The whole outputs of `images` images, `x` and `y` advancing by their strides (in floats)
    /// per image: each output block's weights applied to all of them before the next block's.
    /// `pooled` is the first image's pooled map where ``readsPooledMap`` (the next `pooledStride` floats on).
    package func run(images: Int, from x: UnsafePointer<Float>, stride xs: Int, into y: UnsafeMutablePointer<Float>, stride ys: Int,
                     pooled: UnsafePointer<Float>? = nil, pooledStride: Int = 0) {
        withDescriptor(pooled: pooled, stride: pooledStride) { d in ck_direct_conv_images(d, x, xs, y, ys, images) }
    }

    /// The descriptor with the pooled map of this run (a copy on the stack; no allocation).
    private func withDescriptor(pooled: UnsafePointer<Float>?, stride: Int, _ body: (UnsafePointer<ck_direct_conv>) -> Void) {
        precondition((pooled != nil) == readsPooledMap, "direct convolution: a pooled map is needed exactly where pwc reads one")
        var d = descriptor
        (d.extra_x, d.extra_xs) = (pooled, stride)
        withUnsafePointer(to: d, body)
    }

    /// The whole output of image `x` into `y`.
    package func run(image x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        run(image: x, into: y, blocks: 0..<outputBlocks, rows: 0..<outputRows)
    }

    /// Whether the input is read as row-major NCHW maps.
    package var readsRowMajor: Bool { descriptor.in_lanes == 1 }

    /// The whole outputs of a batch of `images` images on all threads: whole images per thread
    /// when there are at least as many images as threads, else each image's output rows (or,
    /// where it has few rows, its output blocks) split over the threads. Allocates nothing.
    /// `scratch` holds ``scratchCount(batch:)`` floats (or is nil: then a strided 1x1 gathers its
    /// input per chunk of output blocks).
    package func run(batch images: Int, from x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                     scratch: UnsafeMutablePointer<Float>? = nil) {
        if let subsampled, let scratch {
            parallelFor(images * Int(descriptor.in_blocks), work: OwnPooling(pool: subsampled.pool, input: x, output: scratch))
            subsampled.conv.run(batch: images, from: scratch, into: y)
            return
        }
        let threads = max(1, DNNL.maxThreads)
        if images >= threads {
            parallelFor(images, work: DirectConvolutionImages(conv: self, input: x, output: y))
        } else {
            // An image's rows over the threads, or its output blocks, in whole register tiles (4, 2
            // or 1 blocks): where it has few rows (a 1x1 conv's pixels run as a few long rows), or
            // where its weights outweigh its input (resnet50's late 1x1s at batch 1: split by rows,
            // each thread read all 4 MB of weights for a 400 KB input).
            let unit = outputBlocks % 4 == 0 ? 4 : outputBlocks % 2 == 0 ? 2 : 1
            let weightHeavy = weightBytes > inputImage * MemoryLayout<Float>.stride && outputBlocks / unit >= threads
            let byRows = outputRows >= 2 * threads && !weightHeavy
            for i in 0..<images {
                let work = DirectConvolutionPart(conv: self, input: x + i * inputImage, output: y + i * outputImage, byRows: byRows,
                                                 unit: unit)
                parallelFor(byRows ? outputRows : outputBlocks / unit, work: work)
            }
        }
    }

    /// `conv2d` of a whole channel-blocked batch, in a new tensor (for tests and one-off calls).
    package func callAsFunction(_ x: Tensor, outputChannels: Int) -> Tensor {
        let (n, b) = (x.shape[0], descriptor.block)
        precondition(x.layout == .channelBlocked(b) && x.count == n * inputImage, "direct convolution: input \(x.shape) \(x.layout)")
        return Tensor(blockedShape: [n, outputChannels, descriptor.ho, descriptor.wo], block: b) { out in
            x.withUnsafeBufferPointer { xs in run(batch: n, from: xs.baseAddress!, into: out.baseAddress!) }
        }
    }
}

/// Images of a batch, whole images per thread (``DirectConvolution/run(batch:from:into:)``).
private struct DirectConvolutionImages: ParallelWork {
    let conv: DirectConvolution
    let input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>

    func run(_ images: Range<Int>) {
        conv.run(images: images.count, from: input + images.lowerBound * conv.inputImage, stride: conv.inputImage,
                 into: output + images.lowerBound * conv.outputImage, stride: conv.outputImage)
    }
}

/// Output rows, or groups of `unit` output blocks, of one image (``DirectConvolution/run(batch:from:into:)``).
private struct DirectConvolutionPart: ParallelWork {
    let conv: DirectConvolution
    let input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    let byRows: Bool, unit: Int

    func run(_ part: Range<Int>) {
        if byRows {
            conv.run(image: input, into: output, blocks: 0..<conv.outputBlocks, rows: part)
        } else {
            conv.run(image: input, into: output, blocks: (part.lowerBound * unit)..<(part.upperBound * unit), rows: 0..<conv.outputRows)
        }
    }
}

/// An SPConv layer's inference with the engine's own kernels, image by image: the representative
/// branch (`gwc` and `pwc` with bn1 folded) either as a direct conv in grouped mode (or the dense
/// merged conv) over a zero-bordered copy of the image's representative channel blocks, so every
/// output pixel is a full register tile, or at stride 1 as the merged dense 3x3 by the own
/// Winograd, which reads the representative channels where they lie; the redundant conv reads
/// its channels of the input where they lie; then the fusion with the layer's epilogue sweeps
/// that image's two maps while they are in cache. No split, no intermediate map the size of the
/// batch, one parallel region per layer: at batch 1 its single image is split over the threads by
/// rows, with two barriers inside the region (``SPConvImageRegion``).
package struct SPConvDirect {
    /// The representative branch's kernel.
    package enum Representative {
        /// Reads the bordered copy: `[representativeBlocks][h + 2 padding][w + 2 padding][block]`.
        case direct(DirectConvolution)
        /// Reads the input image; stride 1.
        case winograd(WinogradConvolution)
    }

    package let representative: Representative
    package let redundant: DirectConvolution
    package let block: Int
    /// The input's channel blocks, extent and border of the copy the representative conv reads.
    package let inputBlocks: Int, representativeBlocks: Int, height: Int, width: Int, padding: Int
    /// Floats of one image's output map, and of its bordered copy (0 with Winograd).
    package let outputImage: Int, borderedImage: Int
    /// At stride 2, AvgPool2d(2, 2) of the whole input image, which both 1x1s read (the redundant
    /// conv, and pwc inside the representative conv): pooling first does a quarter of the
    /// multiply-adds of the 2x2 stride-2 convs equal to pooling then 1x1. Nil at stride 1.
    let pool: ck_pool?
    /// Floats of one image's pooled map, `[inputBlocks][height / 2][width / 2][block]` (0 without).
    package let pooledImage: Int
    /// Floats of Winograd's scratch per thread (0 with the direct conv).
    let winogradScratch: Int
    /// Floats of the per-row channel sums of both maps for an image split over the threads by
    /// rows (`ck_fuse_row_sums`): at the end of each thread's part of the scratch.
    let rowSums: Int

    /// Images each thread runs together: a layer whose weights would not stay in cache from one
    /// image to the next (more than 256 KiB) runs several images per output block, each block's
    /// weights read once for them all, as many as fit about 1 MiB of scratch per thread. With
    /// the Winograd representative conv, the images that conv was built for (its batch: its
    /// tiles over them share each transformed weight, see ``imagesPerChunk``).
    package let chunk: Int

    /// How many images a thread runs together for a layer of `weightBytes` of weights (the
    /// representative conv's, transformed for Winograd, and the redundant one's) whose image
    /// needs `imageBytes` of scratch: 1 where the weights stay in cache from one image to the
    /// next (256 KiB), else as many as fit about 1 MiB, at most each thread's share of the batch.
    package static func imagesPerChunk(weightBytes: Int, imageBytes: Int, batch: Int, threads: Int) -> Int {
        let imagesPerThread = (batch + max(1, threads) - 1) / max(1, threads)
        return weightBytes <= 256 << 10 ? 1 : max(1, min(imagesPerThread, (1 << 20) / max(1, imageBytes)))
    }

    /// With `pooled` (stride 2, even extents) the redundant conv is a 1x1 over the pooled map and
    /// the representative conv reads it for pwc (``DirectConvolution/readsPooledMap``).
    package init(representative: Representative, redundant: DirectConvolution, inputChannels: Int, height: Int, width: Int,
                 padding: Int, batch: Int, threads: Int, pooled: Bool = false) {
        (self.representative, self.redundant, block) = (representative, redundant, Int(redundant.descriptor.block))
        (self.height, self.width, self.padding) = (height, width, padding)
        inputBlocks = (inputChannels + block - 1) / block
        if pooled {
            let (ph, pw) = (height / 2, width / 2)
            guard case .direct(let conv) = representative else { preconditionFailure("SPConv's pooled form has a direct representative conv") }
            precondition(height % 2 == 0 && width % 2 == 0 && conv.readsPooledMap && redundant.descriptor.h == ph && redundant.descriptor.w == pw
                         && redundant.descriptor.ks == 1 && redundant.descriptor.stride == 1,
                         "SPConv's pooled form: a \(height)x\(width) map, a representative conv reading the pooled map and a 1x1 over it")
            pool = ck_pool(block: block, h: height, w: width, ho: ph, wo: pw, ks: 2, stride: 2, pad: 0, is_max: 0)
            pooledImage = inputBlocks * ph * pw * block
        } else {
            if case .direct(let conv) = representative { precondition(!conv.readsPooledMap, "SPConv: the representative conv needs a pooled map") }
            (pool, pooledImage) = (nil, 0)
        }
        outputImage = redundant.outputImage
        rowSums = 2 * redundant.outputBlocks * block * redundant.outputRows
        let representativeWeightBytes: Int
        switch representative {
        case .direct(let conv):
            let d = conv.descriptor
            precondition(conv.outputImage == outputImage && d.block == block && d.h == height + 2 * padding && d.w == width + 2 * padding
                         && d.pad == 0,
                         "SPConv branches: representative conv \(d.h)x\(d.w) for a \(height)x\(width) map bordered by \(padding)")
            (representativeBlocks, borderedImage, winogradScratch) = (Int(d.in_blocks), conv.inputImage, 0)
            representativeWeightBytes = conv.weightBytes
        case .winograd(let conv):
            precondition(conv.outputImage == outputImage && conv.block == block && conv.height == height && conv.width == width
                         && conv.inputImage == inputBlocks * height * width * block,
                         "SPConv branches: Winograd representative conv of \(conv.height)x\(conv.width) for a \(height)x\(width) map")
            (representativeBlocks, borderedImage, winogradScratch) = (0, 0, conv.scratchPerThread)
            chunk = conv.batch
            return
        }
        chunk = Self.imagesPerChunk(weightBytes: representativeWeightBytes + redundant.weightBytes,
                                    imageBytes: (2 * outputImage + borderedImage + pooledImage) * MemoryLayout<Float>.stride,
                                    batch: batch, threads: threads)
    }

    /// Floats of scratch per thread: for ``chunk`` images the two output maps, the bordered copy
    /// and the pooled map, Winograd's own, and the rows' sums.
    package var scratchPerThread: Int { chunk * (2 * outputImage + borderedImage + pooledImage) + winogradScratch + rowSums }

    /// Floats from a thread's part of the scratch to its pooled maps (after the bordered copies).
    var pooledOffset: Int { chunk * (2 * outputImage + borderedImage) }

    /// Planes `planes` (channel blocks) of image `x`'s pooled map into `y`.
    fileprivate func pool(image x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, planes: Range<Int>) {
        guard var pool else { return }
        ck_pool_planes(&pool, x, y, planes.lowerBound, planes.upperBound)
    }

    /// Output blocks and rows of the layer.
    var outputBlocks: Int { redundant.outputBlocks }
    var outputRows: Int { redundant.outputRows }

    /// Runs the layer on channel-blocked `input` into `output`; `scratch` holds
    /// ``scratchPerThread`` floats for each of ``DNNL/maxThreads`` threads (or for one, then
    /// images run one at a time, each split over the threads).
    package func run(_ input: Tensor, residual: Tensor?, lanes: FusionLanes, scratch: inout Tensor, into output: inout Tensor) {
        let n = input.shape[0]
        let threads = max(1, DNNL.maxThreads)
        precondition(scratch.count >= scratchPerThread, "SPConv scratch of \(scratch.count) floats")
        precondition(output.layout == .channelBlocked(block) && output.count == n * outputImage,
                     "SPConv output of \(output.count) floats for \(n) images of \(outputImage)")
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
                            for i in 0..<n {
                                let region = SPConvImageRegion(images: work, image: i, perThread: perThread)
                                // Winograd's scratch for one thread only: the image on this thread.
                                if perThread || !isWinograd { parallelRegion(work: region) } else { region.run(thread: 0, threads: 1) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the representative branch runs on the own Winograd.
    var isWinograd: Bool {
        if case .winograd = representative { return true }
        return false
    }

    /// Copies the representative channel blocks of image `x` into `to` with a zero border (and
    /// in grouped mode's pair order where the representative conv reads two groups per block):
    /// `rows` of the bordered copy, all of them by default.
    fileprivate func border(image x: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>, conv: DirectConvolution,
                            rows: Range<Int>? = nil) {
        precondition(padding == 1, "SPConv's bordered copy has a one-pixel border")
        let d = conv.descriptor
        let rows = rows ?? 0..<(height + 2)
        ck_direct_conv_border(x, representativeBlocks, height, width, d.group_lanes == 2 ? d.group_k : 1, block, rows.lowerBound,
                              rows.upperBound, to)
    }
}

/// ``SPConvDirect``'s images: each thread runs whole images in its own part of the scratch
/// (the chunk's representative maps, its redundant maps, then its bordered copies or Winograd's
/// scratch).
private struct SPConvImagesWork: ParallelWork {
    let layer: SPConvDirect
    let input: UnsafePointer<Float>, residual: UnsafePointer<Float>?
    let scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    let lanes: FusionLanes

    fileprivate var inputImage: Int { layer.inputBlocks * layer.height * layer.width * layer.block }

    func run(_ images: Range<Int>) {
        let (image, chunk) = (layer.outputImage, layer.chunk)
        let mine = scratch + Int(omp_get_thread_num()) * layer.scratchPerThread
        let (reds, rest, pooled) = (mine + chunk * image, mine + 2 * chunk * image, mine + layer.pooledOffset)
        let pooledMaps = layer.pool == nil ? nil : UnsafePointer(pooled)
        for first in stride(from: images.lowerBound, to: images.upperBound, by: chunk) {
            let count = min(chunk, images.upperBound - first)
            let x = input + first * inputImage
            if pooledMaps != nil {
                for j in 0..<count { layer.pool(image: x + j * inputImage, into: pooled + j * layer.pooledImage, planes: 0..<layer.inputBlocks) }
            }
            switch layer.representative {
            case .direct(let rep):
                for j in 0..<count { layer.border(image: x + j * inputImage, into: rest + j * rep.inputImage, conv: rep) }
                rep.run(images: count, from: rest, stride: rep.inputImage, into: mine, stride: image, pooled: pooledMaps,
                        pooledStride: layer.pooledImage)
            case .winograd(let rep):
                // The chunk's images in one run: its tiles over them share each transformed weight.
                rep.run(from: x, into: mine, tiles: 0..<(count * rep.tilesPerImage), scratch: rest)
            }
            layer.redundant.run(images: count, from: pooledMaps ?? UnsafePointer(x), stride: pooledMaps == nil ? inputImage : layer.pooledImage,
                                into: reds, stride: image)
            for j in 0..<count {
                fuse(image: first + j, representative: mine + j * image, redundant: reds + j * image, blocks: 0..<layer.outputBlocks)
            }
        }
    }

    fileprivate func fuse(image i: Int, representative a: UnsafePointer<Float>, redundant r: UnsafePointer<Float>, blocks: Range<Int>) {
        let plane = layer.outputImage / (layer.outputBlocks * layer.block)
        let at = i * layer.outputImage
        ck_fuse_blocks(blocks.lowerBound, blocks.upperBound, layer.outputBlocks, plane, plane / layer.outputRows, a, r,
                       residual.map { $0 + at }, output + at, lanes.scale, lanes.shift, lanes.relu ? 1 : 0, Int32(layer.block))
    }
}

/// One image of ``SPConvDirect`` split over the threads in one parallel region (a batch smaller
/// than the thread count): the bordered copy by rows; a barrier; both convolutions by output rows
/// (by rows of 4x4 tiles with Winograd, each thread in its own part of the scratch for its
/// transforms), each row's channel sums taken while the row is in cache; a barrier; the fusion of
/// the same rows. The maps are in the first thread's part of the scratch, the rows' sums at its
/// end. Every thread passes both barriers, with or without rows of its own.
///
/// A small map (fewer than 16 rows) with a direct representative conv and output blocks that
/// divide evenly goes by output blocks instead: each thread convolves and fuses whole blocks, so
/// its register tiles span all the rows (a few rows per thread leave short tiles) and the fusion
/// needs no second barrier (a block's sums are its own).
private struct SPConvImageRegion: ParallelRegion {
    let images: SPConvImagesWork
    let image: Int
    /// Whether each thread has its own part of the scratch (for Winograd's transforms).
    let perThread: Bool

    func run(thread: Int, threads: Int) {
        let layer = images.layer
        let x = images.input + image * images.inputImage
        let (chunk, size, scratch) = (layer.chunk, layer.outputImage, images.scratch)
        let (representative, redundant) = (scratch, scratch + chunk * size)
        let sums = scratch + layer.scratchPerThread - layer.rowSums
        let allBlocks = 0..<layer.outputBlocks
        let rows: Range<Int>
        switch layer.representative {
        case .direct(let conv):
            let bordered = scratch + 2 * chunk * size, pooled = scratch + layer.pooledOffset
            let pooledMap = layer.pool == nil ? nil : UnsafePointer(pooled)
            layer.border(image: x, into: bordered, conv: conv, rows: threadShare(layer.height + 2, thread: thread, threads: threads))
            layer.pool(image: x, into: pooled, planes: threadShare(layer.inputBlocks, thread: thread, threads: threads))
            parallelBarrier()
            let redundantInput = pooledMap ?? x
            if layer.outputRows < 16 && layer.outputBlocks % threads == 0 && conv.outputBlocks == layer.outputBlocks {
                let blocks = threadShare(layer.outputBlocks, thread: thread, threads: threads)
                conv.run(image: bordered, into: representative, blocks: blocks, rows: 0..<layer.outputRows, pooled: pooledMap)
                layer.redundant.run(image: redundantInput, into: redundant, blocks: blocks, rows: 0..<layer.outputRows)
                images.fuse(image: image, representative: representative, redundant: redundant, blocks: blocks)
                return
            }
            rows = threadShare(layer.outputRows, thread: thread, threads: threads)
            if !rows.isEmpty {
                conv.run(image: bordered, into: representative, blocks: 0..<conv.outputBlocks, rows: rows, pooled: pooledMap)
                layer.redundant.run(image: redundantInput, into: redundant, blocks: allBlocks, rows: rows)
            }
        case .winograd(let conv):
            // Tile row r covers output rows 4r ..< 4r + 4.
            let tiles = threadShare(conv.tileRows, thread: thread, threads: threads)
            rows = min(4 * tiles.lowerBound, layer.outputRows)..<min(4 * tiles.upperBound, layer.outputRows)
            if !tiles.isEmpty {
                let own = scratch + (perThread ? thread : 0) * layer.scratchPerThread + 2 * chunk * size
                conv.run(from: x, into: representative, tiles: (tiles.lowerBound * conv.tilesPerRow)..<(tiles.upperBound * conv.tilesPerRow),
                         scratch: own)
                layer.redundant.run(image: x, into: redundant, blocks: allBlocks, rows: rows)
            }
        }
        let (blocks, plane) = (layer.outputBlocks, size / (layer.outputBlocks * layer.block))
        let width = plane / layer.outputRows
        ck_fuse_row_sums(blocks, plane, width, rows.lowerBound, rows.upperBound, representative, redundant, sums, Int32(layer.block))
        parallelBarrier()
        let at = image * size
        ck_fuse_rows(blocks, plane, width, sums, rows.lowerBound, rows.upperBound, representative, redundant,
                     images.residual.map { $0 + at }, images.output + at, images.lanes.scale, images.lanes.shift,
                     images.lanes.relu ? 1 : 0, Int32(layer.block))
    }
}

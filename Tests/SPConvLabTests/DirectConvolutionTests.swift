import CKernels
import Testing
@testable import SPConvLab

/// The engine's own inference convolution (`DirectConvolution`, `ck_direct_conv_rows`) against a
/// float64 convolution written here from the definition, in every C build this CPU runs and for
/// both block widths; the builds must agree bit for bit (one fused multiply-add per term, in one
/// order). Shapes cover channel ranges that start inside a block or span blocks, channel counts
/// that are not a multiple of the vector width, odd sizes, maps of one pixel, rows wider than
/// one register tile, stride 2 with and without padding, 1x1, 2x2 and 3x3 kernels, one, two and
/// four output blocks per tile, batch 1 and a bias.
@Suite struct DirectConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: [Int], channels: Range<Int>, outputChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool
        var testDescription: String {
            "\(shape) ch \(channels) -> \(outputChannels) k\(kernel) s\(stride) p\(padding)\(bias ? " bias" : "")"
        }
    }

    static let cases = [
        Case(shape: [2, 16, 12, 32], channels: 0..<8, outputChannels: 16, kernel: 3, stride: 1, padding: 1, bias: true),
        Case(shape: [1, 24, 7, 9], channels: 5..<21, outputChannels: 32, kernel: 3, stride: 1, padding: 1, bias: false),
        Case(shape: [3, 16, 8, 6], channels: 8..<16, outputChannels: 48, kernel: 1, stride: 1, padding: 0, bias: true),
        Case(shape: [2, 32, 10, 10], channels: 16..<32, outputChannels: 16, kernel: 2, stride: 2, padding: 0, bias: true),
        Case(shape: [1, 8, 9, 11], channels: 0..<3, outputChannels: 8, kernel: 3, stride: 2, padding: 1, bias: false),
        Case(shape: [2, 64, 4, 4], channels: 0..<32, outputChannels: 64, kernel: 3, stride: 1, padding: 1, bias: true),
        Case(shape: [1, 16, 1, 1], channels: 0..<8, outputChannels: 16, kernel: 3, stride: 1, padding: 1, bias: true),
        Case(shape: [1, 16, 3, 45], channels: 0..<16, outputChannels: 32, kernel: 3, stride: 1, padding: 1, bias: false),
        Case(shape: [1, 16, 10, 34], channels: 0..<16, outputChannels: 16, kernel: 3, stride: 1, padding: 0, bias: true),
    ]

    /// The convolution in float64 from the definition: NCHW output.
    static func reference(_ x: Tensor, _ c: Case, weight: Tensor, bias: Tensor?) -> [Double] {
        let (n, cin, h, w) = (c.shape[0], c.shape[1], c.shape[2], c.shape[3])
        let (oc, k, ks, s, p) = (c.outputChannels, c.channels.count, c.kernel, c.stride, c.padding)
        let (ho, wo) = ((h + 2 * p - ks) / s + 1, (w + 2 * p - ks) / s + 1)
        let (xs, ws) = (x.scalars, weight.scalars)
        var y = [Double](repeating: 0, count: n * oc * ho * wo)
        for b in 0..<n {
            for o in 0..<oc {
                for i in 0..<ho {
                    for j in 0..<wo {
                        var sum = Double(bias?.scalars[o] ?? 0)
                        for ic in 0..<k {
                            for kh in 0..<ks {
                                for kw in 0..<ks {
                                    let (ii, jj) = (i * s + kh - p, j * s + kw - p)
                                    guard ii >= 0, ii < h, jj >= 0, jj < w else { continue }
                                    sum += Double(ws[((o * k + ic) * ks + kh) * ks + kw])
                                        * Double(xs[((b * cin + c.channels.lowerBound + ic) * h + ii) * w + jj])
                                }
                            }
                        }
                        y[((b * oc + o) * ho + i) * wo + j] = sum
                    }
                }
            }
        }
        return y
    }

    @Test(arguments: cases)
    func matchesFloat64ConvolutionInEveryBuild(_ c: Case) {
        var generator = SeededGenerator(seed: 5)
        let x = Tensor.gaussian(c.shape, generator: &generator)
        let weight = Tensor.gaussian([c.outputChannels, c.channels.count, c.kernel, c.kernel], generator: &generator)
        let bias = c.bias ? Tensor.gaussian([c.outputChannels], generator: &generator) : nil
        let expected = Self.reference(x, c, weight: weight, bias: bias)
        var first: [Float]?
        // The baseline build (0) runs the kernel too, but its multiply-adds are library calls:
        // the engine never picks it, and it is left out here for time.
        for level in CKernelsTests.levels where level >= 1 {
            for block in [8, 16] {
                _ = DNNL.shared
                ck_select_isa(level)
                let conv = DirectConvolution(weight: weight, bias: bias, channels: c.channels, inputChannels: c.shape[1],
                                             height: c.shape[2], width: c.shape[3], stride: c.stride, padding: c.padding, block: block)
                let output = conv(x.channelBlocked(block), outputChannels: c.outputChannels)
                ck_select_isa(ck_engine_isa())
                NarrowConvolutionTests.expectScaled(output, expected, "build \(level), \(block) lanes")
                let values = output.rowMajor().scalars
                if let first {
                    CKernelsTests.expectBits(values, first, "build \(level), \(block) lanes against the first")
                } else {
                    first = values
                }
            }
        }
    }
}

/// The direct convolution as the compiled graph runs a dense convolution with it
/// (`PackedConvolution`): dense mode only (`rowGroups: false`), a residual held in the output
/// added and a ReLU (`sum`, `relu`), a whole batch on all threads (whole images per thread, or
/// at batch 1 one image's rows or output blocks split), from a channel-blocked input and from a
/// row-major one read where it lies (`rowMajorInput`); against float64 from the definition, in
/// every C build with multiply-add instructions and both block widths where it has them.
@Suite struct DenseDirectConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: [Int], outputChannels: Int, kernel: Int, stride: Int, padding: Int, sum: Bool, relu: Bool
        var testDescription: String {
            "\(shape) -> \(outputChannels) k\(kernel) s\(stride) p\(padding)\(sum ? " sum" : "")\(relu ? " relu" : "")"
        }
    }

    static let cases = [
        Case(shape: [3, 3, 13, 15], outputChannels: 16, kernel: 7, stride: 2, padding: 3, sum: false, relu: true),
        Case(shape: [2, 32, 9, 9], outputChannels: 48, kernel: 1, stride: 2, padding: 0, sum: true, relu: false),
        Case(shape: [1, 16, 6, 7], outputChannels: 32, kernel: 3, stride: 1, padding: 1, sum: true, relu: true),
        Case(shape: [4, 24, 5, 11], outputChannels: 20, kernel: 1, stride: 1, padding: 0, sum: true, relu: true),
        Case(shape: [1, 8, 16, 16], outputChannels: 64, kernel: 3, stride: 2, padding: 1, sum: false, relu: false),
        Case(shape: [5, 16, 5, 9], outputChannels: 32, kernel: 3, stride: 2, padding: 1, sum: true, relu: true),
        // A 1x1 with more than 128 channels runs them in chunks of 64 (partial sums in the output;
        // the residual taken in with the first, the ReLU with the last).
        Case(shape: [2, 160, 5, 6], outputChannels: 32, kernel: 1, stride: 1, padding: 0, sum: true, relu: true),
        Case(shape: [3, 200, 4, 3], outputChannels: 16, kernel: 1, stride: 2, padding: 0, sum: false, relu: true),
        // Narrow maps' 3x3 rows run in edge tiles (the border pixels leave out their taps off the
        // map): one tile of 4-6 pixels with four output blocks or of 7-14 with two (two or one
        // with 8 lanes in the AVX2 build), or a left and a right tile; stride 1 and 2 (an even
        // input width); a map of one row. Not in edge tiles: 5 pixels with three blocks (no whole
        // tiles), an odd width at stride 2, 30 pixels (more than two tiles).
        Case(shape: [1, 64, 8, 8], outputChannels: 64, kernel: 3, stride: 1, padding: 1, sum: true, relu: true),
        Case(shape: [2, 32, 14, 14], outputChannels: 32, kernel: 3, stride: 1, padding: 1, sum: false, relu: true),
        Case(shape: [2, 40, 5, 5], outputChannels: 64, kernel: 3, stride: 1, padding: 1, sum: true, relu: false),
        Case(shape: [3, 16, 1, 12], outputChannels: 32, kernel: 3, stride: 1, padding: 1, sum: false, relu: false),
        Case(shape: [1, 32, 3, 20], outputChannels: 32, kernel: 3, stride: 1, padding: 1, sum: true, relu: true),
        Case(shape: [2, 32, 16, 16], outputChannels: 64, kernel: 3, stride: 2, padding: 1, sum: false, relu: true),
        Case(shape: [1, 16, 6, 28], outputChannels: 32, kernel: 3, stride: 2, padding: 1, sum: true, relu: false),
        Case(shape: [1, 16, 5, 32], outputChannels: 32, kernel: 3, stride: 2, padding: 1, sum: false, relu: true),
        Case(shape: [1, 16, 5, 5], outputChannels: 48, kernel: 3, stride: 1, padding: 1, sum: false, relu: true),
        Case(shape: [1, 16, 7, 15], outputChannels: 32, kernel: 3, stride: 2, padding: 1, sum: true, relu: true),
        Case(shape: [1, 16, 3, 30], outputChannels: 32, kernel: 3, stride: 1, padding: 1, sum: true, relu: true),
        // Strided 1x1s run on their input pixels gathered into long rows: several row groups
        // (20 output rows, 12 a group) split over the threads, channels not a multiple of the
        // block, stride 3, and more output blocks than a 256 KiB chunk of weights.
        Case(shape: [1, 64, 40, 40], outputChannels: 64, kernel: 1, stride: 2, padding: 0, sum: true, relu: true),
        Case(shape: [2, 24, 10, 10], outputChannels: 32, kernel: 1, stride: 2, padding: 0, sum: false, relu: false),
        Case(shape: [1, 16, 9, 9], outputChannels: 16, kernel: 1, stride: 3, padding: 0, sum: true, relu: false),
        Case(shape: [1, 512, 4, 4], outputChannels: 256, kernel: 1, stride: 2, padding: 0, sum: false, relu: true),
        // A CIFAR stem's rows (two edge tiles of 16 from a row-major input) and one tile of 10.
        Case(shape: [2, 3, 12, 32], outputChannels: 16, kernel: 3, stride: 1, padding: 1, sum: false, relu: true),
        Case(shape: [1, 3, 5, 10], outputChannels: 32, kernel: 3, stride: 1, padding: 1, sum: true, relu: false),
    ]

    /// A 1x1 conv's map seen as the longest rows whose input fits 256 KiB, derived by hand from
    /// the divisors of h w: 56x56 by 256 channels (1 KiB a pixel) is 14 rows of 224 (the next
    /// divisor, 392, is 392 KiB); by 64 channels 4 rows of 784; 7x7 by 2048 channels (8 KiB a
    /// pixel) keeps its rows (49 pixels are 392 KiB); strided or 3x3 convs keep theirs.
    @Test func pointwiseRowsAreTheLongestThatFitTheCache() {
        let pointwise = Conv2DGeometry(kernelSize: 1)
        #expect(PackedConvolution.pointwise(pointwise, inputShape: [8, 256, 56, 56]) == (14, 224))
        #expect(PackedConvolution.pointwise(pointwise, inputShape: [1, 64, 56, 56]) == (4, 784))
        #expect(PackedConvolution.pointwise(pointwise, inputShape: [8, 2048, 7, 7]) == (7, 7))
        #expect(PackedConvolution.pointwise(Conv2DGeometry(kernelSize: 1, stride: 2), inputShape: [8, 256, 56, 56]) == (56, 56))
        #expect(PackedConvolution.pointwise(Conv2DGeometry(kernelSize: 3, padding: 1), inputShape: [8, 64, 56, 56]) == (56, 56))
        // Split over two threads by rows (batch 1): 28x28 by 512 channels (2 KiB a pixel) would
        // be 7 rows of 112; 8 rows of 98 share evenly (98 >= 112 / 2). 56x56 by 256 channels is
        // 14 rows already. 7x7 by 2048 has no even count of rows but 49 of one pixel (too narrow).
        #expect(DirectConvolution.pointwiseRows(channels: 512, height: 28, width: 28) == (7, 112))
        #expect(DirectConvolution.pointwiseRows(channels: 512, height: 28, width: 28, parts: 2) == (8, 98))
        #expect(DirectConvolution.pointwiseRows(channels: 256, height: 56, width: 56, parts: 2) == (14, 224))
        #expect(DirectConvolution.pointwiseRows(channels: 2048, height: 7, width: 7, parts: 2) == (7, 7))
    }

    @Test(arguments: cases)
    func matchesFloat64WithEpilogue(_ c: Case) {
        var generator = SeededGenerator(seed: 9)
        let x = Tensor.gaussian(c.shape, generator: &generator)
        let weight = Tensor.gaussian([c.outputChannels, c.shape[1], c.kernel, c.kernel], generator: &generator)
        let bias = Tensor.gaussian([c.outputChannels], generator: &generator)
        let plain = DirectConvolutionTests.Case(shape: c.shape, channels: 0..<c.shape[1], outputChannels: c.outputChannels,
                                                kernel: c.kernel, stride: c.stride, padding: c.padding, bias: true)
        var expected = DirectConvolutionTests.reference(x, plain, weight: weight, bias: bias)
        let (ho, wo) = ((c.shape[2] + 2 * c.padding - c.kernel) / c.stride + 1, (c.shape[3] + 2 * c.padding - c.kernel) / c.stride + 1)
        let outputShape = [c.shape[0], c.outputChannels, ho, wo]
        let residual = Tensor.gaussian(outputShape, generator: &generator)
        for i in expected.indices {
            if c.sum { expected[i] += Double(residual.scalars[i]) }
            if c.relu { expected[i] = max(expected[i], 0) }
        }
        // Every build with multiply-add instructions: AVX2's (level 1) with its 16 registers has
        // other tiles than AVX-512's.
        for level in CKernelsTests.levels where level >= 1 {
            _ = DNNL.shared
            ck_select_isa(level)
            defer { ck_select_isa(ck_engine_isa()) }
            for block in [8, 16] where block == 8 || level >= 2 {
                let conv = DirectConvolution(weight: weight, bias: bias, channels: 0..<c.shape[1], inputChannels: c.shape[1],
                                             height: c.shape[2], width: c.shape[3], stride: c.stride, padding: c.padding, block: block,
                                             sum: c.sum, relu: c.relu, rowGroups: false)
                let start = c.sum ? residual.channelBlocked(block) : Tensor(zeroedShape: outputShape, layout: .channelBlocked(block))
                var fromBlocked = start, fromRowMajor = start
                let blocked = x.channelBlocked(block)
                blocked.withUnsafeBufferPointer { xs in
                    fromBlocked.withUnsafeMutableBufferPointer { y in conv.run(batch: c.shape[0], from: xs.baseAddress!, into: y.baseAddress!) }
                }
                let rowMajor = DirectConvolution(weight: weight, bias: bias, channels: 0..<c.shape[1], inputChannels: c.shape[1],
                                                 height: c.shape[2], width: c.shape[3], stride: c.stride, padding: c.padding,
                                                 block: block, sum: c.sum, relu: c.relu, rowGroups: false, rowMajorInput: true)
                x.withUnsafeBufferPointer { xs in
                    fromRowMajor.withUnsafeMutableBufferPointer { y in rowMajor.run(batch: c.shape[0], from: xs.baseAddress!, into: y.baseAddress!) }
                }
                NarrowConvolutionTests.expectScaled(fromBlocked, expected, "build \(level), \(block) lanes, blocked input")
                // The same multiply-adds in the same order, only read from another layout.
                CKernelsTests.expectBits(fromRowMajor.rowMajor().scalars, fromBlocked.rowMajor().scalars,
                                         "build \(level), \(block) lanes, row-major input")
                // With scratch, a strided 1x1 runs at stride 1 over its subsampled input (the
                // other cases need none and must take the path above).
                let needed = conv.scratchCount(batch: c.shape[0])
                #expect((needed > 0) == (c.kernel == 1 && c.stride > 1), "scratch of \(needed) floats")
                var withScratch = start, scratch = [Float](repeating: .nan, count: max(1, needed))
                blocked.withUnsafeBufferPointer { xs in
                    withScratch.withUnsafeMutableBufferPointer { y in
                        scratch.withUnsafeMutableBufferPointer { s in
                            conv.run(batch: c.shape[0], from: xs.baseAddress!, into: y.baseAddress!, scratch: s.baseAddress!)
                        }
                    }
                }
                NarrowConvolutionTests.expectScaled(withScratch, expected, "build \(level), \(block) lanes, with scratch")
            }
        }
    }
}

/// Grouped mode (`DirectConvolution(spconvRepresentative:...)` over `ck_direct_conv_border`'s
/// copy): SPConv's representative branch, `scale * (gwc(x) + pwc(x or AvgPool2d(2, 2)(x))) + shift`,
/// against float64 from the definition, in every C build and both block widths where it applies:
/// one group per output block or several blocks per group (G = 1), two groups per block with
/// their inputs interleaved (G = 2, group widths 1, 2, 4 and 8), stride 1 and 2, odd sizes,
/// batch 1, channels beyond the representative ones in the input's last block.
@Suite struct GroupedDirectConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: [Int], representative: Int, outputChannels: Int, groups: Int, stride: Int
        var testDescription: String { "\(shape) rep \(representative) -> \(outputChannels) g\(groups) s\(stride)" }
    }

    static let cases = [
        Case(shape: [2, 16, 9, 13], representative: 8, outputChannels: 16, groups: 2, stride: 1),
        Case(shape: [1, 32, 6, 8], representative: 16, outputChannels: 32, groups: 2, stride: 2),
        Case(shape: [2, 64, 5, 5], representative: 32, outputChannels: 64, groups: 2, stride: 1),
        Case(shape: [1, 16, 7, 30], representative: 4, outputChannels: 16, groups: 4, stride: 1),
        Case(shape: [1, 32, 4, 6], representative: 16, outputChannels: 32, groups: 4, stride: 2),
        Case(shape: [1, 48, 3, 3], representative: 32, outputChannels: 64, groups: 4, stride: 1),
        Case(shape: [1, 16, 5, 4], representative: 16, outputChannels: 16, groups: 2, stride: 1),
        Case(shape: [2, 32, 8, 8], representative: 24, outputChannels: 32, groups: 1, stride: 1),
        Case(shape: [2, 48, 6, 10], representative: 24, outputChannels: 32, groups: 2, stride: 2),
    ]

    /// AvgPool2d(2, 2) of every channel block of each image of channel-blocked `x`
    /// (`[n][blocks][h][w][block]`), as `[n][blocks][h / 2][w / 2][block]`: what
    /// ``DirectConvolution/readsPooledMap`` convolutions read for pwc.
    static func pooled(_ x: [Float], images n: Int, blocks: Int, h: Int, w: Int, block: Int) -> [Float] {
        var y = [Float](repeating: 0, count: n * blocks * (h / 2) * (w / 2) * block)
        for plane in 0..<(n * blocks) {
            for i in 0..<(h / 2) {
                for j in 0..<(w / 2) {
                    for l in 0..<block {
                        func at(_ r: Int, _ c: Int) -> Float { x[((plane * h + r) * w + c) * block + l] }
                        y[((plane * (h / 2) + i) * (w / 2) + j) * block + l] =
                            (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1)) / 4
                    }
                }
            }
        }
        return y
    }

    /// The branch in float64, NCHW.
    static func reference(_ x: Tensor, _ c: Case, gwc: Tensor, pwc: Tensor, scale: [Float], shift: [Float]) -> [Double] {
        let (n, cin, h, w) = (c.shape[0], c.shape[1], c.shape[2], c.shape[3])
        let (out, rep, s) = (c.outputChannels, c.representative, c.stride)
        let (gk, perGroup) = (rep / c.groups, out / c.groups)
        let (ho, wo) = (h / s, w / s)
        func at(_ b: Int, _ ch: Int, _ i: Int, _ j: Int) -> Double {
            i < 0 || i >= h || j < 0 || j >= w ? 0 : Double(x.scalars[((b * cin + ch) * h + i) * w + j])
        }
        var y = [Double](repeating: 0, count: n * out * ho * wo)
        for b in 0..<n {
            for o in 0..<out {
                let group = o / perGroup
                for i in 0..<ho {
                    for j in 0..<wo {
                        var sum = 0.0
                        for k in 0..<gk {
                            for t in 0..<9 {
                                sum += Double(gwc.scalars[(o * gk + k) * 9 + t]) * at(b, group * gk + k, i * s + t / 3 - 1, j * s + t % 3 - 1)
                            }
                        }
                        for k in 0..<rep {
                            let v = s == 1 ? at(b, k, i, j)
                                : (at(b, k, 2 * i, 2 * j) + at(b, k, 2 * i, 2 * j + 1) + at(b, k, 2 * i + 1, 2 * j) + at(b, k, 2 * i + 1, 2 * j + 1)) / 4
                            sum += Double(pwc.scalars[o * rep + k]) * v
                        }
                        y[((b * out + o) * ho + i) * wo + j] = Double(scale[o]) * sum + Double(shift[o])
                    }
                }
            }
        }
        return y
    }

    @Test(arguments: cases)
    func matchesFloat64BranchInEveryBuild(_ c: Case) throws {
        var generator = SeededGenerator(seed: 9)
        let (n, cin, h, w) = (c.shape[0], c.shape[1], c.shape[2], c.shape[3])
        let x = Tensor.gaussian(c.shape, generator: &generator)
        let gwc = Tensor.gaussian([c.outputChannels, c.representative / c.groups, 3, 3], generator: &generator)
        let pwc = Tensor.gaussian([c.outputChannels, c.representative, 1, 1], generator: &generator)
        let scale = Tensor.uniform([c.outputChannels], in: 0.5...1.5, generator: &generator).scalars
        let shift = Tensor.gaussian([c.outputChannels], generator: &generator).scalars
        let expected = Self.reference(x, c, gwc: gwc, pwc: pwc, scale: scale, shift: shift)
        // The builds agree bit for bit per block width (the widths may group the lanes differently,
        // which changes the order of pwc's terms).
        // At stride 2 also with pwc reading a pooled map (made here from the definition).
        var first: [String: [Float]] = [:]
        var ran = 0
        for level in CKernelsTests.levels where level >= 1 {
            for block in [8, 16] {
                for pooled in c.stride == 2 ? [false, true] : [false] {
                    _ = DNNL.shared
                    ck_select_isa(level)
                    defer { ck_select_isa(ck_engine_isa()) }
                    guard let conv = DirectConvolution(spconvRepresentative: gwc, pointwise: pwc, scale: scale, shift: shift, groups: c.groups,
                                                       stride: c.stride, height: h + 2, width: w + 2, block: block,
                                                       pooledPointwise: pooled) else { continue }
                    ran += 1
                    let blocked = x.channelBlocked(block)
                    let (repBlocks, outBlocks) = ((c.representative + block - 1) / block, c.outputChannels / block)
                    let (ho, wo) = (h / c.stride, w / c.stride)
                    let inBlocks = (cin + block - 1) / block
                    let pooledMaps = Self.pooled(blocked.scalars, images: n, blocks: inBlocks, h: h, w: w, block: block)
                    var bordered = [Float](repeating: .nan, count: repBlocks * (h + 2) * (w + 2) * block)
                    var output = Tensor(zeroedShape: [n, c.outputChannels, ho, wo], layout: .channelBlocked(block))
                    let groupK = conv.descriptor.group_lanes == 2 ? conv.descriptor.group_k : 1
                    blocked.withUnsafeBufferPointer { xs in
                        output.withUnsafeMutableBufferPointer { ys in
                            bordered.withUnsafeMutableBufferPointer { bs in
                                for image in 0..<n {
                                    ck_direct_conv_border(xs.baseAddress! + image * ((cin + block - 1) / block) * h * w * block, repBlocks, h, w,
                                                          groupK, block, 0, h + 2, bs.baseAddress!)
                                    pooledMaps.withUnsafeBufferPointer { ps in
                                        conv.run(image: bs.baseAddress!, into: ys.baseAddress! + image * outBlocks * ho * wo * block,
                                                 blocks: 0..<outBlocks, rows: 0..<ho,
                                                 pooled: pooled ? ps.baseAddress! + image * inBlocks * ho * wo * block : nil)
                                    }
                                }
                            }
                        }
                    }
                    NarrowConvolutionTests.expectScaled(output, expected,
                                                        "build \(level), \(block) lanes, \(conv.descriptor.group_lanes) groups per block, pooled \(pooled)")
                    let values = output.rowMajor().scalars
                    if let earlier = first["\(block) \(pooled)"] {
                        CKernelsTests.expectBits(values, earlier, "build \(level), \(block) lanes, pooled \(pooled) against the first")
                    } else {
                        first["\(block) \(pooled)"] = values
                    }
                }
            }
        }
        #expect(ran > 0, "grouped mode applied to no block width")
    }
}

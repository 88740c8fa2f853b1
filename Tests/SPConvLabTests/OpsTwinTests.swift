import Foundation
import Testing
@testable import SPConvLab

/// Every fast kernel against its plain-loop reference twin, on random shapes.
@Suite struct OpsTwinTests {
    struct ConvCase: CustomTestStringConvertible, Sendable {
        var input: [Int]
        var outputChannels: Int
        var kernel: Int
        var stride = 1
        var padding = 0
        var dilation = 1
        var groups = 1
        var bias = true
        var testDescription: String { "in \(input) out \(outputChannels) k\(kernel) s\(stride) p\(padding) d\(dilation) g\(groups) bias \(bias)" }
    }

    static let convCases: [ConvCase] = [
        ConvCase(input: [2, 8, 9, 9], outputChannels: 16, kernel: 3, padding: 1),
        ConvCase(input: [1, 8, 8, 8], outputChannels: 8, kernel: 3, padding: 1, groups: 2, bias: false),
        ConvCase(input: [2, 16, 7, 11], outputChannels: 8, kernel: 3, stride: 2, padding: 1, groups: 4),
        ConvCase(input: [1, 12, 10, 10], outputChannels: 12, kernel: 3, padding: 1, groups: 12),      // depthwise
        ConvCase(input: [3, 5, 13, 13], outputChannels: 7, kernel: 1),                                  // 1x1, odd
        ConvCase(input: [1, 6, 12, 12], outputChannels: 4, kernel: 1, stride: 2, bias: false),
        ConvCase(input: [2, 4, 15, 15], outputChannels: 6, kernel: 3, padding: 2, dilation: 2),
        ConvCase(input: [1, 3, 17, 17], outputChannels: 8, kernel: 7, stride: 2, padding: 3),
        ConvCase(input: [1, 4, 8, 8], outputChannels: 8, kernel: 2, stride: 2),
        ConvCase(input: [1, 64, 5, 5], outputChannels: 32, kernel: 3, padding: 1, groups: 2),
        // Shapes for which oneDNN's `auto` algorithm picks Winograd on AVX-512 (checked below).
        ConvCase(input: [4, 64, 8, 8], outputChannels: 64, kernel: 3, padding: 1),
        ConvCase(input: [1, 64, 9, 7], outputChannels: 96, kernel: 3, padding: 1, bias: false),
        ConvCase(input: [2, 128, 14, 14], outputChannels: 64, kernel: 3, padding: 1),
    ]

    /// Winograd's transforms round differently from direct summation; its outputs must still
    /// match the reference within the same 1e-4 (the cases above), and the engine must really use
    /// it where oneDNN has it, or those cases would test nothing new.
    @Test func winogradRunsWhereOneDNNHasIt() throws {
        let key = ConvolutionKernel.Key(inputShape: [4, 64, 8, 8], outputChannels: 64,
                                        geometry: Conv2DGeometry(kernelSize: 3, stride: 1, padding: 1), hasBias: true, postOps: [])
        let kernel = try ConvolutionKernel(key)
        // oneDNN 2.6 has Winograd kernels only for AVX-512; SPCONVLAB_CONV_ALGO=direct forbids them.
        let expectsWinograd = DNNL.shared.channelBlock == 16 && getenv("SPCONVLAB_CONV_ALGO") == nil
        #expect(kernel.implementationName.contains("wino") == expectsWinograd, "\(kernel.implementationName)")
    }

    @Test(arguments: convCases)
    func conv2dMatchesReference(_ c: ConvCase) throws {
        var g = SeededGenerator(seed: 7)
        let x = Tensor.uniform(c.input, generator: &g)
        let w = Tensor.uniform([c.outputChannels, c.input[1] / c.groups, c.kernel, c.kernel], generator: &g)
        let b = c.bias ? Tensor.uniform([c.outputChannels], generator: &g) : nil
        let geometry = Conv2DGeometry(kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        expectClose(try Ops.conv2d(x, weight: w, bias: b, geometry: geometry),
                    ReferenceOps.conv2d(x, weight: w, bias: b, geometry: geometry), rtol: 1e-4, atol: 1e-4)
    }

    @Test func convPostOpsFuseSumAndReLU() throws {
        var g = SeededGenerator(seed: 3)
        let x = Tensor.uniform([2, 8, 6, 6], generator: &g)
        let conv = Conv2D(inputChannels: 8, outputChannels: 8, kernelSize: 3, padding: 1, groups: 2)
        conv.weight = .uniform(conv.weight.shape, generator: &g)
        conv.bias = .uniform([8], generator: &g)
        let residual = Tensor.uniform([2, 8, 6, 6], generator: &g)
        let fused = try PackedConvolution(weight: conv.weight, bias: conv.bias, geometry: conv.geometry, inputShape: x.shape,
                                          postOps: [.sum, .relu]).run(x, residual: residual).rowMajor()
        let expected = ReferenceOps.relu(ReferenceOps.add(
            ReferenceOps.conv2d(x, weight: conv.weight, bias: conv.bias, geometry: conv.geometry), residual))
        expectClose(fused, expected, atol: 1e-4)
    }

    @Test(arguments: [[2, 5, 9, 9], [1, 3, 8, 8], [1, 1, 7, 10]])
    func poolsMatchReference(_ shape: [Int]) {
        var g = SeededGenerator(seed: 11)
        let x = Tensor.uniform(shape, generator: &g)
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)] {
            expectClose(Ops.maxPool2d(x, kernelSize: k, stride: s, padding: p),
                        ReferenceOps.maxPool2d(x, kernelSize: k, stride: s, padding: p), "max k\(k) s\(s) p\(p)")
            expectClose(Ops.avgPool2d(x, kernelSize: k, stride: s, padding: p),
                        ReferenceOps.avgPool2d(x, kernelSize: k, stride: s, padding: p), "avg k\(k) s\(s) p\(p)")
        }
        expectClose(Ops.adaptiveAvgPool2d(x, outputSize: 1), ReferenceOps.adaptiveAvgPool2d(x, outputSize: 1))
    }

    @Test(arguments: [[1, 4, 5, 5], [3, 16, 8, 2]])
    func elementwiseMatchReference(_ shape: [Int]) {
        var g = SeededGenerator(seed: 5)
        let x = Tensor.uniform(shape, generator: &g), y = Tensor.uniform(shape, generator: &g)
        let c = shape[1]
        let mean = Tensor.uniform([c], generator: &g), variance = Tensor.uniform([c], in: 0.1...2, generator: &g)
        let scale = Tensor.uniform([c], generator: &g), shift = Tensor.uniform([c], generator: &g)
        expectClose(Ops.batchNorm(x, mean: mean, variance: variance, scale: scale, shift: shift),
                    ReferenceOps.batchNorm(x, mean: mean, variance: variance, scale: scale, shift: shift))
        expectClose(Ops.relu(x), ReferenceOps.relu(x))
        expectClose(Ops.add(x, y), ReferenceOps.add(x, y))
        let perChannel = Tensor.uniform([shape[0], c, 1, 1], generator: &g)
        expectClose(Ops.multiply(x, perChannel), ReferenceOps.multiply(x, perChannel))
        for axis in 0..<4 { expectClose(Ops.softmax(x, axis: axis), ReferenceOps.softmax(x, axis: axis), "softmax axis \(axis)") }
        expectClose(Ops.sliceChannels(x, 1..<c), ReferenceOps.sliceChannels(x, 1..<c))
        expectClose(Ops.concatChannels([x, y]), ReferenceOps.concatChannels([x, y]))
    }

    @Test func linearMatchesReference() {
        var g = SeededGenerator(seed: 9)
        for (n, i, o) in [(1, 64, 10), (5, 17, 3), (32, 512, 100)] {
            let x = Tensor.uniform([n, i], generator: &g)
            let w = Tensor.uniform([o, i], generator: &g), b = Tensor.uniform([o], generator: &g)
            expectClose(Ops.linear(x, weight: w, bias: b), ReferenceOps.linear(x, weight: w, bias: b), atol: 1e-4)
        }
    }

    @Test func softmaxFusionMatchesReference() {
        var g = SeededGenerator(seed: 13)
        let a = Tensor.uniform([2, 3, 4, 4], generator: &g), r = Tensor.uniform([2, 3, 4, 4], generator: &g)
        let fused = ElementwiseKernels.softmaxFusion(representative: a, redundant: r)
        let ma = ReferenceOps.adaptiveAvgPool2d(a, outputSize: 1), mr = ReferenceOps.adaptiveAvgPool2d(r, outputSize: 1)
        let wa = Tensor(shape: ma.shape, scalars: zip(ma.scalars, mr.scalars).map { 1 / (1 + exp($1 - $0)) })
        let wr = Tensor(shape: ma.shape, scalars: wa.scalars.map { 1 - $0 })
        expectClose(fused, ReferenceOps.add(ReferenceOps.multiply(a, wa), ReferenceOps.multiply(r, wr)))
    }
}

/// Pooling with any window (ONNX's MaxPool / AveragePool): `ElementwiseKernels.windowPool` on
/// row-major maps and `PoolingKernel` on channel-blocked ones (the engine's own loop for square
/// windows with padding counted, oneDNN's otherwise), both against a float64 loop written from
/// the ONNX operator definition.
@Suite struct WindowPoolTwinTests {
    struct PoolCase: CustomTestStringConvertible, Sendable {
        var input: [Int]
        var kernel: [Int]
        var strides: [Int]
        var dilations = [1, 1]
        var pads = [0, 0, 0, 0]
        var isMax: Bool
        var countIncludesPad = false
        var testDescription: String {
            "\(isMax ? "max" : countIncludesPad ? "avg incl" : "avg excl") in \(input) k\(kernel) s\(strides) d\(dilations) pads \(pads)"
        }
    }

    static let cases: [PoolCase] = [
        PoolCase(input: [2, 20, 9, 11], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], isMax: true),
        PoolCase(input: [1, 16, 8, 8], kernel: [3, 2], strides: [1, 2], pads: [0, 1, 2, 0], isMax: false),
        PoolCase(input: [2, 5, 10, 10], kernel: [2, 3], strides: [2, 1], dilations: [2, 1], pads: [1, 0, 0, 1], isMax: false,
                 countIncludesPad: true),
        PoolCase(input: [1, 33, 7, 7], kernel: [7, 7], strides: [7, 7], isMax: false),                  // global average
        PoolCase(input: [1, 8, 12, 9], kernel: [3, 3], strides: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2], isMax: true),
        PoolCase(input: [3, 17, 6, 5], kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], isMax: false),
        // The own loop: resnet50's max pool, SPConv's 2x2 average, an average with padding counted.
        PoolCase(input: [2, 21, 12, 11], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], isMax: true),
        PoolCase(input: [1, 32, 8, 10], kernel: [2, 2], strides: [2, 2], isMax: false, countIncludesPad: true),
        PoolCase(input: [2, 9, 7, 9], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], isMax: false, countIncludesPad: true),
    ]

    /// ONNX's definition, in float64: window positions `o * s - pad_begin + k * d`; the average
    /// divides by the positions inside the map, or with count_include_pad by those inside the
    /// padded map.
    static func expected(_ x: Tensor, _ c: PoolCase) -> Tensor {
        let (n, ch, h, w) = x.nchw
        func extent(_ axis: Int) -> Int {
            (x.shape[axis + 2] + c.pads[axis] + c.pads[axis + 2] - (c.dilations[axis] * (c.kernel[axis] - 1) + 1)) / c.strides[axis] + 1
        }
        let (oh, ow) = (extent(0), extent(1))
        var out = [Float]()
        for plane in 0..<(n * ch) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var (best, sum, inside, padded) = (-Double.infinity, 0.0, 0, 0)
                    for ky in 0..<c.kernel[0] {
                        for kx in 0..<c.kernel[1] {
                            let iy = oy * c.strides[0] - c.pads[0] + ky * c.dilations[0]
                            let ix = ox * c.strides[1] - c.pads[1] + kx * c.dilations[1]
                            if iy < h + c.pads[2] && ix < w + c.pads[3] { padded += 1 }
                            guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                            let v = Double(x.scalars[(plane * h + iy) * w + ix])
                            (best, sum, inside) = (max(best, v), sum + v, inside + 1)
                        }
                    }
                    out.append(Float(c.isMax ? best : sum / Double(c.countIncludesPad ? padded : inside)))
                }
            }
        }
        return Tensor(shape: [n, ch, oh, ow], scalars: out)
    }

    @Test(arguments: cases)
    func bothKernelsMatchTheDefinition(_ c: PoolCase) throws {
        var g = SeededGenerator(seed: 11)
        let x = Tensor.uniform(c.input, generator: &g)
        let want = Self.expected(x, c)
        let rowMajor = ElementwiseKernels.windowPool(x, outH: want.shape[2], outW: want.shape[3], kernel: c.kernel, strides: c.strides,
                                                     dilations: c.dilations, pads: c.pads, isMax: c.isMax,
                                                     countIncludesPad: c.countIncludesPad)
        expectClose(rowMajor, want, rtol: 1e-6, atol: 1e-6)
        let kernel = try PoolingKernel(.init(inputShape: c.input, kernel: c.kernel, strides: c.strides, dilations: c.dilations,
                                             pads: c.pads, isMax: c.isMax, countIncludesPad: c.countIncludesPad))
        #expect(kernel.outputShape == want.shape)
        expectClose(try kernel.run(x.channelBlocked(DNNL.shared.channelBlock)), want, rtol: 1e-6, atol: 1e-6)
    }

    /// The ONNX fixtures' small late stages (1x1 and 2x2 maps) once ran Winograd, 17x slower than
    /// direct there; it is offered from 7x7 outputs up.
    @Test(.enabled(if: getenv("SPCONVLAB_CONV_ALGO") == nil, "SPCONVLAB_CONV_ALGO forces an algorithm"))
    func smallMapsRunDirect() throws {
        for (channels, size) in [(128, 1), (64, 2), (32, 4)] {
            let kernel = try ConvolutionKernel(.init(inputShape: [32, channels, size, size], outputChannels: channels,
                                                     geometry: Conv2DGeometry(kernelSize: 3, stride: 1, padding: 1), hasBias: true, postOps: []))
            #expect(!kernel.implementationName.contains("wino"), "\(channels) channels on \(size)x\(size): \(kernel.implementationName)")
        }
    }
}

/// The compiled graph's classifier (`ElementwiseKernels.linearByRows`, `ck_linear_rows`) against
/// float64 from the definition `y = x W^T + b`: row counts around its four-row blocks (1, 3, 4, 9),
/// feature counts below, at and past its 16 lanes, with and without a bias.
@Suite struct LinearByRowsTests {
    @Test(arguments: [(1, 7, 5, true), (3, 16, 10, false), (4, 35, 33, true), (9, 2048, 40, true)])
    func matchesFloat64(_ n: Int, _ inFeatures: Int, _ outFeatures: Int, _ hasBias: Bool) {
        var g = SeededGenerator(seed: 21)
        let x = Tensor.gaussian([n, inFeatures], generator: &g)
        let w = Tensor.gaussian([outFeatures, inFeatures], generator: &g)
        let b = hasBias ? Tensor.gaussian([outFeatures], generator: &g) : nil
        var y = Tensor(zeroedShape: [n, outFeatures], layout: .rowMajor)
        ElementwiseKernels.linearByRows(x, weight: w, bias: b, into: &y)
        // Float32 sums of many terms: each output within 1e-6 of the sum of its terms' magnitudes
        // (a float32 rounding error is 6e-8 of a term, and a term's sum passes about 150 additions).
        for i in 0..<n {
            for o in 0..<outFeatures {
                var (sum, magnitude) = (Double(b?.scalars[o] ?? 0), abs(Double(b?.scalars[o] ?? 0)))
                for j in 0..<inFeatures {
                    let term = Double(x.scalars[i * inFeatures + j]) * Double(w.scalars[o * inFeatures + j])
                    (sum, magnitude) = (sum + term, magnitude + abs(term))
                }
                let got = Double(y.scalars[i * outFeatures + o])
                #expect(abs(got - sum) <= 1e-6 * magnitude, "row \(i) output \(o): \(got) against \(sum)")
            }
        }
    }
}

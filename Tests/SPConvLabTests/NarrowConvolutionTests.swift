import CKernels
import Testing
@testable import SPConvLab

/// SPConv's narrow convolutions (`NarrowConvolution`, `ck_narrow_conv_*`) against a direct
/// float64 convolution written here from the definition, in every build this CPU runs; the
/// builds must agree bit for bit (each multiply-add is one exactly rounded FMA, in the same order).
/// Shapes cover both row-block splits and the edge pixels (widths 1, 2, 17, 30), channel runs
/// that start inside a block, in a second block, of 4, 5, 7 and 8 channels, 1x1 and 3x3, several
/// output blocks, and a bias.
@Suite struct NarrowConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: [Int], channels: Range<Int>, outputChannels: Int, kernel: Int, bias: Bool
        var testDescription: String { "\(shape) ch \(channels) -> \(outputChannels) k\(kernel)\(bias ? " bias" : "")" }
    }

    static let cases = [
        Case(shape: [2, 16, 5, 30], channels: 0..<8, outputChannels: 16, kernel: 3, bias: false),
        Case(shape: [3, 16, 7, 7], channels: 8..<16, outputChannels: 32, kernel: 1, bias: true),
        Case(shape: [2, 32, 4, 3], channels: 20..<24, outputChannels: 16, kernel: 3, bias: true),
        Case(shape: [1, 16, 1, 1], channels: 3..<8, outputChannels: 16, kernel: 3, bias: false),
        Case(shape: [2, 16, 2, 17], channels: 1..<8, outputChannels: 48, kernel: 3, bias: true),
        Case(shape: [2, 16, 3, 2], channels: 4..<12, outputChannels: 16, kernel: 3, bias: false),
    ]

    /// y, dx, dW and db of the convolution in float64, from the definition.
    static func reference(_ x: Tensor, _ c: Case, weight: Tensor, bias: Tensor?, gradOutput dy: Tensor)
        -> (output: [Double], input: [Double], weight: [Double], bias: [Double]) {
        let (n, cin, h, w) = (c.shape[0], c.shape[1], c.shape[2], c.shape[3])
        let (oc, k, ks, pad) = (c.outputChannels, c.channels.count, c.kernel, (c.kernel - 1) / 2)
        let (xs, ws, gs) = (x.scalars, weight.scalars, dy.scalars)
        var y = [Double](repeating: 0, count: n * oc * h * w), dx = [Double](repeating: 0, count: n * cin * h * w)
        var dw = [Double](repeating: 0, count: ws.count), db = [Double](repeating: 0, count: oc)
        for b in 0..<n {
            for o in 0..<oc {
                for i in 0..<h {
                    for j in 0..<w {
                        let yi = ((b * oc + o) * h + i) * w + j
                        let g = Double(gs[yi])
                        var sum = Double(bias?.scalars[o] ?? 0)
                        db[o] += g
                        for ic in 0..<k {
                            for kh in 0..<ks {
                                for kw in 0..<ks {
                                    let (ii, jj) = (i + kh - pad, j + kw - pad)
                                    guard ii >= 0, ii < h, jj >= 0, jj < w else { continue }
                                    let xi = ((b * cin + c.channels.lowerBound + ic) * h + ii) * w + jj
                                    let wi = ((o * k + ic) * ks + kh) * ks + kw
                                    sum += Double(ws[wi]) * Double(xs[xi])
                                    dx[xi] += Double(ws[wi]) * g
                                    dw[wi] += Double(xs[xi]) * g
                                }
                            }
                        }
                        y[yi] = sum
                    }
                }
            }
        }
        return (y, dx, dw, db)
    }

    /// |actual - expected| <= 1e-5 x the largest |expected| (float32 sums of at most 72 terms).
    static func expectScaled(_ actual: Tensor, _ expected: [Double], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let values = actual.rowMajor().scalars
        let scale = max(expected.map(abs).max() ?? 0, 1e-30)
        let worst = zip(values, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(values.count == expected.count && worst <= 1e-5 * scale, "\(what): worst error \(worst) at scale \(scale)",
                sourceLocation: sourceLocation)
    }

    @Test(arguments: cases)
    func matchesDirectFloat64ConvolutionInEveryBuild(_ c: Case) {
        var generator = SeededGenerator(seed: 31)
        let x = Tensor.gaussian(c.shape, generator: &generator)
        let weight = Tensor.gaussian([c.outputChannels, c.channels.count, c.kernel, c.kernel], generator: &generator)
        let bias = c.bias ? Tensor.gaussian([c.outputChannels], generator: &generator) : nil
        let dy = Tensor.gaussian([c.shape[0], c.outputChannels, c.shape[2], c.shape[3]], generator: &generator)
        let expected = Self.reference(x, c, weight: weight, bias: bias, gradOutput: dy)
        let blockedX = TrainingKernels.blocked(x, block: 16), blockedDY = TrainingKernels.blocked(dy, block: 16)

        var first: (output: Tensor, input: Tensor, weight: Tensor, bias: Tensor?)?
        for level in CKernelsTests.levels {
            _ = DNNL.shared
            ck_select_isa(level)
            let output = NarrowConvolution.forward(blockedX, channels: c.channels, weight: weight, bias: bias)
            let grads = NarrowConvolution.backward(blockedDY, input: blockedX, channels: c.channels, weight: weight, hasBias: c.bias)
            ck_select_isa(ck_engine_isa())

            #expect(output.layout == .channelBlocked(16) && grads.input.layout == .channelBlocked(16))
            Self.expectScaled(output, expected.output, "output, build \(level)")
            Self.expectScaled(grads.input, expected.input, "input gradient, build \(level)")
            Self.expectScaled(grads.weight, expected.weight, "weight gradient, build \(level)")
            if c.bias { Self.expectScaled(grads.bias!, expected.bias, "bias gradient, build \(level)") } else { #expect(grads.bias == nil) }
            if let first {
                CKernelsTests.expectBits(output.scalars, first.output.scalars, "output, build \(level) against the first")
                CKernelsTests.expectBits(grads.input.scalars, first.input.scalars, "input gradient, build \(level) against the first")
                CKernelsTests.expectBits(grads.weight.scalars, first.weight.scalars, "weight gradient, build \(level) against the first")
            } else {
                first = (output, grads.input, grads.weight, grads.bias)
            }
        }
    }

    /// Adding the input gradient into an existing one equals adding the returned gradient to it,
    /// bit for bit (the returned one is zero outside the channels, and x + 0 is x).
    @Test(arguments: [cases[0], cases[2], cases[4]])
    func addingIntoAnExistingGradientEqualsAddingTheReturnedOne(_ c: Case) {
        var generator = SeededGenerator(seed: 33)
        let x = TrainingKernels.blocked(Tensor.gaussian(c.shape, generator: &generator), block: 16)
        let weight = Tensor.gaussian([c.outputChannels, c.channels.count, c.kernel, c.kernel], generator: &generator)
        let dy = TrainingKernels.blocked(Tensor.gaussian([c.shape[0], c.outputChannels, c.shape[2], c.shape[3]], generator: &generator), block: 16)
        let existing = TrainingKernels.blocked(Tensor.gaussian(c.shape, generator: &generator), block: 16)
        let fresh = NarrowConvolution.backward(dy, input: x, channels: c.channels, weight: weight, hasBias: c.bias)
        var added = existing
        let parameters = NarrowConvolution.backward(dy, input: x, channels: c.channels, weight: weight, hasBias: c.bias,
                                                    addingInputGradientTo: &added)
        CKernelsTests.expectBits(added.scalars, TrainingKernels.add(existing, fresh.input).scalars, "input gradient added in place")
        CKernelsTests.expectBits(parameters.weight.scalars, fresh.weight.scalars, "weight gradient")
        CKernelsTests.expectBits(existing.scalars, TrainingKernels.blocked(existing.rowMajor(), block: 16).scalars, "the original is untouched")
    }

    /// Where the narrow kernels take over: SPConv's 8 of 16 channels, stride 1, on AVX-512 only.
    @Test func appliesOnlyToFewChannelsOfOneBlockAtStrideOne() {
        var generator = SeededGenerator(seed: 32)
        let blocked = TrainingKernels.blocked(Tensor.gaussian([1, 32, 4, 4], generator: &generator), block: 16)
        let rowMajor = blocked.rowMajor()
        let conv3 = Conv2DGeometry(kernelSize: 3, stride: 1, padding: 1)
        _ = DNNL.shared
        // The engine's instruction set, not the one selected now: other tests select each build in
        // turn while this one runs (ck_active_isa() read 1 here once, in a clean-clone CI run).
        let avx512 = ck_engine_isa() == 2
        #expect(NarrowConvolution.applies(to: blocked, channels: 0..<8, outputChannels: 16, geometry: conv3) == avx512)
        #expect(NarrowConvolution.applies(to: blocked, channels: 8..<16, outputChannels: 32, geometry: Conv2DGeometry(kernelSize: 1)) == avx512)
        #expect(!NarrowConvolution.applies(to: rowMajor, channels: 0..<8, outputChannels: 16, geometry: conv3))
        #expect(!NarrowConvolution.applies(to: blocked, channels: 12..<20, outputChannels: 16, geometry: conv3), "spans two blocks")
        #expect(!NarrowConvolution.applies(to: blocked, channels: 0..<12, outputChannels: 16, geometry: conv3), "more than 8 channels")
        #expect(!NarrowConvolution.applies(to: blocked, channels: 0..<8, outputChannels: 24, geometry: conv3), "output not whole blocks")
        #expect(!NarrowConvolution.applies(to: blocked, channels: 0..<8, outputChannels: 16,
                                          geometry: Conv2DGeometry(kernelSize: 3, stride: 2, padding: 1)), "stride 2")
    }
}

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
                let current = ck_active_isa()
                ck_select_isa(level)
                let conv = DirectConvolution(weight: weight, bias: bias, channels: c.channels, inputChannels: c.shape[1],
                                             height: c.shape[2], width: c.shape[3], stride: c.stride, padding: c.padding, block: block)
                let output = conv(x.channelBlocked(block), outputChannels: c.outputChannels)
                ck_select_isa(current)
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

import CKernels
import Testing
@testable import SPConvLab

/// The engine's own Winograd F(4x4, 3x3) (`WinogradConvolution`, `ck_winograd_tiles`) against a
/// float64 convolution written from the definition (``DirectConvolutionTests/reference``), in the
/// AVX2 build with 8 lanes and the AVX-512 build with 16 (where this CPU runs them), with a bias,
/// a residual held in the output and a ReLU. Shapes cover maps whose sides are not multiples of
/// the 4x4 tile (so tiles stick out at the bottom and right), maps smaller than a tile, batch 1,
/// channel ranges that start inside a block, output blocks that do not fill a register tile
/// (one to five), more tiles than one chunk, and channel counts not a multiple of 16.
///
/// Winograd rounds differently from a direct sum: its error is bounded relative to the output's
/// scale (the largest |y|) by `tolerance`, about ten times the direct kernels' bound.
@Suite struct WinogradConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: [Int], channels: Range<Int>, outputChannels: Int, bias: Bool, sum: Bool, relu: Bool
        var testDescription: String {
            "\(shape) ch \(channels) -> \(outputChannels)\(bias ? " bias" : "")\(sum ? " sum" : "")\(relu ? " relu" : "")"
        }
    }

    static let cases = [
        Case(shape: [2, 16, 8, 8], channels: 0..<16, outputChannels: 16, bias: true, sum: false, relu: false),
        Case(shape: [1, 32, 9, 13], channels: 0..<32, outputChannels: 48, bias: true, sum: true, relu: true),
        Case(shape: [3, 16, 5, 7], channels: 0..<16, outputChannels: 80, bias: false, sum: false, relu: true),
        Case(shape: [1, 48, 3, 2], channels: 0..<48, outputChannels: 32, bias: true, sum: true, relu: false),
        Case(shape: [2, 32, 17, 15], channels: 8..<24, outputChannels: 16, bias: true, sum: false, relu: false),
        Case(shape: [1, 64, 1, 1], channels: 0..<64, outputChannels: 64, bias: true, sum: false, relu: true),
        Case(shape: [4, 16, 32, 32], channels: 0..<16, outputChannels: 32, bias: true, sum: true, relu: true),
        Case(shape: [1, 24, 6, 6], channels: 3..<24, outputChannels: 64, bias: false, sum: false, relu: false),
    ]

    static let tolerance = 3e-5

    /// Hand-derived: transformed weights are 36 x C_in x C_out floats; 16 tiles or 256 KiB decide.
    @Test func paysOffWhereTilesReuseTheWeightsOrTheyAreSmall() {
        // resnet110's third stage at batch 1: an 8x8 map is 4 tiles, 36 * 64 * 64 * 4 B = 576 KiB.
        #expect(!WinogradConvolution.paysOff(tiles: 4, inputChannels: 64, outputChannels: 64))
        // Its second stage: 144 KiB of weights.
        #expect(WinogradConvolution.paysOff(tiles: 16, inputChannels: 32, outputChannels: 32))
        #expect(WinogradConvolution.paysOff(tiles: 1, inputChannels: 32, outputChannels: 32))
        // 16 tiles reuse any weights four times per byte: resnet50's 512-channel stage at batch 1.
        #expect(WinogradConvolution.paysOff(tiles: 16, inputChannels: 512, outputChannels: 512))
        #expect(!WinogradConvolution.paysOff(tiles: 15, inputChannels: 512, outputChannels: 512))
        // The boundary: 36 * 32 * 56 * 4 B = 258,048 B fits; 36 * 32 * 64 * 4 B = 294,912 B does not.
        #expect(WinogradConvolution.paysOff(tiles: 2, inputChannels: 32, outputChannels: 56))
        #expect(!WinogradConvolution.paysOff(tiles: 2, inputChannels: 32, outputChannels: 64))
    }

    @Test(arguments: cases)
    func matchesFloat64ConvolutionInEachBuild(_ c: Case) throws {
        var generator = SeededGenerator(seed: 41)
        let x = Tensor.gaussian(c.shape, generator: &generator)
        let weight = Tensor.gaussian([c.outputChannels, c.channels.count, 3, 3], generator: &generator)
        let bias = c.bias ? Tensor.gaussian([c.outputChannels], generator: &generator) : nil
        let outputShape = [c.shape[0], c.outputChannels, c.shape[2], c.shape[3]]
        let residual = c.sum ? Tensor.gaussian(outputShape, generator: &generator) : nil
        let direct = DirectConvolutionTests.Case(shape: c.shape, channels: c.channels, outputChannels: c.outputChannels, kernel: 3,
                                                 stride: 1, padding: 1, bias: c.bias)
        var expected = DirectConvolutionTests.reference(x, direct, weight: weight, bias: bias)
        if let residual { expected = zip(expected, residual.scalars).map { $0 + Double($1) } }
        if c.relu { expected = expected.map { max($0, 0) } }
        var ran = 0
        for (level, block) in [(Int32(1), 8), (Int32(2), 16)] where CKernelsTests.levels.contains(level) {
            _ = DNNL.shared
            ck_select_isa(level)
            defer { ck_select_isa(ck_engine_isa()) }
            // Block 8 with AVX2 is the engine's own choice only there; both widths run in its build.
            for threads in [1, 3] {
                let conv = WinogradConvolution(weight: weight, bias: bias?.scalars, channels: c.channels, inputChannels: c.shape[1],
                                               batch: c.shape[0], height: c.shape[2], width: c.shape[3], block: block,
                                               sum: c.sum, relu: c.relu, threads: threads)
                let output = conv(x.channelBlocked(block), residual: residual)
                let values = output.rowMajor().scalars
                let scale = max(expected.map(abs).max() ?? 0, 1e-30)
                let worst = zip(values, expected).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(values.count == expected.count && worst <= Self.tolerance * scale,
                        "build \(level), \(block) lanes, chunk \(conv.chunk): worst error \(worst) at scale \(scale)")
                ran += 1
            }
        }
        #expect(ran > 0 || !CKernelsTests.levels.contains(1), "no build of this CPU ran the Winograd kernel")
    }
}

import Testing
@testable import SPConvLab

/// The training ops on oneDNN's `nChw16c` layout (what convolutions, batch norm and ReLU keep
/// between them) against the row-major ones checked by GradientCheckTests: batch norm's blocked
/// kernels against its row-major kernels, and the convolution kernel fed blocked tensors against
/// itself fed row-major ones.
@Suite struct BlockedTrainingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: [Int], relu: Bool
        var testDescription: String { "\(shape)\(relu ? " relu" : "")" }
    }

    @Test(arguments: [Case(shape: [4, 16, 5, 5], relu: false), Case(shape: [3, 32, 7, 7], relu: true),
                      Case(shape: [2, 64, 3, 3], relu: true), Case(shape: [5, 16, 1, 1], relu: false)])
    func batchNormBlockedMatchesRowMajor(_ c: Case) {
        var generator = SeededGenerator(seed: 11)
        let channels = c.shape[1]
        let x = Tensor(shape: c.shape, scalars: Tensor.gaussian(c.shape, generator: &generator).scalars.map { 1.5 * $0 + 0.4 })
        let weight = Tensor.uniform([channels], in: 0.5...1.5, generator: &generator)
        let bias = Tensor.uniform([channels], generator: &generator)
        let dy = Tensor.gaussian(c.shape, generator: &generator)

        let plain = TrainingKernels.batchNormForward(x, weight: weight, bias: bias, epsilon: 1e-5, relu: c.relu)
        let blockedX = TrainingKernels.blocked(x, block: 16)
        let blocked = TrainingKernels.batchNormForwardBlocked(blockedX, weight: weight, bias: bias, epsilon: 1e-5, relu: c.relu)
        #expect(blocked.output.layout == .channelBlocked(16))
        expectClose(blocked.output, plain.output, rtol: 1e-5, atol: 1e-5, "output")
        for ch in 0..<channels {
            #expect(abs(blocked.statistics.mean[ch] - plain.statistics.mean[ch]) <= 1e-6 * (1 + abs(plain.statistics.mean[ch])))
            #expect(abs(blocked.statistics.variance[ch] - plain.statistics.variance[ch]) <= 1e-5 * plain.statistics.variance[ch])
        }

        let plainGrads = TrainingKernels.batchNormBackward(x, gradOutput: dy, statistics: plain.statistics, weight: weight, relu: c.relu)
        // The gradient arrives row-major here (converted inside) and blocked here.
        for gradient in [dy, TrainingKernels.blocked(dy, block: 16)] {
            let grads = TrainingKernels.batchNormBackwardBlocked(blockedX, gradOutput: gradient, statistics: blocked.statistics,
                                                                 weight: weight, relu: c.relu)
            #expect(grads.input.layout == .channelBlocked(16))
            expectClose(grads.input, plainGrads.input, rtol: 1e-4, atol: 1e-5, "input gradient")
            expectClose(grads.weight, plainGrads.weight, rtol: 1e-4, atol: 1e-5, "weight gradient")
            expectClose(grads.bias, plainGrads.bias, rtol: 1e-4, atol: 1e-5, "bias gradient")
        }
    }

    @Test func blockedLayoutRoundTrips() {
        var generator = SeededGenerator(seed: 12)
        let x = Tensor.gaussian([3, 32, 4, 5], generator: &generator)
        let blocked = TrainingKernels.blocked(x, block: 16)
        #expect(blocked.rowMajor() == x)
        #expect(blocked.rowMajor().scalars == LayoutKernels.toBlocked(x, block: 16).rowMajor().scalars)
        #expect(blocked.scalars == LayoutKernels.toBlocked(x, block: 16).scalars)
    }

    @Test(arguments: [([4, 16, 12, 12], 16, 3, 1), ([3, 16, 12, 12], 32, 3, 2), ([2, 32, 7, 7], 64, 1, 1)])
    func convolutionTakesBlockedTensors(_ input: [Int], _ outputChannels: Int, _ kernelSize: Int, _ stride: Int) throws {
        var generator = SeededGenerator(seed: 13)
        let geometry = Conv2DGeometry(kernelSize: kernelSize, stride: stride, padding: kernelSize / 2)
        let kernel = try ConvolutionTrainingKernel.cached(.init(inputShape: input, outputChannels: outputChannels,
                                                               geometry: geometry, hasBias: false))
        let x = Tensor.gaussian(input, generator: &generator)
        let weight = Tensor.gaussian([outputChannels, input[1], kernelSize, kernelSize], standardDeviation: 0.2, generator: &generator)
        let (y, saved) = try kernel.forward(x, weight: weight, bias: nil)
        let gy = Tensor.gaussian(y.shape, generator: &generator)
        let grads = try kernel.backward(gy, weight: weight, saved: saved)

        if DNNL.shared.channelBlock == 16 { #expect(y.layout == .channelBlocked(16) && grads.input.layout == .channelBlocked(16)) }
        let (yBlocked, savedBlocked) = try kernel.forward(TrainingKernels.blocked(x, block: 16), weight: weight, bias: nil)
        let gradsBlocked = try kernel.backward(TrainingKernels.blocked(gy.rowMajor(), block: 16), weight: weight, saved: savedBlocked)
        // The same primitives on the same values: equal, whatever layout comes in or out.
        #expect(yBlocked.rowMajor() == y.rowMajor())
        #expect(gradsBlocked.input.rowMajor() == grads.input.rowMajor())
        #expect(gradsBlocked.weight == grads.weight)
    }
}

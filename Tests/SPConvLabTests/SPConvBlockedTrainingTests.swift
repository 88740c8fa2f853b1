import Testing
@testable import SPConvLab

/// SPConv's training kernels on oneDNN's `nChw16c` layout against their row-major twins (which
/// GradientCheckTests checks against float64 finite differences), and an SPConv layer fed a
/// channel-blocked input (its convolutions reading the whole input or copies of whole blocks)
/// against the same layer fed a row-major one (copies of its channel parts).
@Suite struct SPConvBlockedTrainingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: [Int]
        var testDescription: String { "\(shape)" }
    }

    static let shapes = [Case(shape: [4, 16, 5, 5]), Case(shape: [3, 32, 7, 7]), Case(shape: [2, 64, 3, 3]), Case(shape: [5, 16, 1, 1])]

    /// Two random maps whose plane means differ enough for the softmax weights to vary.
    static func maps(_ shape: [Int], seed: UInt64) -> (Tensor, Tensor, Tensor) {
        var generator = SeededGenerator(seed: seed)
        let rep = Tensor(shape: shape, scalars: Tensor.gaussian(shape, generator: &generator).scalars.map { 1.5 * $0 + 0.3 })
        let red = Tensor(shape: shape, scalars: Tensor.gaussian(shape, generator: &generator).scalars.map { 0.8 * $0 - 0.2 })
        return (rep, red, Tensor.gaussian(shape, generator: &generator))
    }

    @Test(arguments: shapes)
    func fusionBlockedMatchesRowMajor(_ c: Case) {
        let (rep, red, dy) = Self.maps(c.shape, seed: 21)
        let plain = TrainingKernels.spconvFusion(rep, red)
        let blocked = TrainingKernels.spconvFusionBlocked(TrainingKernels.blocked(rep, block: 16), TrainingKernels.blocked(red, block: 16))
        #expect(blocked.output.layout == .channelBlocked(16))
        expectClose(blocked.output, plain.output, rtol: 1e-5, atol: 1e-6, "output")
        expectClose(Tensor(shape: [plain.weightRep.count], scalars: blocked.weightRep), Tensor(shape: [plain.weightRep.count], scalars: plain.weightRep),
                    rtol: 1e-5, atol: 1e-6, "weights")
        let plainGrads = TrainingKernels.spconvFusionBackward(dy, rep, red, weightRep: plain.weightRep, weightRed: plain.weightRed)
        for gradient in [dy, TrainingKernels.blocked(dy, block: 16)] {
            let grads = TrainingKernels.spconvFusionBackwardBlocked(gradient, TrainingKernels.blocked(rep, block: 16), TrainingKernels.blocked(red, block: 16),
                                                                    weightRep: blocked.weightRep, weightRed: blocked.weightRed)
            #expect(grads.rep.layout == .channelBlocked(16) && grads.red.layout == .channelBlocked(16))
            expectClose(grads.rep, plainGrads.rep, rtol: 1e-4, atol: 1e-5, "rep gradient")
            expectClose(grads.red, plainGrads.red, rtol: 1e-4, atol: 1e-5, "red gradient")
        }
    }

    typealias BatchNormGradients = (input: Tensor, weight: Tensor, bias: Tensor)

    /// A fused op's input gradients (channel-blocked) and inner batch norms' parameter gradients
    /// against the row-major `batchNormBackward` of each branch.
    static func expectInnerGradients(_ fused: (rep: Tensor, red: Tensor, weights: (Tensor, Tensor), biases: (Tensor, Tensor)),
                                     _ first: BatchNormGradients, _ second: BatchNormGradients, parameterTolerance: Float,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(fused.rep.layout == .channelBlocked(16) && fused.red.layout == .channelBlocked(16), sourceLocation: sourceLocation)
        expectClose(fused.rep, first.input, rtol: 1e-3, atol: 1e-5, "rep gradient", sourceLocation: sourceLocation)
        expectClose(fused.red, second.input, rtol: 1e-3, atol: 1e-5, "red gradient", sourceLocation: sourceLocation)
        for (name, mine, theirs) in [("bn1 weight", fused.weights.0, first.weight), ("bn1 bias", fused.biases.0, first.bias),
                                     ("bn2 weight", fused.weights.1, second.weight), ("bn2 bias", fused.biases.1, second.bias)] {
            expectClose(mine, theirs, rtol: parameterTolerance, atol: 1e-5, Comment(rawValue: name + " gradient"), sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: shapes)
    func normalizedFusionBlockedMatchesThreeRowMajorOps(_ c: Case) {
        let (rep, red, dy) = Self.maps(c.shape, seed: 22)
        var generator = SeededGenerator(seed: 23)
        let channels = c.shape[1]
        let (w1, w2) = (Tensor.uniform([channels], in: 0.5...1.5, generator: &generator), Tensor.uniform([channels], in: 0.5...1.5, generator: &generator))
        let (b1, b2) = (Tensor.uniform([channels], generator: &generator), Tensor.uniform([channels], generator: &generator))
        // The twin: batch norm of each, then the fusion, row-major; backward in reverse.
        let bn1 = TrainingKernels.batchNormForward(rep, weight: w1, bias: b1, epsilon: 1e-5, relu: false)
        let bn2 = TrainingKernels.batchNormForward(red, weight: w2, bias: b2, epsilon: 1e-5, relu: false)
        let fusion = TrainingKernels.spconvFusion(bn1.output, bn2.output)
        let fusionGrads = TrainingKernels.spconvFusionBackward(dy, bn1.output, bn2.output, weightRep: fusion.weightRep, weightRed: fusion.weightRed)
        let grads1 = TrainingKernels.batchNormBackward(rep, gradOutput: fusionGrads.rep, statistics: bn1.statistics, weight: w1, relu: false)
        let grads2 = TrainingKernels.batchNormBackward(red, gradOutput: fusionGrads.red, statistics: bn2.statistics, weight: w2, relu: false)

        let (x, y) = (TrainingKernels.blocked(rep, block: 16), TrainingKernels.blocked(red, block: 16))
        let fused = TrainingKernels.spconvNormalizedFusionBlocked(x, y, weights: (w1, w2), biases: (b1, b2), epsilon: (1e-5, 1e-5))
        #expect(fused.output.layout == .channelBlocked(16))
        expectClose(fused.output, fusion.output, rtol: 1e-4, atol: 1e-5, "output")
        for (mine, theirs) in [(fused.statistics.0, bn1.statistics), (fused.statistics.1, bn2.statistics)] {
            for ch in 0..<channels {
                #expect(abs(mine.mean[ch] - theirs.mean[ch]) <= 1e-6 * (1 + abs(theirs.mean[ch])))
                #expect(abs(mine.variance[ch] - theirs.variance[ch]) <= 1e-5 * theirs.variance[ch])
            }
        }
        for gradient in [dy, TrainingKernels.blocked(dy, block: 16)] {
            let grads = TrainingKernels.spconvNormalizedFusionBackwardBlocked(gradient, x, y, statistics: fused.statistics, weights: (w1, w2),
                                                                              weightRep: fused.weightRep, weightRed: fused.weightRed)
            Self.expectInnerGradients((grads.rep, grads.red, grads.weights, grads.biases), grads1, grads2, parameterTolerance: 1e-4)
        }
    }

    struct OuterCase: CustomTestStringConvertible, Sendable {
        var shape: [Int], relu: Bool
        var testDescription: String { "\(shape)\(relu ? " relu" : "")" }
    }

    /// The whole normalisation of an SPConv layer in a residual block (both inner batch norms,
    /// the fusion, the outer batch norm and its ReLU) as one op, against those four ops
    /// row-major one by one: output, all three statistics, both input gradients and all six
    /// parameter gradients.
    @Test(arguments: [OuterCase(shape: [4, 16, 5, 5], relu: true), OuterCase(shape: [3, 32, 7, 7], relu: false),
                      OuterCase(shape: [2, 64, 3, 3], relu: true), OuterCase(shape: [6, 16, 2, 2], relu: false)])
    func fusionBatchNormBlockedMatchesFourRowMajorOps(_ c: OuterCase) {
        let (rep, red, dy) = Self.maps(c.shape, seed: 28)
        var generator = SeededGenerator(seed: 29)
        let channels = c.shape[1]
        let weights = (0..<3).map { _ in Tensor.uniform([channels], in: 0.5...1.5, generator: &generator) }
        let biases = (0..<3).map { _ in Tensor.uniform([channels], generator: &generator) }
        let bn1 = TrainingKernels.batchNormForward(rep, weight: weights[0], bias: biases[0], epsilon: 1e-5, relu: false)
        let bn2 = TrainingKernels.batchNormForward(red, weight: weights[1], bias: biases[1], epsilon: 1e-5, relu: false)
        let fusion = TrainingKernels.spconvFusion(bn1.output, bn2.output)
        let outer = TrainingKernels.batchNormForward(fusion.output, weight: weights[2], bias: biases[2], epsilon: 1e-5, relu: c.relu)
        let outerGrads = TrainingKernels.batchNormBackward(fusion.output, gradOutput: dy, statistics: outer.statistics, weight: weights[2], relu: c.relu)
        let fusionGrads = TrainingKernels.spconvFusionBackward(outerGrads.input, bn1.output, bn2.output, weightRep: fusion.weightRep, weightRed: fusion.weightRed)
        let grads1 = TrainingKernels.batchNormBackward(rep, gradOutput: fusionGrads.rep, statistics: bn1.statistics, weight: weights[0], relu: false)
        let grads2 = TrainingKernels.batchNormBackward(red, gradOutput: fusionGrads.red, statistics: bn2.statistics, weight: weights[1], relu: false)

        let (x, y) = (TrainingKernels.blocked(rep, block: 16), TrainingKernels.blocked(red, block: 16))
        let fused = TrainingKernels.spconvFusionBatchNormBlocked(x, y, inner: ((weights[0], weights[1]), (biases[0], biases[1]), (1e-5, 1e-5)),
                                                                 outer: (weights[2], biases[2], 1e-5), relu: c.relu)
        #expect(fused.output.layout == .channelBlocked(16))
        expectClose(fused.output, outer.output, rtol: 1e-4, atol: 1e-5, "output")
        for (mine, theirs) in [(fused.state.inner.0, bn1.statistics), (fused.state.inner.1, bn2.statistics), (fused.state.outer, outer.statistics)] {
            for ch in 0..<channels {
                #expect(abs(mine.mean[ch] - theirs.mean[ch]) <= 1e-5 * (1 + abs(theirs.mean[ch])))
                #expect(abs(mine.variance[ch] - theirs.variance[ch]) <= 1e-4 * theirs.variance[ch])
            }
        }
        for gradient in [dy, TrainingKernels.blocked(dy, block: 16)] {
            let grads = TrainingKernels.spconvFusionBatchNormBackwardBlocked(gradient, x, y, state: fused.state, innerWeights: (weights[0], weights[1]),
                                                                             outerWeight: weights[2])
            Self.expectInnerGradients((grads.rep, grads.red, grads.innerWeights, grads.innerBiases), grads1, grads2, parameterTolerance: 1e-3)
            expectClose(grads.outerWeight, outerGrads.weight, rtol: 1e-4, atol: 1e-5, "outer weight gradient")
            expectClose(grads.outerBias, outerGrads.bias, rtol: 1e-4, atol: 1e-5, "outer bias gradient")
        }
    }

    @Test(arguments: [([3, 32, 4, 5], 0..<16), ([2, 64, 3, 3], 16..<48), ([2, 48, 2, 2], 32..<48)])
    func unsliceBlockedMatchesRowMajor(_ shape: [Int], _ range: Range<Int>) {
        var generator = SeededGenerator(seed: 24)
        let gradient = Tensor.gaussian([shape[0], range.count, shape[2], shape[3]], generator: &generator)
        let plain = TrainingKernels.unsliceChannels(gradient, range: range, channels: shape[1])
        for input in [gradient, TrainingKernels.blocked(gradient, block: 16)] {
            let blocked = TrainingKernels.unsliceChannelsBlocked(input, range: range, channels: shape[1])
            #expect(blocked.layout == .channelBlocked(16))
            #expect(blocked.rowMajor() == plain)
        }
    }

    @Test func weightRearrangementsInvert() {
        var generator = SeededGenerator(seed: 25)
        let weight = Tensor.gaussian([4, 3, 3, 3], generator: &generator)
        let embedded = TrainingKernels.embeddingInputChannels(weight, at: 2..<5, channels: 7)
        #expect(embedded.shape == [4, 7, 3, 3])
        #expect(TrainingKernels.inputChannels(embedded, 2..<5) == weight)
        #expect(TrainingKernels.inputChannels(embedded, 0..<2).scalars.allSatisfy { $0 == 0 })
        let pointwise = Tensor.gaussian([4, 3, 1, 1], generator: &generator)
        let pooled = TrainingKernels.pooledPointwiseWeight(pointwise)
        #expect(pooled.shape == [4, 3, 2, 2])
        expectClose(TrainingKernels.pooledPointwiseGradient(Tensor(shape: pooled.shape, scalars: pooled.scalars.map { $0 * 4 })), pointwise,
                    rtol: 1e-6, atol: 0)
    }

    struct LayerCase: CustomTestStringConvertible, Sendable {
        var inputChannels: Int, outputChannels: Int, stride: Int
        var testDescription: String { "\(inputChannels)->\(outputChannels) s\(stride)" }
    }

    /// 16 input channels split 8/8 (inside a block: the branches read the whole input with
    /// zero weights elsewhere) and 32 split 16/16 (whole blocks: copies of blocks).
    @Test(arguments: [LayerCase(inputChannels: 16, outputChannels: 16, stride: 1), LayerCase(inputChannels: 16, outputChannels: 32, stride: 2),
                      LayerCase(inputChannels: 32, outputChannels: 32, stride: 1), LayerCase(inputChannels: 32, outputChannels: 64, stride: 2)])
    func layerOnBlockedInputMatchesRowMajor(_ c: LayerCase) throws {
        var generator = SeededGenerator(seed: 26)
        let layer = try SPConv(inputChannels: c.inputChannels, outputChannels: c.outputChannels, stride: c.stride,
                               configuration: SPConvConfiguration(ratio: 0.5, groups: 2), path: "t")
        randomizeParameters(of: layer, generator: &generator)
        let x = Tensor.gaussian([3, c.inputChannels, 6, 6], generator: &generator)
        func run(blocked: Bool) throws -> (output: Tensor, input: Tensor, parameters: [ParameterKey: Tensor]) {
            let tape = Tape()
            let leaf = tape.constant(x)
            let input = blocked ? tape.record(TrainingKernels.blocked(x, block: 16), inputs: [leaf], takesBlockedGradient: true) { [$0.rowMajor()] }
                                : leaf
            let y = try layer.trainingForward(input, tape: tape)
            var generator = SeededGenerator(seed: 27)
            let grads = try tape.backward(from: y, seed: Tensor.gaussian(tape.value(y).shape, generator: &generator))
            return (tape.value(y), grads[leaf]!, tape.parameterGradients)
        }
        let (plain, blocked) = (try run(blocked: false), try run(blocked: true))
        expectClose(blocked.output, plain.output, rtol: 1e-4, atol: 1e-5, "output")
        expectClose(blocked.input, plain.input, rtol: 1e-3, atol: 1e-5, "input gradient")
        #expect(blocked.parameters.count == 8 && plain.parameters.count == 8)
        for (key, gradient) in plain.parameters {
            expectClose(blocked.parameters[key]!, gradient, rtol: 1e-3, atol: 1e-4, Comment(rawValue: key.name))
        }
    }
}

import Foundation
import SPConvCore
import SPConvKernels

/// The differentiable ops of the zoo, each recorded with its backward closure.
///
/// Feature maps are `[N, C, H, W]`, row-major except between the ops that keep oneDNN's `nChw16c`
/// (convolution, batch norm, ReLU, add, SPConv's branches and fusion; `storedValue`), which take either layout and whose
/// backward takes a gradient in either; every other op reads `value`, which is row-major. Ops
/// that own parameters take the module they belong to, so their gradients land under
/// `ParameterKey(module, "weight")` and so on.
extension Tape {
    // MARK: Convolution and linear

    /// `conv2d(x, layer.weight) + layer.bias`, PyTorch's `nn.Conv2d`.
    ///
    /// The output may be channel-blocked (see the top of this file) unless `keepsBlocked` is false.
    public func conv2d(_ x: Variable, _ layer: Conv2D, keepsBlocked: Bool = true) throws -> Variable {
        let input = storedValue(x)
        try layer.checkInput(input.shape)
        let (weight, bias) = (layer.weight, layer.bias)
        let kernel = try ConvolutionTrainingKernel.cached(.init(inputShape: input.shape, outputChannels: layer.outputChannels,
                                                               geometry: layer.geometry, hasBias: bias != nil))
        let (output, saved) = try kernel.forward(input, weight: weight, bias: bias, blockedOutput: keepsBlocked)
        return record(output, inputs: [x], takesBlockedGradient: true) { [unowned self] gradient in
            let grads = try kernel.backward(gradient, weight: weight, saved: saved)
            self.accumulate(ParameterKey(layer, "weight"), grads.weight)
            if let gradBias = grads.bias { self.accumulate(ParameterKey(layer, "bias"), gradBias) }
            return [grads.input]
        }
    }

    /// SPConv's representative branch on input channels `channels` of `x`: `gwc(x_rep) + pwc(x_rep)`
    /// at stride 1 and `gwc(x_rep) + pwc(avgPool2x2(x_rep))` at stride 2, as one dense 3x3
    /// convolution whose weight holds both (`TrainingKernels.representativeWeight`); its weight
    /// gradient is split back into the two layers'. Equal to the slice, the three-op graph and
    /// the slice's gradient up to float rounding, with one convolution, no add and no pool
    /// (`convolution(_:channels:...)` says how the channels are read). `gwc` must be 3x3 with
    /// padding 1 and no bias, `pwc` 1x1 without bias, and at stride 2 the input's height and
    /// width even. The output is `[N, C_out, H / s, W / s]`, channel-blocked where the convolution
    /// writes whole blocks.
    public func spconvRepresentative(_ x: Variable, channels: Range<Int>, gwc: Conv2D, pwc: Conv2D, stride: Int) throws -> Variable {
        let shape = storedValue(x).shape
        let partShape = [shape[0], channels.count, shape[2], shape[3]]
        try gwc.checkInput(partShape)
        try pwc.checkInput(partShape)
        let g = gwc.geometry
        precondition(g.kernelSize == 3 && g.padding == 1 && g.dilation == 1 && g.stride == stride && gwc.bias == nil && pwc.bias == nil
                     && pwc.geometry.kernelSize == 1 && (stride == 1 || shape[2] % 2 == 0 && shape[3] % 2 == 0),
                     "spconvRepresentative needs SPConv's gwc (3x3, padding 1, no bias) and pwc (1x1, no bias), and even sizes at stride 2")
        let merged = TrainingKernels.representativeWeight(gwc: gwc.weight, groups: g.groups, pwc: pwc.weight, stride: stride)
        return try convolution(x, channels: channels, weight: merged, bias: nil,
                               geometry: Conv2DGeometry(kernelSize: 3, stride: stride, padding: 1)) { [unowned self] gradWeight, _ in
            let split = TrainingKernels.representativeGradients(gradWeight, groups: g.groups, stride: stride)
            self.accumulate(ParameterKey(gwc, "weight"), split.gwc)
            self.accumulate(ParameterKey(pwc, "weight"), split.pwc)
        }
    }

    /// SPConv's redundant branch on input channels `channels` of `x`: `conv1x1(x_red)` at stride 1
    /// and `conv1x1(avgPool2x2(x_red))` at stride 2, there as one stride-2 2x2 convolution with a
    /// quarter of the weight on each tap (`TrainingKernels.pooledPointwiseWeight`; equal up to
    /// float rounding). `conv1x1` must be 1x1 with stride 1, and at stride 2 the input's height
    /// and width even. The output is `[N, C_out, H / s, W / s]`, channel-blocked where the
    /// convolution writes whole blocks.
    public func spconvRedundant(_ x: Variable, channels: Range<Int>, conv1x1: Conv2D, stride: Int) throws -> Variable {
        let shape = storedValue(x).shape
        try conv1x1.checkInput([shape[0], channels.count, shape[2], shape[3]])
        precondition(conv1x1.geometry == Conv2DGeometry(kernelSize: 1) && (stride == 1 || stride == 2 && shape[2] % 2 == 0 && shape[3] % 2 == 0),
                     "spconvRedundant needs a 1x1 stride-1 conv1x1, and even sizes at stride 2")
        let pooled = stride == 2
        return try convolution(x, channels: channels,
                               weight: pooled ? TrainingKernels.pooledPointwiseWeight(conv1x1.weight) : conv1x1.weight,
                               bias: conv1x1.bias,
                               geometry: pooled ? Conv2DGeometry(kernelSize: 2, stride: 2, padding: 0) : conv1x1.geometry) { [unowned self] gradWeight, gradBias in
            self.accumulate(ParameterKey(conv1x1, "weight"), pooled ? TrainingKernels.pooledPointwiseGradient(gradWeight) : gradWeight)
            if let gradBias { self.accumulate(ParameterKey(conv1x1, "bias"), gradBias) }
        }
    }

    /// `conv2d(x[:, channels], weight) + bias` with `weight` `[C_out, channels.count, K, K]`,
    /// reporting the weight's (and bias's) gradient to `parameterGradients`.
    ///
    /// How the channels are read depends on `x`'s stored layout, so no part of a channel-blocked
    /// input is ever made row-major: a few channels of one block, where `NarrowConvolution`
    /// applies, by our own kernels that read only those; all channels, as they are; channel-blocked channels that are
    /// whole 16-channel blocks, a copy of those blocks (its gradient written back into a zero
    /// blocked tensor); other channel-blocked channels, the whole input with the weight placed at
    /// `channels` among zeros (the same lanes a copy would pad to a block; its input gradient is
    /// zero outside `channels`, and only `channels` of its weight gradient are kept); row-major,
    /// a copy of the channels. The output is channel-blocked where the convolution writes whole
    /// blocks.
    func convolution(_ x: Variable, channels: Range<Int>, weight: Tensor, bias: Tensor?, geometry: Conv2DGeometry,
                     parameterGradients: @escaping (Tensor, Tensor?) -> Void) throws -> Variable {
        let stored = storedValue(x)
        let total = stored.shape[1]
        if channels != 0..<total,
           NarrowConvolution.applies(to: stored, channels: channels, outputChannels: weight.shape[0], geometry: geometry) {
            let output = NarrowConvolution.forward(stored, channels: channels, weight: weight, bias: bias)
            return record(output, input: x, backward: { gradient in
                let grads = NarrowConvolution.backward(gradient.channelBlocked(16), input: stored, channels: channels, weight: weight,
                                                       hasBias: bias != nil)
                parameterGradients(grads.weight, grads.bias)
                return [grads.input]
            }, addingInputGradient: { gradient, inputGradient in
                let grads = NarrowConvolution.backward(gradient.channelBlocked(16), input: stored, channels: channels, weight: weight,
                                                       hasBias: bias != nil, addingInputGradientTo: &inputGradient)
                parameterGradients(grads.weight, grads.bias)
            })
        }
        enum Reading { case whole, blockCopy, embedded, rowMajorCopy }
        let reading: Reading
        if channels == 0..<total {
            reading = .whole
        } else if stored.layout == .channelBlocked(16) {
            reading = channels.lowerBound % 16 == 0 && channels.count % 16 == 0 ? .blockCopy : .embedded
        } else {
            reading = .rowMajorCopy
        }
        let input: Tensor, convWeight: Tensor
        switch reading {
        case .whole: (input, convWeight) = (stored, weight)
        case .embedded: (input, convWeight) = (stored, TrainingKernels.embeddingInputChannels(weight, at: channels, channels: total))
        case .blockCopy: (input, convWeight) = (LayoutKernels.sliceChannels(stored, channels, block: 16), weight)
        case .rowMajorCopy: (input, convWeight) = (Ops.sliceChannels(stored, channels), weight)
        }
        let kernel = try ConvolutionTrainingKernel.cached(.init(inputShape: input.shape, outputChannels: weight.shape[0],
                                                               geometry: geometry, hasBias: bias != nil))
        let (output, saved) = try kernel.forward(input, weight: convWeight, bias: bias)
        return record(output, inputs: [x], takesBlockedGradient: true) { gradient in
            let grads = try kernel.backward(gradient, weight: convWeight, saved: saved)
            parameterGradients(reading == .embedded ? TrainingKernels.inputChannels(grads.weight, channels) : grads.weight, grads.bias)
            switch reading {
            case .whole, .embedded: return [grads.input]
            case .blockCopy: return [TrainingKernels.unsliceChannelsBlocked(grads.input, range: channels, channels: total)]
            case .rowMajorCopy: return [TrainingKernels.unsliceChannels(grads.input.rowMajor(), range: channels, channels: total)]
            }
        }
    }

    /// `x W^T + b` on `[N, in]`, PyTorch's `nn.Linear`.
    public func linear(_ x: Variable, _ layer: Linear) throws -> Variable {
        let input = value(x)
        guard input.rank == 2, input.shape[1] == layer.inputFeatures else {
            throw SPConvLabError(.invalidInput, "Linear expects [N, \(layer.inputFeatures)]; got \(input.shape).")
        }
        let weight = layer.weight
        let output = Ops.linear(input, weight: weight, bias: layer.bias)
        return record(output, inputs: [x]) { [unowned self] gradient in
            let grads = TrainingKernels.linearBackward(input: input, weight: weight, gradOutput: gradient)
            self.accumulate(ParameterKey(layer, "weight"), grads.weight)
            self.accumulate(ParameterKey(layer, "bias"), grads.bias)
            return [grads.input]
        }
    }

    // MARK: Batch normalisation

    /// Training-mode batch norm, PyTorch's `nn.BatchNorm2d` in `train()`: normalises with the
    /// batch's mean and biased variance, and moves the layer's running statistics towards the
    /// batch's (`momentum` 0.1, the running variance unbiased by `M / (M - 1)`, `M = N*H*W`).
    /// With `relu`, `max(batchNorm(x), 0)` in the same sweeps (forward and backward), equal bit
    /// for bit to `relu(batchNorm(x))`.
    ///
    /// A channel-blocked input gives a channel-blocked output unless `keepsBlocked` is false (for
    /// a consumer that reads row-major: then the input is converted first, and the statistics are
    /// taken per channel with its planes in cache).
    public func batchNorm(_ x: Variable, _ layer: BatchNorm2D, momentum: Float = 0.1, relu: Bool = false,
                          keepsBlocked: Bool = true) throws -> Variable {
        let input = keepsBlocked ? storedValue(x) : value(x)
        guard input.rank == 4, input.shape[1] == layer.channels else {
            throw SPConvLabError(.invalidInput, "BatchNorm2d expects [N, \(layer.channels), H, W]; got \(input.shape).")
        }
        let count = input.shape[0] * input.shape[2] * input.shape[3]
        guard count > 1 else {
            throw SPConvLabError(.invalidInput, "BatchNorm2d in training needs more than one value per channel; got input \(input.shape). Use a batch of at least 2.")
        }
        let isBlocked = input.layout == .channelBlocked(16)
        let (output, stats) = isBlocked
            ? TrainingKernels.batchNormForwardBlocked(input, weight: layer.weight, bias: layer.bias, epsilon: layer.epsilon, relu: relu)
            : TrainingKernels.batchNormForward(input.rowMajor(), weight: layer.weight, bias: layer.bias, epsilon: layer.epsilon, relu: relu)
        updateRunningStatistics(of: layer, with: stats, count: count, momentum: momentum)
        let weight = layer.weight
        return record(output, inputs: [x], takesBlockedGradient: true) { [unowned self] gradient in
            let grads = isBlocked
                ? TrainingKernels.batchNormBackwardBlocked(input, gradOutput: gradient, statistics: stats, weight: weight, relu: relu)
                : TrainingKernels.batchNormBackward(input.rowMajor(), gradOutput: gradient.rowMajor(), statistics: stats, weight: weight, relu: relu)
            self.accumulate(ParameterKey(layer, "weight"), grads.weight)
            self.accumulate(ParameterKey(layer, "bias"), grads.bias)
            return [grads.input]
        }
    }

    /// Moves a batch norm's running statistics towards a batch's (`momentum`, the variance
    /// unbiased by `count / (count - 1)`), as PyTorch's `BatchNorm2d` in `train()`.
    private func updateRunningStatistics(of layer: BatchNorm2D, with stats: TrainingKernels.BatchNormStatistics, count: Int, momentum: Float) {
        let unbias = Double(count) / Double(count - 1)
        layer.runningMean = Tensor(shape: [layer.channels], scalars: (0..<layer.channels).map { c in
            (1 - momentum) * layer.runningMean.scalars[c] + momentum * stats.meanFloat[c]
        })
        layer.runningVariance = Tensor(shape: [layer.channels], scalars: (0..<layer.channels).map { c in
            (1 - momentum) * layer.runningVariance.scalars[c] + momentum * Float(stats.variance[c] * unbias)
        })
    }

    /// `spconvFusion(batchNorm(rep, bn1), batchNorm(red, bn2))` as one op when both are
    /// channel-blocked (`TrainingKernels.spconvNormalizedFusionBlocked`: the normalised maps are
    /// never written; output channel-blocked), else those three ops. Both batch norms are in
    /// training mode and update their running statistics as `batchNorm` does.
    public func spconvNormalizedFusion(_ rep: Variable, _ red: Variable, bn1: BatchNorm2D, bn2: BatchNorm2D, momentum: Float = 0.1) throws -> Variable {
        let (x, y) = (storedValue(rep), storedValue(red))
        guard fusesBlocked(x, y, normalizedBy: [bn1, bn2]) else {
            return spconvFusion(try batchNorm(rep, bn1, momentum: momentum), try batchNorm(red, bn2, momentum: momentum))
        }
        let fused = TrainingKernels.spconvNormalizedFusionBlocked(x, y, weights: (bn1.weight, bn2.weight), biases: (bn1.bias, bn2.bias),
                                                                  epsilon: (bn1.epsilon, bn2.epsilon))
        let count = x.shape[0] * x.shape[2] * x.shape[3]
        updateRunningStatistics(of: bn1, with: fused.statistics.0, count: count, momentum: momentum)
        updateRunningStatistics(of: bn2, with: fused.statistics.1, count: count, momentum: momentum)
        let weights = (bn1.weight, bn2.weight)
        return record(fused.output, inputs: [rep, red], takesBlockedGradient: true) { [unowned self] gradient in
            let grads = TrainingKernels.spconvNormalizedFusionBackwardBlocked(gradient, x, y, statistics: fused.statistics, weights: weights,
                                                                              weightRep: fused.weightRep, weightRed: fused.weightRed)
            self.accumulate(ParameterKey(bn1, "weight"), grads.weights.0)
            self.accumulate(ParameterKey(bn1, "bias"), grads.biases.0)
            self.accumulate(ParameterKey(bn2, "weight"), grads.weights.1)
            self.accumulate(ParameterKey(bn2, "bias"), grads.biases.1)
            return [grads.rep, grads.red]
        }
    }

    /// `relu?(outer(spconvNormalizedFusion(rep, red, bn1, bn2)))`: an SPConv layer's normalisation
    /// and the batch norm after it (and its ReLU) as one op when both inputs are channel-blocked
    /// (`TrainingKernels.spconvFusionBatchNormBlocked`: neither the fusion's output nor its
    /// gradient is written; output channel-blocked), else those ops one by one. All three batch
    /// norms are in training mode and update their running statistics as `batchNorm` does.
    public func spconvNormalizedFusion(_ rep: Variable, _ red: Variable, bn1: BatchNorm2D, bn2: BatchNorm2D, then outer: BatchNorm2D,
                                       relu: Bool, momentum: Float = 0.1) throws -> Variable {
        let (x, y) = (storedValue(rep), storedValue(red))
        guard fusesBlocked(x, y, normalizedBy: [bn1, bn2, outer]) else {
            return try batchNorm(try spconvNormalizedFusion(rep, red, bn1: bn1, bn2: bn2, momentum: momentum), outer, momentum: momentum, relu: relu)
        }
        let fused = TrainingKernels.spconvFusionBatchNormBlocked(x, y, inner: ((bn1.weight, bn2.weight), (bn1.bias, bn2.bias), (bn1.epsilon, bn2.epsilon)),
                                                                 outer: (outer.weight, outer.bias, outer.epsilon), relu: relu)
        let count = x.shape[0] * x.shape[2] * x.shape[3]
        updateRunningStatistics(of: bn1, with: fused.state.inner.0, count: count, momentum: momentum)
        updateRunningStatistics(of: bn2, with: fused.state.inner.1, count: count, momentum: momentum)
        updateRunningStatistics(of: outer, with: fused.state.outer, count: count, momentum: momentum)
        let (innerWeights, outerWeight) = ((bn1.weight, bn2.weight), outer.weight)
        return record(fused.output, inputs: [rep, red], takesBlockedGradient: true) { [unowned self] gradient in
            let grads = TrainingKernels.spconvFusionBatchNormBackwardBlocked(gradient, x, y, state: fused.state, innerWeights: innerWeights,
                                                                             outerWeight: outerWeight)
            self.accumulate(ParameterKey(bn1, "weight"), grads.innerWeights.0)
            self.accumulate(ParameterKey(bn1, "bias"), grads.innerBiases.0)
            self.accumulate(ParameterKey(bn2, "weight"), grads.innerWeights.1)
            self.accumulate(ParameterKey(bn2, "bias"), grads.innerBiases.1)
            self.accumulate(ParameterKey(outer, "weight"), grads.outerWeight)
            self.accumulate(ParameterKey(outer, "bias"), grads.outerBias)
            return [grads.rep, grads.red]
        }
    }

    /// Whether SPConv's fused normalisation ops apply: two channel-blocked values of one shape
    /// whose channels each batch norm has, with more than one value per channel.
    private func fusesBlocked(_ x: Tensor, _ y: Tensor, normalizedBy norms: [BatchNorm2D]) -> Bool {
        x.layout == .channelBlocked(16) && y.layout == .channelBlocked(16) && x.shape == y.shape
            && norms.allSatisfy { $0.channels == x.shape[1] } && x.shape[0] * x.shape[2] * x.shape[3] > 1
    }

    // MARK: Element-wise

    /// `max(x, 0)`.
    public func relu(_ x: Variable) -> Variable {
        let output = TrainingKernels.relu(storedValue(x))
        return record(output, inputs: [x], takesBlockedGradient: true) { gradient in
            [TrainingKernels.reluBackward(output: output, gradOutput: gradient)]
        }
    }

    /// `max(a + b, 0)` in one pass: a residual block's ending.
    public func addRelu(_ a: Variable, _ b: Variable) -> Variable {
        let (x, y) = sameLayout(a, b)
        let output = TrainingKernels.relu(x, adding: y)
        return record(output, inputs: [a, b], takesBlockedGradient: true) { gradient in
            let g = TrainingKernels.reluBackward(output: output, gradOutput: gradient)
            return [g, g]
        }
    }

    /// `a + b` (same shapes).
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        let (x, y) = sameLayout(a, b)
        return record(TrainingKernels.add(x, y), inputs: [a, b], takesBlockedGradient: true) { gradient in
            [gradient, gradient]
        }
    }

    /// The stored values of `a` and `b` when their layouts agree, else both row-major (the tape
    /// keeps a row-major copy of a blocked value once made).
    private func sameLayout(_ a: Variable, _ b: Variable) -> (Tensor, Tensor) {
        let (x, y) = (storedValue(a), storedValue(b))
        return x.layout == y.layout ? (x, y) : (value(a), value(b))
    }

    /// `x * factors[:, :, None, None]`: each `[N, C]` factor scales one plane of `[N, C, H, W]`.
    public func scalePlanes(_ x: Variable, by factors: Variable) -> Variable {
        let (input, scale) = (value(x), value(factors))
        precondition(scale.shape == [input.shape[0], input.shape[1]], "factors \(scale.shape) do not fit \(input.shape)")
        return record(TrainingKernels.scalePlanes(input, by: scale), inputs: [x, factors]) { gradient in
            [TrainingKernels.scalePlanes(gradient, by: scale),
             Tensor(shape: scale.shape, scalars: TrainingKernels.planeDotProducts(gradient, input))]
        }
    }

    /// SPConv's fusion `softmax(stack(GAP(rep), GAP(red)))`-weighted `rep * w0 + red * w1` as one
    /// op, forward and backward each one sweep over the planes (the graph of `globalAveragePool`,
    /// `stack`, `softmax`, `select`, `scalePlanes` and `add` up to float rounding). Two
    /// channel-blocked inputs give a channel-blocked output (`TrainingKernels.spconvFusionBlocked`).
    public func spconvFusion(_ rep: Variable, _ red: Variable) -> Variable {
        let (x, y) = sameLayout(rep, red)
        precondition(x.shape == y.shape, "spconvFusion: \(x.shape) and \(y.shape) differ")
        if x.layout == .channelBlocked(16) {
            let fused = TrainingKernels.spconvFusionBlocked(x, y)
            return record(fused.output, inputs: [rep, red], takesBlockedGradient: true) { gradient in
                let grads = TrainingKernels.spconvFusionBackwardBlocked(gradient, x, y, weightRep: fused.weightRep, weightRed: fused.weightRed)
                return [grads.rep, grads.red]
            }
        }
        let (a, b) = (x.rowMajor(), y.rowMajor())
        let fused = TrainingKernels.spconvFusion(a, b)
        return record(fused.output, inputs: [rep, red]) { gradient in
            let grads = TrainingKernels.spconvFusionBackward(gradient, a, b, weightRep: fused.weightRep, weightRed: fused.weightRed)
            return [grads.rep, grads.red]
        }
    }

    // MARK: Pooling and shapes

    /// Max or average pooling, PyTorch's `MaxPool2d` / `AvgPool2d` (floor mode, padding counted).
    public func pool(_ x: Variable, _ layer: Pool2D) throws -> Variable {
        try pool(x, kind: layer.kind, kernelSize: layer.kernelSize, stride: layer.stride, padding: layer.padding)
    }

    public func pool(_ x: Variable, kind: Pool2D.Kind, kernelSize: Int, stride: Int, padding: Int = 0) throws -> Variable {
        let input = value(x)
        let isMax = kind == .max
        let output = ElementwiseKernels.pool(input, kernelSize: kernelSize, stride: stride, padding: padding, isMax: isMax)
        return record(output, inputs: [x]) { gradient in
            [TrainingKernels.poolBackward(input: input, gradOutput: gradient, kernelSize: kernelSize, stride: stride,
                                          padding: padding, isMax: isMax)]
        }
    }

    /// The mean of each plane, `[N, C, H, W] -> [N, C]` (PyTorch's `AdaptiveAvgPool2d(1)` then `flatten(1)`).
    public func globalAveragePool(_ x: Variable) -> Variable {
        let shape = value(x).shape
        let means = Tensor(shape: [shape[0], shape[1]], scalars: TrainingKernels.planeSums(value(x), mean: true))
        return record(means, inputs: [x]) { gradient in [TrainingKernels.broadcastPlanes(gradient, shape: shape)] }
    }

    /// Channels `range` of `[N, C, H, W]`.
    public func sliceChannels(_ x: Variable, _ range: Range<Int>) -> Variable {
        let channels = value(x).shape[1]
        return record(Ops.sliceChannels(value(x), range), inputs: [x]) { gradient in
            [TrainingKernels.unsliceChannels(gradient, range: range, channels: channels)]
        }
    }

    /// Concatenation along channels.
    public func concatChannels(_ xs: [Variable]) -> Variable {
        let counts = xs.map { value($0).shape[1] }
        return record(Ops.concatChannels(xs.map { value($0) }), inputs: xs) { gradient in
            var start = 0
            return counts.map { count in
                defer { start += count }
                return Ops.sliceChannels(gradient, start..<(start + count))
            }
        }
    }

    /// Stacks same-shaped values along a new leading axis: `k` of `S` -> `[k] + S`.
    public func stack(_ xs: [Variable]) -> Variable {
        let shape = value(xs[0]).shape
        let stacked = Tensor(shape: [xs.count] + shape, scalars: xs.flatMap { value($0).scalars })
        let size = stacked.count / xs.count
        return record(stacked, inputs: xs) { gradient in
            (0..<xs.count).map { Tensor(shape: shape, scalars: Array(gradient.scalars[($0 * size)..<(($0 + 1) * size)])) }
        }
    }

    /// Entry `index` of the leading axis: `[k] + S -> S`.
    public func select(_ x: Variable, _ index: Int) -> Variable {
        let input = value(x)
        let shape = Array(input.shape.dropFirst())
        let size = shape.reduce(1, *)
        let part = Tensor(shape: shape, scalars: Array(input.scalars[(index * size)..<((index + 1) * size)]))
        return record(part, inputs: [x]) { gradient in
            var full = [Float](repeating: 0, count: input.count)
            full.replaceSubrange((index * size)..<((index + 1) * size), with: gradient.scalars)
            return [Tensor(shape: input.shape, scalars: full)]
        }
    }

    /// Softmax along `axis`.
    public func softmax(_ x: Variable, axis: Int) -> Variable {
        let output = Ops.softmax(value(x), axis: axis)
        return record(output, inputs: [x]) { gradient in
            [TrainingKernels.softmaxBackward(output: output, gradOutput: gradient, axis: axis)]
        }
    }

    /// A view with another shape of the same elements.
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        let original = value(x).shape
        return record(value(x).reshaped(to: shape), inputs: [x]) { gradient in [gradient.reshaped(to: original)] }
    }

    // MARK: Loss

    /// Mean cross-entropy of `[N, K]` logits against `labels`, with label smoothing; a `[1]` value.
    public func crossEntropy(_ logits: Variable, labels: [Int], labelSmoothing: Float = 0) throws -> Variable {
        let z = value(logits)
        guard z.rank == 2, labels.count == z.shape[0], labels.allSatisfy({ (0..<z.shape[1]).contains($0) }) else {
            throw SPConvLabError(.invalidInput, "cross-entropy needs [N, K] logits and N labels in 0..<K; got logits \(z.shape) and \(labels.count) labels.")
        }
        let (loss, gradient) = TrainingKernels.crossEntropy(logits: z, labels: labels, labelSmoothing: labelSmoothing)
        return record(Tensor(shape: [1], scalars: [Float(loss)]), inputs: [logits]) { upstream in
            [TrainingKernels.scalePlanes(gradient.reshaped(to: [1, 1, z.shape[0], z.shape[1]]),
                                         by: upstream.reshaped(to: [1, 1])).reshaped(to: z.shape)]
        }
    }
}

import Foundation

/// The differentiable ops of the zoo, each recorded with its backward closure.
///
/// Feature maps are `[N, C, H, W]`, row-major except between the ops that keep oneDNN's `nChw16c`
/// (convolution, batch norm, ReLU, add; `storedValue`), which take either layout and whose
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

    /// SPConv's representative branch, `gwc(x) + pwc(x)` at stride 1 and `gwc(x) + pwc(avgPool2x2(x))`
    /// at stride 2, as one dense 3x3 convolution whose weight holds both
    /// (`TrainingKernels.representativeWeight`); its weight gradient is split back into the two
    /// layers'. Equal to the three-op graph up to float rounding, with one convolution, no add and
    /// no pool. `gwc` must be 3x3 with padding 1 and no bias, `pwc` 1x1 without bias, and at stride 2
    /// the input's height and width even.
    public func spconvRepresentative(_ x: Variable, gwc: Conv2D, pwc: Conv2D, stride: Int, keepsBlocked: Bool = true) throws -> Variable {
        let input = value(x)
        try gwc.checkInput(input.shape)
        try pwc.checkInput(input.shape)
        let g = gwc.geometry
        precondition(g.kernelSize == 3 && g.padding == 1 && g.dilation == 1 && g.stride == stride && gwc.bias == nil && pwc.bias == nil
                     && pwc.geometry.kernelSize == 1 && (stride == 1 || input.shape[2] % 2 == 0 && input.shape[3] % 2 == 0),
                     "spconvRepresentative needs SPConv's gwc (3x3, padding 1, no bias) and pwc (1x1, no bias), and even sizes at stride 2")
        let merged = TrainingKernels.representativeWeight(gwc: gwc.weight, groups: g.groups, pwc: pwc.weight, stride: stride)
        let kernel = try ConvolutionTrainingKernel.cached(.init(inputShape: input.shape, outputChannels: gwc.outputChannels,
                                                               geometry: Conv2DGeometry(kernelSize: 3, stride: stride, padding: 1),
                                                               hasBias: false))
        let (output, saved) = try kernel.forward(input, weight: merged, bias: nil, blockedOutput: keepsBlocked)
        return record(output, inputs: [x], takesBlockedGradient: true) { [unowned self] gradient in
            let grads = try kernel.backward(gradient, weight: merged, saved: saved)
            let split = TrainingKernels.representativeGradients(grads.weight, groups: g.groups, stride: stride)
            self.accumulate(ParameterKey(gwc, "weight"), split.gwc)
            self.accumulate(ParameterKey(pwc, "weight"), split.pwc)
            return [grads.input]
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
        let unbias = Double(count) / Double(count - 1)
        layer.runningMean = Tensor(shape: [layer.channels], scalars: (0..<layer.channels).map { c in
            (1 - momentum) * layer.runningMean.scalars[c] + momentum * stats.meanFloat[c]
        })
        layer.runningVariance = Tensor(shape: [layer.channels], scalars: (0..<layer.channels).map { c in
            (1 - momentum) * layer.runningVariance.scalars[c] + momentum * Float(stats.variance[c] * unbias)
        })
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
    /// `stack`, `softmax`, `select`, `scalePlanes` and `add` up to float rounding).
    public func spconvFusion(_ rep: Variable, _ red: Variable) -> Variable {
        let (x, y) = (value(rep), value(red))
        precondition(x.shape == y.shape, "spconvFusion: \(x.shape) and \(y.shape) differ")
        let fused = TrainingKernels.spconvFusion(x, y)
        return record(fused.output, inputs: [rep, red]) { gradient in
            let grads = TrainingKernels.spconvFusionBackward(gradient, x, y, weightRep: fused.weightRep, weightRed: fused.weightRed)
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

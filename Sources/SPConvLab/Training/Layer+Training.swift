import SPConvCore
import SPConvKernels

/// Training-mode forward passes of the zoo's modules, written with the tape's ops in the order of
/// PyTorch's `forward` methods.

extension Conv2D {
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable { try tape.conv2d(input, self) }
}

extension BatchNorm2D {
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable { try tape.batchNorm(input, self) }
}

extension ReLU {
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable { tape.relu(input) }
}

extension Pool2D {
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable {
        _ = try outputShape(tape.value(input).shape)
        return try tape.pool(input, self)
    }
}

extension GlobalAvgPool2D {
    /// Returns `[N, C]`: the pool and PyTorch's `flatten(1)` in one.
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable { tape.globalAveragePool(input) }
}

extension Linear {
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable {
        let shape = tape.value(input).shape
        let flat = shape.count == 2 ? input : tape.reshape(input, [shape[0], shape.dropFirst().reduce(1, *)])
        return try tape.linear(flat, self)
    }
}

extension Sequential {
    public func trainingForward(_ input: Variable, tape: Tape) throws -> Variable {
        try layers.reduce(input) { x, layer in try layer.trainingForward(x, tape: tape) }
    }
}

extension IdentityCapture {
    func trainingForward(_ input: Variable, tape: Tape) throws -> Variable { input }
}

extension BasicBlock {
    public func trainingForward(_ x: Variable, tape: Tape) throws -> Variable {
        var out = try conv1.trainingForward(x, tape: tape, bn: bn1, relu: true)
        out = try conv2.trainingForward(out, tape: tape, bn: bn2, relu: false)
        let identity = try downsample?.trainingForward(x, tape: tape) ?? x
        return tape.addRelu(out, identity)
    }
}

extension Bottleneck {
    public func trainingForward(_ x: Variable, tape: Tape) throws -> Variable {
        var out = try tape.batchNorm(try conv1.trainingForward(x, tape: tape), bn1, relu: true)
        out = try conv2.trainingForward(out, tape: tape, bn: bn2, relu: true)
        out = try bn3.trainingForward(try conv3.trainingForward(out, tape: tape), tape: tape)
        let identity = try downsample?.trainingForward(x, tape: tape) ?? x
        return tape.addRelu(out, identity)
    }
}

extension SPConv {
    /// The authors' `SPConv_3x3.forward`: split, the two branches, then the softmax fusion of
    /// `softmax(stack(GAP(U_rep), GAP(U_red)))` weights. Each branch's convolution reads its
    /// channels of the input where they lie (`Tape.convolution(_:channels:...)`), the
    /// representative one's two convolutions (and its pool at stride 2) run as one
    /// (`Tape.spconvRepresentative`), the redundant one's pool and 1x1 as one
    /// (`Tape.spconvRedundant`), and both batch norms with the fusion as one op
    /// (`Tape.spconvNormalizedFusion`); on AVX-512 the whole layer stays in oneDNN's `nChw16c`.
    public func trainingForward(_ x: Variable, tape: Tape) throws -> Variable {
        let (rep, red) = try branches(x, tape: tape)
        return try tape.spconvNormalizedFusion(rep, red, bn1: bn1, bn2: bn2)
    }

    /// `relu?(outer(self(x)))`, the layer and the batch norm after it in a residual block, with
    /// both batch norms of the layer, its fusion and `outer` as one op
    /// (`Tape.spconvNormalizedFusion(_:_:bn1:bn2:then:relu:)`).
    public func trainingForward(_ x: Variable, tape: Tape, normalizedBy outer: BatchNorm2D, relu: Bool) throws -> Variable {
        let (rep, red) = try branches(x, tape: tape)
        return try tape.spconvNormalizedFusion(rep, red, bn1: bn1, bn2: bn2, then: outer, relu: relu)
    }

    private func branches(_ x: Variable, tape: Tape) throws -> (rep: Variable, red: Variable) {
        try checkSpatial(tape.storedValue(x).shape, path: "")
        let rep = try tape.spconvRepresentative(x, channels: 0..<representativeChannels, gwc: gwc, pwc: pwc, stride: stride)
        let red = try tape.spconvRedundant(x, channels: representativeChannels..<inputChannels, conv1x1: conv1x1, stride: stride)
        return (rep, red)
    }
}

extension ConvUnit {
    /// The slot followed by its batch norm (and ReLU) in training; an SPConv slot runs its own
    /// normalisation and `bn` as one op.
    func trainingForward(_ x: Variable, tape: Tape, bn: BatchNorm2D, relu: Bool) throws -> Variable {
        switch self {
        case .plain(let conv): return try tape.batchNorm(try tape.conv2d(x, conv), bn, relu: relu)
        case .split(let spconv): return try spconv.trainingForward(x, tape: tape, normalizedBy: bn, relu: relu)
        }
    }
}

extension ResNet {
    public func trainingForward(_ x: Variable, tape: Tape) throws -> Variable {
        var out = try tape.batchNorm(try conv1.trainingForward(x, tape: tape), bn1, relu: true)
        if let maxpool { out = try maxpool.trainingForward(out, tape: tape) }
        for stage in stages { out = try stage.trainingForward(out, tape: tape) }
        return try fc.trainingForward(avgpool.trainingForward(out, tape: tape), tape: tape)
    }
}

extension VGG {
    public func trainingForward(_ x: Variable, tape: Tape) throws -> Variable {
        let out = try avgpool.trainingForward(try features.trainingForward(x, tape: tape), tape: tape)
        return try classifier.trainingForward(out, tape: tape)
    }
}

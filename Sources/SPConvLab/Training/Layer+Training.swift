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
        var out = try tape.batchNorm(try conv1.layer.trainingForward(x, tape: tape), bn1, relu: true)
        out = try bn2.trainingForward(try conv2.layer.trainingForward(out, tape: tape), tape: tape)
        let identity = try downsample?.trainingForward(x, tape: tape) ?? x
        return tape.addRelu(out, identity)
    }
}

extension Bottleneck {
    public func trainingForward(_ x: Variable, tape: Tape) throws -> Variable {
        var out = try tape.batchNorm(try conv1.trainingForward(x, tape: tape), bn1, relu: true)
        out = try tape.batchNorm(try conv2.layer.trainingForward(out, tape: tape), bn2, relu: true)
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
        try checkSpatial(tape.storedValue(x).shape, path: "")
        let rep = try tape.spconvRepresentative(x, channels: 0..<representativeChannels, gwc: gwc, pwc: pwc, stride: stride)
        let red = try tape.spconvRedundant(x, channels: representativeChannels..<inputChannels, conv1x1: conv1x1, stride: stride)
        return try tape.spconvNormalizedFusion(rep, red, bn1: bn1, bn2: bn2)
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

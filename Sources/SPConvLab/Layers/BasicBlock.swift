import SPConvCore
import SPConvKernels

/// The ResNet BasicBlock (CIFAR ResNets and resnet18): `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
///
/// `conv1` (stride s) and `conv2` are 3x3 convolutions or SPConv layers; `downsample` is a 1x1 conv
/// with stride s plus BatchNorm where the shape changes, else the shortcut is the identity.
/// On the fast backend each conv runs with its BN folded in, and `conv2` also fuses the shortcut
/// add and the final ReLU.
public final class BasicBlock: Layer {
    public let conv1: ConvUnit
    public let bn1: BatchNorm2D
    public let conv2: ConvUnit
    public let bn2: BatchNorm2D
    public let downsample: Sequential?
    private let folded1 = FoldedConvolution(), folded2 = FoldedConvolution(), foldedShortcut = FoldedConvolution()

    public var typeName: String { "BasicBlock" }

    init(variant: ModelVariant, inputChannels: Int, outputChannels: Int, stride: Int, path: String) throws {
        conv1 = try .make(variant, inputChannels: inputChannels, outputChannels: outputChannels, stride: stride,
                          path: path + ".conv1")
        bn1 = BatchNorm2D(channels: outputChannels)
        conv2 = try .make(variant, inputChannels: outputChannels, outputChannels: outputChannels, stride: 1,
                          path: path + ".conv2")
        bn2 = BatchNorm2D(channels: outputChannels)
        downsample = makeProjectionShortcut(inputChannels: inputChannels, outputChannels: outputChannels, stride: stride)
    }

    public var children: [(name: String, layer: any Layer)] {
        var list: [(name: String, layer: any Layer)] = [("conv1", conv1.layer), ("bn1", bn1), ("conv2", conv2.layer), ("bn2", bn2)]
        if let downsample { list.append(("downsample", downsample)) }
        return list
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        if context.backend == .fast && !context.wantsCaptureInside {
            let identity = try shortcutFused(x, context: context)
            let hidden = try conv1.fusedForward(x, name: "conv1", bn: bn1, folder: folded1, residual: nil, relu: true, context: context)
            return try conv2.fusedForward(hidden, name: "conv2", bn: bn2, folder: folded2, residual: identity, relu: true, context: context)
        }
        let x = x.rowMajor()
        let ops = ModularOps(context.backend)
        var out = try context.call(bn1, "bn1", try context.call(conv1.layer, "conv1", x))
        out = ops.relu(out)
        out = try context.call(bn2, "bn2", try context.call(conv2.layer, "conv2", out))
        let identity = try downsample.map { try context.call($0, "downsample", x) } ?? x
        return ops.relu(ops.add(out, identity))
    }

    private func shortcutFused(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try fusedShortcut(downsample, folder: foldedShortcut, x)
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        var shape = try context.call(conv1.layer, "conv1", inputShape)
        shape = try context.call(bn1, "bn1", shape)
        context.record(type: "ReLU", step: "relu1", outputShape: shape, flops: shape.dropFirst().reduce(1, *))
        shape = try context.call(conv2.layer, "conv2", shape)
        shape = try context.call(bn2, "bn2", shape)
        if let downsample { _ = try context.call(downsample, "downsample", inputShape) }
        context.record(type: "add", step: "add", outputShape: shape, flops: shape.dropFirst().reduce(1, *))
        context.record(type: "ReLU", step: "relu2", outputShape: shape, flops: shape.dropFirst().reduce(1, *))
        return shape
    }
}

/// The functional steps between modules (ReLU, add) on the chosen backend.
struct ModularOps {
    let backend: Backend
    init(_ backend: Backend) { self.backend = backend }
    func relu(_ x: Tensor) -> Tensor { backend == .fast ? Ops.relu(x) : ReferenceOps.relu(x) }
    func add(_ a: Tensor, _ b: Tensor) -> Tensor { backend == .fast ? Ops.add(a, b) : ReferenceOps.add(a, b) }
}

/// The projection shortcut where a block changes shape: a 1x1 conv with the block's stride and a
/// BatchNorm, PyTorch's `downsample = Sequential(Conv2d, BatchNorm2d)`; nil where the shape stays.
func makeProjectionShortcut(inputChannels: Int, outputChannels: Int, stride: Int) -> Sequential? {
    guard stride != 1 || inputChannels != outputChannels else { return nil }
    return Sequential([Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1,
                              stride: stride, bias: false),
                       BatchNorm2D(channels: outputChannels)])
}

/// The shortcut on the fast path: the BN-folded projection, or `x` itself.
func fusedShortcut(_ downsample: Sequential?, folder: FoldedConvolution, _ x: Tensor) throws -> Tensor {
    guard let downsample, let conv = downsample.layers[0] as? Conv2D, let bn = downsample.layers[1] as? BatchNorm2D else { return x }
    return try folder.conv(conv, bn).runFast(x)
}

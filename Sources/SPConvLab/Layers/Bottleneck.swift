import SPConvCore
import SPConvKernels

/// torchvision's Bottleneck (ResNet v1.5, stride on the 3x3):
/// `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))`, expansion 4.
///
/// `conv1` and `conv3` are 1x1 convolutions; `conv2` is a 3x3 conv with stride s, or an SPConv in
/// its place (the block keeps its own `bn2` after it, as the authors' code does).
public final class Bottleneck: Layer {
    public static let expansion = 4
    public let conv1: Conv2D
    public let bn1: BatchNorm2D
    public let conv2: ConvUnit
    public let bn2: BatchNorm2D
    public let conv3: Conv2D
    public let bn3: BatchNorm2D
    public let downsample: Sequential?
    private let folded1 = FoldedConvolution(), folded2 = FoldedConvolution(), folded3 = FoldedConvolution()
    private let foldedShortcut = FoldedConvolution()

    public var typeName: String { "Bottleneck" }

    init(variant: ModelVariant, inputChannels: Int, planes: Int, stride: Int, path: String) throws {
        let width = planes
        let outputChannels = planes * Bottleneck.expansion
        conv1 = Conv2D(inputChannels: inputChannels, outputChannels: width, kernelSize: 1, bias: false)
        bn1 = BatchNorm2D(channels: width)
        conv2 = try .make(variant, inputChannels: width, outputChannels: width, stride: stride, path: path + ".conv2")
        bn2 = BatchNorm2D(channels: width)
        conv3 = Conv2D(inputChannels: width, outputChannels: outputChannels, kernelSize: 1, bias: false)
        bn3 = BatchNorm2D(channels: outputChannels)
        downsample = makeProjectionShortcut(inputChannels: inputChannels, outputChannels: outputChannels, stride: stride)
    }

    public var children: [(name: String, layer: any Layer)] {
        var list: [(name: String, layer: any Layer)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2.layer), ("bn2", bn2),
                                                        ("conv3", conv3), ("bn3", bn3)]
        if let downsample { list.append(("downsample", downsample)) }
        return list
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        if context.backend == .fast && !context.wantsCaptureInside {
            let identity = try fusedShortcut(downsample, folder: foldedShortcut, x)
            var out = try ConvUnit.plain(conv1).fusedForward(x, name: "conv1", bn: bn1, folder: folded1, residual: nil,
                                                             relu: true, context: context)
            out = try conv2.fusedForward(out, name: "conv2", bn: bn2, folder: folded2, residual: nil, relu: true, context: context)
            return try ConvUnit.plain(conv3).fusedForward(out, name: "conv3", bn: bn3, folder: folded3, residual: identity,
                                                          relu: true, context: context)
        }
        let x = x.rowMajor()
        let ops = ModularOps(context.backend)
        var out = ops.relu(try context.call(bn1, "bn1", try context.call(conv1, "conv1", x)))
        out = ops.relu(try context.call(bn2, "bn2", try context.call(conv2.layer, "conv2", out)))
        out = try context.call(bn3, "bn3", try context.call(conv3, "conv3", out))
        let identity = try downsample.map { try context.call($0, "downsample", x) } ?? x
        return ops.relu(ops.add(out, identity))
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        var shape = try context.call(bn1, "bn1", try context.call(conv1, "conv1", inputShape))
        context.record(type: "ReLU", step: "relu1", outputShape: shape, flops: shape.dropFirst().reduce(1, *))
        shape = try context.call(bn2, "bn2", try context.call(conv2.layer, "conv2", shape))
        context.record(type: "ReLU", step: "relu2", outputShape: shape, flops: shape.dropFirst().reduce(1, *))
        shape = try context.call(bn3, "bn3", try context.call(conv3, "conv3", shape))
        if let downsample { _ = try context.call(downsample, "downsample", inputShape) }
        context.record(type: "add", step: "add", outputShape: shape, flops: shape.dropFirst().reduce(1, *))
        context.record(type: "ReLU", step: "relu3", outputShape: shape, flops: shape.dropFirst().reduce(1, *))
        return shape
    }
}

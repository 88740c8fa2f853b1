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

    public var typeName: String { "Bottleneck" }

    package init(variant: ModelVariant, inputChannels: Int, planes: Int, stride: Int, path: String) throws {
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
}

import SPConvCore
import SPConvKernels

/// The ResNet BasicBlock (CIFAR ResNets and resnet18): `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
///
/// `conv1` (stride s) and `conv2` are 3x3 convolutions or SPConv layers; `downsample` is a 1x1 conv
/// with stride s plus BatchNorm where the shape changes, else the shortcut is the identity.
/// Its ops are written once, in ``build(_:builder:)``; the fast interpreter folds each BN into its
/// conv and runs the shortcut add and the final ReLU inside `conv2`.
public final class BasicBlock: Layer {
    public let conv1: ConvUnit
    public let bn1: BatchNorm2D
    public let conv2: ConvUnit
    public let bn2: BatchNorm2D
    public let downsample: Sequential?

    public var typeName: String { "BasicBlock" }

    package init(variant: ModelVariant, inputChannels: Int, outputChannels: Int, stride: Int, path: String) throws {
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
}

/// The projection shortcut where a block changes shape: a 1x1 conv with the block's stride and a
/// BatchNorm, PyTorch's `downsample = Sequential(Conv2d, BatchNorm2d)`; nil where the shape stays.
func makeProjectionShortcut(inputChannels: Int, outputChannels: Int, stride: Int) -> Sequential? {
    guard stride != 1 || inputChannels != outputChannels else { return nil }
    return Sequential([Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1,
                              stride: stride, bias: false),
                       BatchNorm2D(channels: outputChannels)])
}

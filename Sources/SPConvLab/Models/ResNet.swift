import SPConvCore
import SPConvKernels

/// The ResNet families of the zoo, with PyTorch's module names.
///
/// CIFAR (`resnet20/56/110`): `conv1` 3x3 (C_in -> 16), `bn1`, `relu`, `layer1..3` of n BasicBlocks
/// with 16/32/64 channels (the first block of layers 2 and 3 has stride 2), `avgpool`, `fc`.
/// ImageNet (`resnet18`, `resnet50`, torchvision): `conv1` 7x7 stride 2, `bn1`, `relu`, `maxpool`
/// 3x3 stride 2, `layer1..4` (64..512 planes), `avgpool`, `fc`.
/// Input `[N, C_in, S, S]` -> logits `[N, classes]`.
public final class ResNet: Layer {
    public let conv1: Conv2D
    public let bn1: BatchNorm2D
    public let relu = ReLU()
    public let maxpool: Pool2D?
    public let stages: [Sequential]
    public let avgpool = GlobalAvgPool2D()
    public let fc: Linear

    public var typeName: String { "ResNet" }

    init(spec: ModelSpec) throws {
        let variant = spec.variant
        switch spec.architecture {
        case .resnet20, .resnet56, .resnet110:
            let depth = ["resnet20": 3, "resnet56": 9, "resnet110": 18][spec.architecture.rawValue]!
            conv1 = Conv2D(inputChannels: spec.inputChannels, outputChannels: 16, kernelSize: 3, padding: 1, bias: false)
            bn1 = BatchNorm2D(channels: 16)
            maxpool = nil
            var inChannels = 16
            var stages: [Sequential] = []
            for (index, width) in [16, 32, 64].enumerated() {
                var blocks: [any Layer] = []
                for b in 0..<depth {
                    let stride = index > 0 && b == 0 ? 2 : 1
                    blocks.append(try BasicBlock(variant: variant, inputChannels: inChannels, outputChannels: width,
                                                 stride: stride, path: "layer\(index + 1).\(b)"))
                    inChannels = width
                }
                stages.append(Sequential(blocks))
            }
            self.stages = stages
            fc = Linear(inputFeatures: 64, outputFeatures: spec.classes)
        case .resnet18, .resnet50:
            conv1 = Conv2D(inputChannels: spec.inputChannels, outputChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false)
            bn1 = BatchNorm2D(channels: 64)
            maxpool = Pool2D(.max, kernelSize: 3, stride: 2, padding: 1)
            let counts = spec.architecture == .resnet18 ? [2, 2, 2, 2] : [3, 4, 6, 3]
            let bottleneck = spec.architecture == .resnet50
            var inChannels = 64
            var stages: [Sequential] = []
            for (index, planes) in [64, 128, 256, 512].enumerated() {
                var blocks: [any Layer] = []
                for b in 0..<counts[index] {
                    let stride = index > 0 && b == 0 ? 2 : 1
                    let path = "layer\(index + 1).\(b)"
                    if bottleneck {
                        blocks.append(try Bottleneck(variant: variant, inputChannels: inChannels, planes: planes,
                                                     stride: stride, path: path))
                        inChannels = planes * Bottleneck.expansion
                    } else {
                        blocks.append(try BasicBlock(variant: variant, inputChannels: inChannels, outputChannels: planes,
                                                     stride: stride, path: path))
                        inChannels = planes
                    }
                }
                stages.append(Sequential(blocks))
            }
            self.stages = stages
            fc = Linear(inputFeatures: inChannels, outputFeatures: spec.classes)
        case .vgg16:
            preconditionFailure("vgg16 is built by VGG, not ResNet")
        }
    }

    public var children: [(name: String, layer: any Layer)] {
        var list: [(name: String, layer: any Layer)] = [("conv1", conv1), ("bn1", bn1), ("relu", relu)]
        if let maxpool { list.append(("maxpool", maxpool)) }
        for (i, stage) in stages.enumerated() { list.append(("layer\(i + 1)", stage)) }
        list += [("avgpool", avgpool), ("fc", fc)]
        return list
    }
}

extension ResNet {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        var value = input
        for (name, child) in children { value = try builder.call(child, name, value) }
        return value
    }
}

import SPConvCore
import SPConvKernels

/// CIFAR VGG-16 with BatchNorm, PyTorch's module names.
///
/// `features` is one `nn.Sequential` built from the configuration
/// 64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M: each number is a
/// 3x3 conv (padding 1, with bias), BatchNorm and ReLU; M is a 2x2 max pool. Then `avgpool`
/// (adaptive average pooling to 1x1, the identity for 32x32 inputs), flatten, and
/// `classifier` = Linear(512, classes). The SPConv variant replaces every conv but the first.
/// Input `[N, C_in, S, S]` with S >= 32 -> logits `[N, classes]`.
public final class VGG: Layer {
    public static let configuration: [Int?] = [64, 64, nil, 128, 128, nil, 256, 256, 256, nil,
                                               512, 512, 512, nil, 512, 512, 512, nil]
    public let features: Sequential
    public let avgpool = GlobalAvgPool2D()
    public let classifier: Linear

    public var typeName: String { "VGG" }

    init(spec: ModelSpec) throws {
        var layers: [any Layer] = []
        var inChannels = spec.inputChannels
        var convIndex = 0
        for entry in VGG.configuration {
            guard let width = entry else {
                layers.append(Pool2D(.max, kernelSize: 2, stride: 2))
                continue
            }
            let variant: ModelVariant = convIndex == 0 ? .vanilla : spec.variant
            let unit = try ConvUnit.make(variant, inputChannels: inChannels, outputChannels: width, stride: 1, bias: true,
                                         path: "features.\(layers.count)")
            layers += [unit.layer, BatchNorm2D(channels: width), ReLU()]
            inChannels = width
            convIndex += 1
        }
        features = Sequential(layers)
        classifier = Linear(inputFeatures: 512, outputFeatures: spec.classes)
    }

    public var children: [(name: String, layer: any Layer)] {
        [("features", features), ("avgpool", avgpool), ("classifier", classifier)]
    }
}

extension VGG {
    public func build(_ input: Graph.Value, builder: GraphBuilder) throws -> Graph.Value {
        var value = input
        for (name, child) in children { value = try builder.call(child, name, value) }
        return value
    }
}

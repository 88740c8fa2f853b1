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
    private let folders: [FoldedConvolution]

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
        folders = layers.map { _ in FoldedConvolution() }
    }

    public var children: [(name: String, layer: any Layer)] {
        [("features", features), ("avgpool", avgpool), ("classifier", classifier)]
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        var out: Tensor
        if context.backend == .fast && !context.wantsCaptureInside {
            out = try context.within("features") { try fusedFeatures(x, context: context) }
        } else {
            out = try context.call(features, "features", x)
        }
        out = try context.call(avgpool, "avgpool", out)
        return try context.call(classifier, "classifier", out)
    }

    /// Runs `features` with each (conv, BN, ReLU) triple fused into one pass.
    private func fusedFeatures(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        var out = x
        var i = 0
        let layers = features.layers
        while i < layers.count {
            if let bn = layers[i + 1 < layers.count ? i + 1 : i] as? BatchNorm2D, i + 2 < layers.count, layers[i + 2] is ReLU {
                let unit: ConvUnit = (layers[i] as? SPConv).map { .split($0) } ?? .plain(layers[i] as! Conv2D)
                out = try unit.fusedForward(out, name: String(i), bn: bn, folder: folders[i], residual: nil, relu: true,
                                            context: context)
                i += 3
            } else {
                out = try context.call(layers[i], String(i), out)
                i += 1
            }
        }
        return out
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        var shape = inputShape
        for (name, child) in children { shape = try context.call(child, name, shape) }
        return shape
    }
}

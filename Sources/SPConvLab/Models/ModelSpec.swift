import SPConvCore
import SPConvKernels

/// The architectures of the model zoo.
public enum Architecture: String, CaseIterable, Sendable, Codable {
    case resnet20, resnet56, resnet110, vgg16, resnet18, resnet50

    /// True for the CIFAR-style models (3x3 stem, 32x32 inputs by default).
    public var isCIFAR: Bool { self != .resnet18 && self != .resnet50 }
    public var defaultClasses: Int { isCIFAR ? 10 : 1000 }
    public var defaultInputSize: Int { isCIFAR ? 32 : 224 }

    public var summary: String {
        switch self {
        case .resnet20: return "CIFAR ResNet-20: 3 stages x 3 BasicBlocks, 16/32/64 channels"
        case .resnet56: return "CIFAR ResNet-56: 3 stages x 9 BasicBlocks, 16/32/64 channels"
        case .resnet110: return "CIFAR ResNet-110: 3 stages x 18 BasicBlocks, 16/32/64 channels"
        case .vgg16: return "CIFAR VGG-16 with BatchNorm: 13 convs (64..512), 5 max pools, Linear 512 -> classes"
        case .resnet18: return "ImageNet ResNet-18 (torchvision layout): BasicBlocks [2, 2, 2, 2]"
        case .resnet50: return "ImageNet ResNet-50 (torchvision layout): Bottlenecks [3, 4, 6, 3]"
        }
    }
}

/// Everything needed to build a zoo model: architecture, variant and input/output options.
public struct ModelSpec: Hashable, Sendable, Codable {
    public var architecture: Architecture
    public var variant: ModelVariant
    public var inputChannels: Int
    public var classes: Int
    public var inputSize: Int

    public init(_ architecture: Architecture, variant: ModelVariant = .vanilla, inputChannels: Int = 3,
                classes: Int? = nil, inputSize: Int? = nil) {
        self.architecture = architecture
        self.variant = variant
        self.inputChannels = inputChannels
        self.classes = classes ?? architecture.defaultClasses
        self.inputSize = inputSize ?? architecture.defaultInputSize
    }

    /// The accepted ranges of the spec's options: wide enough for any real dataset, narrow enough
    /// that a mistyped value is refused before it allocates gigabytes of weights.
    public static let inputChannelRange = 1...4096
    public static let classRange = 1...100_000
    public static let inputSizeRange = 1...4096

    /// A short human-readable name, e.g. `resnet20 spconv(ratio 0.5, groups 2)`.
    public var displayName: String {
        switch variant {
        case .vanilla: return "\(architecture.rawValue) vanilla"
        case .spconv(let c): return "\(architecture.rawValue) spconv(ratio \(c.ratio), groups \(c.groups))"
        }
    }
}

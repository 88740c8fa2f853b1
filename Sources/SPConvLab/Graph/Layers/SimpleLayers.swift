import SPConvCore
import SPConvKernels

/// `nn.ReLU`: `max(x, 0)` element-wise, any shape.
public final class ReLU: Layer {
    public var typeName: String { "ReLU" }
    public init() {}
}

/// `nn.MaxPool2d` / `nn.AvgPool2d` (floor mode; average counts padding, PyTorch's default).
///
/// `[N, C, H, W] -> [N, C, H', W']`, `H' = (H + 2p - K) / s + 1`.
public final class Pool2D: Layer {
    public enum Kind: Sendable { case max, average }
    public let kind: Kind
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    public var typeName: String { kind == .max ? "MaxPool2d" : "AvgPool2d" }

    public init(_ kind: Kind, kernelSize: Int, stride: Int, padding: Int = 0) {
        self.kind = kind
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }
}

/// `nn.AdaptiveAvgPool2d(1)`: the mean of each channel, `[N, C, H, W] -> [N, C, 1, 1]`.
public final class GlobalAvgPool2D: Layer {
    public var typeName: String { "AdaptiveAvgPool2d" }
    public init() {}
}

/// `nn.Linear`: `[N, in] -> [N, out]`, `y = x W^T + b`, weight `[out, in]`. Flattens a 4-D input first.
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public var weight: Tensor { didSet { revision &+= 1 } }
    public var bias: Tensor { didSet { revision &+= 1 } }
    /// Incremented whenever the weights change, so compiled graphs know to rebuild.
    public private(set) var revision = 0

    public var typeName: String { "Linear" }

    public init(inputFeatures: Int, outputFeatures: Int) {
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        weight = .zeros([outputFeatures, inputFeatures])
        bias = .zeros([outputFeatures])
    }

    public func visitOwnTensors(_ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {
        try visitTensor(\.weight, "weight", .parameter, body)
        try visitTensor(\.bias, "bias", .parameter, body)
    }
}

/// `nn.Sequential`: children named "0", "1", ... run in order.
public final class Sequential: Layer {
    public let layers: [any Layer]
    public var typeName: String { "Sequential" }

    public init(_ layers: [any Layer]) { self.layers = layers }

    public var children: [(name: String, layer: any Layer)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }
}

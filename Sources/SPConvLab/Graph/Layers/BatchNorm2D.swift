import SPConvCore
import SPConvKernels

/// Batch normalisation in inference mode, PyTorch's `nn.BatchNorm2d` in `eval()`.
///
/// `y = (x - running_mean) / sqrt(running_var + eps) * weight + bias` per channel, on
/// `[N, C, H, W]`. `weight` and `bias` are parameters; the running statistics are buffers.
public final class BatchNorm2D: Layer {
    public let channels: Int
    public let epsilon: Float
    public var weight: Tensor { didSet { revision &+= 1 } }
    public var bias: Tensor { didSet { revision &+= 1 } }
    public var runningMean: Tensor { didSet { revision &+= 1 } }
    public var runningVariance: Tensor { didSet { revision &+= 1 } }
    public private(set) var revision = 0

    public var typeName: String { "BatchNorm2d" }

    public init(channels: Int, epsilon: Float = 1e-5) {
        self.channels = channels
        self.epsilon = epsilon
        weight = Tensor(repeating: 1, shape: [channels])
        bias = .zeros([channels])
        runningMean = .zeros([channels])
        runningVariance = Tensor(repeating: 1, shape: [channels])
    }

    public func visitOwnTensors(_ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {
        try visitTensor(\.weight, "weight", .parameter, body)
        try visitTensor(\.bias, "bias", .parameter, body)
        try visitTensor(\.runningMean, "running_mean", .buffer, body)
        try visitTensor(\.runningVariance, "running_var", .buffer, body)
    }
}

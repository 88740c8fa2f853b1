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
        try body("weight", .parameter, &weight)
        try body("bias", .parameter, &bias)
        try body("running_mean", .buffer, &runningMean)
        try body("running_var", .buffer, &runningVariance)
    }

    /// The per-channel `(a, b)` such that this layer computes `a * x + b`.
    public var folded: (scale: [Float], shift: [Float]) {
        Ops.foldBatchNorm(mean: runningMean, variance: runningVariance, scale: weight, shift: bias, epsilon: epsilon)
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        let input = input.rowMajor()
        guard input.rank == 4, input.shape[1] == channels else {
            throw SPConvLabError(.invalidInput, "BatchNorm2d expects [N, \(channels), H, W]; got \(input.shape).")
        }
        switch context.backend {
        case .reference:
            return ReferenceOps.batchNorm(input, mean: runningMean, variance: runningVariance, scale: weight,
                                          shift: bias, epsilon: epsilon)
        case .fast:
            let (a, b) = folded
            return ElementwiseKernels.channelAffine(input, scale: a, shift: b, relu: false)
        }
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        context.record(type: typeName, outputShape: inputShape, params: 2 * channels,
                       flops: 2 * inputShape.dropFirst().reduce(1, *))
        return inputShape
    }
}

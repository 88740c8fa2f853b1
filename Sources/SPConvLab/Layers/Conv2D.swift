import SPConvCore
import SPConvKernels

/// A 2-D convolution, PyTorch's `nn.Conv2d` (square kernel).
///
/// Layout: input `[N, C_in, H, W]`, `weight` `[C_out, C_in / groups, K, K]`, optional `bias`
/// `[C_out]`, output `[N, C_out, H', W']` with `H' = (H + 2p - d(K-1) - 1) / s + 1`.
/// On the fast backend, the layer keeps one oneDNN kernel per input shape with its weights packed
/// once; any change to `weight` or `bias` drops them.
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let geometry: Conv2DGeometry
    public var weight: Tensor { didSet { revision &+= 1 } }
    public var bias: Tensor? { didSet { revision &+= 1 } }
    /// Incremented whenever the weights change, so fused caches elsewhere know to rebuild.
    public private(set) var revision = 0
    let kernels = KernelCache()

    public var typeName: String { "Conv2d" }

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        precondition(inputChannels % groups == 0, "input channels (\(inputChannels)) must be divisible by groups (\(groups))")
        precondition(outputChannels % groups == 0, "output channels (\(outputChannels)) must be divisible by groups (\(groups))")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.geometry = Conv2DGeometry(kernelSize: kernelSize, stride: stride, padding: padding,
                                       dilation: dilation, groups: groups)
        self.weight = .zeros([outputChannels, inputChannels / groups, kernelSize, kernelSize])
        self.bias = bias ? .zeros([outputChannels]) : nil
    }

    public func visitOwnTensors(_ body: (String, TensorRole, inout Tensor) throws -> Void) rethrows {
        try body("weight", .parameter, &weight)
        if var b = bias {
            try body("bias", .parameter, &b)
            bias = b
        }
    }

    /// Fan-in (`C_in / groups * K * K`), used by Kaiming initialisation.
    public var fanIn: Int { inputChannels / geometry.groups * geometry.kernelSize * geometry.kernelSize }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        try checkInput(input.shape)
        switch context.backend {
        case .reference: return ReferenceOps.conv2d(input.rowMajor(), weight: weight, bias: bias, geometry: geometry)
        case .fast: return try runFast(input).rowMajor()
        }
    }

    /// Runs the oneDNN kernel with fused post-ops; `residual` is required by `.sum`.
    func runFast(_ input: Tensor, postOps: [ConvolutionKernel.PostOp] = [], residual: Tensor? = nil) throws -> Tensor {
        let key = ConvolutionKernel.Key(inputShape: input.shape, outputChannels: outputChannels, geometry: geometry,
                                        hasBias: bias != nil, postOps: postOps)
        let (kernel, packed) = try kernels.kernel(for: key, revision: revision) { kernel in
            try kernel.packWeights(weight)
        }
        return try kernel.run(input: input, packedWeights: packed, bias: bias, residual: residual)
    }

    /// The layout the fast kernel for this input shape reads (building the kernel if needed), so a
    /// producer can write its output in that layout directly.
    func preferredSourceLayout(for inputShape: [Int]) throws -> TensorLayout {
        let key = ConvolutionKernel.Key(inputShape: inputShape, outputChannels: outputChannels, geometry: geometry,
                                        hasBias: bias != nil, postOps: [])
        let (kernel, _) = try kernels.kernel(for: key, revision: revision) { kernel in try kernel.packWeights(weight) }
        return kernel.sourceLayout
    }

    func checkInput(_ shape: [Int]) throws {
        guard shape.count == 4, shape[1] == inputChannels else {
            throw SPConvLabError(.invalidInput, "Conv2d expects an input of shape [N, \(inputChannels), H, W]; got \(shape).")
        }
        guard geometry.outputExtent(shape[2]) >= 1, geometry.outputExtent(shape[3]) >= 1 else {
            throw SPConvLabError(.invalidInput, "Conv2d with kernel \(geometry.kernelSize), padding \(geometry.padding) and stride \(geometry.stride) cannot run on a \(shape[2])x\(shape[3]) input: the output would be empty.")
        }
    }

    public func trace(_ inputShape: [Int], context: TraceContext) throws -> [Int] {
        try checkInput(inputShape)
        let out = [inputShape[0], outputChannels, geometry.outputExtent(inputShape[2]), geometry.outputExtent(inputShape[3])]
        let outputElements = out[1] * out[2] * out[3]
        let macs = outputElements * fanIn
        let params = weight.count + (bias?.count ?? 0)
        context.record(type: typeName, outputShape: out, params: params, macs: macs,
                       flops: 2 * macs + (bias == nil ? 0 : outputElements))
        return out
    }
}

/// Thread-safe store of oneDNN kernels with their packed weights, keyed by shape and post-ops.
final class KernelCache: @unchecked Sendable {
    private var entries: [ConvolutionKernel.Key: (kernel: ConvolutionKernel, packed: [Float], revision: Int)] = [:]
    private let lock = CacheLock()

    func kernel(for key: ConvolutionKernel.Key, revision: Int,
                pack: (ConvolutionKernel) throws -> [Float]) throws -> (ConvolutionKernel, [Float]) {
        try lock.withLock {
            if let hit = entries[key], hit.revision == revision { return (hit.kernel, hit.packed) }
            let kernel = try entries[key]?.kernel ?? ConvolutionKernel(key)
            let packed = try pack(kernel)
            entries[key] = (kernel, packed, revision)
            return (kernel, packed)
        }
    }
}

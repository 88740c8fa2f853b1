import SPConvCore
import SPConvKernels

/// A 2-D convolution, PyTorch's `nn.Conv2d` (square kernel).
///
/// Layout: input `[N, C_in, H, W]`, `weight` `[C_out, C_in / groups, K, K]`, optional `bias`
/// `[C_out]`, output `[N, C_out, H', W']` with `H' = (H + 2p - d(K-1) - 1) / s + 1`.
/// The fast interpreter (``CompiledGraph``) packs its weights once per compiled input shape;
/// `revision` tells it when they changed.
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let geometry: Conv2DGeometry
    public var weight: Tensor { didSet { revision &+= 1 } }
    public var bias: Tensor? { didSet { revision &+= 1 } }
    /// Incremented whenever the weights change, so fused caches elsewhere know to rebuild.
    public private(set) var revision = 0

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
        try visitTensor(\.weight, "weight", .parameter, body)
        if var b = bias {
            try body("bias", .parameter, &b)
            if b != bias { bias = b }
        }
    }

    /// Fan-in (`C_in / groups * K * K`), used by Kaiming initialisation.
    public var fanIn: Int { inputChannels / geometry.groups * geometry.kernelSize * geometry.kernelSize }

    package func checkInput(_ shape: [Int]) throws {
        guard shape.count == 4, shape[1] == inputChannels else {
            throw SPConvLabError(.invalidInput, "Conv2d expects an input of shape [N, \(inputChannels), H, W]; got \(shape).")
        }
        guard geometry.outputExtent(shape[2]) >= 1, geometry.outputExtent(shape[3]) >= 1 else {
            throw SPConvLabError(.invalidInput, "Conv2d with kernel \(geometry.kernelSize), padding \(geometry.padding) and stride \(geometry.stride) cannot run on a \(shape[2])x\(shape[3]) input: the output would be empty.")
        }
    }
}

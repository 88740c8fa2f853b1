import SPConvCore
import SPConvKernels

/// The cost of one module in a network, per image.
public struct LayerCost: Sendable, Codable, Equatable {
    /// Dotted PyTorch path of the module (`layer1.0.conv1.gwc`).
    public var path: String
    /// PyTorch class name, or the name of a functional step (`add`, `fusion`).
    public var type: String
    public var outputShape: [Int]
    /// Parameters owned directly by this module (weights and biases; not running statistics).
    public var params: Int
    /// Multiply-accumulates of convolutions and linear layers.
    public var macs: Int
    /// Floating-point operations under the convention of docs/COST.md.
    public var flops: Int

    public init(path: String, type: String, outputShape: [Int], params: Int = 0, macs: Int = 0, flops: Int) {
        (self.path, self.type, self.outputShape, self.params, self.macs, self.flops) = (path, type, outputShape, params, macs, flops)
    }
}

/// Per-layer and total parameters, MACs and FLOPs of a network for one image.
///
/// The convention (docs/COST.md): parameters are the weights and biases of convolutions,
/// BatchNorm's affine scale and shift, and linear layers. MACs count only convolution and linear
/// multiply-accumulates. FLOPs are `2 * MACs` plus one per bias element, plus BatchNorm (2 per
/// element), ReLU (1), add (1), max pooling (k*k - 1 per output), average pooling (k*k per output),
/// global average pooling (H*W per output), softmax (5K - 2 per group of K values) and SPConv's
/// fusion (the pooled means, the softmax of two, and 3 per output element).
public struct CostLedger: Sendable, Codable, Equatable {
    public var layers: [LayerCost] = []

    public init() {}

    public var params: Int { layers.reduce(0) { $0 + $1.params } }
    public var macs: Int { layers.reduce(0) { $0 + $1.macs } }
    public var flops: Int { layers.reduce(0) { $0 + $1.flops } }
}

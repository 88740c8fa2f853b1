import SPConvCore
import SPConvKernels

/// A 3x3 convolution slot of a block: PyTorch's plain `Conv2d`, or an `SPConv` in its place.
public enum ConvUnit {
    case plain(Conv2D)
    case split(SPConv)

    /// Makes the slot for a model variant: a 3x3 conv (padding 1, no bias) or an SPConv.
    ///
    /// - Parameter path: the slot's dotted path, named in configuration errors.
    package static func make(_ variant: ModelVariant, inputChannels: Int, outputChannels: Int, stride: Int, bias: Bool = false,
                     path: String) throws -> ConvUnit {
        switch variant {
        case .vanilla:
            return .plain(Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3,
                                 stride: stride, padding: 1, bias: bias))
        case .spconv(let configuration):
            return .split(try SPConv(inputChannels: inputChannels, outputChannels: outputChannels, stride: stride,
                                     configuration: configuration, path: path))
        }
    }

    package var layer: any Layer {
        switch self {
        case .plain(let conv): return conv
        case .split(let spconv): return spconv
        }
    }
}

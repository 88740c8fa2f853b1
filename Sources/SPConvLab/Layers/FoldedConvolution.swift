import SPConvCore
import SPConvKernels

/// A convolution with the following BatchNorm folded into its weights, for the fast backend.
///
/// `bn(conv(x)) = conv'(x)` with `W'[o] = a[o] * W[o]` and `b'[o] = a[o] * b[o] + shift[o]`,
/// where `bn(x) = a * x + shift`. The folded copy is rebuilt whenever either layer's weights change,
/// so weights are packed for oneDNN once per load, not once per call.
final class FoldedConvolution: @unchecked Sendable {
    private var cached: (revisions: [Int], conv: Conv2D)?
    private let lock = CacheLock()

    func conv(_ conv: Conv2D, _ bn: BatchNorm2D) -> Conv2D {
        lock.withLock {
            let revisions = [conv.revision, bn.revision]
            if let cached, cached.revisions == revisions { return cached.conv }
            let (a, shift) = bn.folded
            let g = conv.geometry
            let folded = Conv2D(inputChannels: conv.inputChannels, outputChannels: conv.outputChannels,
                                kernelSize: g.kernelSize, stride: g.stride, padding: g.padding, dilation: g.dilation,
                                groups: g.groups, bias: true)
            folded.weight = scaleRows(conv.weight, by: a)
            let bias = conv.bias?.scalars ?? [Float](repeating: 0, count: conv.outputChannels)
            folded.bias = Tensor(shape: [conv.outputChannels], scalars: (0..<conv.outputChannels).map { a[$0] * bias[$0] + shift[$0] })
            cached = (revisions, folded)
            return folded
        }
    }
}

/// The hyper-parameters of a square 2-D convolution or pooling window.
///
/// Output size along one spatial axis (PyTorch's formula, floor mode):
/// `out = (in + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1`.
public struct Conv2DGeometry: Hashable, Sendable, Codable {
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int
    public var dilation: Int
    public var groups: Int

    public init(kernelSize: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        precondition(kernelSize >= 1 && stride >= 1 && padding >= 0 && dilation >= 1 && groups >= 1,
                     "convolution geometry needs kernel, stride, dilation, groups >= 1 and padding >= 0")
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// The output extent for an input extent, or a value below 1 when the window does not fit.
    public func outputExtent(_ inputExtent: Int) -> Int {
        let span = dilation * (kernelSize - 1) + 1
        let padded = inputExtent + 2 * padding
        return padded < span ? 0 : (padded - span) / stride + 1
    }
}

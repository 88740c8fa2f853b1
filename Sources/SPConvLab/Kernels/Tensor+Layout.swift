import SPConvCore

extension Tensor {
    /// This tensor in row-major (NCHW) layout; itself when it already is.
    public func rowMajor() -> Tensor {
        switch layout {
        case .rowMajor: return self
        case .channelBlocked(let block): return OpProfiler.measure("layout: blocked -> nchw") { LayoutKernels.toRowMajor(self, block: block) }
        }
    }

    /// This 4-D tensor in the channel-blocked layout of block size `block`.
    package func channelBlocked(_ block: Int) -> Tensor {
        switch layout {
        case .channelBlocked(let b) where b == block: return self
        case .channelBlocked: return LayoutKernels.toBlocked(rowMajor(), block: block)
        case .rowMajor: return OpProfiler.measure("layout: nchw -> blocked") { LayoutKernels.toBlocked(self, block: block) }
        }
    }
}

extension Tensor {
    /// A zero-filled tensor of `shape` in `layout` (a buffer for a kernel to write into).
    package init(zeroedShape shape: [Int], layout: TensorLayout) {
        switch layout {
        case .rowMajor: self = .zeros(shape)
        case .channelBlocked(let block):
            let count = shape[0] * ((shape[1] + block - 1) / block) * block * shape[2] * shape[3]
            self.init(blockedShape: shape, block: block, scalars: [Float](repeating: 0, count: count))
        }
    }

    /// Copies `other`'s elements over this tensor's (same shape and layout), in place.
    package mutating func overwrite(with other: Tensor) {
        precondition(other.shape == shape && other.layout == layout, "overwrite: \(other.shape) \(other.layout) into \(shape) \(layout)")
        other.withUnsafeBufferPointer { source in
            withUnsafeMutableBufferPointer { destination in _ = destination.update(fromContentsOf: source) }
        }
    }
}

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

/// Work a block asks a layer to fuse into the sweep that writes its output:
/// `y = relu?(scale[c] * x + shift[c] + residual)`, each part optional.
///
/// A BasicBlock uses it to fold its BN, the shortcut add and the ReLU into SPConv's fusion pass.
struct FusionEpilogue {
    var scale: [Float]?
    var shift: [Float]?
    var residual: Tensor?
    var relu: Bool

    /// Applies the epilogue as separate steps (the unfused path, used when captures are requested).
    func apply(to x: Tensor) -> Tensor {
        var y = x
        if let scale, let shift { y = ElementwiseKernels.channelAffine(y, scale: scale, shift: shift, relu: false) }
        if let residual { y = ElementwiseKernels.add(y, residual, relu: false) }
        if relu { y = ElementwiseKernels.relu(y) }
        return y
    }
}

import SPConvCore

/// Work a block asks a layer to fuse into the sweep that writes its output:
/// `y = relu?(scale[c] * x + shift[c] + residual)`, each part optional.
///
/// A BasicBlock uses it to fold its BN, the shortcut add and the ReLU into SPConv's fusion pass.
package struct FusionEpilogue {
    package var scale: [Float]?
    package var shift: [Float]?
    package var residual: Tensor?
    package var relu: Bool

    package init(scale: [Float]? = nil, shift: [Float]? = nil, residual: Tensor? = nil, relu: Bool) {
        (self.scale, self.shift, self.residual, self.relu) = (scale, shift, residual, relu)
    }
}

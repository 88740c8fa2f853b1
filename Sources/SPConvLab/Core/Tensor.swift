/// How a tensor's elements are laid out in `scalars`.
public enum TensorLayout: Hashable, Sendable {
    /// Row-major in the order of `shape` (NCHW for feature maps). Every public API returns this.
    case rowMajor
    /// oneDNN's `nChw{b}c` for a 4-D `[N, C, H, W]`: `[N][ceil(C/b)][H][W][b]`, the channels past
    /// C in the last block zero. Only the engine's fast path produces it.
    case channelBlocked(Int)
}

/// A dense Float32 tensor; 4-D tensors are NCHW.
///
/// `Tensor` is a value type with copy-on-write storage (a Swift array), so passing it around
/// never copies data until one side mutates it. Kernels reach the memory only through
/// `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer` closures. Tensors made by users
/// and returned by the public API are row-major; inside a fused forward pass the engine keeps
/// feature maps in oneDNN's channel-blocked layout (`layout`), and `rowMajor()` converts back.
public struct Tensor: Sendable, Equatable {
    /// The extent of each dimension, outermost first (`[N, C, H, W]` for feature maps).
    public private(set) var shape: [Int]
    /// The elements in the order `layout` gives (row-major unless the engine says otherwise).
    public private(set) var scalars: [Float]
    /// The memory layout of `scalars`.
    public internal(set) var layout: TensorLayout = .rowMajor

    /// Creates a tensor from a shape and its row-major elements.
    ///
    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor dimensions must be non-negative, got \(shape)")
        precondition(scalars.count == shape.reduce(1, *),
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// Creates a tensor of the given shape filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Creates a zero-filled tensor.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// Creates a tensor whose elements are written by `initializer` (which must set every element).
    ///
    /// Used by kernels to avoid zero-filling memory they overwrite anyway.
    public init(uninitializedShape shape: [Int],
                initializer: (inout UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.scalars = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try initializer(&buffer)
            initialized = count
        }
    }

    /// Creates a 4-D tensor in the channel-blocked layout with block size `block`.
    package init(blockedShape shape: [Int], block: Int,
         initializer: (inout UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        precondition(shape.count == 4, "a channel-blocked tensor is 4-D, got \(shape)")
        let storage = shape[0] * ((shape[1] + block - 1) / block) * block * shape[2] * shape[3]
        self.shape = shape
        self.layout = .channelBlocked(block)
        self.scalars = try [Float](unsafeUninitializedCapacity: storage) { buffer, initialized in
            try initializer(&buffer)
            initialized = storage
        }
    }

    /// Wraps `scalars` already in the channel-blocked layout of block size `block`.
    package init(blockedShape shape: [Int], block: Int, scalars: [Float]) {
        precondition(shape.count == 4, "a channel-blocked tensor is 4-D, got \(shape)")
        precondition(scalars.count == shape[0] * ((shape[1] + block - 1) / block) * block * shape[2] * shape[3],
                     "\(scalars.count) elements do not fill a \(shape) tensor blocked by \(block)")
        self.shape = shape
        self.layout = .channelBlocked(block)
        self.scalars = scalars
    }

    /// Number of stored elements (for a channel-blocked tensor, including its padding channels).
    public var count: Int { scalars.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Returns the same elements under a new shape with the same element count.
    public func reshaped(to newShape: [Int]) -> Tensor {
        precondition(layout == .rowMajor, "reshape needs a row-major tensor; call rowMajor() first")
        return Tensor(shape: newShape, scalars: scalars)
    }

    /// Changes the shape in place; the element count must not change.
    public mutating func reshape(to newShape: [Int]) {
        precondition(layout == .rowMajor, "reshape needs a row-major tensor; call rowMajor() first")
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    /// The element at a multi-dimensional index (slow; for tests and small tools).
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(layout == .rowMajor, "element access needs a row-major tensor; call rowMajor() first")
        precondition(index.count == shape.count, "index \(index) does not match rank \(shape.count)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of bounds for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// Calls `body` with a read-only pointer to the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the elements.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }
}

extension Tensor {
    /// The four extents of an NCHW tensor.
    public var nchw: (n: Int, c: Int, h: Int, w: Int) {
        precondition(rank == 4, "expected an NCHW tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(6).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 6 ? ", ..." : "")])"
    }
}

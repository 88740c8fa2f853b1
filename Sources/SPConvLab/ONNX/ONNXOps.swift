import SPConvCore
import SPConvKernels

/// The ONNX ops the zoo's own ops do not cover, on row-major float32 tensors of any rank:
/// NumPy-broadcast binaries, general pooling (asymmetric pads, dilations, either count of
/// padding), constant padding, transposes, concatenation, gathers and matrix products. Plain
/// loops: these ops move little data next to the convolutions they sit between.
enum ONNXOps {
    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var result = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { result[axis] = result[axis + 1] * shape[axis + 1] }
        return result
    }

    /// `f` on every element, in `x`'s own layout (a channel-blocked map stays blocked; its
    /// padding lanes are mapped too and stay unread).
    static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        ElementwiseKernels.map(x, f)
    }

    /// `scalars` (stored in `model`'s layout) as a tensor of `model`'s shape and layout.
    static func inLayout(of model: Tensor, _ scalars: [Float]) -> Tensor {
        switch model.layout {
        case .rowMajor: return Tensor(shape: model.shape, scalars: scalars)
        case .channelBlocked(let block): return Tensor(blockedShape: model.shape, block: block, scalars: scalars)
        }
    }

    /// `f(a, b)` with NumPy broadcasting to `shape`.
    static func binary(_ a: Tensor, _ b: Tensor, _ shape: [Int], _ f: (Float, Float) -> Float) -> Tensor {
        if a.shape == shape && b.shape == shape && a.layout == b.layout { return inLayout(of: a, zip(a.scalars, b.scalars).map(f)) }
        let (xa, xb) = (a.rowMajor().scalars, b.rowMajor().scalars)
        if b.count == 1 { return Tensor(shape: shape, scalars: xa.map { f($0, xb[0]) }) }
        if a.count == 1 { return Tensor(shape: shape, scalars: xb.map { f(xa[0], $0) }) }
        let rank = shape.count
        func broadcastStrides(_ s: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: rank - s.count) + s
            let st = strides(padded)
            return (0..<rank).map { padded[$0] == 1 ? 0 : st[$0] }
        }
        let (sa, sb, out) = (broadcastStrides(a.shape), broadcastStrides(b.shape), strides(shape))
        let total = shape.reduce(1, *)
        var result = [Float](repeating: 0, count: total)
        for i in 0..<total {
            var (ia, ib, rest) = (0, 0, i)
            for axis in 0..<rank {
                let coordinate = rest / out[axis]
                rest -= coordinate * out[axis]
                ia += coordinate * sa[axis]
                ib += coordinate * sb[axis]
            }
            result[i] = f(xa[ia], xb[ib])
        }
        return Tensor(shape: shape, scalars: result)
    }

    /// Max or average pooling of `[N, C, H, W]` to `output`, pads [top, left, bottom, right]
    /// (`ElementwiseKernels.windowPool`).
    static func pool(_ x: Tensor, output: [Int], kernel: [Int], strides: [Int], dilations: [Int], pads: [Int],
                     isMax: Bool, countIncludesPad: Bool) -> Tensor {
        ElementwiseKernels.windowPool(x.rowMajor(), outH: output[2], outW: output[3], kernel: kernel, strides: strides,
                                      dilations: dilations, pads: pads, isMax: isMax, countIncludesPad: countIncludesPad)
    }

    /// One tap of `[O, I, K, K]` convolution weights, as `[O, I, 1, 1]`.
    static func tap(_ w: Tensor, row: Int, column: Int) -> Tensor {
        let (o, i, kh, kw) = w.nchw
        let values = w.rowMajor().scalars
        return Tensor(shape: [o, i, 1, 1], scalars: (0..<(o * i)).map { values[($0 * kh + row) * kw + column] })
    }

    /// Constant padding; `pads` is ONNX's [begin_0, ..., begin_r, end_0, ..., end_r].
    static func pad(_ x: Tensor, pads: [Int], value: Float) -> Tensor {
        let rank = x.rank
        let outShape = (0..<rank).map { x.shape[$0] + pads[$0] + pads[$0 + rank] }
        let (inStrides, outStrides) = (strides(x.shape), strides(outShape))
        let xs = x.rowMajor().scalars
        var result = [Float](repeating: value, count: outShape.reduce(1, *))
        for i in 0..<xs.count {
            var (rest, o) = (i, 0)
            for axis in 0..<rank {
                let coordinate = rest / inStrides[axis]
                rest -= coordinate * inStrides[axis]
                o += (coordinate + pads[axis]) * outStrides[axis]
            }
            result[o] = xs[i]
        }
        return Tensor(shape: outShape, scalars: result)
    }

    /// The source index of every element of a strided slice of `shape`: elements
    /// `starts[a] + i * steps[a]` on every axis `a`, for `i` below `out[a]`.
    static func sliceIndices(_ shape: [Int], starts: [Int], steps: [Int], out: [Int]) -> [Int] {
        let (inStrides, outStrides) = (strides(shape), strides(out))
        return (0..<out.reduce(1, *)).map { o in
            var (rest, i) = (o, 0)
            for axis in 0..<out.count {
                let coordinate = rest / outStrides[axis]
                rest -= coordinate * outStrides[axis]
                i += (starts[axis] + coordinate * steps[axis]) * inStrides[axis]
            }
            return i
        }
    }

    /// The source index of every element of `shape` transposed by `perm`.
    static func transposeIndices(_ shape: [Int], perm: [Int]) -> [Int] {
        let out = perm.map { shape[$0] }
        let (inStrides, outStrides) = (strides(shape), strides(out))
        return (0..<out.reduce(1, *)).map { o in
            var (rest, i) = (o, 0)
            for axis in 0..<perm.count {
                let coordinate = rest / outStrides[axis]
                rest -= coordinate * outStrides[axis]
                i += coordinate * inStrides[perm[axis]]
            }
            return i
        }
    }

    static func slice(_ x: Tensor, starts: [Int], steps: [Int], shape: [Int]) -> Tensor {
        let xs = x.rowMajor().scalars
        return Tensor(shape: shape, scalars: sliceIndices(x.shape, starts: starts, steps: steps, out: shape).map { xs[$0] })
    }

    static func transpose(_ x: Tensor, perm: [Int]) -> Tensor {
        let xs = x.rowMajor().scalars
        return Tensor(shape: perm.map { x.shape[$0] }, scalars: transposeIndices(x.shape, perm: perm).map { xs[$0] })
    }

    static func concat(_ parts: [Tensor], axis: Int, shape: [Int]) -> Tensor {
        let outer = shape[..<axis].reduce(1, *)
        var result: [Float] = []
        result.reserveCapacity(shape.reduce(1, *))
        let rows = parts.map { $0.rowMajor().scalars }
        let chunks = parts.map { $0.shape[axis...].reduce(1, *) }
        for o in 0..<outer {
            for (values, chunk) in zip(rows, chunks) { result.append(contentsOf: values[(o * chunk)..<((o + 1) * chunk)]) }
        }
        return Tensor(shape: shape, scalars: result)
    }

    static func gather(_ x: Tensor, indices: [Int], axis: Int, shape: [Int]) -> Tensor {
        let outer = x.shape[..<axis].reduce(1, *), extent = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        let xs = x.rowMajor().scalars
        var result: [Float] = []
        result.reserveCapacity(shape.reduce(1, *))
        for o in 0..<outer {
            for index in indices {
                let j = index < 0 ? index + extent : index
                result.append(contentsOf: xs[((o * extent + j) * inner)..<((o * extent + j + 1) * inner)])
            }
        }
        return Tensor(shape: shape, scalars: result)
    }

    /// `alpha op(A) op(B) + beta C` with C broadcast to `[M, N]`.
    static func gemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, alpha: Float, beta: Float, transA: Bool, transB: Bool) -> Tensor {
        let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let n = transB ? b.shape[0] : b.shape[1]
        // beta * C broadcast to [m, n] is the product's starting value (a bias row is the usual C).
        var start: [Float]?
        if let c, beta != 0 {
            let row = c.rowMajor().scalars
            if c.count == n && (c.rank == 1 || c.shape[0] == 1) {
                start = [Float](unsafeUninitializedCapacity: m * n) { buffer, count in
                    for i in 0..<m { for j in 0..<n { buffer[i * n + j] = beta * row[j] } }
                    count = m * n
                }
            } else {
                start = binary(Tensor(repeating: 0, shape: [m, n]), c, [m, n]) { $0 + beta * $1 }.scalars
            }
        }
        let product = ElementwiseKernels.matrixProduct(a.rowMajor().scalars, b.rowMajor().scalars, m: m, n: n, k: k,
                                                       transA: transA, transB: transB, alpha: alpha, adding: start)
        return Tensor(shape: [m, n], scalars: product)
    }

    /// `[..., M, K] x [K, N]`.
    static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let k = b.shape[0], n = b.shape[1]
        let rows = a.count / k
        let product = gemm(Tensor(shape: [rows, k], scalars: a.rowMajor().scalars), b, nil, alpha: 1, beta: 0, transA: false, transB: false)
        return Tensor(shape: Array(a.shape.dropLast()) + [n], scalars: product.scalars)
    }
}

import CBLAS
import SPConvCore

/// Dense linear algebra for channel statistics: Gram matrices through OpenBLAS, eigenvalues
/// through LAPACK.
///
/// The API is safe (tensors and arrays in, arrays out) so that `FeatureProbe` never imports a C
/// module; pointers stay inside this file. Feature maps are row-major `[N, C, H, W]`; image `n`
/// is then a `C x P` row-major block (`P = H * W`), channel `c` of it the row
/// `x[n, c, 0..<P]`. Products are float32 (BLAS), sums of values float64.
public enum LinearAlgebra {
    /// Below this many positions per image the per-image BLAS calls are too small to pay, and the
    /// batch is first packed into one `C x (N * P)` matrix. (Measured: per-image `ssyrk` beats
    /// packing already at `P = 64`, 0.18 against 0.26 ms for a `[32, 64, 8, 8]` batch; a
    /// `[N, C, 1, 1]` batch would make N rank-1 calls.)
    package static let packingThreshold = 16

    /// The channel Gram matrix of a batch: `G[i, j] = sum over n, p of y[n, i, p] * y[n, j, p]`,
    /// with `y = x - shift[c]` (or `x` when `shift` is nil).
    ///
    /// Computed with float32 `ssyrk` (one call per image when images are large, else one call on a
    /// packed copy of the batch); only the upper triangle is computed and then mirrored.
    ///
    /// - Parameters:
    ///   - batch: a row-major `[N, C, H, W]` tensor (converted if channel-blocked).
    ///   - shift: nil, or `C` values subtracted from each channel before the products.
    ///   - computingSums: whether to return the channel sums (an extra pass when `shift` is nil
    ///     and the images are large; free otherwise).
    /// - Returns: `G` as `C * C` row-major floats and the float64 channel sums of `y`
    ///   (`sums[c] = sum over n, p of y[n, c, p]`), or an empty array when not asked for.
    public static func channelGram(of batch: Tensor, subtracting shift: [Float]? = nil,
                                   computingSums: Bool = true) -> (gram: [Float], sums: [Double]) {
        let batch = batch.rowMajor()
        let (n, c, h, w) = batch.nchw
        let p = h * w
        precondition(shift == nil || shift!.count == c, "shift has \(shift!.count) values for \(c) channels")
        var gram = [Float](repeating: 0, count: c * c)
        guard n > 0, c > 0, p > 0 else { return (gram, [Double](repeating: 0, count: c)) }
        var sums = [Double](repeating: 0, count: c)
        if p >= packingThreshold {
            // One ssyrk per image on its C x P block (shifted into a scratch block when asked).
            // With several images and threads, each thread takes whole images with a one-thread
            // OpenBLAS and its own Gram; the per-thread Grams are summed at the end. Small per-image
            // products scale better this way than with OpenBLAS splitting each one.
            let threads = min(max(Int(openblas_get_num_threads()), 1), n)
            var partials = [[Float]](repeating: [], count: threads)
            var partialSums = [[Double]](repeating: [Double](repeating: 0, count: c), count: threads)
            let previous = openblas_get_num_threads()
            if threads > 1 { openblas_set_num_threads(1) }
            defer { if threads > 1 { openblas_set_num_threads(previous) } }
            batch.withUnsafeBufferPointer { x in
                let xBase = x.baseAddress!
                partials.withUnsafeMutableBufferPointer { partialGrams in
                    partialSums.withUnsafeMutableBufferPointer { partialTotals in
                        let grams = partialGrams.baseAddress!, totals = partialTotals.baseAddress!
                        parallelFor(threads) { range in
                          for t in range {
                            var local = [Float](repeating: 0, count: c * c)
                            var localSums = [Double](repeating: 0, count: c)
                            var block = [Float](repeating: 0, count: shift == nil ? 0 : c * p)
                            local.withUnsafeMutableBufferPointer { g in
                                block.withUnsafeMutableBufferPointer { scratch in
                                    for image in stride(from: t, to: n, by: threads) {
                                        let base = xBase + image * c * p
                                        var source = base
                                        if let shift {
                                            for ch in 0..<c {
                                                localSums[ch] += shiftAndSum(base + ch * p, by: shift[ch], into: scratch.baseAddress! + ch * p, count: p)
                                            }
                                            source = UnsafePointer(scratch.baseAddress!)
                                        } else if computingSums {
                                            for ch in 0..<c { localSums[ch] += sum(base + ch * p, count: p) }
                                        }
                                        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(c), Int32(p),
                                                    1, source, Int32(p), 1, g.baseAddress, Int32(c))
                                    }
                                }
                            }
                            (grams + t).pointee = local
                            (totals + t).pointee = localSums
                          }
                        }
                    }
                }
            }
            for t in 0..<threads {
                for i in 0..<(c * c) { gram[i] += partials[t][i] }
                for ch in 0..<c { sums[ch] += partialSums[t][ch] }
            }
        } else {
            let packed = packChannels(batch, shift: shift)
            sums = packed.sums
            packed.packed.withUnsafeBufferPointer { a in
                gram.withUnsafeMutableBufferPointer { g in
                    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(c), Int32(n * p),
                                1, a.baseAddress, Int32(n * p), 0, g.baseAddress, Int32(c))
                }
            }
        }
        if !computingSums && shift == nil { sums = [] }
        mirrorUpperTriangle(&gram, order: c)
        return (gram, sums)
    }

    /// The cross-product of two batches' channels:
    /// `K[i, j] = sum over n, p of (x[n, i, p] - shiftX[i]) * (y[n, j, p] - shiftY[j])`.
    ///
    /// - Parameters:
    ///   - x: a row-major `[N, C1, H, W]` tensor.
    ///   - y: a row-major `[N, C2, H, W]` tensor with the same `N`, `H`, `W`.
    /// - Returns: `K` as `C1 * C2` row-major floats.
    public static func channelCrossProduct(_ x: Tensor, _ y: Tensor,
                                           subtracting shiftX: [Float]? = nil, _ shiftY: [Float]? = nil) -> [Float] {
        let (x, y) = (x.rowMajor(), y.rowMajor())
        let (n, c1, h, w) = x.nchw
        let c2 = y.nchw.c
        precondition(y.shape[0] == n && y.shape[2] == h && y.shape[3] == w,
                     "cross-product needs the same N, H, W, got \(x.shape) and \(y.shape)")
        let k = n * h * w
        var out = [Float](repeating: 0, count: c1 * c2)
        guard k > 0, c1 > 0, c2 > 0 else { return out }
        let a = packChannels(x, shift: shiftX).packed
        let b = packChannels(y, shift: shiftY).packed
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(c1), Int32(c2), Int32(k),
                                1, a.baseAddress, Int32(k), b.baseAddress, Int32(k), 0, o.baseAddress, Int32(c2))
                }
            }
        }
        return out
    }

    /// Calls `body` once per image with that image's channel Gram matrix.
    ///
    /// When `centred` is true each channel is first centred on its own mean over the image's
    /// positions (rounded to float32), so `gram` is `P` times the image's channel covariance.
    ///
    /// - Parameters:
    ///   - batch: a row-major `[N, C, H, W]` tensor.
    ///   - centred: whether to subtract each channel's per-image mean first.
    ///   - body: receives the image index, its `C * C` row-major Gram matrix and the float64
    ///     per-channel means of the image (before centring).
    public static func forEachImageChannelGram(of batch: Tensor, centred: Bool,
                                               _ body: (_ image: Int, _ gram: [Float], _ means: [Double]) -> Void) {
        let batch = batch.rowMajor()
        let (n, c, h, w) = batch.nchw
        let p = h * w
        guard c > 0 else {
            for image in 0..<n { body(image, [], []) }
            return
        }
        var block = [Float](repeating: 0, count: c * p)
        batch.withUnsafeBufferPointer { x in
            for image in 0..<n {
                let base = x.baseAddress! + image * c * p
                var means = [Double](repeating: 0, count: c)
                for ch in 0..<c {
                    means[ch] = p > 0 ? sum(base + ch * p, count: p) / Double(p) : 0
                }
                var gram = [Float](repeating: 0, count: c * c)
                if p > 0 {
                    block.withUnsafeMutableBufferPointer { y in
                        let source: UnsafePointer<Float>
                        if centred {
                            for ch in 0..<c {
                                let m = Float(means[ch])
                                let row = base + ch * p, out = y.baseAddress! + ch * p
                                for i in 0..<p { out[i] = row[i] - m }
                            }
                            source = UnsafePointer(y.baseAddress!)
                        } else {
                            source = base
                        }
                        gram.withUnsafeMutableBufferPointer { g in
                            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(c), Int32(p),
                                        1, source, Int32(p), 0, g.baseAddress, Int32(c))
                        }
                    }
                    mirrorUpperTriangle(&gram, order: c)
                }
                body(image, gram, means)
            }
        }
    }

    /// The float64 sum of each channel over all images and positions of a `[N, C, H, W]` batch.
    public static func channelSums(_ batch: Tensor) -> [Double] {
        let batch = batch.rowMajor()
        let (n, c, h, w) = batch.nchw
        let p = h * w
        var sums = [Double](repeating: 0, count: c)
        batch.withUnsafeBufferPointer { x in
            for image in 0..<n {
                for ch in 0..<c { sums[ch] += sum(x.baseAddress! + (image * c + ch) * p, count: p) }
            }
        }
        return sums
    }

    /// The eigenvalues of a symmetric matrix, ascending, from LAPACK's `dsyevd`.
    ///
    /// - Parameters:
    ///   - matrix: `order * order` values of a symmetric matrix (only one triangle is read).
    ///   - order: the matrix dimension.
    /// - Throws: `SPConvLabError.backend` when LAPACK reports that the solver did not converge.
    public static func symmetricEigenvalues(_ matrix: [Double], order: Int) throws -> [Double] {
        precondition(matrix.count == order * order, "a \(order) x \(order) matrix needs \(order * order) values, got \(matrix.count)")
        guard order > 0 else { return [] }
        var a = matrix
        var values = [Double](repeating: 0, count: order)
        var info: Int32 = 0
        var n = Int32(order), lda = Int32(order)
        var workSize = 0.0
        var iworkSize: Int32 = 0
        var query: Int32 = -1
        dsyevd_("N", "U", &n, &a, &lda, &values, &workSize, &query, &iworkSize, &query, &info)
        guard info == 0 else {
            throw SPConvLabError(.backend, "LAPACK dsyevd refused its workspace query for a \(order) x \(order) matrix (info \(info)).")
        }
        var lwork = Int32(max(workSize, 1)), liwork = max(iworkSize, 1)
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_("N", "U", &n, &a, &lda, &values, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else {
            throw SPConvLabError(.backend, "LAPACK dsyevd did not converge on a \(order) x \(order) symmetric matrix (info \(info)); the matrix may hold NaN or infinite values.")
        }
        return values
    }

    // MARK: - Helpers

    /// Copies a batch into a `C x (N * P)` row-major matrix, subtracting `shift[c]` from channel
    /// `c`, and returns the float64 sums of the copied values per channel.
    ///
    /// Serial on purpose: an OpenMP region here leaves its workers spinning while OpenBLAS's own
    /// threads start, which measured slower than the copy it parallelised.
    private static func packChannels(_ batch: Tensor, shift: [Float]?) -> (packed: [Float], sums: [Double]) {
        let (n, c, h, w) = batch.nchw
        let p = h * w
        let k = n * p
        var sums = [Double](repeating: 0, count: c)
        let packed = [Float](unsafeUninitializedCapacity: c * k) { out, initialized in
            batch.withUnsafeBufferPointer { x in
                sums.withUnsafeMutableBufferPointer { s in
                    let (xBase, outBase, sBase) = (x.baseAddress!, out.baseAddress!, s.baseAddress!)
                    do {
                        for ch in 0..<c {
                            let m = shift?[ch] ?? 0
                            var total = 0.0
                            for image in 0..<n {
                                let src = xBase + (image * c + ch) * p
                                let dst = outBase + ch * k + image * p
                                if m == 0 {
                                    dst.update(from: src, count: p)
                                } else {
                                    for i in 0..<p { dst[i] = src[i] - m }
                                }
                                total += sum(UnsafePointer(dst), count: p)
                            }
                            sBase[ch] = total
                        }
                    }
                }
            }
            initialized = c * k
        }
        return (packed, sums)
    }

    /// The float64 sum of `count` floats, in eight interleaved lanes so it vectorises.
    /// Writes `values - shift` to `out` and returns the sum of what it wrote, in one pass.
    private static func shiftAndSum(_ values: UnsafePointer<Float>, by shift: Float, into out: UnsafeMutablePointer<Float>,
                                    count: Int) -> Double {
        var lanes = SIMD8<Double>()
        let m = SIMD8<Float>(repeating: shift)
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self) - m
            UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: SIMD8<Float>.self)
            lanes += SIMD8<Double>(v)
            i += 8
        }
        var total = lanes.sum()
        while i < count {
            out[i] = values[i] - shift
            total += Double(out[i])
            i += 1
        }
        return total
    }

    private static func sum(_ values: UnsafePointer<Float>, count: Int) -> Double {
        var lanes = SIMD8<Double>()
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self)
            lanes += SIMD8<Double>(v)
            i += 8
        }
        var total = lanes.sum()
        while i < count {
            total += Double(values[i])
            i += 1
        }
        return total
    }

    /// Copies the upper triangle of a square row-major matrix onto its lower triangle.
    private static func mirrorUpperTriangle(_ matrix: inout [Float], order: Int) {
        matrix.withUnsafeMutableBufferPointer { m in
            for i in 0..<order {
                for j in 0..<i { m[i * order + j] = m[j * order + i] }
            }
        }
    }
}

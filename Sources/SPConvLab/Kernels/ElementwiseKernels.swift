import CKernels
import CBLAS
import SPConvCore

/// Fast CPU kernels for the memory-bound ops. Each has a twin in `ReferenceOps`.
///
/// These loops are written over raw buffers so the optimiser vectorises them; they are the only
/// place besides the oneDNN wrappers where unsafe pointers appear.
package enum ElementwiseKernels {
    /// `y[n, c, i] = x[n, c, i] * scale[c] + shift[c]`, optionally followed by ReLU.
    package static func channelAffine(_ input: Tensor, scale: [Float], shift: [Float], relu: Bool) -> Tensor {
        let (n, c, h, w) = input.nchw
        let plane = h * w
        return Tensor(uninitializedShape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                for b in 0..<n {
                    for ch in 0..<c {
                        let base = (b * c + ch) * plane
                        let (a, s) = (scale[ch], shift[ch])
                        if relu {
                            for i in base..<(base + plane) { out[i] = max(x[i] * a + s, 0) }
                        } else {
                            for i in base..<(base + plane) { out[i] = x[i] * a + s }
                        }
                    }
                }
            }
        }
    }

    package static func relu(_ input: Tensor) -> Tensor {
        Tensor(uninitializedShape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                for i in 0..<x.count { out[i] = max(x[i], 0) }
            }
        }
    }

    /// Same-shape sum, optionally followed by ReLU.
    package static func add(_ a: Tensor, _ b: Tensor, relu: Bool) -> Tensor {
        Tensor(uninitializedShape: a.shape) { out in
            a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    if relu {
                        for i in 0..<x.count { out[i] = max(x[i] + y[i], 0) }
                    } else {
                        for i in 0..<x.count { out[i] = x[i] + y[i] }
                    }
                }
            }
        }
    }

    /// `x[n, c, :, :] * s[n, c]` for a per-sample, per-channel factor of shape `[N, C, 1, 1]`.
    package static func multiplyPerChannel(_ input: Tensor, _ factors: Tensor) -> Tensor {
        let (n, c, h, w) = input.nchw
        let plane = h * w
        return Tensor(uninitializedShape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                factors.withUnsafeBufferPointer { f in
                    for p in 0..<(n * c) {
                        let s = f[p]
                        for i in (p * plane)..<((p + 1) * plane) { out[i] = x[i] * s }
                    }
                }
            }
        }
    }

    /// Max or average pooling (average counts padding in the divisor, PyTorch's default): the
    /// square, symmetric case of `windowPool` (no window reaches past the padded map, so the
    /// divisor is always k * k).
    package static func pool(_ input: Tensor, kernelSize k: Int, stride: Int, padding: Int, isMax: Bool) -> Tensor {
        let g = Conv2DGeometry(kernelSize: k, stride: stride, padding: padding)
        return windowPool(input, outH: g.outputExtent(input.shape[2]), outW: g.outputExtent(input.shape[3]), kernel: [k, k],
                          strides: [stride, stride], dilations: [1, 1], pads: [padding, padding, padding, padding],
                          isMax: isMax, countIncludesPad: true)
    }

    /// `f` on every stored element of `x` (any layout; the result has `x`'s), on all threads.
    package static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        TrainingKernels.makeLike(x) { out in
            let o = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                let p = xs.baseAddress!
                parallelFor(xs.count, minimumPerThread: 1 << 14) { range in
                    for i in range { o[i] = f(p[i]) }
                }
            }
        }
    }

    /// Max or average pooling of row-major `[N, C, H, W]` to `[N, C, outH, outW]` with any window:
    /// `kernel`, `strides`, `dilations` per axis, pads [top, left, bottom, right]; an average over
    /// the window's in-map elements, or with `countIncludesPad` over the window cut only by the
    /// padded map's edge (ONNX's `count_include_pad`). Planes are split over the threads.
    package static func windowPool(_ input: Tensor, outH: Int, outW: Int, kernel: [Int], strides: [Int], dilations: [Int], pads: [Int],
                           isMax: Bool, countIncludesPad: Bool) -> Tensor {
        let (n, c, h, w) = input.nchw
        // Window parameters as locals, so the inner loops index nothing but the maps.
        let (kh, kw, sy, sx, dy, dx) = (kernel[0], kernel[1], strides[0], strides[1], dilations[0], dilations[1])
        let (top, left, bottom, right) = (pads[0], pads[1], pads[2], pads[3])
        return Tensor(uninitializedShape: [n, c, outH, outW]) { out in
            let o = out.baseAddress!
            input.withUnsafeBufferPointer { xs in
                let x = xs.baseAddress!
                parallelFor(n * c, minimumPerThread: 4) { planes in
                    for plane in planes {
                        let src = x + plane * h * w, dst = o + plane * outH * outW
                        for oy in 0..<outH {
                            let y0 = oy * sy - top
                            for ox in 0..<outW {
                                let x0 = ox * sx - left
                                var acc: Float = isMax ? -.infinity : 0
                                var inside = 0, rows = 0, cols = 0
                                for ky in 0..<kh {
                                    let iy = y0 + ky * dy
                                    if iy < h + bottom { rows += 1 }
                                    guard iy >= 0, iy < h else { continue }
                                    let row = src + iy * w
                                    for kx in 0..<kw {
                                        let ix = x0 + kx * dx
                                        guard ix >= 0, ix < w else { continue }
                                        acc = isMax ? max(acc, row[ix]) : acc + row[ix]
                                        inside += 1
                                    }
                                }
                                if !isMax {
                                    for kx in 0..<kw where x0 + kx * dx < w + right { cols += 1 }
                                    acc /= Float(countIncludesPad ? rows * cols : max(inside, 1))
                                }
                                dst[oy * outW + ox] = acc
                            }
                        }
                    }
                }
            }
        }
    }

    /// Mean over each H x W plane: `[N, C, H, W] -> [N, C, 1, 1]`.
    package static func globalAveragePool(_ input: Tensor) -> Tensor {
        let (n, c, h, w) = input.nchw
        let plane = h * w
        return Tensor(uninitializedShape: [n, c, 1, 1]) { out in
            input.withUnsafeBufferPointer { x in
                for p in 0..<(n * c) {
                    var sum: Float = 0
                    for i in (p * plane)..<((p + 1) * plane) { sum += x[i] }
                    out[p] = sum / Float(plane)
                }
            }
        }
    }

    /// `y = x W^T + b` through BLAS sgemm; x `[N, in]`, W `[out, in]`.
    package static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        var output = Tensor(uninitializedShape: [input.shape[0], weight.shape[0]]) { _ in }
        linear(input, weight: weight, bias: bias, into: &output)
        return output
    }

    /// ``linear(_:weight:bias:)`` into a row-major `[N, out]` `output`.
    /// A 4-D `input` is read as its flattening `[N, C * H * W]`.
    package static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, into output: inout Tensor) {
        let (n, inFeatures, outFeatures) = (input.shape[0], input.count / max(input.shape[0], 1), weight.shape[0])
        precondition(input.layout == .rowMajor && inFeatures == weight.shape[1], "linear: input \(input.shape) does not fit weight \(weight.shape)")
        precondition(output.shape == [n, outFeatures] && output.layout == .rowMajor, "linear output \(output.shape)")
        output.withUnsafeMutableBufferPointer { out in
            for b in 0..<n {
                for o in 0..<outFeatures { out[b * outFeatures + o] = bias?.scalars[o] ?? 0 }
            }
            input.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { wt in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(outFeatures), Int32(inFeatures),
                                1, x.baseAddress, Int32(inFeatures), wt.baseAddress, Int32(inFeatures),
                                1, out.baseAddress, Int32(outFeatures))
                }
            }
        }
    }

    /// ``linear(_:weight:bias:into:)`` by the engine's own loop (``ck_linear_rows``), output
    /// features split over the threads: the compiled graph's classifier, which allocates nothing
    /// (BLAS's sgemm takes a buffer from the heap at some sizes).
    package static func linearByRows(_ input: Tensor, weight: Tensor, bias: Tensor?, into output: inout Tensor) {
        let (n, inFeatures, outFeatures) = (input.shape[0], input.count / max(input.shape[0], 1), weight.shape[0])
        precondition(input.layout == .rowMajor && inFeatures == weight.shape[1], "linear: input \(input.shape) does not fit weight \(weight.shape)")
        precondition(output.shape == [n, outFeatures] && output.layout == .rowMajor, "linear output \(output.shape)")
        let empty: [Float] = []
        input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                (bias?.scalars ?? empty).withUnsafeBufferPointer { b in
                    output.withUnsafeMutableBufferPointer { y in
                        let work = LinearRows(x: x.baseAddress!, n: n, inFeatures: inFeatures, w: w.baseAddress!,
                                              bias: bias == nil ? nil : b.baseAddress, y: y.baseAddress!, outFeatures: outFeatures)
                        parallelFor(outFeatures, minimumPerThread: 16, work: work)
                    }
                }
            }
        }
    }

    /// `alpha * op(A) op(B) + C` through BLAS sgemm: A is `[m, k]` (`[k, m]` with `transA`), B
    /// `[k, n]` (`[n, k]` with `transB`), both row-major; `c` (`m * n` values, or nil for zeros)
    /// is the starting value of the result.
    package static func matrixProduct(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float,
                              adding c: [Float]?) -> [Float] {
        var result = c ?? [Float](repeating: 0, count: m * n)
        guard m > 0, n > 0, k > 0 else { return result }
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                result.withUnsafeMutableBufferPointer { out in
                    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), alpha, x.baseAddress, Int32(transA ? m : k),
                                y.baseAddress, Int32(transB ? k : n), 1, out.baseAddress, Int32(n))
                }
            }
        }
        return result
    }

    /// Softmax along `axis` (max-subtracted for stability).
    package static func softmax(_ input: Tensor, axis: Int) -> Tensor {
        let outer = input.shape[..<axis].reduce(1, *)
        let extent = input.shape[axis]
        let inner = input.shape[(axis + 1)...].reduce(1, *)
        return Tensor(uninitializedShape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * extent * inner + i
                        var m = -Float.infinity
                        for j in 0..<extent { m = max(m, x[base + j * inner]) }
                        var total: Float = 0
                        for j in 0..<extent {
                            let e = expf32(x[base + j * inner] - m)
                            out[base + j * inner] = e
                            total += e
                        }
                        for j in 0..<extent { out[base + j * inner] /= total }
                    }
                }
            }
        }
    }

    /// Copies channels `range` of every sample.
    package static func sliceChannels(_ input: Tensor, _ range: Range<Int>) -> Tensor {
        let (n, c, h, w) = input.nchw
        let plane = h * w
        return Tensor(uninitializedShape: [n, range.count, h, w]) { out in
            input.withUnsafeBufferPointer { x in
                for b in 0..<n {
                    let src = x.baseAddress! + (b * c + range.lowerBound) * plane
                    (out.baseAddress! + b * range.count * plane).update(from: src, count: range.count * plane)
                }
            }
        }
    }

    /// Concatenates along channels.
    package static func concatChannels(_ inputs: [Tensor]) -> Tensor {
        let (n, _, h, w) = inputs[0].nchw
        let plane = h * w
        let total = inputs.reduce(0) { $0 + $1.shape[1] }
        return Tensor(uninitializedShape: [n, total, h, w]) { out in
            var offset = 0
            for t in inputs {
                let c = t.shape[1]
                t.withUnsafeBufferPointer { x in
                    for b in 0..<n {
                        (out.baseAddress! + (b * total + offset) * plane)
                            .update(from: x.baseAddress! + b * c * plane, count: c * plane)
                    }
                }
                offset += c
            }
        }
    }

    /// SPConv's parameter-free fusion in one sweep:
    /// `y = w_rep * rep + w_red * red`, `(w_rep, w_red) = softmax(mean(rep), mean(red))` per sample and
    /// channel, then the optional epilogue `relu?(scale[c] * y + shift[c] + residual)`.
    package static func softmaxFusion(representative rep: Tensor, redundant red: Tensor, epilogue: FusionEpilogue? = nil) -> Tensor {
        let (n, c, h, w) = rep.nchw
        let plane = h * w
        let scale = epilogue?.scale, shift = epilogue?.shift
        let relu = epilogue?.relu ?? false
        let residual = epilogue?.residual ?? Tensor.zeros([0])
        let hasResidual = epilogue?.residual != nil
        return Tensor(uninitializedShape: rep.shape) { out in
            rep.withUnsafeBufferPointer { a in
                red.withUnsafeBufferPointer { r in
                    residual.withUnsafeBufferPointer { res in
                        for p in 0..<(n * c) {
                            let range = (p * plane)..<((p + 1) * plane)
                            var sumA: Float = 0, sumR: Float = 0
                            for i in range { sumA += a[i]; sumR += r[i] }
                            let (ma, mr) = (sumA / Float(plane), sumR / Float(plane))
                            let m = max(ma, mr)
                            let (ea, er) = (expf32(ma - m), expf32(mr - m))
                            let ch = p % c
                            let post = scale?[ch] ?? 1, offset = shift?[ch] ?? 0
                            let (wa, wr) = (post * ea / (ea + er), post * er / (ea + er))
                            switch (hasResidual, relu) {
                            case (false, false): for i in range { out[i] = wa * a[i] + wr * r[i] + offset }
                            case (false, true): for i in range { out[i] = max(wa * a[i] + wr * r[i] + offset, 0) }
                            case (true, false): for i in range { out[i] = wa * a[i] + wr * r[i] + offset + res[i] }
                            case (true, true): for i in range { out[i] = max(wa * a[i] + wr * r[i] + offset + res[i], 0) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Output features of ``ElementwiseKernels/linearByRows(_:weight:bias:into:)``.
private struct LinearRows: ParallelWork {
    let x: UnsafePointer<Float>, n: Int, inFeatures: Int
    let w: UnsafePointer<Float>, bias: UnsafePointer<Float>?
    let y: UnsafeMutablePointer<Float>, outFeatures: Int

    func run(_ outputs: Range<Int>) {
        ck_linear_rows(x, n, inFeatures, w, bias, y, outFeatures, outputs.lowerBound, outputs.upperBound)
    }
}

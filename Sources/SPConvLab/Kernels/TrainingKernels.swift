import CBLAS
import Foundation

/// The backward halves (and the training-mode forwards) of the memory-bound ops, on row-major
/// NCHW tensors. Each is checked against finite differences of a float64 twin in the tests.
///
/// Loops run over whole `H x W` planes or flat chunks split across the engine's threads by
/// `parallelFor`; every range writes disjoint memory.
enum TrainingKernels {
    /// Elements per thread below which a flat loop stays on one thread.
    static let flatGrain = 32_768

    // MARK: Vector reductions
    // Swift does not reorder a float sum to vectorise it; these keep 16 partial sums.

    /// `Σ p[i]`.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var acc = SIMD16<Float>.zero
        var i = 0
        while i + 16 <= count { acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self); i += 16 }
        var total = acc.sum()
        while i < count { total += p[i]; i += 1 }
        return total
    }

    /// `Σ a[i] * b[i]`.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        let (ra, rb) = (UnsafeRawPointer(a), UnsafeRawPointer(b))
        var acc = SIMD16<Float>.zero
        var i = 0
        while i + 16 <= count {
            acc += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        var total = acc.sum()
        while i < count { total += a[i] * b[i]; i += 1 }
        return total
    }

    /// `Σ (p[i] - m)^2`.
    @inline(__always)
    static func squaredDeviations(_ p: UnsafePointer<Float>, _ count: Int, from m: Float) -> Float {
        let raw = UnsafeRawPointer(p)
        var acc = SIMD16<Float>.zero
        let mv = SIMD16<Float>(repeating: m)
        var i = 0
        while i + 16 <= count {
            let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - mv
            acc += d * d
            i += 16
        }
        var total = acc.sum()
        while i < count { total += (p[i] - m) * (p[i] - m); i += 1 }
        return total
    }

    /// `Σ g[i] * (x[i] - m)`.
    @inline(__always)
    static func centredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int, centre m: Float) -> Float {
        let (rg, rx) = (UnsafeRawPointer(g), UnsafeRawPointer(x))
        var acc = SIMD16<Float>.zero
        let mv = SIMD16<Float>(repeating: m)
        var i = 0
        while i + 16 <= count {
            acc += rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                * (rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - mv)
            i += 16
        }
        var total = acc.sum()
        while i < count { total += g[i] * (x[i] - m); i += 1 }
        return total
    }

    // MARK: Batch normalisation

    /// Runs `body` for every channel on all threads and collects its two results per channel.
    private static func perChannel(_ channels: Int, _ body: (Int) -> (Double, Double)) -> ([Double], [Double]) {
        var first = [Double](repeating: 0, count: channels), second = [Double](repeating: 0, count: channels)
        first.withUnsafeMutableBufferPointer { firsts in
            second.withUnsafeMutableBufferPointer { seconds in
                let (f, s) = (firsts, seconds)
                parallelFor(channels) { range in
                    for ch in range { (f[ch], s[ch]) = body(ch) }
                }
            }
        }
        return (first, second)
    }

    /// Batch statistics of `[N, C, H, W]` per channel: the mean and the biased variance
    /// (divided by `N * H * W`), accumulated in float64 across planes.
    static func channelStatistics(_ x: Tensor) -> (mean: [Double], variance: [Double]) {
        let (n, c, h, w) = x.nchw
        let plane = h * w
        return x.withUnsafeBufferPointer { xs in
            perChannel(c) { ch in
                var sum = 0.0
                for b in 0..<n { sum += Double(TrainingKernels.sum(xs.baseAddress! + (b * c + ch) * plane, plane)) }
                let m = sum / Double(n * plane)
                var squares = 0.0
                for b in 0..<n {
                    squares += Double(squaredDeviations(xs.baseAddress! + (b * c + ch) * plane, plane, from: Float(m)))
                }
                return (m, squares / Double(n * plane))
            }
        }
    }

    /// `y = (x - mean[c]) * invStd[c] * weight[c] + bias[c]`.
    static func normalize(_ x: Tensor, mean: [Float], invStd: [Float], weight: Tensor, bias: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw
        let plane = h * w
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            scale[ch] = invStd[ch] * weight.scalars[ch]
            shift[ch] = bias.scalars[ch] - mean[ch] * scale[ch]
        }
        return Tensor(uninitializedShape: x.shape) { out in
            let o = out
            x.withUnsafeBufferPointer { xs in
                parallelFor(n * c) { planes in
                    for p in planes {
                        let (a, s) = (scale[p % c], shift[p % c])
                        for i in (p * plane)..<((p + 1) * plane) { o[i] = xs[i] * a + s }
                    }
                }
            }
        }
    }

    /// The gradients of training-mode batch norm: with `x̂ = (x - mean) * invStd` and `M = N*H*W`,
    /// `dβ = Σ dy`, `dγ = Σ dy x̂`, `dx = γ invStd / M * (M dy - dβ - x̂ dγ)`.
    static func batchNormBackward(_ x: Tensor, gradOutput dy: Tensor, mean: [Float], invStd: [Float],
                                  weight: Tensor) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let (n, c, h, w) = x.nchw
        let plane = h * w
        let (sumsDy, sumsDyCentred) = x.withUnsafeBufferPointer { xs in
            dy.withUnsafeBufferPointer { dys in
                perChannel(c) { ch in
                    var sumDy = 0.0, sumDyCentred = 0.0
                    for b in 0..<n {
                        let base = (b * c + ch) * plane
                        sumDy += Double(TrainingKernels.sum(dys.baseAddress! + base, plane))
                        sumDyCentred += Double(centredDot(dys.baseAddress! + base, xs.baseAddress! + base, plane, centre: mean[ch]))
                    }
                    return (sumDy, sumDyCentred)
                }
            }
        }
        let gradBias = sumsDy.map { Float($0) }
        let gradWeight = (0..<c).map { Float(sumsDyCentred[$0]) * invStd[$0] }
        let count = Float(n * plane)
        let gradInput = Tensor(uninitializedShape: x.shape) { out in
            let o = out
            x.withUnsafeBufferPointer { xs in
                dy.withUnsafeBufferPointer { dys in
                    parallelFor(n * c) { planes in
                        for p in planes {
                            let ch = p % c
                            let (m, s) = (mean[ch], invStd[ch])
                            let k = weight.scalars[ch] * s / count
                            let (gb, gw) = (gradBias[ch], gradWeight[ch])
                            for i in (p * plane)..<((p + 1) * plane) {
                                let xhat = (xs[i] - m) * s
                                o[i] = k * (count * dys[i] - gb - xhat * gw)
                            }
                        }
                    }
                }
            }
        }
        return (gradInput, Tensor(shape: [c], scalars: gradWeight), Tensor(shape: [c], scalars: gradBias))
    }

    // MARK: Element-wise

    /// `max(x, 0)`, or with `residual` `max(x + residual, 0)`, over flat chunks on all threads.
    static func relu(_ x: Tensor, adding residual: Tensor? = nil) -> Tensor {
        Tensor(uninitializedShape: x.shape) { out in
            let o = out
            x.withUnsafeBufferPointer { xs in
                if let residual {
                    residual.withUnsafeBufferPointer { rs in
                        parallelFor(xs.count, minimumPerThread: flatGrain) { range in
                            addRelu(xs.baseAddress! + range.lowerBound, rs.baseAddress! + range.lowerBound,
                                    o.baseAddress! + range.lowerBound, range.count)
                        }
                    }
                } else {
                    parallelFor(xs.count, minimumPerThread: flatGrain) { range in
                        relu(xs.baseAddress! + range.lowerBound, o.baseAddress! + range.lowerBound, range.count)
                    }
                }
            }
        }
    }

    /// `o[i] = max(x[i], 0)`, bit for bit `Swift.max(x, 0)` (which gives +0 for -0 and keeps NaN).
    @inline(__always)
    static func relu(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int) {
        let (rx, ro) = (UnsafeRawPointer(x), UnsafeMutableRawPointer(o))
        var i = 0
        while i + 16 <= count {
            let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            ro.storeBytes(of: v.replacing(with: 0, where: v .<= 0), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { o[i] = max(x[i], 0); i += 1 }
    }

    /// `o[i] = max(a[i] + b[i], 0)`.
    @inline(__always)
    static func addRelu(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int) {
        let (ra, rb, ro) = (UnsafeRawPointer(a), UnsafeRawPointer(b), UnsafeMutableRawPointer(o))
        var i = 0
        while i + 16 <= count {
            let v = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) + rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            ro.storeBytes(of: v.replacing(with: 0, where: v .<= 0), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { o[i] = max(a[i] + b[i], 0); i += 1 }
    }

    /// The ReLU gradient from its output: `dx = y > 0 ? dy : 0`, without branches (the signs of a
    /// feature map are a coin toss for the branch predictor).
    static func reluBackward(output y: Tensor, gradOutput dy: Tensor) -> Tensor {
        Tensor(uninitializedShape: y.shape) { out in
            let o = out
            y.withUnsafeBufferPointer { ys in
                dy.withUnsafeBufferPointer { dys in
                    parallelFor(ys.count, minimumPerThread: flatGrain) { range in
                        let start = range.lowerBound
                        maskedByPositive(dys.baseAddress! + start, ys.baseAddress! + start, o.baseAddress! + start, range.count)
                    }
                }
            }
        }
    }

    /// `o[i] = y[i] > 0 ? g[i] : 0`.
    @inline(__always)
    static func maskedByPositive(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int) {
        let (rg, ry, ro) = (UnsafeRawPointer(g), UnsafeRawPointer(y), UnsafeMutableRawPointer(o))
        var i = 0
        while i + 16 <= count {
            let positive = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) .> 0
            let v = SIMD16<Float>.zero.replacing(with: rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), where: positive)
            ro.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { o[i] = y[i] > 0 ? g[i] : 0; i += 1 }
    }

    /// `a + b` for equal shapes on all threads.
    static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: \(a.shape) and \(b.shape) differ")
        return Tensor(uninitializedShape: a.shape) { out in
            let o = out
            a.withUnsafeBufferPointer { xs in
                b.withUnsafeBufferPointer { ys in
                    parallelFor(xs.count, minimumPerThread: flatGrain) { range in
                        for i in range { o[i] = xs[i] + ys[i] }
                    }
                }
            }
        }
    }

    /// `y[n, c, :, :] = x[n, c, :, :] * factor[n, c]` on all threads.
    static func scalePlanes(_ x: Tensor, by factors: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw
        let plane = h * w
        return Tensor(uninitializedShape: x.shape) { out in
            let o = out
            x.withUnsafeBufferPointer { xs in
                factors.withUnsafeBufferPointer { f in
                    parallelFor(n * c) { planes in
                        for p in planes {
                            let s = f[p]
                            for i in (p * plane)..<((p + 1) * plane) { o[i] = xs[i] * s }
                        }
                    }
                }
            }
        }
    }

    /// `Σ_{h,w} a[n, c, h, w] * b[n, c, h, w]` per plane: the factor gradient of `scalePlanes`.
    static func planeDotProducts(_ a: Tensor, _ b: Tensor) -> [Float] {
        let (n, c, h, w) = a.nchw
        let plane = h * w
        var result = [Float](repeating: 0, count: n * c)
        a.withUnsafeBufferPointer { xs in
            b.withUnsafeBufferPointer { ys in
                result.withUnsafeMutableBufferPointer { rs in
                    let r = rs
                    parallelFor(n * c) { planes in
                        for p in planes { r[p] = dot(xs.baseAddress! + p * plane, ys.baseAddress! + p * plane, plane) }
                    }
                }
            }
        }
        return result
    }

    /// Sums each plane: `[N, C, H, W] -> [N * C]`, optionally divided by the plane size (the mean).
    static func planeSums(_ x: Tensor, mean: Bool) -> [Float] {
        let (n, c, h, w) = x.nchw
        let plane = h * w
        var result = [Float](repeating: 0, count: n * c)
        x.withUnsafeBufferPointer { xs in
            result.withUnsafeMutableBufferPointer { rs in
                let r = rs
                parallelFor(n * c) { planes in
                    for p in planes {
                        let total = TrainingKernels.sum(xs.baseAddress! + p * plane, plane)
                        r[p] = mean ? total / Float(plane) : total
                    }
                }
            }
        }
        return result
    }

    /// Spreads `value[n, c] / (H * W)` over each plane: the gradient of a global average pool.
    static func broadcastPlanes(_ values: Tensor, shape: [Int]) -> Tensor {
        let plane = shape[2] * shape[3]
        let scale = 1 / Float(plane)
        return Tensor(uninitializedShape: shape) { out in
            let o = out
            values.withUnsafeBufferPointer { v in
                parallelFor(shape[0] * shape[1]) { planes in
                    for p in planes {
                        let s = v[p] * scale
                        for i in (p * plane)..<((p + 1) * plane) { o[i] = s }
                    }
                }
            }
        }
    }

    // MARK: Pooling

    /// The gradient of max or average pooling (average counts padding, as the forward does).
    /// Max pooling sends each output's gradient to the first maximum of its window, as PyTorch does.
    static func poolBackward(input x: Tensor, gradOutput dy: Tensor, kernelSize k: Int, stride: Int, padding: Int,
                             isMax: Bool) -> Tensor {
        let (n, c, h, w) = x.nchw
        let (ho, wo) = (dy.shape[2], dy.shape[3])
        let divisor = Float(k * k)
        var gradInput = Tensor.zeros(x.shape)
        gradInput.withUnsafeMutableBufferPointer { out in
            let o = out
            x.withUnsafeBufferPointer { xs in
                dy.withUnsafeBufferPointer { dys in
                    parallelFor(n * c) { planes in
                        for p in planes {
                            let src = p * h * w, dst = p * ho * wo
                            for oy in 0..<ho {
                                let y0 = oy * stride - padding
                                let yLo = max(y0, 0), yHi = min(y0 + k, h)
                                for ox in 0..<wo {
                                    let x0 = ox * stride - padding
                                    let xLo = max(x0, 0), xHi = min(x0 + k, w)
                                    let g = dys[dst + oy * wo + ox]
                                    if isMax {
                                        var best = -Float.infinity, at = -1
                                        for y in yLo..<yHi {
                                            for xx in xLo..<xHi where xs[src + y * w + xx] > best {
                                                best = xs[src + y * w + xx]
                                                at = src + y * w + xx
                                            }
                                        }
                                        if at >= 0 { o[at] += g }
                                    } else {
                                        let share = g / divisor
                                        for y in yLo..<yHi {
                                            for xx in xLo..<xHi { o[src + y * w + xx] += share }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return gradInput
    }

    // MARK: Linear

    /// The gradients of `y = x W^T + b`: `dx = dy W`, `dW = dy^T x`, `db = Σ_n dy`.
    static func linearBackward(input x: Tensor, weight: Tensor, gradOutput dy: Tensor)
        -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let (n, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
        let gradInput = Tensor(uninitializedShape: x.shape) { out in
            dy.withUnsafeBufferPointer { g in
                weight.withUnsafeBufferPointer { wt in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(inFeatures), Int32(outFeatures),
                                1, g.baseAddress, Int32(outFeatures), wt.baseAddress, Int32(inFeatures),
                                0, out.baseAddress, Int32(inFeatures))
                }
            }
        }
        let gradWeight = Tensor(uninitializedShape: weight.shape) { out in
            dy.withUnsafeBufferPointer { g in
                x.withUnsafeBufferPointer { xs in
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), Int32(n),
                                1, g.baseAddress, Int32(outFeatures), xs.baseAddress, Int32(inFeatures),
                                0, out.baseAddress, Int32(inFeatures))
                }
            }
        }
        var gradBias = [Float](repeating: 0, count: outFeatures)
        for b in 0..<n {
            for o in 0..<outFeatures { gradBias[o] += dy.scalars[b * outFeatures + o] }
        }
        return (gradInput, gradWeight, Tensor(shape: [outFeatures], scalars: gradBias))
    }

    // MARK: Softmax and loss

    /// The softmax gradient from its output along `axis`: `dx = y * (dy - Σ_axis dy * y)`.
    static func softmaxBackward(output y: Tensor, gradOutput dy: Tensor, axis: Int) -> Tensor {
        let outer = y.shape[..<axis].reduce(1, *)
        let extent = y.shape[axis]
        let inner = y.shape[(axis + 1)...].reduce(1, *)
        return Tensor(uninitializedShape: y.shape) { out in
            y.withUnsafeBufferPointer { ys in
                dy.withUnsafeBufferPointer { dys in
                    for o in 0..<outer {
                        for i in 0..<inner {
                            let base = o * extent * inner + i
                            var dot: Float = 0
                            for j in 0..<extent { dot += ys[base + j * inner] * dys[base + j * inner] }
                            for j in 0..<extent {
                                let at = base + j * inner
                                out[at] = ys[at] * (dys[at] - dot)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Mean cross-entropy of `[N, K]` logits against class indices, with label smoothing `ε`
    /// (PyTorch's: the target is `(1 - ε) one_hot + ε / K`), and its gradient with respect to the
    /// logits, `(softmax(z) - target) / N`.
    static func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing epsilon: Float)
        -> (loss: Double, gradient: Tensor) {
        let (n, k) = (logits.shape[0], logits.shape[1])
        var loss = 0.0
        var gradient = [Float](repeating: 0, count: n * k)
        let offTarget = Double(epsilon) / Double(k)
        let onTarget = 1 - Double(epsilon) + offTarget
        logits.withUnsafeBufferPointer { z in
            for b in 0..<n {
                let row = b * k
                var m = -Float.infinity
                for j in 0..<k { m = max(m, z[row + j]) }
                var total = 0.0
                for j in 0..<k { total += exp(Double(z[row + j] - m)) }
                let logTotal = log(total)
                for j in 0..<k {
                    let logP = Double(z[row + j] - m) - logTotal
                    let target = j == labels[b] ? onTarget : offTarget
                    loss -= target * logP
                    gradient[row + j] = Float((exp(logP) - target) / Double(n))
                }
            }
        }
        return (loss / Double(n), Tensor(shape: logits.shape, scalars: gradient))
    }

    // MARK: Channels

    /// Writes `gradient` into channels `range` of a zero `[N, C, H, W]`: the gradient of a slice.
    static func unsliceChannels(_ gradient: Tensor, range: Range<Int>, channels: Int) -> Tensor {
        let (n, _, h, w) = gradient.nchw
        let plane = h * w
        var full = Tensor.zeros([n, channels, h, w])
        full.withUnsafeMutableBufferPointer { out in
            gradient.withUnsafeBufferPointer { g in
                for b in 0..<n {
                    (out.baseAddress! + (b * channels + range.lowerBound) * plane)
                        .update(from: g.baseAddress! + b * range.count * plane, count: range.count * plane)
                }
            }
        }
        return full
    }

    // MARK: Optimiser

    /// One SGD step with momentum and weight decay, PyTorch's `torch.optim.SGD` (dampening 0, not
    /// Nesterov): `d = g + λ p`; `v = d` on the first step, else `v = μ v + d`; `p -= lr v`.
    static func sgdStep(parameter: inout Tensor, gradient: Tensor, velocity: inout Tensor, isFirstStep: Bool,
                        learningRate: Float, momentum: Float, weightDecay: Float) {
        parameter.withUnsafeMutableBufferPointer { p in
            velocity.withUnsafeMutableBufferPointer { v in
                gradient.withUnsafeBufferPointer { g in
                    for i in 0..<p.count {
                        let d = g[i] + weightDecay * p[i]
                        let vi = isFirstStep ? d : momentum * v[i] + d
                        v[i] = vi
                        p[i] -= learningRate * vi
                    }
                }
            }
        }
    }
}

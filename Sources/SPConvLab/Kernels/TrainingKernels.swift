import CBLAS
import CKernels
import Foundation
import SPConvCore

/// The backward halves (and the training-mode forwards) of the memory-bound ops, on row-major
/// NCHW tensors. Each is checked against finite differences of a float64 twin in the tests.
///
/// Loops run over whole `H x W` planes or flat chunks split across the engine's threads by
/// `parallelFor`; every range writes disjoint memory.
package enum TrainingKernels {
    /// Elements per thread below which a flat loop stays on one thread.
    package static let flatGrain = 32_768

    // MARK: Vector reductions
    // Swift does not reorder a float sum to vectorise it; these keep 16 partial sums.

    /// `Σ p[i]`.
    @inline(__always)
    package static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
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
    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
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
    package static func squaredDeviations(_ p: UnsafePointer<Float>, _ count: Int, from m: Float) -> Float {
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
    package static func centredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int, centre m: Float) -> Float {
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

    /// What training-mode batch norm's forward leaves for its backward and the running statistics.
    package struct BatchNormStatistics {
        /// The batch mean and biased variance of each channel, accumulated in float64.
        package var mean: [Double], variance: [Double]
        /// `Float(mean)` and `1 / sqrt(variance + epsilon)` per channel.
        package var meanFloat: [Float], invStd: [Float]
        /// The affine map the forward applied: `y = x * scale[c] + shift[c]` before any ReLU.
        package var scale: [Float], shift: [Float]
    }

    /// Training-mode batch norm of `[N, C, H, W]`, optionally followed by ReLU, one channel at a
    /// time on all threads: the channel's statistics (mean, then the squared deviations from it,
    /// both accumulated in float64 across planes), then `y = x * scale + shift` with
    /// `scale = invStd * weight`, `shift = bias - mean * scale` (and `max(y, 0)` with `relu`),
    /// while the channel's `N` planes are still in cache.
    package static func batchNormForward(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, relu: Bool)
        -> (output: Tensor, statistics: BatchNormStatistics) {
        let (n, c, h, w) = x.nchw
        let plane = h * w
        let doubles = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * c)
        let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4 * c)
        defer { doubles.deallocate(); floats.deallocate() }
        let output = Tensor(uninitializedShape: x.shape) { out in
            let o = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                weight.withUnsafeBufferPointer { ws in
                    bias.withUnsafeBufferPointer { bs in
                        let x0 = xs.baseAddress!
                        parallelFor(c) { channels in
                            for ch in channels {
                                var sum = 0.0
                                for b in 0..<n { sum += Double(TrainingKernels.sum(x0 + (b * c + ch) * plane, plane)) }
                                let m = sum / Double(n * plane)
                                var squares = 0.0
                                for b in 0..<n { squares += Double(squaredDeviations(x0 + (b * c + ch) * plane, plane, from: Float(m))) }
                                let variance = squares / Double(n * plane)
                                let meanFloat = Float(m)
                                let invStd = Float(1 / (variance + Double(epsilon)).squareRoot())
                                let scale = invStd * ws[ch]
                                let shift = bs[ch] - meanFloat * scale
                                for b in 0..<n {
                                    let base = (b * c + ch) * plane
                                    affine(x0 + base, o + base, plane, scale: scale, shift: shift, relu: relu)
                                }
                                (doubles[ch], doubles[c + ch]) = (m, variance)
                                (floats[ch], floats[c + ch], floats[2 * c + ch], floats[3 * c + ch]) = (meanFloat, invStd, scale, shift)
                            }
                        }
                    }
                }
            }
        }
        return (output, BatchNormStatistics(mean: Array(doubles[0..<c]), variance: Array(doubles[c...]),
                                            meanFloat: Array(floats[0..<c]), invStd: Array(floats[c..<(2 * c)]),
                                            scale: Array(floats[(2 * c)..<(3 * c)]), shift: Array(floats[(3 * c)...])))
    }

    /// `batchNormForward` on an `nChw16c` tensor (whole blocks), output in the same layout.
    ///
    /// Work items are (sample, channel block) pairs on all threads; each item's per-channel sums
    /// (float, four accumulators per lane) go to its own slot and are added in float64 in sample
    /// order afterwards, so the result does not depend on the thread count.
    package static func batchNormForwardBlocked(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float, relu: Bool)
        -> (output: Tensor, statistics: BatchNormStatistics) {
        precondition(x.layout == .channelBlocked(16), "batchNormForwardBlocked needs nChw16c")
        let (n, c, h, w) = x.nchw
        let plane = h * w, cb = c / 16
        let (statistics, _) = blockedBatchNormStatistics(x, weight: weight, bias: bias, epsilon: epsilon)
        let p = PackedLanes([statistics.scale, statistics.shift])
        let output = Tensor(blockedShape: x.shape, block: 16) { out in
            let o = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                let x0 = xs.baseAddress!
                parallelFor(n * cb) { items in
                    for item in items {
                        let at = (item % cb) * 16
                        ck_lane_affine(x0 + item * plane * 16, o + item * plane * 16, plane, p.at(0, at), p.at(1, at), relu ? 1 : 0)
                    }
                }
            }
        }
        return (output, statistics)
    }

    /// The batch statistics of an `nChw16c` tensor (whole blocks) and the affine map of its batch
    /// norm, with each item's per-channel sums (`sums[item * C + channel]`, in sample order).
    ///
    /// Means and variances are accumulated in float64: per sample and block with SIMD16 lanes,
    /// then added over the samples in order, so the result does not depend on the thread count.
    package static func blockedBatchNormStatistics(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float)
        -> (statistics: BatchNormStatistics, sums: [Double]) {
        blockedBatchNormStatistics([(x, weight, bias, epsilon)])[0]
    }

    /// `blockedBatchNormStatistics` of several tensors of one shape (SPConv's two branches), each
    /// with its own batch norm, in two parallel regions in all instead of two per tensor: at batch
    /// 128 on the last stage's 7x7 maps a region is short enough for its start and end to count.
    package static func blockedBatchNormStatistics(_ inputs: [(x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float)])
        -> [(statistics: BatchNormStatistics, sums: [Double])] {
        let xs = inputs.map(\.x)
        precondition(xs.allSatisfy { $0.shape == xs[0].shape && $0.layout == .channelBlocked(16) },
                     "blockedBatchNormStatistics needs nChw16c tensors of one shape")
        let (n, c, h, w) = xs[0].nchw
        let plane = h * w, cb = c / 16
        let total = Double(n * plane)
        func channelTotals(_ sums: [Double]) -> [Double] { (0..<c).map { ch in (0..<n).reduce(0.0) { $0 + sums[$1 * c + ch] } / total } }
        let sums = perItemLaneSums(xs, n: n, cb: cb, plane: plane) { _, p, _ in laneSum(p, plane) }
        let means = sums.map(channelTotals)
        let meanFloats = means.map { $0.map { Float($0) } }
        let squares = perItemLaneSums(xs, n: n, cb: cb, plane: plane) { t, p, block in
            laneSquaredDeviations(p, plane, from: lanes(meanFloats[t], block * 16))
        }
        return inputs.indices.map { t in
            (batchNormStatistics(mean: means[t], variance: channelTotals(squares[t]), weight: inputs[t].weight, bias: inputs[t].bias,
                                 epsilon: inputs[t].epsilon), sums[t])
        }
    }

    /// A batch norm's statistics and affine map from its channels' batch mean and biased variance.
    package static func batchNormStatistics(mean: [Double], variance: [Double], weight: Tensor, bias: Tensor, epsilon: Float) -> BatchNormStatistics {
        let meanFloat = mean.map { Float($0) }
        let invStd = variance.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) }
        let scale = (0..<mean.count).map { invStd[$0] * weight.scalars[$0] }
        let shift = (0..<mean.count).map { bias.scalars[$0] - meanFloat[$0] * scale[$0] }
        return BatchNormStatistics(mean: mean, variance: variance, meanFloat: meanFloat, invStd: invStd, scale: scale, shift: shift)
    }

    /// `batchNormBackward` on `nChw16c` tensors (whole blocks); `dy` in either layout, `dx` blocked.
    package static func batchNormBackwardBlocked(_ x: Tensor, gradOutput: Tensor, statistics: BatchNormStatistics,
                                         weight: Tensor, relu: Bool) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let dy = inLayout(of: x, gradOutput)
        let (n, c, h, w) = x.nchw
        let plane = h * w, cb = c / 16
        let count = Float(n * plane)
        // Per item: Σ dy and Σ dy (x - mean), dy masked by the ReLU's sign with `relu`.
        let partial = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * n * c)
        defer { partial.deallocate() }
        let p = PackedLanes([statistics.meanFloat, statistics.scale, statistics.shift])
        x.withUnsafeBufferPointer { xs in
            dy.withUnsafeBufferPointer { dys in
                let (x0, g0) = (xs.baseAddress!, dys.baseAddress!)
                parallelFor(n * cb) { items in
                    for item in items {
                        let (sample, block) = (item / cb, item % cb)
                        var (sum, centred) = (SIMD16<Float>.zero, SIMD16<Float>.zero)
                        withUnsafeMutableBytes(of: &sum) { sums in
                            withUnsafeMutableBytes(of: &centred) { centreds in
                                ck_lane_batch_norm_sums(x0 + item * plane * 16, g0 + item * plane * 16, plane, p.at(0, block * 16), p.at(1, block * 16),
                                                        p.at(2, block * 16), relu ? 1 : 0, sums.baseAddress!.assumingMemoryBound(to: Float.self),
                                                        centreds.baseAddress!.assumingMemoryBound(to: Float.self))
                            }
                        }
                        for lane in 0..<16 {
                            partial[sample * c + block * 16 + lane] = Double(sum[lane])
                            partial[n * c + sample * c + block * 16 + lane] = Double(centred[lane])
                        }
                    }
                }
            }
        }
        let gradBias = (0..<c).map { ch in Float((0..<n).reduce(0.0) { $0 + partial[$1 * c + ch] }) }
        let gradWeight = (0..<c).map { ch in Float((0..<n).reduce(0.0) { $0 + partial[n * c + $1 * c + ch] }) * statistics.invStd[ch] }
        let k = (0..<c).map { weight.scalars[$0] * statistics.invStd[$0] / count }
        let q = PackedLanes([statistics.invStd, k, gradBias, gradWeight])
        let gradInput = Tensor(blockedShape: x.shape, block: 16) { out in
            let o = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                dy.withUnsafeBufferPointer { dys in
                    let (x0, g0) = (xs.baseAddress!, dys.baseAddress!)
                    parallelFor(n * cb) { items in
                        for item in items {
                            let (at, base) = ((item % cb) * 16, item * plane * 16)
                            ck_lane_batch_norm_input(x0 + base, g0 + base, o + base, plane, p.at(0, at), p.at(1, at), p.at(2, at), q.at(0, at),
                                                     q.at(1, at), q.at(2, at), q.at(3, at), count, relu ? 1 : 0)
                        }
                    }
                }
            }
        }
        return (gradInput, Tensor(shape: [c], scalars: gradWeight), Tensor(shape: [c], scalars: gradBias))
    }

    /// Runs `body` on every (sample, channel block) item of an `nChw16c` tensor on all threads and
    /// returns its 16 lane results per item as float64, indexed `sample * C + channel`.
    package static func perItemLaneSums(_ xs: [Tensor], n: Int, cb: Int, plane: Int,
                                _ body: (Int, UnsafePointer<Float>, Int) -> SIMD16<Float>) -> [[Double]] {
        let items = n * cb
        var result = [Double](repeating: 0, count: xs.count * items * 16)
        result.withUnsafeMutableBufferPointer { rs in
            let r = rs
            withBasePointers(xs[...]) { bases in
                parallelFor(xs.count * items) { range in
                    for index in range {
                        let (t, item) = (index / items, index % items)
                        let v = body(t, bases[t] + item * plane * 16, item % cb)
                        for lane in 0..<16 { r[index * 16 + lane] = Double(v[lane]) }
                    }
                }
            }
        }
        return xs.indices.map { t in Array(result[(t * items * 16)..<((t + 1) * items * 16)]) }
    }

    /// Calls `body` with the base address of each tensor's storage, all valid for the call.
    package static func withBasePointers<R>(_ xs: ArraySlice<Tensor>, _ collected: [UnsafePointer<Float>] = [],
                                    _ body: ([UnsafePointer<Float>]) -> R) -> R {
        guard let first = xs.first else { return body(collected) }
        return first.withUnsafeBufferPointer { withBasePointers(xs.dropFirst(), collected + [$0.baseAddress!], body) }
    }

    /// `values[at..<(at + 16)]` as one vector: a single unaligned load. (`SIMD16(values[range])`
    /// goes through the generic sequence initializer, one element at a time, which cost about 5%
    /// of an SPConv training step when called per work item.)
    @inline(__always)
    package static func lanes(_ values: [Float], _ at: Int) -> SIMD16<Float> {
        precondition(at >= 0 && at + 16 <= values.count, "lanes: \(at)..<\(at + 16) is outside \(values.count) values")
        return values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress! + at).loadUnaligned(as: SIMD16<Float>.self) }
    }

    /// Per-channel or per-plane float arrays copied into one allocation, for the C kernels, which
    /// take per-lane parameters by pointer: `at(array, offset)` points at `arrays[array][offset...]`.
    package final class PackedLanes {
        private let storage: UnsafeMutableBufferPointer<Float>
        private let starts: [Int]

        package init(_ arrays: [[Float]]) {
            storage = .allocate(capacity: arrays.reduce(0) { $0 + $1.count })
            var starts = [Int](), next = 0
            for array in arrays {
                starts.append(next)
                _ = UnsafeMutableBufferPointer(rebasing: storage[next..<(next + array.count)]).initialize(from: array)
                next += array.count
            }
            self.starts = starts
        }

        deinit { storage.deallocate() }

        package func at(_ array: Int, _ offset: Int) -> UnsafePointer<Float> { UnsafePointer(storage.baseAddress! + starts[array] + offset) }
    }

    /// Per-lane sums of `pixels` consecutive `SIMD16` vectors, four accumulators per lane
    /// (`ck_lane_sum`).
    @inline(__always)
    package static func laneSum(_ p: UnsafePointer<Float>, _ pixels: Int) -> SIMD16<Float> {
        laneResult { ck_lane_sum(p, pixels, $0) }
    }

    /// Per-lane `Σ (v - m)^2` over `pixels` consecutive `SIMD16` vectors, four accumulators per
    /// lane (`ck_lane_squared_deviations`).
    @inline(__always)
    package static func laneSquaredDeviations(_ p: UnsafePointer<Float>, _ pixels: Int, from m: SIMD16<Float>) -> SIMD16<Float> {
        withUnsafeBytes(of: m) { mean in
            laneResult { ck_lane_squared_deviations(p, pixels, mean.baseAddress!.assumingMemoryBound(to: Float.self), $0) }
        }
    }

    /// The 16 floats a C lanes kernel writes through its output pointer, as one vector.
    @inline(__always)
    package static func laneResult(_ body: (UnsafeMutablePointer<Float>) -> Void) -> SIMD16<Float> {
        var result = SIMD16<Float>.zero
        withUnsafeMutableBytes(of: &result) { body($0.baseAddress!.assumingMemoryBound(to: Float.self)) }
        return result
    }

    /// `o[i] = x[i] * scale + shift`, then `max(o[i], 0)` with `relu`.
    @inline(__always)
    package static func affine(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int, scale: Float, shift: Float,
                       relu: Bool) {
        let (rx, ro) = (UnsafeRawPointer(x), UnsafeMutableRawPointer(o))
        let (a, s) = (SIMD16<Float>(repeating: scale), SIMD16<Float>(repeating: shift))
        var i = 0
        while i + 16 <= count {
            var v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * a + s
            if relu { v.replace(with: 0, where: v .<= 0) }
            ro.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let v = x[i] * scale + shift
            o[i] = relu ? max(v, 0) : v
            i += 1
        }
    }

    /// The gradients of training-mode batch norm (and of a ReLU after it, with `relu`): with
    /// `x̂ = (x - mean) * invStd`, `M = N*H*W` and `dy` zeroed where the forward's `x * scale + shift`
    /// was not positive when `relu` is set, `dβ = Σ dy`, `dγ = Σ dy x̂`,
    /// `dx = γ invStd / M * (M dy - dβ - x̂ dγ)`. One channel at a time on all threads: its sums,
    /// then its `dx` while its planes are still in cache.
    package static func batchNormBackward(_ x: Tensor, gradOutput dy: Tensor, statistics: BatchNormStatistics,
                                  weight: Tensor, relu: Bool) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let (n, c, h, w) = x.nchw
        let plane = h * w
        let count = Float(n * plane)
        var gradWeight = [Float](repeating: 0, count: c), gradBias = [Float](repeating: 0, count: c)
        let gradInput = Tensor(uninitializedShape: x.shape) { out in
            let o = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                dy.withUnsafeBufferPointer { dys in
                    gradWeight.withUnsafeMutableBufferPointer { gws in
                        gradBias.withUnsafeMutableBufferPointer { gbs in
                            let (x0, g0, gw0, gb0) = (xs.baseAddress!, dys.baseAddress!, gws.baseAddress!, gbs.baseAddress!)
                            parallelFor(c) { channels in
                                for ch in channels {
                                    let (m, s) = (statistics.meanFloat[ch], statistics.invStd[ch])
                                    let (scale, shift) = (statistics.scale[ch], statistics.shift[ch])
                                    var sumDy = 0.0, sumDyCentred = 0.0
                                    for b in 0..<n {
                                        let base = (b * c + ch) * plane
                                        let sums = gradientSums(g0 + base, x0 + base, plane, centre: m, relu: relu, scale: scale, shift: shift)
                                        sumDy += Double(sums.sum)
                                        sumDyCentred += Double(sums.centred)
                                    }
                                    let gb = Float(sumDy)
                                    let gw = Float(sumDyCentred) * s
                                    (gb0[ch], gw0[ch]) = (gb, gw)
                                    let k = weight.scalars[ch] * s / count
                                    for b in 0..<n {
                                        let base = (b * c + ch) * plane
                                        batchNormInputGradient(g0 + base, x0 + base, o + base, plane, mean: m, invStd: s, k: k, count: count,
                                                               gradBias: gb, gradWeight: gw, relu: relu, scale: scale, shift: shift)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (gradInput, Tensor(shape: [c], scalars: gradWeight), Tensor(shape: [c], scalars: gradBias))
    }

    /// `Σ dy[i]` and `Σ dy[i] * (x[i] - m)`, with `dy[i]` taken as 0 where `x[i] * scale + shift`
    /// is not positive when `relu` is set (the gradient through the ReLU after batch norm).
    /// Each sum keeps 16 partial sums, as `sum` and `centredDot` do.
    package static func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int, centre m: Float,
                             relu: Bool, scale: Float, shift: Float) -> (sum: Float, centred: Float) {
        let rg = UnsafeRawPointer(g), rx = UnsafeRawPointer(x)
        var acc = SIMD16<Float>.zero
        var accCentred = SIMD16<Float>.zero
        let mv = SIMD16<Float>(repeating: m)
        let av = SIMD16<Float>(repeating: scale), sv = SIMD16<Float>(repeating: shift)
        var i = 0
        while i + 16 <= count {
            let xv = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            var gv = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            if relu { gv.replace(with: 0, where: .!(xv * av + sv .> 0)) }
            acc += gv
            accCentred += gv * (xv - mv)
            i += 16
        }
        var total = acc.sum(), totalCentred = accCentred.sum()
        while i < count {
            let gi = relu && !(x[i] * scale + shift > 0) ? 0 : g[i]
            total += gi
            totalCentred += gi * (x[i] - m)
            i += 1
        }
        return (total, totalCentred)
    }

    /// `o[i] = k * (count * dy[i] - gradBias - (x[i] - mean) * invStd * gradWeight)`, `dy` masked as in `gradientSums`.
    package static func batchNormInputGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>,
                                       _ n: Int, mean m: Float, invStd s: Float, k: Float, count: Float,
                                       gradBias gb: Float, gradWeight gw: Float, relu: Bool, scale: Float, shift: Float) {
        let rg = UnsafeRawPointer(g), rx = UnsafeRawPointer(x), ro = UnsafeMutableRawPointer(o)
        let mv = SIMD16<Float>(repeating: m), svec = SIMD16<Float>(repeating: s)
        let kv = SIMD16<Float>(repeating: k), cv = SIMD16<Float>(repeating: count)
        let gbv = SIMD16<Float>(repeating: gb), gwv = SIMD16<Float>(repeating: gw)
        let av = SIMD16<Float>(repeating: scale), shv = SIMD16<Float>(repeating: shift)
        var i = 0
        while i + 16 <= n {
            let xv = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            var gv = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            if relu { gv.replace(with: 0, where: .!(xv * av + shv .> 0)) }
            let xhat = (xv - mv) * svec
            ro.storeBytes(of: kv * (cv * gv - gbv - xhat * gwv), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n {
            let gi = relu && !(x[i] * scale + shift > 0) ? 0 : g[i]
            let xhat = (x[i] - m) * s
            o[i] = k * (count * gi - gb - xhat * gw)
            i += 1
        }
    }

    // MARK: Element-wise

    /// `max(x, 0)`, or with `residual` `max(x + residual, 0)`, over flat chunks on all threads, in
    /// `x`'s layout (row-major when `x` and `residual` differ).
    package static func relu(_ x: Tensor, adding residual: Tensor? = nil) -> Tensor {
        if let residual, residual.layout != x.layout { return relu(x.rowMajor(), adding: residual.rowMajor()) }
        return makeLike(x) { out in
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

    /// A tensor of `model`'s shape and layout whose every stored element `initializer` writes.
    package static func makeLike(_ model: Tensor, _ initializer: (inout UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        switch model.layout {
        case .rowMajor: return Tensor(uninitializedShape: model.shape, initializer: initializer)
        case .channelBlocked(let block): return Tensor(blockedShape: model.shape, block: block, initializer: initializer)
        }
    }

    /// `x` in the layout of `model` (row-major or channel-blocked without padding channels).
    package static func inLayout(of model: Tensor, _ x: Tensor) -> Tensor {
        switch (model.layout, x.layout) {
        case let (a, b) where a == b: return x
        case (.rowMajor, _): return x.rowMajor()
        case (.channelBlocked(let block), _): return blocked(x.rowMajor(), block: block)
        }
    }

    /// Row-major `[N, C, H, W]` -> `nChw{block}c` with `C` a multiple of `block`, on all threads.
    package static func blocked(_ x: Tensor, block b: Int) -> Tensor {
        let (n, c, h, w) = x.nchw
        precondition(c % b == 0, "blocked: \(c) channels are not whole blocks of \(b)")
        let plane = h * w, cb = c / b
        return Tensor(blockedShape: x.shape, block: b) { out in
            let o = out.baseAddress!
            x.withUnsafeBufferPointer { xs in
                let x0 = xs.baseAddress!
                parallelFor(n * cb) { items in
                    for item in items {
                        let source = x0 + item * b * plane, destination = o + item * b * plane
                        for i in 0..<plane {
                            for lane in 0..<b { destination[i * b + lane] = source[lane * plane + i] }
                        }
                    }
                }
            }
        }
    }

    /// `o[i] = max(x[i], 0)`, bit for bit `Swift.max(x, 0)` (which gives +0 for -0 and keeps NaN).
    @inline(__always)
    package static func relu(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int) { ck_relu(x, o, count) }

    /// `o[i] = max(a[i] + b[i], 0)`.
    @inline(__always)
    package static func addRelu(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int) {
        ck_add_relu(a, b, o, count)
    }

    /// The ReLU gradient from its output: `dx = y > 0 ? dy : 0`, without branches (the signs of a
    /// feature map are a coin toss for the branch predictor), in `y`'s layout.
    package static func reluBackward(output y: Tensor, gradOutput: Tensor) -> Tensor {
        let dy = inLayout(of: y, gradOutput)
        return makeLike(y) { out in
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
    package static func maskedByPositive(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int) {
        ck_masked_by_positive(g, y, o, count)
    }

    /// `a + b` for equal shapes on all threads, in `a`'s layout (row-major when `b`'s differs).
    /// `a += b` for two tensors of one shape and layout, on all threads; `a`'s storage is
    /// reused when it is uniquely referenced (copy-on-write otherwise).
    package static func addInPlace(_ a: inout Tensor, _ b: Tensor) {
        precondition(a.shape == b.shape && a.layout == b.layout, "addInPlace: \(a.shape) \(a.layout) and \(b.shape) \(b.layout) differ")
        b.withUnsafeBufferPointer { ys in
            a.withUnsafeMutableBufferPointer { xs in
                let (x0, y0) = (xs.baseAddress!, ys.baseAddress!)
                parallelFor(xs.count, minimumPerThread: flatGrain) { range in
                    ck_add_in_place(x0 + range.lowerBound, y0 + range.lowerBound, range.count)
                }
            }
        }
    }

    package static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: \(a.shape) and \(b.shape) differ")
        if a.layout != b.layout { return add(a.rowMajor(), b.rowMajor()) }
        return makeLike(a) { out in
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
    package static func scalePlanes(_ x: Tensor, by factors: Tensor) -> Tensor {
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

    /// SPConv's fusion in one sweep, a plane at a time: with `a = GAP(rep)`, `b = GAP(red)` per
    /// plane and `(wRep, wRed) = softmax(a, b)`, `y = rep * wRep + red * wRed`. Returns the weights
    /// per plane (`[N * C]` each) for the backward pass.
    package static func spconvFusion(_ rep: Tensor, _ red: Tensor) -> (output: Tensor, weightRep: [Float], weightRed: [Float]) {
        let (n, c, h, w) = rep.nchw
        let plane = h * w
        var (wa, wb) = ([Float](repeating: 0, count: n * c), [Float](repeating: 0, count: n * c))
        let output = Tensor(uninitializedShape: rep.shape) { out in
            let o = out.baseAddress!
            rep.withUnsafeBufferPointer { xs in
                red.withUnsafeBufferPointer { ys in
                    wa.withUnsafeMutableBufferPointer { was in
                        wb.withUnsafeMutableBufferPointer { wbs in
                            let (x0, y0, ra, rb) = (xs.baseAddress!, ys.baseAddress!, was, wbs)
                            parallelFor(n * c) { planes in
                                for p in planes {
                                    let base = p * plane
                                    let a = TrainingKernels.sum(x0 + base, plane) / Float(plane)
                                    let b = TrainingKernels.sum(y0 + base, plane) / Float(plane)
                                    let m = max(a, b)
                                    let (ea, eb) = (expf32(a - m), expf32(b - m))
                                    let (fa, fb) = (ea / (ea + eb), eb / (ea + eb))
                                    (ra[p], rb[p]) = (fa, fb)
                                    let (sa, sb) = (SIMD16<Float>(repeating: fa), SIMD16<Float>(repeating: fb))
                                    let (rx, ry, ro) = (UnsafeRawPointer(x0 + base), UnsafeRawPointer(y0 + base), UnsafeMutableRawPointer(o + base))
                                    var i = 0
                                    while i + 16 <= plane {
                                        let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * sa
                                            + ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * sb
                                        ro.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
                                        i += 16
                                    }
                                    while i < plane { o[base + i] = x0[base + i] * fa + y0[base + i] * fb; i += 1 }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (output, wa, wb)
    }

    /// The gradients of `spconvFusion` in one sweep, a plane at a time: `dwRep = Σ dy * rep`,
    /// `dwRed = Σ dy * red`, through the softmax `da = wRep (dwRep - s)`, `db = wRed (dwRed - s)`
    /// with `s = wRep dwRep + wRed dwRed`, then `drep = dy * wRep + da / (H W)`,
    /// `dred = dy * wRed + db / (H W)` (the pools' share spread over the plane).
    package static func spconvFusionBackward(_ dy: Tensor, _ rep: Tensor, _ red: Tensor, weightRep: [Float], weightRed: [Float])
        -> (rep: Tensor, red: Tensor) {
        let (n, c, h, w) = rep.nchw
        let plane = h * w
        let inversePlane = 1 / Float(plane)
        var gradRed = Tensor.zeros([0])
        let gradRep = Tensor(uninitializedShape: rep.shape) { outA in
            gradRed = Tensor(uninitializedShape: rep.shape) { outB in
                let (oa, ob) = (outA.baseAddress!, outB.baseAddress!)
                dy.withUnsafeBufferPointer { gs in
                    rep.withUnsafeBufferPointer { xs in
                        red.withUnsafeBufferPointer { ys in
                            let (g0, x0, y0) = (gs.baseAddress!, xs.baseAddress!, ys.baseAddress!)
                            parallelFor(n * c) { planes in
                                for p in planes {
                                    let base = p * plane
                                    let (fa, fb) = (weightRep[p], weightRed[p])
                                    let (da, db) = (dot(g0 + base, x0 + base, plane), dot(g0 + base, y0 + base, plane))
                                    let s = fa * da + fb * db
                                    let (pa, pb) = (fa * (da - s) * inversePlane, fb * (db - s) * inversePlane)
                                    let (sa, sb) = (SIMD16<Float>(repeating: fa), SIMD16<Float>(repeating: fb))
                                    let (va, vb) = (SIMD16<Float>(repeating: pa), SIMD16<Float>(repeating: pb))
                                    let rg = UnsafeRawPointer(g0 + base)
                                    let (ra, rb) = (UnsafeMutableRawPointer(oa + base), UnsafeMutableRawPointer(ob + base))
                                    var i = 0
                                    while i + 16 <= plane {
                                        let gv = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                                        ra.storeBytes(of: gv * sa + va, toByteOffset: i * 4, as: SIMD16<Float>.self)
                                        rb.storeBytes(of: gv * sb + vb, toByteOffset: i * 4, as: SIMD16<Float>.self)
                                        i += 16
                                    }
                                    while i < plane {
                                        oa[base + i] = g0[base + i] * fa + pa
                                        ob[base + i] = g0[base + i] * fb + pb
                                        i += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (gradRep, gradRed)
    }

    /// `Σ_{h,w} a[n, c, h, w] * b[n, c, h, w]` per plane: the factor gradient of `scalePlanes`.
    package static func planeDotProducts(_ a: Tensor, _ b: Tensor) -> [Float] {
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
    package static func planeSums(_ x: Tensor, mean: Bool) -> [Float] {
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
    package static func broadcastPlanes(_ values: Tensor, shape: [Int]) -> Tensor {
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
    package static func poolBackward(input x: Tensor, gradOutput dy: Tensor, kernelSize k: Int, stride: Int, padding: Int,
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
    package static func linearBackward(input x: Tensor, weight: Tensor, gradOutput dy: Tensor)
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
    package static func softmaxBackward(output y: Tensor, gradOutput dy: Tensor, axis: Int) -> Tensor {
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
    package static func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing epsilon: Float)
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
    package static func unsliceChannels(_ gradient: Tensor, range: Range<Int>, channels: Int) -> Tensor {
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

    // MARK: SPConv

    /// The dense 3x3 weight `[C_out, C_rep, 3, 3]` of SPConv's representative branch as one
    /// convolution: `gwc`'s grouped weight on the block diagonal plus `pwc`'s 1x1 weight on the
    /// taps that see what `pwc` sees: the centre at stride 1; at stride 2, where `pwc` reads a 2x2
    /// average pool of the input, a quarter of it on each of the four taps `[1...2] x [1...2]`
    /// (a stride-2, padding-1 3x3 window's rows and columns `2i - 1 ... 2i + 1` hold the pool's `2i, 2i + 1`).
    package static func representativeWeight(gwc: Tensor, groups: Int, pwc: Tensor, stride: Int) -> Tensor {
        var dense = groups == 1 ? gwc : ConvolutionKernel.blockDiagonal(gwc, groups: groups)
        let (o, c) = (dense.shape[0], dense.shape[1])
        precondition(dense.shape[2] == 3 && dense.shape[3] == 3 && pwc.shape == [o, c, 1, 1] && (stride == 1 || stride == 2),
                     "representativeWeight needs a 3x3 gwc, a matching 1x1 pwc and stride 1 or 2")
        dense.withUnsafeMutableBufferPointer { d in
            for oc in 0..<o {
                for ic in 0..<c {
                    let p = pwc.scalars[oc * c + ic]
                    let base = (oc * c + ic) * 9
                    if stride == 1 {
                        d[base + 4] += p
                    } else {
                        for tap in [4, 5, 7, 8] { d[base + tap] += p * 0.25 }
                    }
                }
            }
        }
        return dense
    }

    /// Splits the gradient of `representativeWeight`'s dense weight into `gwc`'s (its diagonal
    /// blocks) and `pwc`'s (the centre tap, or at stride 2 a quarter of the sum of the four taps).
    package static func representativeGradients(_ dense: Tensor, groups: Int, stride: Int) -> (gwc: Tensor, pwc: Tensor) {
        let (o, c) = (dense.shape[0], dense.shape[1])
        var pwc = [Float](repeating: 0, count: o * c)
        for i in 0..<(o * c) {
            let t = dense.scalars[(i * 9)..<(i * 9 + 9)]
            let s = t.startIndex
            pwc[i] = stride == 1 ? t[s + 4] : (t[s + 4] + t[s + 5] + t[s + 7] + t[s + 8]) * 0.25
        }
        return (groups == 1 ? dense : ConvolutionKernel.diagonalBlocks(dense, groups: groups), Tensor(shape: [o, c, 1, 1], scalars: pwc))
    }

    // MARK: Optimiser

    /// One SGD step with momentum and weight decay, PyTorch's `torch.optim.SGD` (dampening 0, not
    /// Nesterov): `d = g + λ p`; `v = d` on the first step, else `v = μ v + d`; `p -= lr v`.
    package static func sgdStep(parameter: inout Tensor, gradient: Tensor, velocity: inout Tensor, isFirstStep: Bool,
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

import SPConvCore

/// SPConv's training kernels on oneDNN's `nChw16c` layout, and the weight rearrangements that let
/// SPConv's convolutions read the whole input instead of copies of its two channel parts.
///
/// Each blocked kernel has a row-major twin in `TrainingKernels.swift` (`spconvFusion`,
/// `spconvFusionBackward`, `unsliceChannels`), which BlockedTrainingTests compares it with.
extension TrainingKernels {
    // MARK: Fusion on nChw16c

    /// `spconvFusion` on two `nChw16c` tensors (whole blocks), output in the same layout.
    ///
    /// Work items are (sample, channel block) pairs on all threads; each computes the 16 planes'
    /// means of both inputs (`laneSum`), their softmax, and the weighted sum while the item is in
    /// cache. The weights come back per plane, `[N * C]` indexed `sample * C + channel`, as the
    /// row-major twin's.
    package static func spconvFusionBlocked(_ rep: Tensor, _ red: Tensor) -> (output: Tensor, weightRep: [Float], weightRed: [Float]) {
        precondition(rep.layout == .channelBlocked(16) && red.layout == .channelBlocked(16) && rep.shape == red.shape,
                     "spconvFusionBlocked needs two nChw16c tensors of one shape; got \(rep.shape) and \(red.shape)")
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16
        let inversePlane = SIMD16<Float>(repeating: 1 / Float(plane))
        var (wa, wb) = ([Float](repeating: 0, count: n * c), [Float](repeating: 0, count: n * c))
        let output = Tensor(blockedShape: rep.shape, block: 16) { out in
            let o = out.baseAddress!
            rep.withUnsafeBufferPointer { xs in
                red.withUnsafeBufferPointer { ys in
                    wa.withUnsafeMutableBufferPointer { was in
                        wb.withUnsafeMutableBufferPointer { wbs in
                            let (x0, y0, ra, rb) = (xs.baseAddress!, ys.baseAddress!, was, wbs)
                            parallelFor(n * cb) { items in
                                for item in items {
                                    let base = item * plane * 16
                                    let a = laneSum(x0 + base, plane) * inversePlane
                                    let b = laneSum(y0 + base, plane) * inversePlane
                                    var (fa, fb) = (SIMD16<Float>.zero, SIMD16<Float>.zero)
                                    for lane in 0..<16 {
                                        let m = max(a[lane], b[lane])
                                        let (ea, eb) = (expf32(a[lane] - m), expf32(b[lane] - m))
                                        (fa[lane], fb[lane]) = (ea / (ea + eb), eb / (ea + eb))
                                        (ra[item * 16 + lane], rb[item * 16 + lane]) = (fa[lane], fb[lane])
                                    }
                                    let (rx, ry, ro) = (UnsafeRawPointer(x0 + base), UnsafeRawPointer(y0 + base), UnsafeMutableRawPointer(o + base))
                                    for i in 0..<plane {
                                        let v = rx.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) * fa
                                            + ry.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) * fb
                                        ro.storeBytes(of: v, toByteOffset: i * 64, as: SIMD16<Float>.self)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (output, wa, wb)
    }

    /// `spconvFusionBackward` on `nChw16c` tensors (whole blocks): `dy` in either layout, both
    /// gradients blocked. One sweep per (sample, channel block) item: the two per-lane dot
    /// products with `dy`, the softmax's gradient, then both input gradients.
    package static func spconvFusionBackwardBlocked(_ gradOutput: Tensor, _ rep: Tensor, _ red: Tensor, weightRep: [Float], weightRed: [Float])
        -> (rep: Tensor, red: Tensor) {
        precondition(rep.layout == .channelBlocked(16) && red.layout == .channelBlocked(16) && rep.shape == red.shape,
                     "spconvFusionBackwardBlocked needs two nChw16c tensors of one shape")
        let dy = inLayout(of: rep, gradOutput)
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16
        let inversePlane = SIMD16<Float>(repeating: 1 / Float(plane))
        let (gradRep, gradRed) = blockedPairPerItem(dy, rep, red, items: n * cb) { item, g0, x0, y0, oa, ob in
            let base = item * plane * 16
            let (fa, fb) = (lanes(weightRep, item * 16), lanes(weightRed, item * 16))
            let (da, db) = (laneDot(g0 + base, x0 + base, plane), laneDot(g0 + base, y0 + base, plane))
            let s = fa * da + fb * db
            let (pa, pb) = (fa * (da - s) * inversePlane, fb * (db - s) * inversePlane)
            let rg = UnsafeRawPointer(g0 + base)
            let (ra, rb) = (UnsafeMutableRawPointer(oa + base), UnsafeMutableRawPointer(ob + base))
            for i in 0..<plane {
                let gv = rg.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
                ra.storeBytes(of: gv * fa + pa, toByteOffset: i * 64, as: SIMD16<Float>.self)
                rb.storeBytes(of: gv * fb + pb, toByteOffset: i * 64, as: SIMD16<Float>.self)
            }
        }
        return (gradRep, gradRed)
    }

    /// Two new `nChw16c` tensors of `rep`'s shape, filled one item (a sample's 16-channel block)
    /// at a time on all threads: `body(item, dy, rep, red, outRep, outRed)` gets the base pointers
    /// of the three inputs and the two outputs and writes the item's planes of both outputs.
    package static func blockedPairPerItem(_ dy: Tensor, _ rep: Tensor, _ red: Tensor, items: Int,
                                   _ body: (Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                            UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> (Tensor, Tensor) {
        var second = Tensor.zeros([0])
        let first = Tensor(blockedShape: rep.shape, block: 16) { outA in
            second = Tensor(blockedShape: rep.shape, block: 16) { outB in
                let (oa, ob) = (outA.baseAddress!, outB.baseAddress!)
                dy.withUnsafeBufferPointer { gs in
                    rep.withUnsafeBufferPointer { xs in
                        red.withUnsafeBufferPointer { ys in
                            let (g0, x0, y0) = (gs.baseAddress!, xs.baseAddress!, ys.baseAddress!)
                            parallelFor(items) { range in
                                for item in range { body(item, g0, x0, y0, oa, ob) }
                            }
                        }
                    }
                }
            }
        }
        return (first, second)
    }

    /// Per-lane `Σ a * b` over `pixels` consecutive `SIMD16` vectors, four accumulators per lane.
    @inline(__always)
    package static func laneDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ pixels: Int) -> SIMD16<Float> {
        let (ra, rb) = (UnsafeRawPointer(a), UnsafeRawPointer(b))
        var (a0, a1, a2, a3) = (SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero)
        @inline(__always) func product(_ offset: Int) -> SIMD16<Float> {
            ra.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) * rb.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        }
        var i = 0
        while i + 4 <= pixels {
            a0 += product(i * 64); a1 += product(i * 64 + 64); a2 += product(i * 64 + 128); a3 += product(i * 64 + 192)
            i += 4
        }
        while i < pixels { a0 += product(i * 64); i += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    // MARK: Both batch norms and the fusion on nChw16c

    /// `spconvFusion(batchNorm(rep, bn1), batchNorm(red, bn2))` on two `nChw16c` tensors (whole
    /// blocks) without writing either normalised map: per (sample, channel block) item on all
    /// threads, the planes' sums (which give the channel means and, through the affine maps, the
    /// normalised maps' plane means), then the squared deviations, then the output
    /// `wRep * (rep * scale1 + shift1) + wRed * (red * scale2 + shift2)`. Statistics are added in
    /// float64 in sample order, so nothing depends on the thread count. The twin is
    /// `batchNormForward` twice and `spconvFusion`, row-major.
    package static func spconvNormalizedFusionBlocked(_ rep: Tensor, _ red: Tensor, weights: (Tensor, Tensor), biases: (Tensor, Tensor),
                                              epsilon: (Float, Float))
        -> (output: Tensor, statistics: (BatchNormStatistics, BatchNormStatistics), weightRep: [Float], weightRed: [Float]) {
        precondition(rep.layout == .channelBlocked(16) && red.layout == .channelBlocked(16) && rep.shape == red.shape,
                     "spconvNormalizedFusionBlocked needs two nChw16c tensors of one shape; got \(rep.shape) and \(red.shape)")
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16
        let both = blockedBatchNormStatistics([(rep, weights.0, biases.0, epsilon.0), (red, weights.1, biases.1, epsilon.1)])
        let ((first, repSums), (second, redSums)) = (both[0], both[1])
        // The softmax of the normalised maps' plane means, per plane.
        var (wa, wb) = ([Float](repeating: 0, count: n * c), [Float](repeating: 0, count: n * c))
        let inversePlane = 1 / Float(plane)
        for p in 0..<(n * c) {
            let ch = p % c
            let a = Float(repSums[p]) * inversePlane * first.scale[ch] + first.shift[ch]
            let b = Float(redSums[p]) * inversePlane * second.scale[ch] + second.shift[ch]
            let m = max(a, b)
            let (ea, eb) = (expf32(a - m), expf32(b - m))
            (wa[p], wb[p]) = (ea / (ea + eb), eb / (ea + eb))
        }
        let output = Tensor(blockedShape: rep.shape, block: 16) { out in
            let o = out.baseAddress!
            rep.withUnsafeBufferPointer { xs in
                red.withUnsafeBufferPointer { ys in
                    let (x0, y0) = (xs.baseAddress!, ys.baseAddress!)
                    parallelFor(n * cb) { items in
                        for item in items {
                            let block = item % cb
                            let (fa, fb) = (lanes(wa, item * 16), lanes(wb, item * 16))
                            // fa * (x * a1 + s1) + fb * (y * a2 + s2) = x * (fa a1) + y * (fb a2) + (fa s1 + fb s2)
                            let (ka, kb) = (fa * lanes(first.scale, block * 16), fb * lanes(second.scale, block * 16))
                            let k0 = fa * lanes(first.shift, block * 16) + fb * lanes(second.shift, block * 16)
                            let base = item * plane * 16
                            let (rx, ry, ro) = (UnsafeRawPointer(x0 + base), UnsafeRawPointer(y0 + base), UnsafeMutableRawPointer(o + base))
                            for i in 0..<plane {
                                let v = rx.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) * ka
                                    + ry.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) * kb + k0
                                ro.storeBytes(of: v, toByteOffset: i * 64, as: SIMD16<Float>.self)
                            }
                        }
                    }
                }
            }
        }
        return (output, (first, second), wa, wb)
    }

    /// The gradients of `spconvNormalizedFusionBlocked`: both inputs' (blocked) and both batch
    /// norms' weight and bias. `dy` in either layout. Two sweeps per (sample, channel block)
    /// item: per lane `Σ dy`, `Σ dy (rep - m1)`, `Σ dy (red - m2)`, `Σ (rep - m1)`, `Σ (red - m2)`,
    /// from which the fusion's per-plane gradient terms and the batch norms' per-channel sums
    /// follow (added in float64 in sample order); then both input gradients. The twin is
    /// `spconvFusionBackward` then `batchNormBackward` twice, row-major.
    package static func spconvNormalizedFusionBackwardBlocked(_ gradOutput: Tensor, _ rep: Tensor, _ red: Tensor,
                                                      statistics: (BatchNormStatistics, BatchNormStatistics), weights: (Tensor, Tensor),
                                                      weightRep: [Float], weightRed: [Float])
        -> (rep: Tensor, red: Tensor, weights: (Tensor, Tensor), biases: (Tensor, Tensor)) {
        let dy = inLayout(of: rep, gradOutput)
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16
        let count = Float(n * plane)
        let (first, second) = statistics
        // Per plane: the fusion's gradient terms pa, pb (dL/d normalised map = dy * w + p), and
        // the four per-item contributions to the batch norms' sums.
        var (pa, pb) = ([Float](repeating: 0, count: n * c), [Float](repeating: 0, count: n * c))
        let partial = UnsafeMutableBufferPointer<Double>.allocate(capacity: 4 * n * c)
        defer { partial.deallocate() }
        let inversePlane = SIMD16<Float>(repeating: 1 / Float(plane)), planeCount = SIMD16<Float>(repeating: Float(plane))
        dy.withUnsafeBufferPointer { gs in
            rep.withUnsafeBufferPointer { xs in
                red.withUnsafeBufferPointer { ys in
                    pa.withUnsafeMutableBufferPointer { pas in
                        pb.withUnsafeMutableBufferPointer { pbs in
                            let (g0, x0, y0, ra, rb) = (gs.baseAddress!, xs.baseAddress!, ys.baseAddress!, pas, pbs)
                            parallelFor(n * cb) { items in
                                for item in items {
                                    let (sample, block) = (item / cb, item % cb)
                                    let (m1, m2) = (lanes(first.meanFloat, block * 16), lanes(second.meanFloat, block * 16))
                                    let base = item * plane * 16
                                    let (rg, rx, ry) = (UnsafeRawPointer(g0 + base), UnsafeRawPointer(x0 + base), UnsafeRawPointer(y0 + base))
                                    var (gy, cr, cd, er, ed) = (SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero)
                                    for i in 0..<plane {
                                        let gv = rg.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
                                        let xv = rx.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) - m1
                                        let yv = ry.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) - m2
                                        gy += gv; cr += gv * xv; cd += gv * yv; er += xv; ed += yv
                                    }
                                    let (fa, fb) = (lanes(weightRep, item * 16), lanes(weightRed, item * 16))
                                    // dot(dy, bn(x)) = scale * Σ dy (x - m) + beta * Σ dy, with beta = shift + m * scale.
                                    let (a1, a2) = (lanes(first.scale, block * 16), lanes(second.scale, block * 16))
                                    let beta1 = lanes(first.shift, block * 16) + m1 * a1, beta2 = lanes(second.shift, block * 16) + m2 * a2
                                    let (da, db) = (a1 * cr + beta1 * gy, a2 * cd + beta2 * gy)
                                    let s = fa * da + fb * db
                                    let (qa, qb) = (fa * (da - s) * inversePlane, fb * (db - s) * inversePlane)
                                    // Σ over the plane of g = dy * f + q, and of g (x - m).
                                    let (sumA, sumB) = (fa * gy + qa * planeCount, fb * gy + qb * planeCount)
                                    let (centredA, centredB) = (fa * cr + qa * er, fb * cd + qb * ed)
                                    for lane in 0..<16 {
                                        let at = sample * c + block * 16 + lane
                                        (ra[at], rb[at]) = (qa[lane], qb[lane])
                                        partial[at] = Double(sumA[lane])
                                        partial[n * c + at] = Double(centredA[lane])
                                        partial[2 * n * c + at] = Double(sumB[lane])
                                        partial[3 * n * c + at] = Double(centredB[lane])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        func channelSums(_ slot: Int) -> [Double] { (0..<c).map { ch in (0..<n).reduce(0.0) { $0 + partial[slot * n * c + $1 * c + ch] } } }
        let gradBias1 = channelSums(0).map { Float($0) }, gradBias2 = channelSums(2).map { Float($0) }
        let gradWeight1 = zip(channelSums(1), first.invStd).map { Float($0) * $1 }
        let gradWeight2 = zip(channelSums(3), second.invStd).map { Float($0) * $1 }
        let k1 = (0..<c).map { weights.0.scalars[$0] * first.invStd[$0] / count }
        let k2 = (0..<c).map { weights.1.scalars[$0] * second.invStd[$0] / count }
        let (gradRep, gradRed) = blockedPairPerItem(dy, rep, red, items: n * cb) { item, g0, x0, y0, oa, ob in
            let at = (item % cb) * 16
            let (fa, fb) = (lanes(weightRep, item * 16), lanes(weightRed, item * 16))
            let (qa, qb) = (lanes(pa, item * 16), lanes(pb, item * 16))
            let (m1, m2) = (lanes(first.meanFloat, at), lanes(second.meanFloat, at))
            let (inv1, inv2) = (lanes(first.invStd, at), lanes(second.invStd, at))
            let (kv1, kv2) = (lanes(k1, at), lanes(k2, at))
            let (gb1, gb2) = (lanes(gradBias1, at), lanes(gradBias2, at))
            let (gw1, gw2) = (lanes(gradWeight1, at), lanes(gradWeight2, at))
            let cv = SIMD16<Float>(repeating: count)
            let base = item * plane * 16
            let (rg, rx, ry) = (UnsafeRawPointer(g0 + base), UnsafeRawPointer(x0 + base), UnsafeRawPointer(y0 + base))
            let (wa, wb) = (UnsafeMutableRawPointer(oa + base), UnsafeMutableRawPointer(ob + base))
            for i in 0..<plane {
                let gv = rg.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
                let xhat = (rx.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) - m1) * inv1
                let yhat = (ry.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) - m2) * inv2
                wa.storeBytes(of: kv1 * (cv * (gv * fa + qa) - gb1 - xhat * gw1), toByteOffset: i * 64, as: SIMD16<Float>.self)
                wb.storeBytes(of: kv2 * (cv * (gv * fb + qb) - gb2 - yhat * gw2), toByteOffset: i * 64, as: SIMD16<Float>.self)
            }
        }
        return (gradRep, gradRed, (Tensor(shape: [c], scalars: gradWeight1), Tensor(shape: [c], scalars: gradWeight2)),
                (Tensor(shape: [c], scalars: gradBias1), Tensor(shape: [c], scalars: gradBias2)))
    }

    // MARK: Channel parts

    /// Writes `gradient` (either layout) into channels `range` of a zero `nChw16c` `[N, C, H, W]`:
    /// the gradient of a slice whose channels are whole blocks (`unsliceChannels`' blocked twin).
    package static func unsliceChannelsBlocked(_ gradient: Tensor, range: Range<Int>, channels: Int) -> Tensor {
        let g = gradient.layout == .channelBlocked(16) ? gradient : blocked(gradient.rowMajor(), block: 16)
        let (n, count, h, w) = g.nchw
        precondition(range.lowerBound % 16 == 0 && count % 16 == 0 && channels % 16 == 0 && range.count == count && range.upperBound <= channels,
                     "unsliceChannelsBlocked needs whole 16-channel blocks; got \(range) of \(channels)")
        let chunk = h * w * 16
        let (cbIn, cbOut, first) = (count / 16, channels / 16, range.lowerBound / 16)
        return Tensor(blockedShape: [n, channels, h, w], block: 16) { out in
            let o = out.baseAddress!
            g.withUnsafeBufferPointer { gs in
                let g0 = gs.baseAddress!
                parallelFor(n * cbOut) { items in
                    for item in items {
                        let (sample, block) = (item / cbOut, item % cbOut)
                        let destination = o + item * chunk
                        if block >= first && block < first + cbIn {
                            destination.update(from: g0 + (sample * cbIn + block - first) * chunk, count: chunk)
                        } else {
                            destination.update(repeating: 0, count: chunk)
                        }
                    }
                }
            }
        }
    }

    /// An OIHW weight `[O, R, K, K]` placed at input channels `range` of a zero `[O, channels, K, K]`
    /// one: a convolution of the whole input with it equals one of channels `range` with `weight`.
    package static func embeddingInputChannels(_ weight: Tensor, at range: Range<Int>, channels: Int) -> Tensor {
        let (o, r, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(range.count == r && range.upperBound <= channels, "embeddingInputChannels: \(r) channels do not fit \(range) of \(channels)")
        let taps = kh * kw
        var scalars = [Float](repeating: 0, count: o * channels * taps)
        for oc in 0..<o {
            let from = oc * r * taps, to = (oc * channels + range.lowerBound) * taps
            scalars.replaceSubrange(to..<(to + r * taps), with: weight.scalars[from..<(from + r * taps)])
        }
        return Tensor(shape: [o, channels, kh, kw], scalars: scalars)
    }

    /// Input channels `range` of an OIHW weight (the inverse of `embeddingInputChannels`).
    package static func inputChannels(_ weight: Tensor, _ range: Range<Int>) -> Tensor {
        let (o, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let taps = kh * kw
        var scalars = [Float]()
        scalars.reserveCapacity(o * range.count * taps)
        for oc in 0..<o {
            scalars.append(contentsOf: weight.scalars[((oc * c + range.lowerBound) * taps)..<((oc * c + range.upperBound) * taps)])
        }
        return Tensor(shape: [o, range.count, kh, kw], scalars: scalars)
    }

    // MARK: A pooled 1x1 as one convolution

    /// The 2x2 weight of a stride-2 convolution equal to `AvgPool2d(2, 2)` followed by the 1x1
    /// convolution `weight` (`[O, C, 1, 1]`): a quarter of it on each tap.
    package static func pooledPointwiseWeight(_ weight: Tensor) -> Tensor {
        precondition(weight.shape[2] == 1 && weight.shape[3] == 1, "pooledPointwiseWeight needs a 1x1 weight; got \(weight.shape)")
        return Tensor(shape: [weight.shape[0], weight.shape[1], 2, 2], scalars: weight.scalars.flatMap { v in [Float](repeating: v * 0.25, count: 4) })
    }

    /// The gradient of the 1x1 weight from that of `pooledPointwiseWeight`'s: a quarter of the
    /// sum of its four taps.
    package static func pooledPointwiseGradient(_ gradient: Tensor) -> Tensor {
        let s = gradient.scalars
        return Tensor(shape: [gradient.shape[0], gradient.shape[1], 1, 1],
                      scalars: (0..<(s.count / 4)).map { i in (s[4 * i] + s[4 * i + 1] + s[4 * i + 2] + s[4 * i + 3]) * 0.25 })
    }
}

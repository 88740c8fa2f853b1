/// SPConv's layer and the batch norm after it (and its ReLU) as one training op on `nChw16c`:
/// `relu?(bnOut(spconvFusion(bn1(rep), bn2(red))))` without writing the fusion's output or the
/// gradient that flows into it.
///
/// The fusion's output is, per plane, an affine map of the two inputs: with `fa`, `fb` the
/// plane's softmax weights and `scale`, `shift` the inner batch norms' maps,
/// `x = rep * ka + red * kb + k0` (`ka = fa scale1`, `kb = fb scale2`, `k0 = fa shift1 + fb shift2`).
/// So the outer batch norm's statistics follow from per-plane moments of the centred inputs
/// (`Σ r'`, `Σ d'`, `Σ r'^2`, `Σ d'^2`, `Σ r' d'` with `r' = rep - mean1`, `d' = red - mean2`), and
/// its backward's sums from `Σ g`, `Σ g r'`, `Σ g d'`. Forward: three sweeps over the two inputs
/// (sums, moments, output) where the unfused ops make eleven tensor passes; backward: two (the
/// sums, then both input gradients) where they make about thirteen. Sums are taken per (sample,
/// channel block) item in float and added in float64 in sample order, so nothing depends on the
/// thread count. The twin is `batchNormForward` twice, `spconvFusion` and `batchNormForward`
/// (with its ReLU), and their backwards, row-major (SPConvBlockedTrainingTests).
import CKernels
import SPConvCore

extension TrainingKernels {
    /// What `spconvFusionBatchNormBlocked`'s forward leaves for its backward.
    package struct SPConvNormalization {
        /// The inner batch norms' (of `rep` and `red`) and the outer one's statistics.
        package var inner: (BatchNormStatistics, BatchNormStatistics), outer: BatchNormStatistics
        /// The fusion's softmax weights per plane, `[N * C]`.
        package var weightRep: [Float], weightRed: [Float]
        /// Per plane: the fusion output's factors of the centred inputs (`ka`, `kb`) and its
        /// constant minus the outer mean, `x - meanOut = r' ka + d' kb + offset`.
        package var ka: [Float], kb: [Float], offset: [Double]
        /// Per plane `Σ r'`, `Σ d'`, `Σ r'^2`, `Σ d'^2`, `Σ r' d'`, slot after slot (`[5 * N * C]`).
        package var moments: [Double]
        /// Per plane, the output before the ReLU: `rep * ca + red * cb + c0`.
        package var ca: [Float], cb: [Float], c0: [Float]
        package var relu: Bool
    }

    /// `relu?(bnOut(spconvFusion(bn1(rep), bn2(red))))` on two `nChw16c` tensors of one shape
    /// (whole blocks); output in the same layout. `inner` holds bn1's and bn2's parameters.
    package static func spconvFusionBatchNormBlocked(_ rep: Tensor, _ red: Tensor,
                                             inner: (weights: (Tensor, Tensor), biases: (Tensor, Tensor), epsilon: (Float, Float)),
                                             outer: (weight: Tensor, bias: Tensor, epsilon: Float), relu: Bool)
        -> (output: Tensor, state: SPConvNormalization) {
        precondition(rep.layout == .channelBlocked(16) && red.layout == .channelBlocked(16) && rep.shape == red.shape,
                     "spconvFusionBatchNormBlocked needs two nChw16c tensors of one shape; got \(rep.shape) and \(red.shape)")
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16, planes = n * c
        let total = Double(n * plane), planeCount = Double(plane)
        func perChannel(_ values: [Double], _ slot: Int = 0) -> [Double] {
            (0..<c).map { ch in (0..<n).reduce(0.0) { $0 + values[slot * planes + $1 * c + ch] } / total }
        }
        let sums = perItemLaneSums([rep, red], n: n, cb: cb, plane: plane) { _, p, _ in laneSum(p, plane) }
        let (mean1, mean2) = (perChannel(sums[0]), perChannel(sums[1]))
        let (m1, m2) = (mean1.map { Float($0) }, mean2.map { Float($0) })
        let moments = centredMoments(rep, red, means: (m1, m2))
        let first = batchNormStatistics(mean: mean1, variance: perChannel(moments, 2), weight: inner.weights.0, bias: inner.biases.0,
                                        epsilon: inner.epsilon.0)
        let second = batchNormStatistics(mean: mean2, variance: perChannel(moments, 3), weight: inner.weights.1, bias: inner.biases.1,
                                         epsilon: inner.epsilon.1)
        // The fusion's weights (as `spconvNormalizedFusionBlocked`), the affine map of its output
        // per plane, and that output's channel means.
        var (fa, fb) = ([Float](repeating: 0, count: planes), [Float](repeating: 0, count: planes))
        var (ka, kb, k0) = ([Float](repeating: 0, count: planes), [Float](repeating: 0, count: planes), [Float](repeating: 0, count: planes))
        var constant = [Double](repeating: 0, count: planes), planeSums = [Double](repeating: 0, count: planes)
        let inversePlane = 1 / Float(plane)
        for p in 0..<planes {
            let ch = p % c
            let a = Float(sums[0][p]) * inversePlane * first.scale[ch] + first.shift[ch]
            let b = Float(sums[1][p]) * inversePlane * second.scale[ch] + second.shift[ch]
            let m = max(a, b)
            let (ea, eb) = (expf32(a - m), expf32(b - m))
            (fa[p], fb[p]) = (ea / (ea + eb), eb / (ea + eb))
            (ka[p], kb[p]) = (fa[p] * first.scale[ch], fb[p] * second.scale[ch])
            k0[p] = fa[p] * first.shift[ch] + fb[p] * second.shift[ch]
            constant[p] = Double(ka[p]) * Double(m1[ch]) + Double(kb[p]) * Double(m2[ch]) + Double(k0[p])
            planeSums[p] = Double(ka[p]) * moments[p] + Double(kb[p]) * moments[planes + p] + planeCount * constant[p]
        }
        let meanOut = perChannel(planeSums)
        // Σ (x - meanOut)^2 per plane from the moments: x - meanOut = r' ka + d' kb + e.
        var offset = [Double](repeating: 0, count: planes), squares = [Double](repeating: 0, count: planes)
        for p in 0..<planes {
            let e = constant[p] - meanOut[p % c]
            let (a, b) = (Double(ka[p]), Double(kb[p]))
            let (sr, sd, srr, sdd, srd) = (moments[p], moments[planes + p], moments[2 * planes + p], moments[3 * planes + p], moments[4 * planes + p])
            offset[p] = e
            squares[p] = a * a * srr + b * b * sdd + 2 * a * b * srd + 2 * e * (a * sr + b * sd) + planeCount * e * e
        }
        let outerStatistics = batchNormStatistics(mean: meanOut, variance: perChannel(squares).map { max($0, 0) }, weight: outer.weight,
                                                  bias: outer.bias, epsilon: outer.epsilon)
        let ca = (0..<planes).map { outerStatistics.scale[$0 % c] * ka[$0] }
        let cbs = (0..<planes).map { outerStatistics.scale[$0 % c] * kb[$0] }
        let c0 = (0..<planes).map { outerStatistics.scale[$0 % c] * k0[$0] + outerStatistics.shift[$0 % c] }
        let p = PackedLanes([ca, cbs, c0])
        let output = Tensor(blockedShape: rep.shape, block: 16) { out in
            let o = out.baseAddress!
            withBasePointers([rep, red][...]) { bases in
                parallelFor(n * cb) { items in
                    for item in items {
                        let base = item * plane * 16
                        ck_lane_affine_pair(bases[0] + base, bases[1] + base, o + base, plane, p.at(0, item * 16), p.at(1, item * 16),
                                            p.at(2, item * 16), relu ? 1 : 0)
                    }
                }
            }
        }
        let state = SPConvNormalization(inner: (first, second), outer: outerStatistics, weightRep: fa, weightRed: fb, ka: ka, kb: kb,
                                        offset: offset, moments: moments, ca: ca, cb: cbs, c0: c0, relu: relu)
        return (output, state)
    }

    /// The gradients of `spconvFusionBatchNormBlocked`: both inputs' (blocked), and the weights and
    /// biases of bn1, bn2 and the outer batch norm. `gradOutput` in either layout.
    package static func spconvFusionBatchNormBackwardBlocked(_ gradOutput: Tensor, _ rep: Tensor, _ red: Tensor, state: SPConvNormalization,
                                                     innerWeights: (Tensor, Tensor), outerWeight: Tensor)
        -> (rep: Tensor, red: Tensor, innerWeights: (Tensor, Tensor), innerBiases: (Tensor, Tensor), outerWeight: Tensor, outerBias: Tensor) {
        let dy = inLayout(of: rep, gradOutput)
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16, planes = n * c
        let (first, second, out) = (state.inner.0, state.inner.1, state.outer)
        let (total, planeCount) = (Double(n * plane), Double(plane))
        // Sweep 1: per plane Σ g, Σ g r', Σ g d', with g the gradient after the ReLU.
        let gradientSums = maskedGradientSums(dy, rep, red, state: state)
        func channelSums(_ values: [Double]) -> [Double] { (0..<c).map { ch in (0..<n).reduce(0.0) { $0 + values[$1 * c + ch] } } }
        let moments = state.moments
        // The outer batch norm's parameter gradients: Σ g and Σ g xhat, xhat = (x - meanOut) invStd.
        var gxPlanes = [Double](repeating: 0, count: planes)
        for p in 0..<planes {
            gxPlanes[p] = Double(out.invStd[p % c]) * (Double(state.ka[p]) * gradientSums[planes + p] + Double(state.kb[p]) * gradientSums[2 * planes + p]
                + state.offset[p] * gradientSums[p])
        }
        let (gs, gx) = (channelSums(Array(gradientSums[0..<planes])), channelSums(gxPlanes))
        let kOut = (0..<c).map { Double(outerWeight.scalars[$0]) * Double(out.invStd[$0]) / total }
        // Per plane: the sums of h = dL/dx (the outer batch norm's input gradient) that the
        // fusion's and the inner batch norms' backward need, then that backward's terms.
        var (qa, qb) = ([Double](repeating: 0, count: planes), [Double](repeating: 0, count: planes))
        var partial = [Double](repeating: 0, count: 4 * planes)
        for p in 0..<planes {
            let ch = p % c
            let (a, b, e, inv) = (Double(state.ka[p]), Double(state.kb[p]), state.offset[p], Double(out.invStd[ch]))
            let (sr, sd, srr, sdd, srd) = (moments[p], moments[planes + p], moments[2 * planes + p], moments[3 * planes + p], moments[4 * planes + p])
            let (sg, sgr, sgd) = (gradientSums[p], gradientSums[planes + p], gradientSums[2 * planes + p])
            let xhat = inv * (a * sr + b * sd + planeCount * e)
            let (xhatR, xhatD) = (inv * (a * srr + b * srd + e * sr), inv * (a * srd + b * sdd + e * sd))
            let hSum = kOut[ch] * (total * sg - planeCount * gs[ch] - gx[ch] * xhat)
            let hR = kOut[ch] * (total * sgr - gs[ch] * sr - gx[ch] * xhatR)
            let hD = kOut[ch] * (total * sgd - gs[ch] * sd - gx[ch] * xhatD)
            // As `spconvNormalizedFusionBackwardBlocked`, with Σ h, Σ h r', Σ h d' for Σ dy, ...
            let (fa, fb) = (Double(state.weightRep[p]), Double(state.weightRed[p]))
            let (a1, a2) = (Double(first.scale[ch]), Double(second.scale[ch]))
            let beta1 = Double(first.shift[ch]) + Double(first.meanFloat[ch]) * a1
            let beta2 = Double(second.shift[ch]) + Double(second.meanFloat[ch]) * a2
            let (da, db) = (a1 * hR + beta1 * hSum, a2 * hD + beta2 * hSum)
            let s = fa * da + fb * db
            (qa[p], qb[p]) = (fa * (da - s) / planeCount, fb * (db - s) / planeCount)
            partial[p] = fa * hSum + qa[p] * planeCount
            partial[planes + p] = fa * hR + qa[p] * sr
            partial[2 * planes + p] = fb * hSum + qb[p] * planeCount
            partial[3 * planes + p] = fb * hD + qb[p] * sd
        }
        func slotSums(_ slot: Int) -> [Double] { channelSums(Array(partial[(slot * planes)..<((slot + 1) * planes)])) }
        let (gradBias1, gradBias2) = (slotSums(0), slotSums(2))
        let gradWeight1 = zip(slotSums(1), first.invStd).map { $0 * Double($1) }
        let gradWeight2 = zip(slotSums(3), second.invStd).map { $0 * Double($1) }
        // Both input gradients per pixel, as `spconvNormalizedFusionBackwardBlocked` writes them
        // (dRep = k1 (count (h fa + qa) - gb1 - r' inv1 gw1) with k1 = w1 inv1 / count, dRed
        // alike) from h = dL/dx = g hg + xhat hx + hs (per channel; xhat = (r' ka + d' kb + e)
        // invOut per plane), the affine maps folded per plane in float64:
        // dRep = g ag + r' ar + d' ad + a0, dRed = g bg + r' br + d' bd + b0.
        // Per item (16 planes), the 13 vectors `ck_lane_pair_gradient` takes, one after another:
        // mean1, mean2, ca, cb, c0, ag, ar, ad, a0, bg, br, bd, b0.
        let perItem = 13 * 16
        var packed = [Float](repeating: 0, count: planes / 16 * perItem)
        for p in 0..<planes {
            let (ch, at) = (p % c, (p / 16) * perItem + p % 16)
            let (inv, e) = (Double(out.invStd[ch]), state.offset[p])
            let (hg, hx, hs) = (kOut[ch] * total, -kOut[ch] * gx[ch], -kOut[ch] * gs[ch])
            let (hr, hd, h0) = (hx * Double(state.ka[p]) * inv, hx * Double(state.kb[p]) * inv, hx * e * inv + hs)
            let (scale1, scale2) = (Double(innerWeights.0.scalars[ch]) * Double(first.invStd[ch]), Double(innerWeights.1.scalars[ch]) * Double(second.invStd[ch]))
            let (k1, k2) = (scale1 / total, scale2 / total)
            let (kf1, kf2) = (scale1 * Double(state.weightRep[p]), scale2 * Double(state.weightRed[p]))
            let (gw1, gw2) = (Double(first.invStd[ch]) * gradWeight1[ch], Double(second.invStd[ch]) * gradWeight2[ch])
            var slot = at
            func put(_ value: Float) { packed[slot] = value; slot += 16 }
            put(first.meanFloat[ch]); put(second.meanFloat[ch]); put(state.ca[p]); put(state.cb[p]); put(state.c0[p])
            put(Float(kf1 * hg)); put(Float(kf1 * hr - k1 * gw1)); put(Float(kf1 * hd)); put(Float(kf1 * h0 + scale1 * qa[p] - k1 * gradBias1[ch]))
            put(Float(kf2 * hg)); put(Float(kf2 * hr)); put(Float(kf2 * hd - k2 * gw2)); put(Float(kf2 * h0 + scale2 * qb[p] - k2 * gradBias2[ch]))
        }
        let lanesOfItems = PackedLanes([packed])
        let (gradRep, gradRed) = blockedPairPerItem(dy, rep, red, items: n * cb) { item, g0, x0, y0, oa, ob in
            let base = item * plane * 16
            ck_lane_pair_gradient(g0 + base, x0 + base, y0 + base, oa + base, ob + base, plane, lanesOfItems.at(0, item * perItem),
                                  state.relu ? 1 : 0)
        }
        func tensor(_ values: [Double]) -> Tensor { Tensor(shape: [c], scalars: values.map { Float($0) }) }
        return (gradRep, gradRed, (tensor(gradWeight1), tensor(gradWeight2)), (tensor(gradBias1), tensor(gradBias2)), tensor(gx), tensor(gs))
    }

    /// Per plane `Σ r'`, `Σ d'`, `Σ r'^2`, `Σ d'^2`, `Σ r' d'` of two `nChw16c` tensors of one shape,
    /// centred by the channel means; `[5 * N * C]`, slot after slot, each plane at `sample * C + channel`.
    private static func centredMoments(_ rep: Tensor, _ red: Tensor, means: ([Float], [Float])) -> [Double] {
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16
        let p = PackedLanes([means.0, means.1])
        return perItemPlaneSums(slots: 5, n: n, c: c, [rep, red]) { item, bases, out in
            let (at, base) = ((item % cb) * 16, item * plane * 16)
            ck_lane_centred_moments(bases[0] + base, bases[1] + base, plane, p.at(0, at), p.at(1, at), out)
        }
    }

    /// Per plane `Σ g`, `Σ g r'`, `Σ g d'` (`[3 * N * C]`, slot after slot), with `g` the output's
    /// gradient masked by the ReLU where `state.relu`.
    private static func maskedGradientSums(_ dy: Tensor, _ rep: Tensor, _ red: Tensor, state: SPConvNormalization) -> [Double] {
        let (n, c, h, w) = rep.nchw
        let plane = h * w, cb = c / 16
        let p = PackedLanes([state.inner.0.meanFloat, state.inner.1.meanFloat, state.ca, state.cb, state.c0])
        return perItemPlaneSums(slots: 3, n: n, c: c, [dy, rep, red]) { item, bases, out in
            let (at, base) = ((item % cb) * 16, item * plane * 16)
            ck_lane_masked_gradient_sums(bases[0] + base, bases[1] + base, bases[2] + base, plane, p.at(0, at), p.at(1, at),
                                         p.at(2, item * 16), p.at(3, item * 16), p.at(4, item * 16), state.relu ? 1 : 0, out)
        }
    }

    /// Runs `body(item, bases, out)` for every (sample, 16-channel block) item on all threads;
    /// `body` writes `slots` vectors of 16 lane sums to `out`, which land per plane in float64,
    /// `[slots * N * C]`, slot after slot, each plane at `sample * C + channel`.
    private static func perItemPlaneSums(slots: Int, n: Int, c: Int, _ tensors: [Tensor],
                                         _ body: (Int, [UnsafePointer<Float>], UnsafeMutablePointer<Float>) -> Void) -> [Double] {
        let planes = n * c
        var result = [Double](repeating: 0, count: slots * planes)
        result.withUnsafeMutableBufferPointer { rs in
            let r = rs
            withBasePointers(tensors[...]) { bases in
                parallelFor(planes / 16) { items in
                    var out = [Float](repeating: 0, count: slots * 16)
                    for item in items {
                        out.withUnsafeMutableBufferPointer { body(item, bases, $0.baseAddress!) }
                        for slot in 0..<slots {
                            for lane in 0..<16 { r[slot * planes + item * 16 + lane] = Double(out[slot * 16 + lane]) }
                        }
                    }
                }
            }
        }
        return result
    }
}

import CKernels
import Foundation
import Testing
@testable import SPConvLab

/// The C kernels of every build this CPU runs (baseline, AVX2 + FMA, AVX-512), each against a
/// scalar Swift twin written from the header's formulas in the same order of operations, so the
/// results must agree bit for bit (the C files forbid contraction into FMA). Odd pixel and element
/// counts exercise the unrolled loops' tails; -0, NaN and exact zeros the ReLU masks.
///
/// Switching the build is process-wide; since every build gives the same bits, and the engine
/// chooses its algorithms by its own level (`ck_engine_isa`), never by the build switched to, a
/// test running at the same time on another build is not disturbed. Each restores the engine's.
@Suite struct CKernelsTests {
    /// The builds this CPU runs: 0 baseline, 1 AVX2, 2 AVX-512.
    static var levels: [Int32] {
        _ = DNNL.shared
        defer { ck_select_isa(ck_engine_isa()) }
        return [0, 1, 2].filter { level in ck_select_isa(level); return ck_active_isa() == level }
    }

    /// Runs `body` with build `level`, then restores the engine's (`ck_engine_isa`).
    func with(_ level: Int32, _ body: () -> Void) {
        _ = DNNL.shared
        ck_select_isa(level)
        #expect(ck_active_isa() == level)
        body()
        ck_select_isa(ck_engine_isa())
    }

    static func values(_ count: Int, seed: UInt64, specials: Bool = false) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        var v = Tensor.gaussian([count], generator: &generator).scalars
        if specials && count > 8 { (v[1], v[3], v[5], v[7]) = (-0.0, .nan, 0, -.nan) }
        return v
    }

    static func expectBits(_ actual: [Float], _ expected: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let mismatch = zip(actual, expected).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(actual.count == expected.count && mismatch == nil,
                "\(what): element \(mismatch?.offset ?? -1) is \(mismatch?.element.0 ?? 0), expected \(mismatch?.element.1 ?? 0)",
                sourceLocation: sourceLocation)
    }

    @Test(arguments: levels)
    func flatKernelsMatchScalarTwins(_ level: Int32) {
        for count in [1, 15, 16, 37, 100] {
            let (a, b) = (Self.values(count, seed: 1, specials: true), Self.values(count, seed: 2, specials: true))
            var out = [Float](repeating: 7, count: count)
            with(level) { ck_relu(a, &out, count) }
            Self.expectBits(out, a.map { Swift.max($0, 0) }, "relu \(count)")
            with(level) { ck_add_relu(a, b, &out, count) }
            Self.expectBits(out, zip(a, b).map { Swift.max($0 + $1, 0) }, "add_relu \(count)")
            with(level) { ck_masked_by_positive(a, b, &out, count) }
            Self.expectBits(out, zip(a, b).map { $1 > 0 ? $0 : 0 }, "masked_by_positive \(count)")
            var sum = a
            with(level) { ck_add_in_place(&sum, b, count) }
            Self.expectBits(sum, zip(a, b).map { $0 + $1 }, "add_in_place \(count)")
        }
    }

    @Test(arguments: levels)
    func laneKernelsMatchScalarTwins(_ level: Int32) {
        for pixels in [1, 3, 4, 13] {
            let n = pixels * 16
            let (x, d, g) = (Self.values(n, seed: 3), Self.values(n, seed: 4), Self.values(n, seed: 5))
            let p = (0..<20).map { Self.values(16, seed: 10 + UInt64($0)) }
            // Element (pixel, lane) of a lanes buffer, and a per-lane scalar twin's result.
            func lanes(_ f: (Int) -> Float) -> [Float] { (0..<16).map(f) }
            func perPixel(_ f: (Int, Int) -> Float) -> [Float] { (0..<n).map { f($0 / 16, $0 % 16) } }
            func unrolledSum(_ lane: Int, _ term: (Int) -> Float) -> Float {
                var acc: [Float] = [0, 0, 0, 0]
                var i = 0
                while i + 4 <= pixels { for k in 0..<4 { acc[k] += term(i + k) }; i += 4 }
                while i < pixels { acc[0] += term(i); i += 1 }
                return (acc[0] + acc[1]) + (acc[2] + acc[3])
            }
            func sequentialSum(_ term: (Int) -> Float) -> Float { (0..<pixels).reduce(Float(0)) { $0 + term($1) } }
            func relu(_ v: Float) -> Float { v <= 0 ? 0 : v }
            func keep(_ g: Float, _ c: Float) -> Float { c > 0 ? g : 0 }

            var out = [Float](repeating: 0, count: 5 * 16), o = [Float](repeating: 0, count: n), o2 = o
            with(level) { ck_lane_sum(x, pixels, &out) }
            Self.expectBits(Array(out[0..<16]), lanes { l in unrolledSum(l) { x[$0 * 16 + l] } }, "lane_sum \(pixels)")
            with(level) { ck_lane_squared_deviations(x, pixels, p[0], &out) }
            Self.expectBits(Array(out[0..<16]), lanes { l in unrolledSum(l) { (x[$0 * 16 + l] - p[0][l]) * (x[$0 * 16 + l] - p[0][l]) } },
                            "lane_squared_deviations \(pixels)")
            for useRelu in [false, true] {
                let r: Int32 = useRelu ? 1 : 0
                func mask(_ v: Float) -> Float { useRelu ? relu(v) : v }
                with(level) { ck_lane_affine(x, &o, pixels, p[1], p[2], r) }
                Self.expectBits(o, perPixel { i, l in mask(x[i * 16 + l] * p[1][l] + p[2][l]) }, "lane_affine \(pixels) \(useRelu)")
                // Batch norm backward: mean p3, scale p1, shift p2, invStd p4, k p5, grad bias p6, grad weight p7.
                func gm(_ i: Int, _ l: Int) -> Float { useRelu ? keep(g[i * 16 + l], x[i * 16 + l] * p[1][l] + p[2][l]) : g[i * 16 + l] }
                var (sums, centred) = ([Float](repeating: 0, count: 16), [Float](repeating: 0, count: 16))
                with(level) { ck_lane_batch_norm_sums(x, g, pixels, p[3], p[1], p[2], r, &sums, &centred) }
                Self.expectBits(sums, lanes { l in sequentialSum { gm($0, l) } }, "batch_norm_sums sum \(pixels) \(useRelu)")
                Self.expectBits(centred, lanes { l in sequentialSum { gm($0, l) * (x[$0 * 16 + l] - p[3][l]) } },
                                "batch_norm_sums centred \(pixels) \(useRelu)")
                with(level) { ck_lane_batch_norm_input(x, g, &o, pixels, p[3], p[1], p[2], p[4], p[5], p[6], p[7], 3.5, r) }
                Self.expectBits(o, perPixel { i, l in
                    let xhat = (x[i * 16 + l] - p[3][l]) * p[4][l]
                    return p[5][l] * (3.5 * gm(i, l) - p[6][l] - xhat * p[7][l])
                }, "batch_norm_input \(pixels) \(useRelu)")
                // SPConv: m1 p8, m2 p9, ca p10, cb p11, c0 p12, then ag..b0 p13..p19 and p0.
                func pre(_ i: Int, _ l: Int) -> Float { x[i * 16 + l] * p[10][l] + d[i * 16 + l] * p[11][l] + p[12][l] }
                func gs(_ i: Int, _ l: Int) -> Float { useRelu ? keep(g[i * 16 + l], pre(i, l)) : g[i * 16 + l] }
                with(level) { ck_lane_affine_pair(x, d, &o, pixels, p[10], p[11], p[12], r) }
                Self.expectBits(o, perPixel { i, l in mask(pre(i, l)) }, "affine_pair \(pixels) \(useRelu)")
                with(level) { ck_lane_masked_gradient_sums(g, x, d, pixels, p[8], p[9], p[10], p[11], p[12], r, &out) }
                Self.expectBits(Array(out[0..<48]), lanes { l in sequentialSum { gs($0, l) } }
                                + lanes { l in sequentialSum { gs($0, l) * (x[$0 * 16 + l] - p[8][l]) } }
                                + lanes { l in sequentialSum { gs($0, l) * (d[$0 * 16 + l] - p[9][l]) } }, "masked_gradient_sums \(pixels) \(useRelu)")
                let coefficients = [p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19], p[0]].flatMap { $0 }
                with(level) { ck_lane_pair_gradient(g, x, d, &o, &o2, pixels, coefficients, r) }
                Self.expectBits(o, perPixel { i, l in
                    ((gs(i, l) * p[13][l] + (x[i * 16 + l] - p[8][l]) * p[14][l]) + (d[i * 16 + l] - p[9][l]) * p[15][l]) + p[16][l]
                }, "pair_gradient rep \(pixels) \(useRelu)")
                Self.expectBits(o2, perPixel { i, l in
                    ((gs(i, l) * p[17][l] + (x[i * 16 + l] - p[8][l]) * p[18][l]) + (d[i * 16 + l] - p[9][l]) * p[19][l]) + p[0][l]
                }, "pair_gradient red \(pixels) \(useRelu)")
            }
            with(level) { ck_lane_centred_moments(x, d, pixels, p[8], p[9], &out) }
            func a(_ i: Int, _ l: Int) -> Float { x[i * 16 + l] - p[8][l] }
            func b(_ i: Int, _ l: Int) -> Float { d[i * 16 + l] - p[9][l] }
            Self.expectBits(out, lanes { l in sequentialSum { a($0, l) } } + lanes { l in sequentialSum { b($0, l) } }
                            + lanes { l in sequentialSum { a($0, l) * a($0, l) } } + lanes { l in sequentialSum { b($0, l) * b($0, l) } }
                            + lanes { l in sequentialSum { a($0, l) * b($0, l) } }, "centred_moments \(pixels)")
        }
    }

    /// SPConv's inference fusion: every build gives the baseline build's bits (its arithmetic
    /// against the row-major fusion is LayoutKernelTests' and the model twins' business).
    @Test(arguments: [8, 16])
    func fuseBlocksAgreeAcrossBuilds(_ block: Int) {
        let (n, cb, plane, width) = (3, 2, 14, 7)
        let count = n * cb * plane * block
        let (a, r, res) = (Self.values(count, seed: 30), Self.values(count, seed: 31), Self.values(count, seed: 32))
        let (scale, shift) = (Self.values(cb * block, seed: 33), Self.values(cb * block, seed: 34))
        for residual in [false, true] {
            for relu: Int32 in [0, 1] {
                var results = [[Float]]()
                for level in Self.levels {
                    var out = [Float](repeating: 0, count: count)
                    with(level) {
                        res.withUnsafeBufferPointer { rp in
                                ck_fuse_blocks(0, n * cb, cb, plane, width, a, r, residual ? rp.baseAddress : nil, &out, scale, shift, relu, Int32(block))
                            }
                        }
                        results.append(out)
                    }
                    for other in results.dropFirst() { Self.expectBits(other, results[0], "fuse \(block) residual \(residual) relu \(relu)") }
                }
            }
        }

        /// The fusion against a scalar twin of the header's formula (a plane's sum per lane is its
        /// rows' sums, each from 0, added in row order; then the softmax weights and the sweep), on
        /// whole images and split by rows at every cut (``SPConvDirect``'s batch-1 region: row sums,
        /// a barrier, rows fused), in every build, bit for bit.
        @Test(arguments: [8, 16])
        func fusionByRowsMatchesTwinAndWholeImages(_ block: Int) {
            let (cb, height, width) = (2, 5, 3)
            let plane = height * width, count = cb * plane * block
            let (a, r, res) = (Self.values(count, seed: 40), Self.values(count, seed: 41), Self.values(count, seed: 42))
            let (scale, shift) = (Self.values(cb * block, seed: 43), Self.values(cb * block, seed: 44))
            func planeSum(_ x: [Float], _ b: Int, _ l: Int) -> Float {
                var total: Float = 0
                for y in 0..<height {
                    var row: Float = 0
                    for i in 0..<width { row += x[(b * plane + y * width + i) * block + l] }
                    total += row
                }
                return total
            }
            for residual in [false, true] {
                for relu: Int32 in [0, 1] {
                    var twin = [Float](repeating: 0, count: count)
                    for b in 0..<cb {
                        for l in 0..<block {
                            let (ma, mr) = (planeSum(a, b, l) / Float(plane), planeSum(r, b, l) / Float(plane))
                            let m = ma < mr ? mr : ma
                            let (ea, er) = (expf(ma - m), expf(mr - m))
                            let (sc, sh) = (scale[b * block + l], shift[b * block + l])
                            let (wa, wr) = (sc * ea / (ea + er), sc * er / (ea + er))
                            for i in 0..<plane {
                                let at = (b * plane + i) * block + l
                                var v = wa * a[at] + wr * r[at] + sh
                                if residual { v = v + res[at] }
                                twin[at] = relu == 1 && v <= 0 ? 0 : v
                            }
                        }
                    }
                    res.withUnsafeBufferPointer { rp in
                    let resPointer = residual ? rp.baseAddress : nil
                    for level in Self.levels {
                        var whole = [Float](repeating: .nan, count: count)
                        with(level) { ck_fuse_blocks(0, cb, cb, plane, width, a, r, resPointer, &whole, scale, shift, relu, Int32(block)) }
                        Self.expectBits(whole, twin, "whole image, build \(level), block \(block), residual \(residual), relu \(relu)")
                        for cut in 0...height {
                            var split = [Float](repeating: .nan, count: count)
                            var sums = [Float](repeating: .nan, count: 2 * cb * block * height)
                            with(level) {
                                ck_fuse_row_sums(cb, plane, width, 0, cut, a, r, &sums, Int32(block))
                                ck_fuse_row_sums(cb, plane, width, cut, height, a, r, &sums, Int32(block))
                                ck_fuse_rows(cb, plane, width, sums, cut, height, a, r, resPointer, &split, scale, shift, relu, Int32(block))
                                ck_fuse_rows(cb, plane, width, sums, 0, cut, a, r, resPointer, &split, scale, shift, relu, Int32(block))
                            }
                            Self.expectBits(split, twin, "rows cut at \(cut), build \(level), block \(block), residual \(residual), relu \(relu)")
                        }
                    }
                }
            }
        }
    }

    /// The bordered copy written in row ranges, as threads share it, equals the copy in one call.
    @Test(arguments: [8, 16])
    func borderedCopyByRowsMatchesWholeCopy(_ block: Int) {
        let (blocks, h, w) = (2, 4, 5)
        let x = Self.values(blocks * h * w * block, seed: 45)
        for groupK in [1, 2] {
            for level in Self.levels {
                var whole = [Float](repeating: .nan, count: blocks * (h + 2) * (w + 2) * block)
                with(level) { ck_direct_conv_border(x, blocks, h, w, groupK, block, 0, h + 2, &whole) }
                #expect(whole.allSatisfy { !$0.isNaN }, "every float of the copy written")
                for cut in 0...(h + 2) {
                    var parts = [Float](repeating: .nan, count: whole.count)
                    with(level) {
                        ck_direct_conv_border(x, blocks, h, w, groupK, block, cut, h + 2, &parts)
                        ck_direct_conv_border(x, blocks, h, w, groupK, block, 0, cut, &parts)
                    }
                    Self.expectBits(parts, whole, "border cut at \(cut), build \(level), group_k \(groupK)")
                }
            }
        }
    }

}

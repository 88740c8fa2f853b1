import Foundation
import Testing
@testable import SPConvLab

/// The channel-blocked kernels of the fast path against the row-major reference ops.
@Suite struct LayoutKernelTests {
    static let blocks = [8, 16]

    @Test(arguments: blocks)
    func roundTripThroughTheBlockedLayout(_ block: Int) {
        var g = SeededGenerator(seed: 21)
        for shape in [[2, 5, 3, 4], [1, 16, 2, 2], [3, 33, 1, 5]] {
            let x = Tensor.uniform(shape, generator: &g)
            let blocked = LayoutKernels.toBlocked(x, block: block)
            #expect(blocked.count == shape[0] * ((shape[1] + block - 1) / block) * block * shape[2] * shape[3])
            #expect(LayoutKernels.toRowMajor(blocked, block: block) == x)
            // Padding lanes are zero: the sum of the blocked storage equals the sum of the elements.
            #expect(abs(blocked.scalars.reduce(0, +) - x.scalars.reduce(0, +)) < 1e-3)
        }
    }

    @Test(arguments: blocks)
    func slicesMatchReferenceForAlignedAndStraddlingRanges(_ block: Int) {
        var g = SeededGenerator(seed: 22)
        let x = Tensor.uniform([2, 40, 3, 5], generator: &g)
        let blocked = LayoutKernels.toBlocked(x, block: block)
        for range in [0..<8, 8..<40, 0..<16, 3..<29, 16..<40, 39..<40, 0..<40] {
            let sliced = LayoutKernels.sliceChannels(blocked, range, block: block)
            #expect(sliced.layout == .channelBlocked(block))
            #expect(sliced.rowMajor() == ReferenceOps.sliceChannels(x, range), "range \(range)")
            #expect(LayoutKernels.sliceToRowMajor(blocked, range, block: block) == ReferenceOps.sliceChannels(x, range))
            // The lanes past the slice's channel count must be zero for oneDNN.
            let total = sliced.scalars.reduce(0) { $0 + abs($1) }
            let inside = ReferenceOps.sliceChannels(x, range).scalars.reduce(0) { $0 + abs($1) }
            #expect(abs(total - inside) < 1e-3)
        }
    }

    @Test(arguments: blocks)
    func globalPoolMatchesReference(_ block: Int) {
        var g = SeededGenerator(seed: 23)
        let x = Tensor.uniform([3, 21, 7, 6], generator: &g)
        expectClose(LayoutKernels.globalAveragePool(LayoutKernels.toBlocked(x, block: block), block: block),
                    ReferenceOps.adaptiveAvgPool2d(x, outputSize: 1))
    }

    @Test(arguments: blocks)
    func fusionWithEpilogueMatchesTheComposedReference(_ block: Int) {
        var g = SeededGenerator(seed: 24)
        let shape = [2, 20, 4, 3]
        let rep = Tensor.uniform(shape, generator: &g), red = Tensor.uniform(shape, generator: &g)
        let residual = Tensor.uniform(shape, generator: &g)
        let scale = (0..<20).map { _ in Float.random(in: 0.5...1.5, using: &g) }
        let shift = (0..<20).map { _ in Float.random(in: -0.3...0.3, using: &g) }
        for (withResidual, relu) in [(false, false), (true, true), (false, true), (true, false)] {
            let epilogue = FusionEpilogue(scale: scale, shift: shift,
                                          residual: withResidual ? LayoutKernels.toBlocked(residual, block: block) : nil, relu: relu)
            let fused = LayoutKernels.softmaxFusion(representative: LayoutKernels.toBlocked(rep, block: block),
                                                    redundant: LayoutKernels.toBlocked(red, block: block),
                                                    epilogue: epilogue, block: block)
            // Reference: softmax weights from the pooled means, then BN affine, residual, ReLU.
            let ma = ReferenceOps.adaptiveAvgPool2d(rep, outputSize: 1), mr = ReferenceOps.adaptiveAvgPool2d(red, outputSize: 1)
            let wa = Tensor(shape: ma.shape, scalars: zip(ma.scalars, mr.scalars).map { 1 / (1 + exp($1 - $0)) })
            let wr = Tensor(shape: ma.shape, scalars: wa.scalars.map { 1 - $0 })
            var expected = ReferenceOps.add(ReferenceOps.multiply(rep, wa), ReferenceOps.multiply(red, wr))
            expected = ReferenceOps.batchNorm(expected, mean: .zeros([20]), variance: Tensor(repeating: 1 - 1e-5, shape: [20]),
                                              scale: Tensor(shape: [20], scalars: scale), shift: Tensor(shape: [20], scalars: shift))
            if withResidual { expected = ReferenceOps.add(expected, residual) }
            if relu { expected = ReferenceOps.relu(expected) }
            expectClose(fused, expected, atol: 1e-5, "residual \(withResidual) relu \(relu)")
        }
    }

    @Test func parallelForCoversEveryIndexOnce() {
        for count in [0, 1, 2, 7, 1000] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress
                parallelFor(count) { range in for i in range { base![i] += 1 } }
            }
            #expect(hits.allSatisfy { $0 == 1 }, "count \(count)")
        }
    }
}

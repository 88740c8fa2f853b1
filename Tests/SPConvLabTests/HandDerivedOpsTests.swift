import Foundation
import Testing
@testable import SPConvLab

/// Small cases whose outputs were worked out by hand, checking the reference twins themselves.
@Suite struct HandDerivedOpsTests {
    @Test func convolutionOfARampWithABoxFilter() {
        // 1x1x3x3 input 1..9, 2x2 box of ones, no padding: each output is a sum of a 2x2 window.
        let x = Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        let w = Tensor(repeating: 1, shape: [1, 1, 2, 2])
        let y = ReferenceOps.conv2d(x, weight: w, bias: Tensor(shape: [1], scalars: [0.5]),
                                    geometry: Conv2DGeometry(kernelSize: 2))
        #expect(y.shape == [1, 1, 2, 2])
        #expect(y.scalars == [12.5, 16.5, 24.5, 28.5])   // 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9 (+0.5)
    }

    @Test func groupedConvolutionKeepsGroupsApart() {
        // Two groups of one channel: channel 0 sees only input 0 (x2), channel 1 only input 1 (x3).
        let x = Tensor(shape: [1, 2, 1, 1], scalars: [1, 10])
        let w = Tensor(shape: [2, 1, 1, 1], scalars: [2, 3])
        let y = ReferenceOps.conv2d(x, weight: w, bias: nil, geometry: Conv2DGeometry(kernelSize: 1, groups: 2))
        #expect(y.scalars == [2, 30])
    }

    @Test func paddedStrideTwoConvolution() {
        // 4x4 ones, 3x3 ones, stride 2, padding 1: corners see a 2x2 window, others 2x3 / 3x3.
        let y = ReferenceOps.conv2d(Tensor(repeating: 1, shape: [1, 1, 4, 4]), weight: Tensor(repeating: 1, shape: [1, 1, 3, 3]),
                                    bias: nil, geometry: Conv2DGeometry(kernelSize: 3, stride: 2, padding: 1))
        #expect(y.scalars == [4, 6, 6, 9])
    }

    @Test func poolingWithPadding() {
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        // Max 3x3 stride 1 padding 1 sees the whole image everywhere.
        #expect(ReferenceOps.maxPool2d(x, kernelSize: 3, stride: 1, padding: 1).scalars == [4, 4, 4, 4])
        // Average 3x3 padding 1 counts the padding: every window holds all four values -> 10/9.
        #expect(ReferenceOps.avgPool2d(x, kernelSize: 3, stride: 1, padding: 1).scalars.allSatisfy { abs($0 - 10.0 / 9) < 1e-6 })
        #expect(ReferenceOps.avgPool2d(x, kernelSize: 2, stride: 2).scalars == [2.5])
    }

    @Test func batchNormAndSoftmax() {
        let x = Tensor(shape: [1, 1, 1, 2], scalars: [3, 5])
        let y = ReferenceOps.batchNorm(x, mean: Tensor(shape: [1], scalars: [1]), variance: Tensor(shape: [1], scalars: [4 - 1e-5]),
                                       scale: Tensor(shape: [1], scalars: [2]), shift: Tensor(shape: [1], scalars: [1]))
        #expect(abs(y.scalars[0] - 3) < 1e-5 && abs(y.scalars[1] - 5) < 1e-5)   // (3-1)/2*2+1, (5-1)/2*2+1
        let s = ReferenceOps.softmax(Tensor(shape: [1, 2], scalars: [0, Float(log(3.0))]), axis: 1)
        #expect(abs(s.scalars[0] - 0.25) < 1e-6 && abs(s.scalars[1] - 0.75) < 1e-6)
    }

    @Test func adaptivePoolingWindowsOverlap() {
        // 1x1x1x5 -> width 3: windows [0,2), [1,4), [3,5) as PyTorch computes them.
        let x = Tensor(shape: [1, 1, 1, 5], scalars: [1, 2, 3, 4, 5])
        let y = ReferenceOps.adaptiveAvgPool2d(Tensor(shape: [1, 1, 5, 5], scalars: Array(repeating: x.scalars, count: 5).flatMap { $0 }), outputSize: 3)
        #expect(y.scalars[0..<3].map { $0 } == [1.5, 3, 4.5])
    }

    @Test func broadcastingMultiply() {
        let a = Tensor(shape: [2, 2, 1, 1], scalars: [1, 2, 3, 4])
        let b = Tensor(shape: [1, 2, 1, 1], scalars: [10, 100])
        #expect(ReferenceOps.multiply(a, b).scalars == [10, 200, 30, 400])
        #expect(Ops.broadcastShape([2, 1, 3], [4, 1]) == [2, 4, 3])
    }
}

/// The engine's environment switches: known values are taken, unknown ones are reported as
/// values (the CLI prints them), never written to the terminal by the library.
@Suite struct EngineEnvironmentTests {
    @Test func knownValuesGiveNoWarningAndUnknownOnesNameTheValue() {
        #expect(Engine.environmentWarnings([:]).isEmpty)
        #expect(Engine.environmentWarnings(["SPCONVLAB_MAX_ISA": "AVX2", "SPCONVLAB_CONV_ALGO": "direct"]).isEmpty)
        #expect(Engine.isaLimit("sse41").limit == .sse41 && Engine.convolutionAlgorithm("winograd").algorithm == .winograd
                && Engine.convolutionAlgorithm("own-winograd").algorithm == .ownWinograd && Engine.convolutionAlgorithm("own").algorithm == .own)
        let warnings = Engine.environmentWarnings(["SPCONVLAB_MAX_ISA": "avx3", "SPCONVLAB_CONV_ALGO": "fast", "OTHER": "x"])
        #expect(warnings.count == 2)
        #expect(warnings[0].contains("SPCONVLAB_MAX_ISA='avx3'") && warnings[0].contains("avx2 and sse41"))
        #expect(warnings[1].contains("SPCONVLAB_CONV_ALGO='fast'") && warnings[1].contains("own (the default), auto, direct, winograd, own-winograd and own-direct"))
        #expect(Engine.isaLimit("avx3").limit == .none && Engine.convolutionAlgorithm("fast").algorithm == .own)
    }
}

/// The one mapping from a stored (variant, ratio, groups) triple to a model variant, shared by
/// checkpoints' sidecars, run records and the sweep.
@Suite struct StoredVariantTests {
    @Test func onlyWellFormedTriplesAreVariants() {
        #expect(ModelVariant(name: "vanilla", ratio: nil, groups: nil) == .vanilla)
        #expect(ModelVariant(name: "spconv", ratio: 0.25, groups: 4) == .spconv(SPConvConfiguration(ratio: 0.25, groups: 4)))
        for (name, ratio, groups) in [("vanilla", 0.5, nil), ("vanilla", nil, 2), ("spconv", nil, 2), ("spconv", 0.5, nil),
                                      ("spconv", 1.0, 2), ("spconv", 0.0, 2), ("spconv", 0.5, 0), ("onnx", nil, nil), ("Vanilla", nil, nil)]
            as [(String, Double?, Int?)] {
            #expect(ModelVariant(name: name, ratio: ratio, groups: groups) == nil, "\(name) \(String(describing: ratio)) \(String(describing: groups))")
        }
        #expect(ModelVariant.spconv(SPConvConfiguration(ratio: 0.5, groups: 2)).name == "spconv" && ModelVariant.vanilla.kind == .vanilla)
    }
}

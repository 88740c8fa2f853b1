import Testing
@testable import SPConvLab

/// Whole networks: the fused fast backend against the op-by-op reference backend.
@Suite struct ModelTwinTests {
    static let specs = EngineCheck.modelSpecs

    @Test(arguments: specs)
    func fastMatchesReference(_ spec: ModelSpec) throws {
        let network = try Network(spec, seed: 42)
        randomizeBatchNorm(network, seed: 1)
        var g = SeededGenerator(seed: 99)
        let x = Tensor.uniform([2, spec.inputChannels, spec.inputSize, spec.inputSize], generator: &g)
        let fast = try network(x)
        let reference = try network(x, backend: .reference)
        #expect(fast.shape == [2, spec.classes])
        #expect(maxRelativeDifference(fast, reference) < 1e-4, "\(spec.displayName)")
    }

    /// Every network on each kernel set the fast interpreter has for it, against the reference
    /// interpreter, at batch 1 (the own kernels split one image over the threads) and batch 3
    /// (whole images per thread). Vanilla: the own Winograd, the own direct convolution, oneDNN
    /// only. SPConv: the engine's own kernels with a direct or a Winograd representative conv,
    /// oneDNN's convolutions, and those with the own direct convolution.
    @Test(arguments: specs)
    func everyKernelSetMatchesReference(_ spec: ModelSpec) throws {
        let network = try Network(spec, seed: 7)
        randomizeBatchNorm(network, seed: 4)
        var g = SeededGenerator(seed: 8)
        for batch in [1, 3] {
            let x = Tensor.uniform([batch, spec.inputChannels, spec.inputSize, spec.inputSize], generator: &g)
            let reference = try network(x, backend: .reference)
            for set in spec.variant == .vanilla ? EngineCheck.KernelSet.vanilla : EngineCheck.KernelSet.spconv {
                let fast = try set.with { try network(x) }
                #expect(maxRelativeDifference(fast, reference) < 1e-4, "\(spec.displayName) batch \(batch)\(set.label)")
            }
        }
    }

    @Test func capturingInsideABlockKeepsTheResult() throws {
        let network = try Network(ModelSpec(.resnet20, variant: .spconv(.init()), inputSize: 16), seed: 1)
        randomizeBatchNorm(network, seed: 2)
        var g = SeededGenerator(seed: 3)
        let x = Tensor.uniform([1, 3, 16, 16], generator: &g)
        let paths: Set<String> = ["layer1.0.conv1.gwc", "layer2.0", "layer3.2.conv2"]
        let (output, captured) = try network.forward(x, capturing: paths)
        #expect(maxRelativeDifference(output, try network(x)) < 1e-5)
        #expect(captured["layer1.0.conv1.gwc"]?.shape == [1, 16, 16, 16])
        #expect(captured["layer2.0"]?.shape == [1, 32, 8, 8])
        #expect(captured["layer3.2.conv2"]?.shape == [1, 64, 4, 4])
        // Each capture equals the reference interpreter's value of that module.
        let reference = try network.forward(x, backend: .reference, capturing: paths).captured
        for path in paths { #expect(maxRelativeDifference(captured[path]!, reference[path]!) < 1e-4, "\(path)") }
    }
}

/// Gives every BatchNorm non-trivial statistics so folding is really exercised.
func randomizeBatchNorm(_ network: Network, seed: UInt64) {
    var g = SeededGenerator(seed: seed)
    EngineCheck.randomizeBatchNorm(network.root, generator: &g)
}

extension ModelSpec: CustomTestStringConvertible {
    public var testDescription: String { "\(displayName) in \(inputChannels)x\(inputSize)" }
}

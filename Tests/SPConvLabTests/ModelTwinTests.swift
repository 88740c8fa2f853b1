import Testing
@testable import SPConvLab

/// Whole networks: the fused fast backend against the op-by-op reference backend.
@Suite struct ModelTwinTests {
    static let specs: [ModelSpec] = [
        ModelSpec(.resnet20, inputSize: 16),
        ModelSpec(.resnet20, variant: .spconv(.init(ratio: 0.5, groups: 2)), inputSize: 16),
        ModelSpec(.resnet20, variant: .spconv(.init(ratio: 0.25, groups: 4)), inputChannels: 1, inputSize: 12),
        ModelSpec(.resnet18, variant: .spconv(.init(ratio: 0.5, groups: 2)), classes: 5, inputSize: 32),
        ModelSpec(.resnet50, variant: .spconv(.init(ratio: 0.5, groups: 2)), classes: 5, inputSize: 32),
        ModelSpec(.resnet50, classes: 5, inputSize: 32),
        ModelSpec(.vgg16, variant: .spconv(.init(ratio: 0.5, groups: 2)), inputSize: 32),
    ]

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

    @Test func capturingInsideABlockKeepsTheResult() throws {
        let network = try Network(ModelSpec(.resnet20, variant: .spconv(.init()), inputSize: 16), seed: 1)
        randomizeBatchNorm(network, seed: 2)
        var g = SeededGenerator(seed: 3)
        let x = Tensor.uniform([1, 3, 16, 16], generator: &g)
        let context = ForwardContext(backend: .fast, capturing: ["layer1.0.conv1.gwc", "layer2.0", "layer3.2.conv2"])
        let captured = try network.forward(x, context: context)
        #expect(maxRelativeDifference(captured, try network(x)) < 1e-5)
        #expect(context.captured["layer1.0.conv1.gwc"]?.shape == [1, 16, 16, 16])
        #expect(context.captured["layer2.0"]?.shape == [1, 32, 8, 8])
        #expect(context.captured["layer3.2.conv2"]?.shape == [1, 64, 4, 4])
    }
}

/// Gives every BatchNorm non-trivial statistics so folding is really exercised.
func randomizeBatchNorm(_ network: Network, seed: UInt64) {
    var g = SeededGenerator(seed: seed)
    for (_, module) in network.root.namedModules() {
        guard let bn = module as? BatchNorm2D else { continue }
        bn.weight = .uniform([bn.channels], in: 0.5...1.5, generator: &g)
        bn.bias = .uniform([bn.channels], in: -0.2...0.2, generator: &g)
        bn.runningMean = .uniform([bn.channels], in: -0.2...0.2, generator: &g)
        bn.runningVariance = .uniform([bn.channels], in: 0.5...2, generator: &g)
    }
}

extension ModelSpec: CustomTestStringConvertible {
    public var testDescription: String { "\(displayName) in \(inputChannels)x\(inputSize)" }
}

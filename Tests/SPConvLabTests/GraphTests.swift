import Foundation
import Testing
@testable import SPConvLab

/// The op graph each zoo model writes once, and what its interpreters make of it. (Fast against
/// reference is ModelTwinTests; both against PyTorch, and the cost ledger against PyTorch's
/// counts, are TorchParityTests.)
@Suite("Graph")
struct GraphTests {
    static let cases: [(String, ModelSpec)] = [
        ("resnet20 vanilla", ModelSpec(.resnet20, inputChannels: 1, inputSize: 16)),
        ("resnet20 SPConv 1/2 g2", ModelSpec(.resnet20, variant: .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), inputChannels: 1, inputSize: 16)),
        ("resnet20 SPConv 1/4 g1", ModelSpec(.resnet20, variant: .spconv(SPConvConfiguration(ratio: 0.25, groups: 1)), inputSize: 16)),
        ("resnet18 SPConv 1/2 g2", ModelSpec(.resnet18, variant: .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), classes: 7, inputSize: 32)),
        ("resnet50 vanilla", ModelSpec(.resnet50, classes: 5, inputSize: 32)),
        ("vgg16 SPConv 3/4 g2", ModelSpec(.vgg16, variant: .spconv(SPConvConfiguration(ratio: 0.75, groups: 2)), classes: 10, inputSize: 32)),
    ]

    static func weights(_ network: Network) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: network.stateDict().map { ($0.name, $0.tensor) })
    }

    /// Seeded weights with non-trivial batch-norm statistics, so every parameter matters.
    static func network(_ spec: ModelSpec) throws -> Network {
        let network = try Network(spec, seed: 3)
        var generator = SeededGenerator(seed: 11)
        var state = weights(network)
        for (name, tensor) in state where name.hasSuffix("running_var") || name.hasSuffix("bn1.weight") {
            state[name] = .uniform(tensor.shape, in: 0.5...1.5, generator: &generator)
        }
        for (name, tensor) in state where name.hasSuffix("running_mean") || name.hasSuffix(".bias") {
            state[name] = .uniform(tensor.shape, in: -0.2...0.2, generator: &generator)
        }
        try network.load(state, source: "test")
        return network
    }

    /// The fast interpreter's rewrites, counted by hand: each conv slot with its batch norm (and
    /// ReLU, and residual add) is one step, an SPConv slot included; pools, the global pool and
    /// the classifier are one step each.
    @Test(arguments: [
        // stem + 9 blocks x 2 slots + 2 projection shortcuts + avgpool + fc
        ("resnet20 vanilla", 1 + 18 + 2 + 2),
        ("resnet20 SPConv 1/2 g2", 1 + 18 + 2 + 2),
        // stem + maxpool + 8 blocks x 2 + 3 shortcuts + avgpool + fc
        ("resnet18 SPConv 1/2 g2", 2 + 16 + 3 + 2),
        // stem + maxpool + 16 blocks x 3 + 4 shortcuts + avgpool + fc
        ("resnet50 vanilla", 2 + 48 + 4 + 2),
        // 13 conv slots + 5 max pools + avgpool + classifier
        ("vgg16 SPConv 3/4 g2", 13 + 5 + 2),
    ])
    func rewritesLeaveOneStepPerSlot(_ name: String, _ steps: Int) throws {
        let spec = Self.cases.first { $0.0 == name }!.1
        let network = try Network(spec)
        #expect(try network.compiledGraph(for: [2, spec.inputChannels, spec.inputSize, spec.inputSize]).stepCount == steps)
    }

    /// A captured value inside a rewrite is computed: capturing `layer1.0.conv1.gwc` leaves that
    /// SPConv's ops unfused (the two slices, gwc alone, pwc with the add, bn1, conv1x1 with bn2 folded,
    /// the fusion: 7 steps for 1) and its block's bn1 + ReLU separate (1 more), and the
    /// outputs still equal the reference interpreter's.
    @Test func aCaptureInsideARewriteUndoesOnlyThatRewrite() throws {
        let spec = Self.cases[1].1
        let network = try Self.network(spec)
        let shape = [2, spec.inputChannels, spec.inputSize, spec.inputSize]
        let paths: Set<String> = ["layer1.0.conv1.gwc"]
        #expect(try network.compiledGraph(for: shape, capturing: paths).stepCount == 23 - 1 + 7 + 1)
        var generator = SeededGenerator(seed: 8)
        let input = Tensor.gaussian(shape, standardDeviation: 1, generator: &generator)
        let fast = try network.forward(input, capturing: paths)
        let reference = try network.forward(input, backend: .reference, capturing: paths)
        #expect(maxRelativeDifference(fast.output, reference.output) < 1e-4)
        #expect(maxRelativeDifference(fast.captured["layer1.0.conv1.gwc"]!, reference.captured["layer1.0.conv1.gwc"]!) < 1e-4)
    }

    /// Changing a weight recompiles: the packed, BN-folded copies follow the module's tensors.
    @Test func changedWeightsReachTheFastInterpreter() throws {
        let spec = Self.cases[1].1
        let network = try Self.network(spec)
        var generator = SeededGenerator(seed: 9)
        let input = Tensor.gaussian([1, spec.inputChannels, spec.inputSize, spec.inputSize], standardDeviation: 1, generator: &generator)
        let before = try network(input)
        let bn = network.root.namedModules().first { $0.path == "layer3.2.conv2.bn2" }!.layer as! BatchNorm2D
        bn.bias = .uniform(bn.bias.shape, in: 1...2, generator: &generator)
        let after = try network(input)
        #expect(maxRelativeDifference(after, before) > 1e-3)
        #expect(maxRelativeDifference(after, try network(input, backend: .reference)) < 1e-4)
    }

    /// Reading the weights (the state dict, the cost) does not count as changing them: the
    /// compiled graph is kept, so passes do not repack weights.
    @Test func readingTheWeightsKeepsTheCompiledGraph() throws {
        let spec = Self.cases[1].1
        let network = try Network(spec)
        let shape = [1, spec.inputChannels, spec.inputSize, spec.inputSize]
        let first = try network.compiledGraph(for: shape)
        _ = network.stateDict()
        _ = try network.cost()
        _ = try network(Tensor.zeros(shape), backend: .reference)
        #expect(try network.compiledGraph(for: shape) === first)
        try network.load(network.weights, source: "the same weights")
        #expect(try network.compiledGraph(for: shape) === first, "loading equal tensors changes nothing")
    }

    /// The fast interpreter writes each pass into the same buffers; an output (or capture) the
    /// caller keeps is not changed by the next pass, and passes on different inputs stay apart.
    @Test func keptResultsSurviveTheNextPass() throws {
        let spec = Self.cases[1].1
        let network = try Self.network(spec)
        var generator = SeededGenerator(seed: 12)
        let shape = [2, spec.inputChannels, spec.inputSize, spec.inputSize]
        let (a, b) = (Tensor.gaussian(shape, standardDeviation: 1, generator: &generator),
                      Tensor.gaussian(shape, standardDeviation: 1, generator: &generator))
        let first = try network.forward(a, capturing: ["layer2.1", "fc"])
        let second = try network.forward(b, capturing: ["layer2.1", "fc"])
        let again = try network.forward(a, capturing: ["layer2.1", "fc"])
        let reference = try network.forward(a, backend: .reference, capturing: ["layer2.1", "fc"])
        #expect(maxRelativeDifference(first.output, reference.output) < 1e-4)
        #expect(maxRelativeDifference(first.captured["layer2.1"]!, reference.captured["layer2.1"]!) < 1e-4)
        #expect(first.output == again.output && first.captured["layer2.1"] == again.captured["layer2.1"])
        #expect(maxRelativeDifference(second.output, first.output) > 1e-3)
        // Without captures too (the plan's buffers hold every feature map then).
        let plain = try network(a)
        _ = try network(b)
        #expect(plain == (try network(a)))
        #expect(try network.compiledGraph(for: shape).plannedBytes > 0)
    }

    /// SPConv's own kernels run a batch smaller than the thread count one image at a time, split
    /// over the threads by rows (or, on small maps, by output blocks) in one parallel region, and a
    /// larger batch whole images per thread (with the own Winograd, several images' tiles in one
    /// run). Each output is the same sum in the same order either way, so an image's logits at
    /// batch 1 are the bits of its row in a batch of 4. The dense convolutions are pinned to the
    /// own direct kernel and the representative branch to the direct conv or the own Winograd, so
    /// no timed choice differs between the two compiles.
    @Test(arguments: [false, true])
    func spconvAtBatchOneGivesTheBitsOfTheBatch(winograd: Bool) throws {
        let spec = ModelSpec(.resnet20, variant: .spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), inputSize: 32)
        let network = try Self.network(spec)
        var generator = SeededGenerator(seed: 21)
        let batch = Tensor.gaussian([4, 3, 32, 32], standardDeviation: 1, generator: &generator)
        try Engine.$spconvKernelOverride.withValue(.own) {
            try Engine.$ownWinogradOverride.withValue(winograd) {
                try Engine.$ownDirectOverride.withValue(true) {
                    let together = try network(batch)
                    for image in 0..<4 {
                        let pixels = 3 * 32 * 32
                        let alone = try network(Tensor(shape: [1, 3, 32, 32], scalars: Array(batch.scalars[(image * pixels)..<((image + 1) * pixels)])))
                        let row = Array(together.scalars[(image * 10)..<((image + 1) * 10)])
                        #expect(alone.scalars.map(\.bitPattern) == row.map(\.bitPattern), "image \(image): \(alone.scalars) against \(row)")
                    }
                }
            }
        }
    }

    /// Buffers are reused by liveness, so the plan of a deeper ResNet of the same stages needs
    /// exactly the buffers of a shallower one (resnet56 = resnet20), far less than one per value;
    /// for SPConv on either kernel set (the compiler would otherwise choose by timing; the own
    /// Winograd, whose scratch is one buffer for all its convolutions, is left out likewise).
    @Test(arguments: [(ModelVariant.vanilla, nil), (.spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), Engine.SPConvKernelChoice.onednn),
                      (.spconv(SPConvConfiguration(ratio: 0.5, groups: 2)), .own)])
    func theMemoryPlanDoesNotGrowWithDepth(_ variant: ModelVariant, _ kernels: Engine.SPConvKernelChoice?) throws {
        let shape = [2, 3, 16, 16]
        let (shallow, deep) = try Engine.$spconvKernelOverride.withValue(kernels) {
            try Engine.$ownWinogradOverride.withValue(false) {
                (try Network(ModelSpec(.resnet20, variant: variant, inputSize: 16)).compiledGraph(for: shape).plannedBytes,
                 try Network(ModelSpec(.resnet56, variant: variant, inputSize: 16)).compiledGraph(for: shape).plannedBytes)
            }
        }
        #expect(shallow == deep)
        // Every block output of resnet56 held at once would be 27 maps; the plan holds a few per
        // stage (the engine's own SPConv kernels add two maps of one image and a bordered input
        // per thread, shared by all SPConv layers of a shape).
        let stage1 = 2 * 16 * 16 * 16 * 4
        #expect(deep < (kernels == .own ? 16 : 12) * stage1, "\(deep) bytes planned")
    }

    /// A stride-2 SPConv on an odd size is refused by the shape interpreter with the layer's name.
    @Test func anOddSizeAtAStrideTwoSPConvNamesTheLayer() throws {
        let network = try Network(Self.cases[1].1)
        #expect { _ = try network(Tensor.zeros([1, 1, 14, 14])) } throws: { error in
            let message = (error as? SPConvLabError)?.message ?? ""
            return message.contains("SPConv layer layer3.0.conv1") && message.contains("7x7")
        }
    }

    @Test func nodesNameTheirModulesAndParameters() throws {
        let network = try Network(Self.cases[1].1)
        let graph = network.graph
        let spconv = graph.nodes.filter { $0.module.hasPrefix("layer2.0.conv1.") }
        #expect(spconv.map(\.module) == ["layer2.0.conv1.split_rep", "layer2.0.conv1.split_red", "layer2.0.conv1.gwc",
                                         "layer2.0.conv1.avgpool_s2_3", "layer2.0.conv1.pwc", "layer2.0.conv1.add",
                                         "layer2.0.conv1.bn1", "layer2.0.conv1.avgpool_s2_1", "layer2.0.conv1.conv1x1",
                                         "layer2.0.conv1.bn2", "layer2.0.conv1.fusion"])
        #expect(spconv[2].parameters == ["layer2.0.conv1.gwc.weight"])
        #expect(spconv[6].parameters == ["layer2.0.conv1.bn1.weight", "layer2.0.conv1.bn1.bias", "layer2.0.conv1.bn1.running_mean",
                                         "layer2.0.conv1.bn1.running_var"])
        // Every parameter the nodes name is a state_dict key, and every weight of the state_dict is used.
        let keys = Set(network.stateDict().map(\.name))
        let named = Set(graph.nodes.flatMap(\.parameters))
        #expect(named.isSubset(of: keys))
        #expect(keys.subtracting(named).allSatisfy { $0.hasSuffix("num_batches_tracked") })
        // Values are produced once, in order.
        for (index, node) in graph.nodes.enumerated() {
            #expect(node.output.id == index + 1 && node.inputs.allSatisfy { $0.id <= index })
        }
    }
}

import Foundation
import Testing
@testable import SPConvLab

/// The op graph each zoo model writes (Engine v2, step 1) against the layer tree it is built
/// from: the reference interpreter gives the layer tree's reference output bit for bit, and the
/// shape/cost interpreter gives its cost ledger row for row (docs/COST.md).
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

    @Test(arguments: cases.map(\.0))
    func theGraphCostsWhatTheLayerTreeCosts(_ name: String) throws {
        let spec = Self.cases.first { $0.0 == name }!.1
        let network = try Network(spec)
        let graph = try GraphBuilder.build(network)
        let traced = try graph.trace(inputShape: [1, spec.inputChannels, spec.inputSize, spec.inputSize], weights: Self.weights(network))
        let expected = try network.cost()
        #expect(traced.ledger.layers.count == expected.layers.count)
        for (row, (got, want)) in zip(traced.ledger.layers, expected.layers).enumerated() where got != want {
            Issue.record("row \(row): graph \(got), layer tree \(want)")
            break
        }
        #expect(traced.shapes[graph.output.id] == [1, spec.classes])
    }

    @Test(arguments: cases.prefix(4).map(\.0) + ["vgg16 SPConv 3/4 g2"])
    func theReferenceInterpreterGivesTheLayerTreesReferenceOutput(_ name: String) throws {
        let spec = Self.cases.first { $0.0 == name }!.1
        let network = try Self.network(spec)
        let graph = try GraphBuilder.build(network)
        var generator = SeededGenerator(seed: 5)
        let input = Tensor.gaussian([2, spec.inputChannels, spec.inputSize, spec.inputSize], standardDeviation: 1, generator: &generator)
        let expected = try network(input, backend: .reference)
        let got = try graph.runReference(input, weights: Self.weights(network))
        #expect(got.shape == expected.shape)
        #expect(got.scalars == expected.scalars, "max difference \(zip(got.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0)")
    }

    @Test func nodesNameTheirModulesAndParameters() throws {
        let network = try Network(Self.cases[1].1)
        let graph = try GraphBuilder.build(network)
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

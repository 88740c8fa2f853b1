import Foundation
import Testing
@testable import SPConvLab

/// Golden parity with PyTorch: fixtures made by tools/make_fixtures.py and
/// tools/make_state_dict_fixture.py from the independent PyTorch zoo in tools/torch_zoo.py.
@Suite struct TorchParityTests {
    nonisolated(unsafe) static let cases: [String: [String: Any]] = {
        let data = try! Data(contentsOf: fixtureURL("torch/fixtures.json"))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return root["cases"] as! [String: [String: Any]]
    }()

    static let committedBlocks = cases.filter { $0.value["module"] as? String == "SPConv" }.keys.sorted()
    static let committedModels = cases.filter { $0.value["module"] as? String == "zoo" && $0.value["committed"] as? Bool == true }.keys.sorted()
    /// Whole-network fixtures too big to commit (`tools/make_fixtures.py --large` writes them).
    static let largeModels = cases.filter { $0.value["committed"] as? Bool == false }.keys.sorted()
    static let largeEnabled = ProcessInfo.processInfo.environment["SPCONVLAB_SLOW_TESTS"] == "1"

    static func spec(for c: [String: Any]) -> ModelSpec {
        let shape = c["input_shape"] as! [Int]
        let variant: ModelVariant = c["variant"] as! String == "spconv"
            ? .spconv(SPConvConfiguration(ratio: c["ratio"] as! Double, groups: c["groups"] as! Int)) : .vanilla
        return ModelSpec(Architecture(rawValue: c["model"] as! String)!, variant: variant,
                         inputChannels: c["in_channels"] as! Int, classes: c["classes"] as? Int, inputSize: shape[2])
    }

    @Test(arguments: committedBlocks)
    func spconvBlockMatchesPyTorch(_ name: String) throws {
        let c = Self.cases[name]!
        let layer = try SPConv(inputChannels: c["in_channels"] as! Int, outputChannels: c["out_channels"] as! Int,
                               stride: c["stride"] as! Int,
                               configuration: SPConvConfiguration(ratio: c["ratio"] as! Double, groups: c["groups"] as! Int),
                               path: name)
        let weights = try Safetensors.read(contentsOf: fixtureURL("torch/\(name).safetensors").path)
        var loaded = 0
        layer.visitTensors { key, _, tensor in
            tensor = weights.tensors[key]!
            loaded += 1
        }
        #expect(loaded == weights.tensors.count, "every stored tensor (but num_batches_tracked) has a home")
        let input = try NPYFile.read(contentsOf: fixtureURL("torch/\(name).input.npy").path)
        let expected = try NPYFile.read(contentsOf: fixtureURL("torch/\(name).output.npy").path)
        for backend in [Backend.fast, .reference] {
            let output = try layer(input, backend: backend)
            #expect(output.shape == expected.shape)
            #expect(maxRelativeDifference(output, expected) < 1e-4, "\(name) on \(backend)")
        }
    }

    @Test(arguments: committedModels)
    func zooModelMatchesPyTorch(_ name: String) throws {
        try checkModel(name)
    }

    @Test(.enabled(if: largeEnabled, "set SPCONVLAB_SLOW_TESTS=1 after python3 tools/make_fixtures.py --large"),
          arguments: largeModels)
    func largeZooModelMatchesPyTorch(_ name: String) throws {
        try checkModel(name)
    }

    private func checkModel(_ name: String) throws {
        let c = Self.cases[name]!
        let path = c["path"] as! String
        let network = try Network(Self.spec(for: c))
        try network.loadWeights(contentsOf: fixtureURL("torch/\(path).safetensors").path)
        let input = try NPYFile.read(contentsOf: fixtureURL("torch/\(path).input.npy").path)
        let expected = try NPYFile.read(contentsOf: fixtureURL("torch/\(path).output.npy").path)
        let fast = try network(input)
        #expect(fast.shape == expected.shape)
        #expect(maxRelativeDifference(fast, expected) < 1e-4, "\(name) fast backend")
        if (c["num_params"] as! Int) < 1_000_000 {
            #expect(maxRelativeDifference(try network(input, backend: .reference), expected) < 1e-4, "\(name) reference backend")
        }
    }

    nonisolated(unsafe) static let stateDicts: [[String: Any]] = {
        let data = try! Data(contentsOf: fixtureURL("torch/state_dicts.json"))
        return (try! JSONSerialization.jsonObject(with: data) as! [String: Any])["models"] as! [[String: Any]]
    }()

    @Test(arguments: 0..<stateDicts.count)
    func stateDictNamesAndShapesMatchPyTorch(_ index: Int) throws {
        let entry = Self.stateDicts[index]
        let variant: ModelVariant = entry["variant"] as! String == "spconv"
            ? .spconv(SPConvConfiguration(ratio: entry["ratio"] as! Double, groups: entry["groups"] as! Int)) : .vanilla
        let spec = ModelSpec(Architecture(rawValue: entry["model"] as! String)!, variant: variant,
                             inputChannels: entry["in_channels"] as! Int, classes: entry["classes"] as? Int)
        let network = try Network(spec)
        let ours = network.stateDict().map { "\($0.name):\($0.tensor.shape.map(String.init).joined(separator: "x"))" }
        let theirs = (entry["keys"] as! [String]).filter { !$0.contains("num_batches_tracked") }
        #expect(ours == theirs, "\(spec.displayName)")
        #expect(network.parameterCount == entry["params"] as! Int)
        #expect(try network.cost().params == entry["params"] as! Int)
    }

    nonisolated(unsafe) static let paramRows: [[String: Any]] = {
        let data = try! Data(contentsOf: fixtureURL("torch/params.json"))
        return (try! JSONSerialization.jsonObject(with: data) as! [String: Any])["models"] as! [[String: Any]]
    }()

    @Test func costLedgerMatchesPyTorchCounts() throws {
        #expect(Self.paramRows.count >= 18)
        for row in Self.paramRows {
            let variant: ModelVariant = row["variant"] as! String == "spconv"
                ? .spconv(SPConvConfiguration(ratio: row["ratio"] as! Double, groups: row["groups"] as! Int)) : .vanilla
            let spec = ModelSpec(Architecture(rawValue: row["model"] as! String)!, variant: variant,
                                 inputChannels: row["in_channels"] as! Int, classes: row["classes"] as? Int,
                                 inputSize: row["input_size"] as? Int)
            let ledger = try Network(spec).cost()
            #expect(ledger.params == row["params"] as! Int, "\(spec.displayName) params")
            #expect(ledger.macs == row["macs_per_image"] as! Int, "\(spec.displayName) MACs")
        }
    }

    /// The paper's tables, which print millions truncated to two decimals.
    @Test func paperParameterCounts() throws {
        func params(_ arch: Architecture, _ ratio: Double?) throws -> Int {
            try Network(ModelSpec(arch, variant: ratio.map { .spconv(SPConvConfiguration(ratio: $0, groups: 2)) } ?? .vanilla)).cost().params
        }
        #expect(try params(.resnet50, nil) == 25_557_032)
        #expect(try params(.resnet50, 1.0 / 2) / 10_000 == 1834)
        #expect(try params(.resnet50, 1.0 / 4) / 10_000 == 1693)
        #expect(try params(.resnet50, 1.0 / 8) / 10_000 == 1622)
        #expect(try params(.resnet20, nil) / 10_000 == 27)
        #expect(try params(.resnet20, 1.0 / 2) / 10_000 == 10)
    }
}

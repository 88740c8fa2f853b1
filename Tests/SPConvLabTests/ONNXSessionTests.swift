import Foundation
import Testing
@testable import SPConvLab

/// ONNX models exported by torch.onnx.export run on our engine and give what ONNX Runtime gives
/// (its outputs on a fixed input are committed beside each model: tools/make_onnx_fixtures.py),
/// within 1e-4 of the output's largest magnitude, for the final output and an intermediate node's;
/// and their cost ledgers match the file's weights and PyTorch's MACs.
@Suite struct ONNXSessionTests {
    struct Facts: Decodable {
        var file_parameters: Int, macs: Int, probe: String, probe_shape: [Int], output_shape: [Int]
    }

    static let models = ["mixed", "resnet18", "mobilenet_v2", "ops"]

    static func facts(_ name: String) throws -> Facts {
        try JSONDecoder().decode(Facts.self, from: Data(contentsOf: fixtureURL("onnx/\(name).json")))
    }

    static func expectNear(_ ours: Tensor, _ theirs: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ours.shape == theirs.shape, "\(what): shape \(ours.shape) against \(theirs.shape)", sourceLocation: sourceLocation)
        guard ours.shape == theirs.shape else { return }
        let (a, b) = (ours.rowMajor().scalars, theirs.rowMajor().scalars)
        let scale = b.map(abs).max() ?? 0
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-4 * max(scale, 1e-6), "\(what): worst difference \(worst) at scale \(scale)", sourceLocation: sourceLocation)
    }

    @Test(arguments: models)
    func runsAsONNXRuntimeDoes(_ name: String) throws {
        let facts = try Self.facts(name)
        let model = try ONNXModel(contentsOf: fixtureURL("onnx/\(name).onnx").path)
        let input = try NPYFile.read(contentsOf: fixtureURL("onnx/\(name).input.npy").path)
        let session = try ONNXSession(model, batch: input.shape[0], keeping: [facts.probe])
        let (outputs, captured) = try session.run(input, capturing: [facts.probe])
        Self.expectNear(outputs[0], try NPYFile.read(contentsOf: fixtureURL("onnx/\(name).output.npy").path), "\(name) output")
        let probe = try #require(captured[facts.probe])
        #expect(probe.shape == facts.probe_shape)
        Self.expectNear(probe, try NPYFile.read(contentsOf: fixtureURL("onnx/\(name).probe.npy").path), "\(name) \(facts.probe)")
    }

    @Test(arguments: models)
    func costMatchesTheFileAndPyTorch(_ name: String) throws {
        let facts = try Self.facts(name)
        let ledger = try ONNXModel(contentsOf: fixtureURL("onnx/\(name).onnx").path).cost()
        #expect(ledger.params == facts.file_parameters && ledger.macs == facts.macs, "\(name): \(ledger.params) params, \(ledger.macs) MACs")
        #expect(ledger.layers.last?.outputShape == [1] + facts.output_shape)
    }

    @Test func refusesAnInputOfAnotherShape() throws {
        let model = try ONNXModel(contentsOf: fixtureURL("onnx/mixed.onnx").path)
        let session = try ONNXSession(model, batch: 2)
        #expect(throws: SPConvLabError.self) { try session.run(Tensor(repeating: 0, shape: [2, 3, 8, 8])) }
    }

    /// ResNet's residual adds and ReLUs run as the convolution's post-ops; the values they hide
    /// are refused for capture unless the session keeps them, and kept ones equal ORT's run.
    @Test func fusionHidesOnlyWhatItMustAndKeepsWhatIsAskedFor() throws {
        let model = try ONNXModel(contentsOf: fixtureURL("onnx/resnet18.onnx").path)
        let input = try NPYFile.read(contentsOf: fixtureURL("onnx/resnet18.input.npy").path)
        let fused = try ONNXSession(model, batch: 2)
        let hidden = try #require(fused.fusedAway.first { $0.hasSuffix("Add_output_0") })
        #expect(throws: SPConvLabError.self) { try fused.run(input, capturing: [hidden]) }
        let unfused = try ONNXSession(model, batch: 2, keeping: [hidden])
        #expect(!unfused.fusedAway.contains(hidden))
        let (a, captured) = try unfused.run(input, capturing: [hidden])
        #expect(captured[hidden] != nil)
        Self.expectNear(try fused.run(input).outputs[0], a[0], "fused against unfused")
    }
}

/// ONNX's Gemm (`alpha * op(A) op(B) + beta * C`, C broadcast) through BLAS, against the
/// definition's triple loop in float64.
@Suite struct ONNXGemmTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everyTransposeAndBroadcastMatchesTheDefinition(_ transposes: (Bool, Bool)) {
        let (transA, transB) = transposes
        let (m, n, k) = (5, 7, 3)
        var g = SeededGenerator(seed: 5)
        let a = Tensor.uniform(transA ? [k, m] : [m, k], generator: &g)
        let b = Tensor.uniform(transB ? [n, k] : [k, n], generator: &g)
        for c in [Tensor.uniform([n], generator: &g), Tensor.uniform([m, 1], generator: &g), Tensor.uniform([m, n], generator: &g)] {
            var want = [Float]()
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k {
                        sum += Double(a.scalars[transA ? p * m + i : i * k + p]) * Double(b.scalars[transB ? j * k + p : p * n + j])
                    }
                    let bias = c.rank == 1 ? c.scalars[j] : c.shape[1] == 1 ? c.scalars[i] : c.scalars[i * n + j]
                    want.append(Float(0.5 * sum + 2 * Double(bias)))
                }
            }
            let got = ONNXOps.gemm(a, b, c, alpha: 0.5, beta: 2, transA: transA, transB: transB)
            expectClose(got, Tensor(shape: [m, n], scalars: want), rtol: 1e-5, atol: 1e-6, "C \(c.shape)")
        }
    }
}

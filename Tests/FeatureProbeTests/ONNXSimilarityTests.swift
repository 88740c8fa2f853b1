import Foundation
import Testing
import FeatureProbe
import SPConvLab

/// Channel similarity on a node of an ONNX model run by our engine equals the same quantity that
/// NumPy computes on ONNX Runtime's value of that node (tools/make_onnx_fixtures.py: the mean
/// |off-diagonal| of the per-image cosine matrix, docs/REDUNDANCY.md), for every exported model.
@Suite struct ONNXSimilarityTests {
    /// The ONNX fixtures live with the SPConvLab tests.
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SPConvLabTests/Fixtures/onnx/\(name)").path
    }

    struct Facts: Decodable { var probe: String, probe_mean_abs_cosine: Double }

    @Test(arguments: ["mixed", "resnet18", "mobilenet_v2", "ops"])
    func similarityOnANodeMatchesNumPyOnONNXRuntimesValue(_ name: String) throws {
        let facts = try JSONDecoder().decode(Facts.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixture("\(name).json"))))
        let model = try ONNXModel(contentsOf: Self.fixture("\(name).onnx"))
        let input = try NPYFile.read(contentsOf: Self.fixture("\(name).input.npy"))
        let (_, captured) = try ONNXSession(model, batch: input.shape[0], keeping: [facts.probe]).run(input, capturing: [facts.probe])
        let maps = try #require(captured[facts.probe])
        var accumulator = try SimilarityAccumulator(channels: maps.shape[1], metric: .cosine, reduction: .perImage)
        try accumulator.add(maps)
        let summary = try LayerSummary(matrix: accumulator.result())
        #expect(abs(summary.meanAbsOffDiagonal - facts.probe_mean_abs_cosine) <= 1e-5,
                "\(name) \(facts.probe): ours \(summary.meanAbsOffDiagonal), NumPy on ORT \(facts.probe_mean_abs_cosine)")
    }
}

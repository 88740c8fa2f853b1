import Foundation
import Testing

/// `probe-cli cost`: totals as text (grouped digits, millions truncated as the paper prints them)
/// and as JSON whose per-layer rows add up to the totals.
@Suite("probe-cli cost")
struct CostCommandTests {
    struct TextCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var params: String
        var millions: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    /// Reference counts from the paper's tables and from PyTorch (`tools/`, `Fixtures/torch/params.json`).
    static let textCases = [
        TextCase(arguments: ["--model", "resnet50"], params: "25,557,032", millions: "25.55M"),
        TextCase(arguments: ["--model", "resnet50", "--variant", "spconv", "--ratio", "1/2"], params: "18,345,448", millions: "18.34M"),
        TextCase(arguments: ["--model", "resnet50", "--variant", "spconv", "--ratio", "1/4"], params: "16,930,792", millions: "16.93M"),
        TextCase(arguments: ["--model", "resnet50", "--variant", "spconv", "--ratio", "0.125"], params: "16,223,464", millions: "16.22M"),
        TextCase(arguments: ["--model", "resnet20"], params: "272,474", millions: "0.27M"),
        TextCase(arguments: ["--model", "resnet20", "--variant", "spconv", "--ratio", "1/2"], params: "105,082", millions: "0.10M"),
    ]

    @Test(arguments: textCases)
    func textPrintsParameterCount(_ testCase: TextCase) throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["cost"] + testCase.arguments, in: directory.url)
            expectSuccess(result)
            #expect(result.outputLines.contains("params: \(testCase.params) (\(testCase.millions))"), "\(result)")
        }
    }

    @Test func layersFlagListsEveryLayerBeforeTheTotals() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["cost", "--model", "resnet20", "--variant", "spconv", "--layers"],
                                                 in: directory.url)
            expectSuccess(result)
            #expect(result.outputLines.contains { $0.hasPrefix("layer1.0.conv1.gwc ") }, "\(result)")
            #expect(result.outputLines.contains("params: 105,082 (0.10M)"), "\(result)")
        }
    }

    struct Report: Decodable {
        struct Layer: Decodable {
            var path: String
            var type: String
            var params: Int
            var macs: Int
            var flops: Int
        }
        var model: String
        var variant: String
        var params: Int
        var macs: Int
        var flops: Int
        var layers: [Layer]
    }

    @Test func jsonHasIntegerTotals() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["cost", "--model", "resnet50", "--json"], in: directory.url)
            expectSuccess(result)
            // An integer literal, not 25557032.0 or 2.5557032e7.
            #expect(result.stdout.contains(#/"params"\s*:\s*25557032\s*[,\n}]/#), "\(result)")
            let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
            #expect(report.params == 25_557_032)
            #expect(report.model == "resnet50" && report.variant == "vanilla")
        }
    }

    @Test(arguments: [["--model", "resnet20"], ["--model", "resnet20", "--variant", "spconv", "--ratio", "1/4", "--groups", "4"]])
    func jsonLayersSumToTheTotals(_ arguments: [String]) throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["cost"] + arguments + ["--json"], in: directory.url)
            expectSuccess(result)
            let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
            #expect(!report.layers.isEmpty)
            #expect(report.layers.reduce(0) { $0 + $1.params } == report.params)
            #expect(report.layers.reduce(0) { $0 + $1.macs } == report.macs)
            #expect(report.layers.reduce(0) { $0 + $1.flops } == report.flops)
            #expect(report.layers.first?.path == "conv1")
        }
    }

    /// The torch-exported fixture of the ONNX reader's tests, with its facts (file weights counted
    /// by the onnx library, MACs by PyTorch hooks: tools/make_onnx_fixtures.py).
    static let onnxFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SPConvLabTests/Fixtures/onnx/mixed.onnx").path

    @Test func onnxModelIsCostedPerNode() throws {
        struct Facts: Decodable { var file_parameters: Int, macs: Int }
        let facts = try JSONDecoder().decode(Facts.self, from: Data(contentsOf: URL(fileURLWithPath: Self.onnxFixture.replacingOccurrences(of: ".onnx", with: ".json"))))
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["cost", "--onnx", Self.onnxFixture, "--json"], in: directory.url)
            expectSuccess(result)
            struct Report: Decodable { var params: Int, macs: Int, layers: [Layer]; struct Layer: Decodable { var path: String } }
            let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
            #expect(report.params == facts.file_parameters && report.macs == facts.macs)
            #expect(report.layers.first?.path == "/stem/stem.0/Conv")

            try Data("not a model".utf8).write(to: directory.file("bad.onnx"))
            expectFailure(try ProbeCLIProcess.run(["cost", "--onnx", "bad.onnx"], in: directory.url), exitCode: 1,
                          mentions: ["bad.onnx", "not a readable ONNX model"])
            expectFailure(try ProbeCLIProcess.run(["cost", "--onnx", "bad.onnx", "--model", "resnet20"], in: directory.url), exitCode: 64,
                          mentions: ["--onnx and --model"])
        }
    }

    /// The paper's recipe as a dry run: layer1.0.conv1 of the narrow resnet18 (16 -> 16, 3x3, 8x8,
    /// its BatchNorm folded into a bias by the exporter) against SPConv 1/2 with 2 groups, by hand:
    /// before 16*16*9 + 16 = 2,320 parameters and 16*64*16*9 = 147,456 MACs; after gwc 16*4*9 = 576,
    /// pwc 16*8 = 128, conv1x1 16*8 + 16 = 144, two batch norms 2*2*16 = 64, so 912, and MACs
    /// 16*64*(4*9 + 8 + 8) = 53,248. Depthwise and 1x1 convolutions stay, with their reason.
    @Test func onnxSPConvDryRunReplacesDenseThreeByThreesByHand() throws {
        let resnet = Self.onnxFixture.replacingOccurrences(of: "mixed.onnx", with: "resnet18.onnx")
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["cost", "--onnx", resnet, "--spconv", "1/2,2", "--json"], in: directory.url)
            expectSuccess(result)
            struct Report: Decodable {
                var params: Int, macs: Int, spconv: DryRun
                struct DryRun: Decodable { var params: Int, macs: Int, replaced: [Row], kept: [Kept] }
                struct Row: Decodable { var node: String, before: Cost, after: Cost }
                struct Cost: Decodable { var params: Int, macs: Int }
                struct Kept: Decodable { var node: String, reason: String }
            }
            let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
            let row = try #require(report.spconv.replaced.first { $0.node == "/layer1/layer1.0/conv1/Conv" })
            #expect(row.before.params == 2_320 && row.before.macs == 147_456)
            #expect(row.after.params == 912 && row.after.macs == 53_248)
            let changes = report.spconv.replaced.reduce(0) { $0 + $1.after.params - $1.before.params }
            #expect(report.spconv.params == report.params + changes)
            #expect(report.spconv.kept.contains { $0.node == "/conv1/Conv" && $0.reason.contains("7x7") })

            expectFailure(try ProbeCLIProcess.run(["cost", "--model", "resnet20", "--spconv", "1/2,2"], in: directory.url), exitCode: 64,
                          mentions: ["--spconv", "--onnx"])
            expectFailure(try ProbeCLIProcess.run(["cost", "--onnx", resnet, "--spconv", "half"], in: directory.url), exitCode: 64,
                          mentions: ["'half'", "RATIO,GROUPS"])
        }
    }
}


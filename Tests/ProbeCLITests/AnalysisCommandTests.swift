import Foundation
import SPConvLab
import Testing

/// similarity, capture, compare and grid, end to end on the built binary.
@Suite("probe-cli analysis commands")
struct AnalysisCommandTests {
    static let model = ["--model", "resnet20", "--variant", "spconv", "--in-channels", "1", "--input-size", "28"]

    @Test func similarityWritesMatricesPicturesAndSummary() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["similarity"] + Self.model + [
                "--input", "synthetic:12:5", "--batch", "5", "--layers", "layer1.0.conv1,layer3.*", "--metric", "both",
                "--npy", "--out", "out"], in: directory.url)
            expectSuccess(result)
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.file("out").path)
            for layer in ["layer1.0.conv1", "layer3.0", "layer3.1", "layer3.2"] {
                for metric in ["cosine", "pearson"] {
                    #expect(files.contains("\(layer).\(metric).csv") && files.contains("\(layer).\(metric).png")
                            && files.contains("\(layer).\(metric).npy"), "\(layer) \(metric)")
                }
                #expect(files.contains("\(layer).grid.png"))
            }
            #expect(!files.contains { $0.hasPrefix(".") && $0 != ".probe-cli" }, "no staging or temporary files left: \(files)")
            #expect(try String(contentsOf: directory.file("out/.probe-cli"), encoding: .utf8) == "probe-cli similarity\n")
            // The CSV matrix is C x C, symmetric, unit diagonal, and equals the .npy written beside it.
            let csv = try String(contentsOf: directory.file("out/layer3.2.pearson.csv"), encoding: .utf8)
            let rows = csv.split(separator: "\n").map { $0.split(separator: ",").map { Float(String($0))! } }
            #expect(rows.count == 64 && rows.allSatisfy { $0.count == 64 })
            let npy = try NPYFile.read(contentsOf: directory.file("out/layer3.2.pearson.npy").path)
            for i in 0..<64 {
                #expect(abs(rows[i][i] - 1) < 1e-5)
                for j in 0..<64 {
                    #expect(abs(rows[i][j] - rows[j][i]) < 1e-5)
                    #expect(abs(rows[i][j] - npy[i, j]) <= 5e-6 * max(1, abs(npy[i, j])))
                }
            }
            let summary = try String(contentsOf: directory.file("out/summary.csv"), encoding: .utf8)
            #expect(summary.hasPrefix("model,variant,ratio,groups,layer,channels,images,metric,mean_abs_offdiag,frac_above_threshold,threshold,duplicates,dead,clusters,effective_rank,suggested_ratio\r\n"))
            #expect(summary.contains("resnet20,spconv,0.5,2,layer3.2,64,12,pearson,"))
            #expect(result.stdout == summary, "stdout carries the summary table")
        }
    }

    @Test func captureWritesOneArrayPerLayer() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["capture"] + Self.model + [
                "--input", "synthetic:7", "--batch", "3", "--layers", "blocks", "--out", "maps"], in: directory.url)
            expectSuccess(result)
            let maps = try NPYFile.read(contentsOf: directory.file("maps/layer2.1.npy").path)
            #expect(maps.shape == [7, 32, 14, 14])
            let names = try String(contentsOf: directory.file("maps/inputs.txt"), encoding: .utf8)
            #expect(names.split(separator: "\n").count == 7)
        }
    }

    @Test func compareWritesCKA() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["compare", "--model", "resnet20", "--in-channels", "1", "--input-size", "28",
                                                  "--input", "synthetic:6", "--layers", "layer1.0,layer3.2", "--out", "cka"],
                                                 in: directory.url)
            expectSuccess(result)
            let pairs = try String(contentsOf: directory.file("cka/cka_pairs.csv"), encoding: .utf8)
            #expect(pairs.hasPrefix("layer_a,layer_b,cka\r\n"))
            let values = pairs.split(separator: "\r\n").dropFirst().map { Double($0.split(separator: ",")[2])! }
            #expect(values.count == 2 && values.allSatisfy { (0...1.0000001).contains($0) }, "only same-size pairs: \(pairs)")
            #expect(FileManager.default.fileExists(atPath: directory.file("cka/cka.png").path))
        }
    }

    @Test func gridWritesAPicture() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["grid"] + Self.model + ["--input", "synthetic:4", "--layer", "layer2.0",
                                                                          "--image", "3", "--out", "g.png"], in: directory.url)
            expectSuccess(result)
            let image = try PNGCodec.read(from: directory.file("g.png").path)
            #expect(image.width > 200 && image.height > 200)
        }
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var exitCode: Int32
        var mentions: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let badCases: [BadCase] = [
        BadCase(arguments: ["similarity"] + model + ["--input", "synthetic:2", "--layers", "layer1.0.conv3", "--out", "o"],
                exitCode: 1, mentions: ["'layer1.0.conv3'", "layer1.0.conv1"]),
        BadCase(arguments: ["similarity"] + model + ["--input", "synthetic:2", "--layers", "layer9.*", "--out", "o"],
                exitCode: 1, mentions: ["'layer9.*'"]),
        BadCase(arguments: ["similarity"] + model + ["--input", "synthetic:2", "--layers", "blocks", "--threshold", "1.5", "--out", "o"],
                exitCode: 64, mentions: ["--threshold 1.5", "[0, 1]"]),
        BadCase(arguments: ["similarity"] + model + ["--input", "synthetic:2", "--layers", "blocks", "--metric", "l2", "--out", "o"],
                exitCode: 64, mentions: ["--metric 'l2'"]),
        BadCase(arguments: ["similarity"] + model + ["--input", "empty", "--layers", "blocks", "--out", "o"],
                exitCode: 1, mentions: ["empty"]),
        BadCase(arguments: ["similarity"] + model + ["--input", "notes.png", "--layers", "blocks", "--out", "o"],
                exitCode: 1, mentions: ["notes.png"]),
        BadCase(arguments: ["similarity", "--model", "resnet20", "--in-channels", "2", "--input", "horse.png", "--layers", "blocks", "--out", "o"],
                exitCode: 1, mentions: ["2"]),
        BadCase(arguments: ["similarity"] + model + ["--input", "synthetic:2", "--layers", "blocks", "--out", "plain/sub"],
                exitCode: 1, mentions: ["plain/sub"]),
        BadCase(arguments: ["similarity"] + model + ["--input", "banana:3", "--layers", "blocks", "--out", "o"],
                exitCode: 1, mentions: ["banana:3", "synthetic"]),
        BadCase(arguments: ["grid"] + model + ["--input", "synthetic:2", "--layer", "blocks", "--out", "g.png"],
                exitCode: 1, mentions: ["blocks", "9"]),
        BadCase(arguments: ["grid"] + model + ["--input", "synthetic:2", "--layer", "layer1.0", "--image", "5", "--out", "g.png"],
                exitCode: 1, mentions: ["--image 5", "2 image"]),
    ]

    @Test(arguments: badCases)
    func badInputIsRefusedWithoutLeavingFiles(_ bad: BadCase) throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(at: directory.file("empty"), withIntermediateDirectories: false)
            try Data("not a picture".utf8).write(to: directory.file("notes.png"))
            try Data("a plain file".utf8).write(to: directory.file("plain"))
            try FileManager.default.copyItem(at: repositoryFile("assets/images/horse.png"), to: directory.file("horse.png"))
            let result = try ProbeCLIProcess.run(bad.arguments, in: directory.url)
            expectFailure(result, exitCode: bad.exitCode, mentions: bad.mentions)
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: directory.file("o").path)) ?? []
            #expect(leftovers.isEmpty, "nothing half-written in the output folder: \(leftovers)")
            #expect(!FileManager.default.fileExists(atPath: directory.file("g.png").path))
        }
    }

    /// `similarity --onnx`: any exported CNN, layers named by ONNX node name or module path, files
    /// named after the node, the summary labelled as the ONNX file. Its numbers equal NumPy's on
    /// ONNX Runtime's values (FeatureProbeTests' ONNXSimilarityTests); here the command itself.
    @Test func similarityProbesAnONNXModelByNodeOrModule() throws {
        let fixture = ONNXFixtures.path("resnet18.onnx")
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["similarity", "--onnx", fixture, "--input", "synthetic:4", "--layers",
                                                  "layer1.0,/layer2/layer2.1/conv1/Conv", "--out", "o"], in: directory.url)
            expectSuccess(result)
            #expect(result.stdout.contains("resnet18.onnx,onnx,,,/layer1/layer1.0/relu_1/Relu,16,4,cosine,"), "\(result.stdout)")
            #expect(result.stdout.contains("/layer2/layer2.1/conv1/Conv,32,4,cosine,"), "\(result.stdout)")
            #expect(FileManager.default.fileExists(atPath: directory.file("o/layer2_layer2.1_conv1_Conv.cosine.csv").path))
            expectFailure(try ProbeCLIProcess.run(["similarity", "--onnx", fixture, "--input", "synthetic:4", "--layers", "layer9",
                                                   "--out", "p"], in: directory.url), exitCode: 1, mentions: ["'layer9'", "layer1.0"])
            expectFailure(try ProbeCLIProcess.run(["similarity", "--onnx", fixture, "--model", "resnet20", "--input", "synthetic:4",
                                                   "--layers", "all", "--out", "q"], in: directory.url), exitCode: 64, mentions: ["--onnx and --model"])
        }
    }

    /// `capture --onnx` writes a node's maps as ONNX Runtime computed them (the fixture's
    /// intermediate value for the same input), named after the node.
    @Test func captureWritesAnONNXNodesMapsAsONNXRuntimeDoes() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["capture", "--onnx", ONNXFixtures.path("mixed.onnx"), "--input",
                                                  ONNXFixtures.path("mixed.input.npy"), "--layers", "/se/Mul", "--out", "c"], in: directory.url)
            expectSuccess(result)
            try ONNXFixtures.expectWrittenEqualsORT(directory.file("c/se_Mul.npy").path, "mixed.probe.npy")
        }
    }

    /// `compare --onnx A --against-onnx A`: linear CKA of a layer with itself is 1 by its
    /// definition, so the diagonal must be 1 and the other same-size pair below it.
    @Test func compareTwoONNXModelsGivesOneOnTheDiagonal() throws {
        let fixture = ONNXFixtures.path("resnet18.onnx")
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["compare", "--onnx", fixture, "--against-onnx", fixture, "--input", "synthetic:6",
                                                  "--layers", "layer1.0,layer1.1", "--out", "cka"], in: directory.url)
            expectSuccess(result)
            let rows = try String(contentsOf: directory.file("cka/cka_pairs.csv"), encoding: .utf8).split(separator: "\r\n").dropFirst()
                .map { $0.split(separator: ",").map(String.init) }
            #expect(rows.count == 4, "\(rows)")
            for row in rows {
                let value = try #require(Double(row[2]))
                if row[0] == row[1] { #expect(abs(value - 1) < 1e-5, "\(row)") } else { #expect(value < 0.9999, "\(row)") }
            }
            expectFailure(try ProbeCLIProcess.run(["compare", "--onnx", fixture, "--input", "synthetic:6", "--layers", "convs",
                                                   "--out", "x"], in: directory.url), exitCode: 64, mentions: ["--against-onnx"])
            expectFailure(try ProbeCLIProcess.run(["compare", "--onnx", fixture, "--against-onnx", fixture, "--against-ratio", "1/4",
                                                   "--input", "synthetic:6", "--layers", "convs", "--out", "y"], in: directory.url),
                          exitCode: 64, mentions: ["--against-ratio", "--against-onnx"])
        }
    }

    @Test func gridDrawsAnONNXNode() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["grid", "--onnx", ONNXFixtures.path("resnet18.onnx"), "--input", "synthetic:2",
                                                  "--layer", "/layer1/layer1.0/conv1/Conv", "--out", "g.png"], in: directory.url)
            expectSuccess(result)
            let image = try PNGCodec.read(from: directory.file("g.png").path)
            #expect(image.width > 200 && image.height > 200)
        }
    }
}

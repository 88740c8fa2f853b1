import Foundation
import SPConvLab
import Testing

/// `probe-cli run` on each kind of input: a `.npy` tensor, one PNG, and a folder of PNGs; and with
/// weights saved by the library, checked against the same network run in-process.
@Suite("probe-cli run")
struct RunCommandTests {
    static let bundledImages = ["chelsea.png", "coffee.png", "horse.png"]

    @Test func npyInputPrintsALinePerSampleAndWritesLogits() throws {
        try withTemporaryDirectory { directory in
            var generator = SeededGenerator(seed: 11)
            try NPYFile.write(.uniform([2, 3, 32, 32], generator: &generator), to: directory.file("batch.npy").path)
            let result = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--input", "batch.npy",
                                                  "--output", "logits.npy", "--top", "2"], in: directory.url)
            expectSuccess(result)
            #expect(result.outputLines.count == 2, "\(result)")
            #expect(result.outputLines.first?.hasPrefix("sample 0: ") == true, "\(result)")
            #expect(result.outputLines.last?.hasPrefix("sample 1: ") == true, "\(result)")
            // --top 2: two "name p%" entries per line.
            #expect(result.outputLines.allSatisfy { $0.split(separator: "%").count == 2 }, "\(result)")
            let logits = try NPYFile.read(contentsOf: directory.file("logits.npy").path)
            #expect(logits.shape == [2, 10])
            #expect(logits.scalars.allSatisfy { $0.isFinite })
        }
    }

    @Test func pngInputPrintsOneLineNamedAfterTheFile() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.copyItem(at: repositoryFile("assets/images/horse.png"), to: directory.file("horse.png"))
            let result = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--variant", "spconv", "--input", "horse.png",
                                                  "--output", "logits.npy"], in: directory.url)
            expectSuccess(result)
            #expect(result.outputLines.count == 1, "\(result)")
            #expect(result.outputLines.first?.hasPrefix("horse.png: ") == true, "\(result)")
            #expect(try NPYFile.read(contentsOf: directory.file("logits.npy").path).shape == [1, 10])
        }
    }

    @Test func folderInputPrintsOneLinePerImage() throws {
        try withTemporaryDirectory { directory in
            let images = directory.file("images")
            try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
            for name in Self.bundledImages {
                try FileManager.default.copyItem(at: repositoryFile("assets/images/\(name)"), to: images.appendingPathComponent(name))
            }
            let result = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--in-channels", "1", "--input-size", "28",
                                                  "--input", "images", "--output", "logits.npy"], in: directory.url)
            expectSuccess(result)
            #expect(result.outputLines.count == Self.bundledImages.count, "\(result)")
            for name in Self.bundledImages {
                #expect(result.outputLines.contains { $0.hasPrefix("\(name): ") }, "no line for \(name): \(result)")
            }
            #expect(try NPYFile.read(contentsOf: directory.file("logits.npy").path).shape == [Self.bundledImages.count, 10])
        }
    }

    struct WeightsCase: Sendable, CustomTestStringConvertible {
        var variant: ModelVariant
        var arguments: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    @Test(arguments: [
        WeightsCase(variant: .vanilla, arguments: ["--model", "resnet20"]),
        WeightsCase(variant: .spconv(SPConvConfiguration(ratio: 0.25, groups: 4)),
                    arguments: ["--model", "resnet20", "--variant", "spconv", "--ratio", "1/4", "--groups", "4"]),
    ])
    func savedWeightsGiveTheInProcessLogits(_ testCase: WeightsCase) throws {
        try withTemporaryDirectory { directory in
            // Seed 7, not the CLI's default 0, so the logits only match if the weights were loaded.
            let network = try Network(ModelSpec(.resnet20, variant: testCase.variant), seed: 7)
            try network.saveWeights(to: directory.file("weights.safetensors").path)
            var generator = SeededGenerator(seed: 3)
            let input = Tensor.uniform([2, 3, 32, 32], generator: &generator)
            try NPYFile.write(input, to: directory.file("input.npy").path)
            let expected = try network(input)

            let result = try ProbeCLIProcess.run(["run"] + testCase.arguments + ["--weights", "weights.safetensors",
                                                  "--input", "input.npy", "--output", "logits.npy"], in: directory.url)
            expectSuccess(result)
            let logits = try NPYFile.read(contentsOf: directory.file("logits.npy").path)
            #expect(logits.shape == expected.shape)
            let worst = zip(logits.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .nan
            #expect(worst <= 1e-5, "largest difference from the in-process logits: \(worst)")

            let unloaded = try ProbeCLIProcess.run(["run"] + testCase.arguments + ["--input", "input.npy",
                                                    "--output", "default.npy"], in: directory.url)
            expectSuccess(unloaded)
            let defaultLogits = try NPYFile.read(contentsOf: directory.file("default.npy").path)
            #expect(defaultLogits.scalars != logits.scalars, "--weights made no difference to the logits")
        }
    }

    /// `run --onnx` on the exported resnet18 fixture writes the logits ONNX Runtime gave for the
    /// same input (committed beside it), within 1e-4 of their scale.
    @Test func onnxModelRunsAsONNXRuntimeDoes() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["run", "--onnx", ONNXFixtures.path("resnet18.onnx"), "--input",
                                                  ONNXFixtures.path("resnet18.input.npy"), "--output", "logits.npy"], in: directory.url)
            expectSuccess(result)
            try ONNXFixtures.expectWrittenEqualsORT(directory.file("logits.npy").path, "resnet18.output.npy")
        }
    }
}

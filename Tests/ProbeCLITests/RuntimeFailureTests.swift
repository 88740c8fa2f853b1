import Foundation
import SPConvLab
import Testing

/// Well-formed flags that cannot work (impossible models, broken files, missing inputs) fail at run
/// time: exit code 1 and one `error:` line that names the value or file and what would be accepted.
@Suite("probe-cli runtime failures")
struct RuntimeFailureTests {
    private func expectRunFailure(_ arguments: [String], mentions: [String], prepare: (TemporaryDirectory) throws -> Void = { _ in },
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        try withTemporaryDirectory { directory in
            try prepare(directory)
            let result = try ProbeCLIProcess.run(arguments, in: directory.url, sourceLocation: sourceLocation)
            expectFailure(result, exitCode: 1, mentions: mentions, sourceLocation: sourceLocation)
        }
    }

    private static func copyHorse(to directory: TemporaryDirectory) throws {
        try FileManager.default.copyItem(at: repositoryFile("assets/images/horse.png"), to: directory.file("horse.png"))
    }

    private static func saveResNet20Weights(to directory: TemporaryDirectory, name: String = "resnet20.safetensors") throws {
        try Network(ModelSpec(.resnet20)).saveWeights(to: directory.file(name).path)
    }

    // MARK: Sizes beyond the memory budget

    @Test func aBatchBeyondTheMemoryBudgetIsRefusedBeforeAnythingIsAllocated() throws {
        try expectRunFailure(["bench", "--model", "resnet50", "--batch", "4096", "--max-memory", "8G"],
                             mentions: ["--batch 4096", "resnet50 vanilla inference at 224 x 224", "memory budget of 8.0 GB", "--max-memory 8G",
                                        "or less"])
        try expectRunFailure(["bench", "--model", "resnet20", "--batch", "1000000000"],
                             mentions: ["--batch 1000000000", "half of this machine's RAM"])
        try expectRunFailure(["train", "--model", "resnet20", "--epochs", "1", "--batch", "60000", "--max-memory", "1G"],
                             mentions: ["--batch 60000", "training resnet20 vanilla at 28 x 28"])
        try expectRunFailure(["similarity", "--model", "resnet50", "--input", "synthetic:2", "--layers", "conv1", "--batch", "100000",
                              "--out", "sim"], mentions: ["--batch 100000", "memory budget"])
    }

    @Test func aSweepWithAHugeBatchLeavesNoDatabase() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["sweep", "--model", "resnet20", "--batch", "9223372036854775807", "--db", "s.sqlite"],
                                                 in: directory.url)
            expectFailure(result, exitCode: 1, mentions: ["--batch 9223372036854775807", "memory budget"])
            #expect(!FileManager.default.fileExists(atPath: directory.file("s.sqlite").path))
        }
    }

    // MARK: Outputs that would replace something

    @Test func anOutputIsNeverOneOfTheInputsAndNeverReplacedWithoutForce() throws {
        try withTemporaryDirectory { directory in
            try Self.copyHorse(to: directory)
            let horse = directory.file("horse.png")
            let before = try Data(contentsOf: horse)
            // run --output onto its own --input: refused, the input untouched.
            let onto = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--input", "horse.png", "--output", "./horse.png"],
                                               in: directory.url)
            expectFailure(onto, exitCode: 64, mentions: ["--output './horse.png'", "same file as --input 'horse.png'"])
            #expect(try Data(contentsOf: horse) == before)
            // An existing --output needs --force.
            FileManager.default.createFile(atPath: directory.file("logits.npy").path, contents: Data("keep".utf8))
            let exists = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--input", "horse.png", "--output", "logits.npy"],
                                                 in: directory.url)
            expectFailure(exists, exitCode: 64, mentions: ["--output 'logits.npy' exists", "--force"])
            #expect(try Data(contentsOf: directory.file("logits.npy")) == Data("keep".utf8))
            expectSuccess(try ProbeCLIProcess.run(["run", "--model", "resnet20", "--input", "horse.png", "--output", "logits.npy", "--force"],
                                                  in: directory.url))
            #expect(try Data(contentsOf: directory.file("logits.npy")).prefix(6) == Data([0x93] + Array("NUMPY".utf8)))
            // grid --out onto its input, and merge into one of its inputs.
            let grid = try ProbeCLIProcess.run(["grid", "--model", "resnet20", "--input", "horse.png", "--layer", "conv1", "--out", "horse.png"],
                                               in: directory.url)
            expectFailure(grid, exitCode: 64, mentions: ["--out 'horse.png'", "same file as --input"])
            FileManager.default.createFile(atPath: directory.file("a.sqlite").path, contents: Data())
            let merge = try ProbeCLIProcess.run(["merge", "a.sqlite", "./a.sqlite"], in: directory.url)
            expectFailure(merge, exitCode: 64, mentions: ["OUT 'a.sqlite'", "merged into itself"])
            #expect(try Data(contentsOf: horse) == before)
        }
    }

    // MARK: Models that cannot be built

    @Test func impossibleSPConvSplitNamesTheLayerAndSuggestsFixes() throws {
        try expectRunFailure(["cost", "--model", "resnet20", "--variant", "spconv", "--ratio", "0.7", "--groups", "4"],
                             mentions: ["layer1.0.conv1", "0.7", "groups 4", "ratios", "work with"])
    }

    @Test func oddSizeAtAStride2SPConvIsRejected() throws {
        try expectRunFailure(["cost", "--model", "resnet20", "--variant", "spconv", "--input-size", "30"],
                             mentions: ["30x30", "stride 2", "multiple of 4"])
    }

    @Test func vgg16OnATooSmallInputIsRejected() throws {
        try expectRunFailure(["run", "--model", "vgg16", "--input-size", "28", "--input", "horse.png"],
                             mentions: ["vgg16", "28x28", "at least 32"], prepare: Self.copyHorse)
    }

    // MARK: Weights

    @Test func truncatedSafetensorsNamesTheFile() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--weights", "cut.safetensors", "--input", "horse.png"],
                             mentions: ["cut.safetensors", "truncated"]) { directory in
            try Self.copyHorse(to: directory)
            try Self.saveResNet20Weights(to: directory)
            let bytes = try Data(contentsOf: directory.file("resnet20.safetensors"))
            try bytes.prefix(bytes.count / 2).write(to: directory.file("cut.safetensors"))
        }
    }

    @Test func textFileNamedSafetensorsIsRejected() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--weights", "notes.safetensors", "--input", "horse.png"],
                             mentions: ["notes.safetensors", "safetensors"]) { directory in
            try Self.copyHorse(to: directory)
            try Data("These are not weights.\n".utf8).write(to: directory.file("notes.safetensors"))
        }
    }

    @Test func missingWeightsFileIsNamed() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--weights", "absent.safetensors", "--input", "horse.png"],
                             mentions: ["absent.safetensors"], prepare: Self.copyHorse)
    }

    @Test func weightsOfAnotherArchitectureListMissingKeys() throws {
        try expectRunFailure(["run", "--model", "resnet56", "--weights", "resnet20.safetensors", "--input", "horse.png"],
                             mentions: ["resnet20.safetensors", "resnet56", "missing", "layer1.3.conv1.weight"]) { directory in
            try Self.copyHorse(to: directory)
            try Self.saveResNet20Weights(to: directory)
        }
    }

    @Test func wrongShapedWeightsNameTheKey() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--in-channels", "1", "--weights", "resnet20.safetensors",
                              "--input", "horse.png"],
                             mentions: ["resnet20.safetensors", "mis-shaped", "conv1.weight", "[16, 3, 3, 3]", "[16, 1, 3, 3]"]) { directory in
            try Self.copyHorse(to: directory)
            try Self.saveResNet20Weights(to: directory)
        }
    }

    // MARK: Inputs

    @Test func truncatedPNGIsRejected() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--input", "cut.png"], mentions: ["cut.png", "truncated"]) { directory in
            let bytes = try Data(contentsOf: repositoryFile("assets/images/horse.png"))
            try bytes.prefix(300).write(to: directory.file("cut.png"))
        }
    }

    @Test func textFileNamedPNGIsRejected() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--input", "x.png"], mentions: ["x.png", "neither a PNG nor a JPEG"]) { directory in
            try Data("hello\n".utf8).write(to: directory.file("x.png"))
        }
    }

    @Test func emptyFolderIsRejected() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--input", "empty"], mentions: ["empty", "no image file"]) { directory in
            try FileManager.default.createDirectory(at: directory.file("empty"), withIntermediateDirectories: false)
        }
    }

    @Test func npyWithTheWrongChannelCountIsRejected() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--input", "gray.npy"],
                             mentions: ["gray.npy", "[2, 1, 32, 32]", "[N, 3, H, W]"]) { directory in
            try NPYFile.write(.zeros([2, 1, 32, 32]), to: directory.file("gray.npy").path)
        }
    }

    @Test func npyWithNaNIsRejected() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--input", "nan.npy"],
                             mentions: ["nan.npy", "non-finite", "index 5"]) { directory in
            var values = [Float](repeating: 0, count: 3 * 32 * 32)
            values[5] = .nan
            values[9] = .infinity
            try NPYFile.write(Tensor(shape: [1, 3, 32, 32], scalars: values), to: directory.file("nan.npy").path)
        }
    }

    @Test(arguments: ["missing.npy", "missing.png", "missing-folder"])
    func missingInputPathIsNamed(_ path: String) throws {
        try expectRunFailure(["run", "--model", "resnet20", "--input", path], mentions: [path])
    }

    @Test func unwritableOutputIsNamed() throws {
        try expectRunFailure(["run", "--model", "resnet20", "--input", "batch.npy", "--output", "no-such-folder/logits.npy"],
                             mentions: ["no-such-folder/logits.npy"]) { directory in
            try NPYFile.write(.zeros([1, 3, 32, 32]), to: directory.file("batch.npy").path)
        }
    }
}

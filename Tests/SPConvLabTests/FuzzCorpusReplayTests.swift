import Foundation
import Testing
@testable import SPConvLab

/// Every committed input of the fuzzing corpus (`Fuzz/Corpus/<target>/`: the seeds and every
/// input that once crashed) fed to the reader its libFuzzer target fuzzes, on every `swift test`:
/// each must decode or throw the module's error, never trap. The fuzzing itself is
/// docs/RELIABILITY.md; the database target's corpus is replayed by FeatureProbeTests.
@Suite("fuzz corpus replay")
struct FuzzCorpusReplayTests {
    /// `Fuzz/Corpus` of this checkout.
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus")

    /// The file names in `Fuzz/Corpus/<target>`, sorted.
    static func inputs(_ target: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(target).path)) ?? []).sorted()
    }

    static func bytes(_ target: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: corpus.appendingPathComponent(target).appendingPathComponent(name)))
    }

    /// Runs `body`, which must return or throw `SPConvLabError` of `kind`.
    static func expectReturnsOrThrows(_ kind: SPConvLabError.Kind, _ input: String,
                                      sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
        } catch let error as SPConvLabError {
            #expect(error.kind == kind, "\(input): \(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains(input), "the message does not name '\(input)': \(error.message)",
                    sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(input): threw \(type(of: error)), not SPConvLabError: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["safetensors", "npy", "png", "idx", "onnx", "database"])
    func everyTargetHasSeeds(target: String) {
        #expect(Self.inputs(target).count >= 5, "Fuzz/Corpus/\(target) is missing or nearly empty at \(Self.corpus.path)")
    }

    @Test(arguments: inputs("safetensors"))
    func safetensors(input: String) throws {
        let bytes = try Self.bytes("safetensors", input)
        Self.expectReturnsOrThrows(.invalidWeights, input) { _ = try Safetensors.decode(bytes, source: input) }
        _ = try? JSONValue.parse(bytes.dropFirst(8))
    }

    @Test(arguments: inputs("npy"))
    func npy(input: String) throws {
        let bytes = try Self.bytes("npy", input)
        Self.expectReturnsOrThrows(.invalidWeights, input) { _ = try NPYFile.decode(bytes, source: input) }
    }

    @Test(arguments: inputs("png"))
    func png(input: String) throws {
        let bytes = try Self.bytes("png", input)
        Self.expectReturnsOrThrows(.invalidInput, input) { _ = try PNGCodec.decode(bytes, source: input) }
    }

    @Test(arguments: inputs("idx"))
    func idx(input: String) throws {
        let bytes = try Self.bytes("idx", input)
        for kind in IDXFile.Kind.allCases {
            Self.expectReturnsOrThrows(.invalidInput, input) { _ = try IDXFile.decode(bytes, source: input, kind: kind) }
        }
        guard Gzip.hasMagic(bytes) else { return }
        Self.expectReturnsOrThrows(.invalidInput, input) { _ = try Gzip.decompress(bytes, source: input, maximumOutput: 1 << 24) }
        Self.expectReturnsOrThrows(.invalidInput, input) { _ = try Gzip.decompressPrefix(bytes, source: input, length: 16) }
    }

    /// ONNX inputs are read, checked and costed, or refused naming the input, as the harness does.
    @Test(arguments: inputs("onnx"))
    func onnx(input: String) throws {
        let bytes = try Self.bytes("onnx", input)
        Self.expectReturnsOrThrows(.invalidWeights, input) {
            let model = try ONNXModel(serialized: Data(bytes), source: input)
            _ = try model.cost()
        }
    }
}


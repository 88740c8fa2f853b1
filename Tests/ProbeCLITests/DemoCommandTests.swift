import Foundation
import Testing

/// `probe-cli demo`: resnet20 vanilla against SPConv on the bundled images.
@Suite("probe-cli demo")
struct DemoCommandTests {
    @Test func comparesVanillaAndSPConvResNet20() throws {
        // The demo switches to the shipped 1-channel Fashion-MNIST checkpoints when they exist.
        let trained = FileManager.default.fileExists(
            atPath: repositoryFile("notebooks-data/models/resnet20_vanilla.safetensors").path)
        let (vanillaParams, spconvParams) = trained ? ("272,186", "104,794") : ("272,474", "105,082")
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["demo"], in: directory.url)
            expectSuccess(result)
            let lines = result.outputLines
            let vanilla = try #require(lines.firstIndex { $0.contains("resnet20 vanilla") }, "\(result)")
            let spconv = try #require(lines.firstIndex { $0.hasPrefix("==") && $0.contains("spconv") }, "\(result)")
            #expect(vanilla < spconv)
            #expect(lines[vanilla + 1].contains("params \(vanillaParams)"), "\(result)")
            #expect(lines[spconv + 1].contains("params \(spconvParams)"), "\(result)")
            for name in RunCommandTests.bundledImages {
                #expect(lines.filter { $0.contains("\(name): ") }.count == 2, "\(name) once per model: \(result)")
            }
        }
    }
}

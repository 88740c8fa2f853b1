import Foundation
import SPConvLab
import Testing

/// `probe-cli train` end to end on a few Fashion-MNIST images: the files it writes, a run killed
/// with SIGKILL and resumed, and the runtime errors of --resume.
@Suite(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
struct TrainCommandTests {
    /// A quick run: 64 training images in batches of 16, 32 test images, one thread (bit-exact).
    static func arguments(_ output: String, epochs: Int = 3, extra: [String] = []) -> [String] {
        ["train", "--model", "resnet20", "--variant", "spconv", "--epochs", String(epochs), "--limit", "64", "--batch", "16",
         "--test-limit", "32", "--threads", "1", "--seed", "4", "--output", output] + extra
    }

    static func sidecar(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    @Test func writesACheckpointTheOptimizerStateAndASidecar() throws {
        try withTemporaryDirectory { directory in
            let output = directory.file("m.safetensors").path
            let result = try ProbeCLIProcess.run(Self.arguments(output, epochs: 1), in: directory.url, timeout: 120)
            expectSuccess(result)
            #expect(result.stdout.contains("final test accuracy"))
            let weights = try Safetensors.read(contentsOf: output)
            #expect(weights["layer1.0.conv1.gwc.weight"]?.shape == [16, 4, 3, 3])
            #expect(weights["bn1.running_var"] != nil)
            let state = try Safetensors.read(contentsOf: directory.file("m.optim.safetensors").path)
            #expect(state.metadata["epoch"] == "1")
            #expect(state["fc.weight"]?.shape == [10, 64], "a momentum buffer per parameter, by its state_dict name")
            let json = try Self.sidecar(directory.file("m.json").path)
            #expect(json["model"] as? String == "resnet20" && json["variant"] as? String == "spconv")
            #expect(json["ratio"] as? Double == 0.5 && json["groups"] as? Int == 2 && json["in_channels"] as? Int == 1)
            #expect(json["epochs"] as? Int == 1 && json["seed"] as? Int == 4 && json["finished"] as? Bool == true)
            let normalization = try #require(json["normalization"] as? [String: [Double]])
            #expect(normalization["mean"]?.map { ($0 * 1e4).rounded() } == [2860] && normalization["std"]?.map { ($0 * 1e4).rounded() } == [3530])
            let accuracy = try #require(json["final_test_accuracy"] as? Double)
            #expect((0...1).contains(accuracy) && json["best_test_accuracy"] as? Double ?? -1 >= accuracy)
            #expect((json["history"] as? [Any])?.count == 1 && (json["wall_seconds"] as? Double ?? -1) > 0)
            #expect((json["command"] as? [String])?.contains("--seed") == true)
        }
    }

    @Test func aRunKilledWithSIGKILLResumesToTheSameWeights() throws {
        try withTemporaryDirectory { directory in
            let whole = directory.file("whole.safetensors").path
            expectSuccess(try ProbeCLIProcess.run(Self.arguments(whole), in: directory.url, timeout: 180))

            let killed = directory.file("killed.safetensors").path
            let process = Process()
            process.executableURL = try #require(ProbeCLIProcess.executableURL)
            process.arguments = Self.arguments(killed)
            process.currentDirectoryURL = directory.url
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill it once the first epoch's checkpoint is complete (its sidecar is written last).
            let deadline = Date().addingTimeInterval(120)
            let sidecar = directory.file("killed.json").path
            while Date() < deadline && process.isRunning && (try? Self.sidecar(sidecar))?["completed_epochs"] as? Int ?? 0 < 1 {
                Thread.sleep(forTimeInterval: 0.01)
            }
            #expect(process.isRunning, "the run should still be training when it is killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let completed = try Self.sidecar(sidecar)["completed_epochs"] as? Int ?? 0
            #expect((1...2).contains(completed))

            let resumed = try ProbeCLIProcess.run(Self.arguments(killed, extra: ["--resume"]), in: directory.url, timeout: 180)
            expectSuccess(resumed)
            #expect(resumed.stderr.contains("resuming"))
            let (a, b) = (try Safetensors.read(contentsOf: whole), try Safetensors.read(contentsOf: killed))
            #expect(a.names == b.names)
            for name in a.names { #expect(a[name]!.scalars == b[name]!.scalars, "\(name) differs from the uninterrupted run") }
            let (sa, sb) = (try Self.sidecar(directory.file("whole.json").path), try Self.sidecar(sidecar))
            #expect(sa["final_test_accuracy"] as? Double == sb["final_test_accuracy"] as? Double)
            #expect(sb["completed_epochs"] as? Int == 3 && sb["finished"] as? Bool == true)
        }
    }

    @Test func resumingAnotherArchitectureOrAMissingRunFails() throws {
        try withTemporaryDirectory { directory in
            let output = directory.file("m.safetensors").path
            expectSuccess(try ProbeCLIProcess.run(Self.arguments(output, epochs: 1), in: directory.url, timeout: 120))
            let other = try ProbeCLIProcess.run(["train", "--model", "resnet56", "--epochs", "2", "--limit", "64", "--batch", "16",
                                                 "--test-limit", "32", "--seed", "4", "--output", output, "--resume"],
                                                in: directory.url, timeout: 120)
            expectFailure(other, exitCode: 1, mentions: [output, "resnet56", "do not fit"])
            let missing = try ProbeCLIProcess.run(Self.arguments(directory.file("none.safetensors").path, extra: ["--resume"]),
                                                  in: directory.url, timeout: 60)
            expectFailure(missing, exitCode: 1, mentions: ["none.safetensors", "does not exist"])
            let noFolder = try ProbeCLIProcess.run(Self.arguments(directory.file("no/such/m.safetensors").path),
                                                   in: directory.url, timeout: 60)
            expectFailure(noFolder, exitCode: 1, mentions: ["no/such", "does not exist"])
        }
    }

    @Test func aBadDataFileIsNamed() throws {
        try withTemporaryDirectory { directory in
            // An image file whose header says it holds labels (magic 0x801), and a short label file.
            var header = Data([0, 0, 8, 1, 0, 0, 0, 2])
            header.append(Data(count: 8))
            try header.write(to: directory.file("train-images-idx3-ubyte"))
            try Data([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]).write(to: directory.file("train-labels-idx1-ubyte"))
            let result = try ProbeCLIProcess.run(["train", "--model", "resnet20", "--epochs", "1", "--data-dir", directory.url.path],
                                                 in: directory.url)
            expectFailure(result, exitCode: 1, mentions: ["train-images-idx3-ubyte", "magic number"])
        }
    }

    /// The same quick run, filed in a store instead of an --output file.
    static func storeArguments(_ store: String, epochs: Int = 3) -> [String] {
        ["train", "--model", "resnet20", "--variant", "spconv", "--epochs", String(epochs), "--limit", "64", "--batch", "16",
         "--test-limit", "32", "--threads", "1", "--seed", "4", "--store", store]
    }

    @Test func aStoreRunResumesByItselfAndIsReusedOnceFinished() throws {
        try withTemporaryDirectory { directory in
            let whole = directory.file("whole.safetensors").path
            expectSuccess(try ProbeCLIProcess.run(Self.arguments(whole), in: directory.url, timeout: 180))

            let process = Process()
            process.executableURL = try #require(ProbeCLIProcess.executableURL)
            process.arguments = Self.storeArguments("store")
            process.currentDirectoryURL = directory.url
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(300)
            func sidecar() -> String? {
                (try? FileManager.default.contentsOfDirectory(atPath: directory.file("store").path))?
                    .first { $0.hasSuffix(".json") }.map { directory.file("store/\($0)").path }
            }
            while Date() < deadline && process.isRunning && (sidecar().flatMap { try? Self.sidecar($0) })?["completed_epochs"] as? Int ?? 0 < 1 {
                Thread.sleep(forTimeInterval: 0.01)
            }
            #expect(process.isRunning, "the run should still be training when it is killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let path = try #require(sidecar(), "the first epoch's checkpoint was written before the kill")
            #expect(URL(fileURLWithPath: path).lastPathComponent.hasPrefix("resnet20_spconv_r0.5_g2_s4_"))

            // The same command, without --resume, continues the run.
            let resumed = try ProbeCLIProcess.run(Self.storeArguments("store"), in: directory.url, timeout: 180)
            expectSuccess(resumed)
            #expect(resumed.stderr.contains("resuming") && resumed.stderr.contains("after epoch"), "\(resumed.stderr)")
            let stored = String(path.dropLast(".json".count)) + ".safetensors"
            let (a, b) = (try Safetensors.read(contentsOf: whole), try Safetensors.read(contentsOf: stored))
            for name in a.names { #expect(a[name]!.scalars == b[name]!.scalars, "\(name) differs from the uninterrupted run") }
            #expect(b.metadata["architecture"] == "resnet20" && b.metadata["variant"] == "spconv" && b.metadata["in_channels"] == "1",
                    "the checkpoint names its network")
            #expect(!FileManager.default.fileExists(atPath: String(path.dropLast(".json".count)) + ".optim.safetensors"))
            let json = try Self.sidecar(path)
            #expect(json["finished"] as? Bool == true && json["store_key"] as? String != nil)

            // Once finished, the same command trains nothing.
            let again = try ProbeCLIProcess.run(Self.storeArguments("store"), in: directory.url, timeout: 60)
            expectSuccess(again)
            #expect(again.stderr.contains("nothing to train"))
            let list = try ProbeCLIProcess.run(["store", "list", "--store", "store", "--format", "csv"], in: directory.url)
            expectSuccess(list)
            let rows = list.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(rows.count == 2 && rows[1].hasPrefix("resnet20,spconv,0.5,2,4,3,3,"), "\(list.stdout)")
        }
    }

    @Test func shapesTheDatasetCannotGiveAreRefused() throws {
        try withTemporaryDirectory { directory in
            let channels = try ProbeCLIProcess.run(["train", "--model", "resnet20", "--epochs", "1", "--in-channels", "3"], in: directory.url)
            expectFailure(channels, exitCode: 64, mentions: ["--in-channels 3", "1 channel"])
            let size = try ProbeCLIProcess.run(["train", "--model", "resnet20", "--epochs", "1", "--input-size", "32"], in: directory.url)
            expectFailure(size, exitCode: 64, mentions: ["--input-size 32", "28x28"])
            let weights = try ProbeCLIProcess.run(["train", "--model", "resnet20", "--epochs", "1", "--weights", "w.safetensors"], in: directory.url)
            expectFailure(weights, exitCode: 64, mentions: ["--weights", "--output"])
        }
    }
}

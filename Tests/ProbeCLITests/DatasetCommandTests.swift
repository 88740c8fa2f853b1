import Foundation
import SPConvLab
import Testing

/// The datasets and ImageFolder trees through the command line: accuracy from a tree's labels,
/// training on idx: and cifar10: folders in their real formats (tools/make_dataset_fixtures.py).
@Suite("probe-cli datasets")
struct DatasetCommandTests {
    static func fixture(_ name: String) -> String { repositoryFile("Tests/SPConvLabTests/Fixtures/datasets/\(name)").path }

    @Test func runOnAnImageFolderTreeReportsAccuracyAgainstItsLabels() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--classes", "3", "--input", Self.fixture("tree"),
                                                  "--top", "1", "--output", "logits.npy"], in: directory.url)
            expectSuccess(result)
            let lines = result.outputLines
            #expect(lines.count == 9, "\(result)")
            #expect(lines.first?.hasPrefix("bird/.hidden.png: ") == true && lines.first?.hasSuffix("(true: bird)") == true)
            // The accuracy line agrees with the per-image lines and with the logits written.
            let logits = try NPYFile.read(contentsOf: directory.file("logits.npy").path)
            let truth = [0, 0, 0, 1, 1, 1, 2, 2]
            let correct = truth.indices.filter { row in
                let values = Array(logits.scalars[(row * 3)..<(row * 3 + 3)])
                return values.firstIndex(of: values.max()!) == truth[row]
            }.count
            #expect(lines.last == String(format: "accuracy: top-1 %.2f%% (%d of 8)", 100 * Double(correct) / 8, correct))
            let tooFew = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--classes", "2", "--input", Self.fixture("tree")], in: directory.url)
            expectFailure(tooFew, exitCode: 1, mentions: ["3 classes", "--classes 3"])
        }
    }

    @Test func trainReadsIDXAndCIFARFoldersAndRecordsTheDataset() throws {
        try withTemporaryDirectory { directory in
            let idx = try ProbeCLIProcess.run(["train", "--model", "resnet20", "--dataset", "idx:" + Self.fixture("idx"), "--epochs", "1",
                                               "--batch", "3", "--threads", "1", "--output", "idx.safetensors"], in: directory.url, timeout: 120)
            expectSuccess(idx)
            let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.file("idx.json"))) as? [String: Any]
            #expect((sidecar?["dataset"] as? String) == "idx:" + Self.fixture("idx"))
            #expect(idx.stderr.contains("on 6 images"), "\(idx)")
            let cifar = try ProbeCLIProcess.run(["train", "--model", "resnet20", "--dataset", "cifar10:" + Self.fixture("cifar10"), "--epochs", "1",
                                                 "--batch", "5", "--threads", "1", "--output", "c.safetensors"], in: directory.url, timeout: 120)
            expectSuccess(cifar)
            let network = try Network(ModelSpec(.resnet20))
            try network.loadWeights(contentsOf: directory.file("c.safetensors").path)
            let wrong = try ProbeCLIProcess.run(["train", "--model", "resnet20", "--dataset", "cifar10:" + Self.fixture("cifar10"), "--in-channels", "1",
                                                 "--epochs", "1"], in: directory.url)
            expectFailure(wrong, exitCode: 64, mentions: ["--in-channels 1", "3 channels"])
        }
    }

    @Test func aSweepOfCheckpointsOnLabelledImagesStoresTheirAccuracy() throws {
        try withTemporaryDirectory { directory in
            let folder = directory.file("weights")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var spec = ModelSpec(.resnet20, classes: 3)
            spec.inputSize = 32
            try Network(spec, seed: 5).saveWeights(to: folder.appendingPathComponent("resnet20_vanilla.safetensors").path)
            let run = try ProbeCLIProcess.run(["run", "--model", "resnet20", "--classes", "3", "--weights", "weights/resnet20_vanilla.safetensors",
                                               "--input", Self.fixture("tree")], in: directory.url)
            expectSuccess(run)
            let sweep = try ProbeCLIProcess.run(["sweep", "--model", "resnet20", "--classes", "3", "--ratios", "1/2", "--groups", "2",
                                                 "--weights-dir", "weights", "--input", Self.fixture("tree"), "--layers", "layer3.2",
                                                 "--batch", "4", "--db", "s.sqlite"], in: directory.url, timeout: 240)
            expectSuccess(sweep)
            let rows = try ProbeCLIProcess.run(["query", "--db", "s.sqlite", "--format", "csv",
                                                "SELECT variant, weights_source, accuracy FROM runs ORDER BY id"], in: directory.url)
            let lines = rows.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            // The file's accuracy is run's top-1 on the same 8 labelled images; random weights get none.
            let correct = Int(run.outputLines.last?.split(separator: "(").last?.split(separator: " ").first ?? "") ?? -1
            #expect(lines.count == 3 && lines[2] == "spconv,random,", "\(rows)")
            #expect(lines.count == 3 && lines[1].hasPrefix("vanilla,file,") && abs((Double(lines[1].split(separator: ",")[2]) ?? -1) - Double(correct) / 8) < 1e-9,
                    "\(rows) \(run)")
        }
    }
}

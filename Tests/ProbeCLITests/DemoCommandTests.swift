import FeatureProbe
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SPConvLab
import Testing

/// `probe-cli demo`, the README's first command: trained resnet20 networks from the checkpoint
/// store compared in SQLite and a report, and `demo --random`, the untrained comparison.
@Suite("probe-cli demo")
struct DemoCommandTests {
    static func runs(_ database: String) throws -> [RunRecord] {
        let store = try ExperimentDatabase(path: database, mode: .readOnly)
        return try store.sweeps().flatMap { try store.runs(sweepID: $0.id) }
    }

    /// The finished sidecars of the shipped store that belong to the demo's grid, read with
    /// JSONSerialization (not the store's own reader): store key -> final test accuracy.
    static func shippedGrid() throws -> [String: Double] {
        let folder = ProbeCLIProcess.packageRoot.appendingPathComponent("notebooks-data/models")
        var grid: [String: Double] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".json") {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(name))) as? [String: Any])
            let ratio = json["ratio"] as? Double, groups = json["groups"] as? Int
            let inGrid = json["model"] as? String == "resnet20" && json["epochs"] as? Int == 15 && json["finished"] as? Bool == true
                && [0, 1].contains(json["seed"] as? Int ?? -1) && json["in_channels"] as? Int == 1 && json["train_images"] as? Int == 60000
                && json["test_images"] as? Int == 10000 && json["batch"] as? Int == 128 && json["label_smoothing"] as? Double == 0
                && (ratio == nil || ([0.25, 0.5, 0.75].contains(ratio!) && [1, 2].contains(groups ?? 0)))
            if inGrid, let key = json["store_key"] as? String { grid[key] = json["final_test_accuracy"] as? Double }
        }
        return grid
    }

    @Test(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
    func showsTheTrainedNetworksOfTheStoreWithTheirProvenance() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["demo", "--out", "demo"], in: directory.url, timeout: 300)
            expectSuccess(result)
            let runs = try Self.runs(directory.file("demo/demo.sqlite").path)
            let grid = try Self.shippedGrid()
            #expect(!grid.isEmpty, "the repository ships trained checkpoints of the demo's grid")
            #expect(runs.count == grid.count, "one run per finished checkpoint of the grid")
            for run in runs {
                #expect(run.status == .done && run.weightsSource == .trained && run.trainEpochs == 15, "\(run)")
                let key = try #require(run.storeKey)
                #expect(run.accuracy == grid[key], "run \(run.id) reports its checkpoint's accuracy")
                #expect(run.checkpointSHA256?.count == 64)
            }
            #expect(result.stdout.contains("accuracy_mean") && result.stdout.contains("Report:"))
            let csv = try String(contentsOf: directory.file("demo/report/runs.csv"), encoding: .utf8)
            let lines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            let column = try #require(lines[0].split(separator: ",").firstIndex(of: "weights_source"))
            #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false)[column] == "trained" })
            let html = try String(contentsOf: directory.file("demo/report/index.html"), encoding: .utf8)
            #expect(html.contains("trained on Fashion-MNIST") && !html.contains("[random]"))
            for file in SweepReport.referencedFiles(in: html) {
                #expect(FileManager.default.fileExists(atPath: directory.file("demo/report/\(file)").path), "\(file)")
            }
            if grid.count < 14 { #expect(result.stderr.contains("the store lacks \(14 - grid.count)")) }
            try Self.expectEveryFigureTypeInEveryFormat(directory.file("demo/report"))
        }
    }

    /// Charts, heatmaps, grids and pair sheets each exist as PNG, SVG and PDF: the PNG with its
    /// signature, the SVG well-formed XML, the PDF with its header and end marker.
    static func expectEveryFigureTypeInEveryFormat(_ report: URL) throws {
        let stems = ["accuracy_vs_macs", "redundancy_per_layer", "learning_curve_loss",
                     "figures/resnet20-vanilla-trained-s0/layer3.2.cosine", "figures/resnet20-vanilla-trained-s0/layer3.2.grid",
                     "figures/resnet20-vanilla-trained-s0/layer3.2.pairs"]
        let heatmaps = try FileManager.default.contentsOfDirectory(atPath: report.appendingPathComponent("heatmaps").path)
        let heatmap = try #require(heatmaps.first { $0.hasSuffix(".png") }).dropLast(4)
        for stem in stems + ["heatmaps/\(heatmap)"] {
            let png = try Data(contentsOf: report.appendingPathComponent("\(stem).png"))
            #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "\(stem).png")
            let svg = try Data(contentsOf: report.appendingPathComponent("\(stem).svg"))
            #expect(XMLParser(data: svg).parse(), "\(stem).svg is not well-formed XML")
            let pdf = try Data(contentsOf: report.appendingPathComponent("\(stem).pdf"))
            #expect(pdf.prefix(5) == Data("%PDF-".utf8) && String(decoding: pdf.suffix(8), as: UTF8.self).contains("%%EOF"), "\(stem).pdf")
        }
    }

    @Test(.enabled(if: FashionMNIST.isInstalled, "needs Debian's dataset-fashion-mnist package"))
    func anEmptyStoreIsNamedWithTheCommandThatFillsIt() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(at: directory.file("empty"), withIntermediateDirectories: false)
            let result = try ProbeCLIProcess.run(["demo", "--out", "demo", "--store", "empty"], in: directory.url, timeout: 120)
            expectFailure(result, exitCode: 1, mentions: ["empty", "none of the demo's trained networks", "--train-epochs 15 --seeds 0,1",
                                                          "demo --random"])
        }
    }

    @Test func randomSweepsTheUntrainedGridAndSaysSo() throws {
        try withTemporaryDirectory { directory in
            let result = try ProbeCLIProcess.run(["demo", "--random", "--out", "demo", "--formats", "png"], in: directory.url, timeout: 300)
            expectSuccess(result)
            let database = directory.file("demo/demo.sqlite").path
            let runs = try Self.runs(database)
            // Vanilla plus ratios 1/4, 1/2, 3/4 x groups 1, 2.
            #expect(runs.count == 7)
            #expect(runs.filter { $0.variant == "vanilla" }.count == 1)
            #expect(runs.allSatisfy { $0.status == .done && $0.weightsSource == .random && $0.weightsSeed == 0 && $0.accuracy == nil },
                    "\(runs.map { "\($0.status) \($0.reason ?? "")" })")
            #expect(Set(runs.compactMap(\.ratio)) == [0.25, 0.5, 0.75] && Set(runs.compactMap(\.groups)) == [1, 2])
            let store = try ExperimentDatabase(path: database, mode: .readOnly)
            #expect(try store.layerMetrics(runID: runs[0].id).count == 9, "the nine residual blocks")
            let html = try String(contentsOf: directory.file("demo/report/index.html"), encoding: .utf8)
            #expect(html.contains("untrained, random weights"))
            // A second demo starts afresh rather than piling runs into the old database.
            expectSuccess(try ProbeCLIProcess.run(["demo", "--random", "--out", "demo", "--formats", "png"], in: directory.url, timeout: 300))
            #expect(try Self.runs(database).count == 7)
        }
    }
}

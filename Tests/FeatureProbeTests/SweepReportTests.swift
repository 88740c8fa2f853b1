import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct SweepReportTests {
    static func run(_ id: Int64, ratio: Double?, groups: Int?, status: RunStatus = .done, reason: String? = nil,
                    accuracy: Double? = nil) -> RunRecord {
        let vanilla = ratio == nil
        // MACs fall with the ratio and with more groups; latency follows loosely.
        let macs = vanilla ? 1_820_000_000 : Int(1_820_000_000 * (0.45 + 0.5 * ratio! / Double(groups!).squareRoot()))
        return RunRecord(id: id, sweepID: 1, model: "resnet18", variant: vanilla ? "vanilla" : "spconv", ratio: ratio,
                         groups: groups, inChannels: 3, classes: 10, inputSize: 32, weightsPath: nil, weightsSHA256: nil,
                         dataset: "synthetic:64", images: 64, status: status, reason: reason,
                         params: status == .done ? macs / 160 : nil, macs: status == .done ? macs : nil,
                         flops: status == .done ? 2 * macs : nil,
                         latencyMS: status == .done ? Double(macs) / 1e8 + Double(id) * 0.1 : nil,
                         batch: 8, threads: 4, accuracy: accuracy, startedAt: "2025-01-01T00:00:00Z",
                         finishedAt: "2025-01-01T00:01:00Z", toolVersion: "0.1.0", gitCommit: "abc123", host: "test")
    }

    /// Vanilla plus ratios 1/4, 1/2, 3/4 x groups 1, 2, 4; one skipped with a reason.
    static func runs(accuracy: Bool = false) -> [RunRecord] {
        var runs = [run(1, ratio: nil, groups: nil, accuracy: accuracy ? 0.93 : nil)]
        var id: Int64 = 2
        for groups in [1, 2, 4] {
            for ratio in [0.25, 0.5, 0.75] {
                let skipped = groups == 4 && ratio == 0.75
                runs.append(run(id, ratio: ratio, groups: groups, status: skipped ? .skipped : .done,
                                reason: skipped ? "<script>alert(\"x\")</script> & 3 channels don't split into 4 groups" : nil,
                                accuracy: accuracy && !skipped ? 0.80 + 0.1 * ratio - 0.01 * Double(groups) : nil))
                id += 1
            }
        }
        return runs
    }

    static let layers = ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "layer2.0.conv2", "fc"]

    static func layerMetrics() -> [LayerMetricRecord] {
        var records: [LayerMetricRecord] = []
        for runID: Int64 in [1, 2, 6] {
            for (index, layer) in layers.enumerated() {
                for metric in ["pearson", "cosine"] {
                    records.append(LayerMetricRecord(runID: runID, layer: layer, channels: 16, images: 64, metric: metric,
                                                     meanAbsOffDiagonal: 0.5 - 0.04 * Double(index) - 0.02 * Double(runID),
                                                     fractionAboveThreshold: 0.1, threshold: 0.9, duplicates: 1, dead: 0,
                                                     clusters: 12, effectiveRank: 10.5, suggestedRatio: 0.5))
                }
            }
        }
        return records
    }

    static func similarity() -> [SimilarityRecord] {
        let channels = 8
        let values = (0..<channels * channels).map { i in i / channels == i % channels ? Float(1) : Float((i * 7) % 10) / 10 }
        return [SimilarityRecord(runID: 1, layer: "layer1.0.conv1", metric: "cosine", channels: channels, values: values),
                SimilarityRecord(runID: 6, layer: "layer1.0.conv1", metric: "cosine", channels: channels, values: values)]
    }

    static func report(accuracy: Bool = false) throws -> [(name: String, bytes: [UInt8])] {
        try SweepReport.files(runs: runs(accuracy: accuracy), layerMetrics: layerMetrics(), similarity: similarity(),
                              title: "resnet18 sweep <test>", generatedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    static func text(_ files: [(name: String, bytes: [UInt8])], _ name: String) -> String {
        String(decoding: files.first { $0.name == name }!.bytes, as: UTF8.self)
    }

    @Test func fileList() throws {
        let files = try Self.report()
        #expect(files.map(\.name) == ["runs.csv", "configurations.csv", "layer_metrics.csv", "macs_vs_ratio.png", "latency_vs_ratio.png",
                                      "latency_vs_macs.png", "redundancy_per_layer.png", "heatmaps/run1.layer1.0.conv1.cosine.png",
                                      "heatmaps/run6.layer1.0.conv1.cosine.png", "report.js", "index.html"])
        for file in files where file.name.hasSuffix(".png") {
            let image = try PNGCodec.decode(file.bytes)
            #expect(image.width >= 400 && image.height >= 300)
        }
    }

    @Test func csvRowCounts() throws {
        let files = try Self.report()
        let runs = Self.text(files, "runs.csv").components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(runs.count == 1 + 10)
        #expect(runs[0] == SweepReport.runsHeader.joined(separator: ","))
        #expect(SweepReport.runsHeader.count == Mirror(reflecting: Self.runs()[0]).children.count)
        #expect(runs[2].hasPrefix("2,1,resnet18,spconv,0.25,1,3,10,32,,,synthetic:64,64,done,,"))
        // The skipped run's reason is quoted (it holds a comma-free quote) and its measurements are empty.
        #expect(runs[10].contains("skipped,\"<script>alert(\"\"x\"\")</script> & 3 channels don't split into 4 groups\",,,,"))
        let metrics = Self.text(files, "layer_metrics.csv").components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(metrics.count == 1 + 3 * 6 * 2)
        #expect(metrics[1] == "1,conv1,16,64,pearson,0.48,0.1,0.9,1,0,12,10.5,0.5")
    }

    @Test func htmlReferencesOnlyListedFiles() throws {
        let files = try Self.report()
        let html = Self.text(files, "index.html")
        let names = Set(files.map(\.name))
        let referenced = SweepReport.referencedFiles(in: html)
        #expect(!referenced.isEmpty)
        for target in referenced { #expect(names.contains(target), "index.html points at '\(target)', which is not written") }
        for name in files.map(\.name) where name.hasSuffix(".png") {
            #expect(referenced.contains(name), "\(name) is written but not shown")
        }
        #expect(!html.contains("http://") && !html.contains("https://"))
        // The only scripts: the embedded data and report.js beside the page.
        #expect(html.components(separatedBy: "<script").count == 3)
        #expect(html.contains("<script type=\"application/json\" id=\"report-data\">") && html.contains("<script src=\"report.js\"></script>"))
        #expect(html.contains("<h3>Run 1: resnet18 vanilla (random)</h3>") && html.contains("<h3>Run 6: resnet18 spconv r=0.5 g=2 (random)</h3>"))
    }

    @Test func htmlEscapesReasonsAndTitle() throws {
        let html = Self.text(try Self.report(), "index.html")
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 3 channels don&#39;t split into 4 groups"))
        #expect(html.contains("<title>resnet18 sweep &lt;test&gt;</title>"))
        #expect(html.contains("Generated 2023-11-14 22:13:20 UTC."))
        #expect(SweepReport.referencedFiles(in: "<a href=\"a&amp;b.png\">") == ["a&b.png"])
    }

    @Test func accuracyChartOnlyWithAccuracy() throws {
        let without = try Self.report(accuracy: false)
        #expect(!without.contains { $0.name == "accuracy_vs_macs.png" })
        #expect(Self.text(without, "index.html").contains("No accuracy recorded: train with --train-epochs"))
        let with = try Self.report(accuracy: true)
        #expect(with.contains { $0.name == "accuracy_vs_macs.png" } && with.contains { $0.name == "accuracy_vs_params.png" })
        let html = Self.text(with, "index.html")
        #expect(html.contains("<img src=\"accuracy_vs_macs.png\"") && html.contains("<img src=\"accuracy_vs_params.png\"")
                && !html.contains("No accuracy recorded"))
    }

    @Test func redundancyUsesCosineAndMergesLayerOrder() {
        let labels = SweepReport.RunLabels(runs: Self.runs())
        let summaries = ConfigurationSummary.group(Self.runs(), layerMetrics: Self.layerMetrics())
        let figures = SweepReport.redundancyFigures(summaries: summaries, labels: labels)
        #expect(figures.map(\.name) == ["redundancy_per_layer"], "one source of weights: one panel")
        guard case .chart(let chart) = figures[0].content else { Issue.record("expected a chart"); return }
        #expect(chart.categories == Self.layers)
        #expect(chart.series.map(\.name) == ["vanilla", "r=0.25 g=1", "r=0.5 g=2"])
        // Run 2's conv1 under cosine: 0.5 - 0.04 * 0 - 0.02 * 2.
        #expect(abs(chart.series[1].points[0].y - 0.46) < 1e-12)
        #expect(chart.title.contains("cosine"))
        #expect(SweepReport.mergedLayerOrder([["a", "b", "d"], ["a", "b", "c", "d", "e"], ["x", "a"]])
                == ["x", "a", "b", "c", "d", "e"])
    }

    @Test func badSimilarityRecordThrows() {
        let bad = SimilarityRecord(runID: 1, layer: "fc", metric: "cosine", channels: 3, values: [1, 2])
        #expect(throws: FeatureProbeError.self) {
            try SweepReport.files(runs: [], layerMetrics: [], similarity: [bad], title: "t")
        }
    }

    @Test func emptyReportStillHasPage() throws {
        let files = try SweepReport.files(runs: [], layerMetrics: [], similarity: [], title: "empty")
        #expect(files.map(\.name) == ["runs.csv", "configurations.csv", "layer_metrics.csv", "report.js", "index.html"])
        let html = Self.text(files, "index.html")
        for target in SweepReport.referencedFiles(in: html) { #expect(files.map(\.name).contains(target)) }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/chromium")),
          .timeLimit(.minutes(2)))
    func rendersInHeadlessBrowser() throws {
        let folder = ProcessInfo.processInfo.environment["SWEEP_REPORT_KEEP"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sweep-report-\(UUID().uuidString)").path
        defer { if ProcessInfo.processInfo.environment["SWEEP_REPORT_KEEP"] == nil { try? FileManager.default.removeItem(atPath: folder) } }
        try SweepReport.write(try Self.report(accuracy: true), into: folder)
        let shot = URL(fileURLWithPath: folder).appendingPathComponent("shot.png").path
        try? FileManager.default.removeItem(atPath: shot)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["60", "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                             "--screenshot=\(shot)", "--window-size=1280,2000", "file://\(folder)/index.html"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: shot))
        let image = try PNGCodec.decode(try FileBytes.read(contentsOf: shot))
        #expect(image.width == 1280 && image.height == 2000)
    }

    // MARK: - Seeds and provenance

    /// Trained runs: vanilla with seeds 0 and 1 (accuracy 0.93, 0.95), SPConv r=0.5 g=2 with seeds 0
    /// and 1 (0.90, 0.91) and r=0.25 g=2 with seed 0 only (0.88).
    static func trainedRuns() -> [RunRecord] {
        let cells: [(Int64, Double?, UInt64, Double)] = [(1, nil, 0, 0.93), (2, nil, 1, 0.95), (3, 0.5, 0, 0.90), (4, 0.5, 1, 0.91),
                                                         (5, 0.25, 0, 0.88)]
        return cells.map { id, ratio, seed, accuracy in
            var r = run(id, ratio: ratio, groups: ratio == nil ? nil : 2, accuracy: accuracy)
            r.trainEpochs = 15
            r.trainSeed = seed
            r.weightsSource = .trained
            r.weightsSeed = seed
            r.storeKey = "key\(id)"
            return r
        }
    }

    @Test func configurationsAreSummarisedOverSeeds() throws {
        let metrics = Self.layerMetrics().filter { $0.runID <= 2 }  // runs 1 and 2: vanilla seeds 0 and 1
        let summaries = ConfigurationSummary.group(Self.trainedRuns(), layerMetrics: metrics)
        #expect(summaries.map(\.runIDs) == [[1, 2], [3, 4], [5]])
        // Hand-worked: mean (0.93 + 0.95) / 2 = 0.94; sample std sqrt(2 * 0.01^2 / 1) = 0.0141421356.
        let vanilla = try #require(summaries[0].accuracy)
        #expect(abs(vanilla.mean - 0.94) < 1e-12 && abs(vanilla.std! - 0.0141421356237) < 1e-10 && vanilla.count == 2)
        #expect(summaries[2].accuracy?.std == nil, "one seed has no spread")
        // Mean redundancy of run 1 under cosine: 0.5 - 0.02 - 0.04 * mean(0..5) = 0.38; run 2: 0.36.
        let redundancy = try #require(summaries[0].redundancy["cosine"])
        #expect(abs(redundancy.mean - 0.37) < 1e-12 && abs(redundancy.std! - 0.0141421356237) < 1e-10)
        // Every layer has 1 duplicate pair and effective rank 10.5 of 16 channels: 6 duplicates per run, rank fraction 0.65625.
        let fields = try #require(summaries[0].redundancySummaries["cosine"])
        #expect(fields[.duplicates]?.mean == 6 && fields[.duplicates]?.std == 0 && fields[.effectiveRankFraction]?.mean == 0.65625)
        #expect(fields[.suggestedRatio]?.mean == 0.5 && fields[.dead]?.mean == 0)
        #expect(vanilla.formatted(decimals: 2, scale: 100) == "94.00 ± 1.41")

        let files = try SweepReport.files(runs: Self.trainedRuns(), layerMetrics: metrics, similarity: [], title: "seeds")
        let rows = Self.text(files, "configurations.csv").components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows[0] == SweepReport.configurationsHeader.joined(separator: ","))
        #expect(rows.count == 1 + 2 + 2, "vanilla under two metrics, the SPConv configurations without layer metrics")
        #expect(rows[1].hasPrefix("1,resnet18,vanilla,,,trained,15,2,0 1,") && rows[1].contains(",cosine,") && rows[1].hasSuffix(",1 2"))
        let html = Self.text(files, "index.html")
        #expect(html.contains("94.00 ± 1.41") && html.contains("trained 15 ep, seed 1, store key2"))
        #expect(html.contains("<h2>What this grid shows</h2>"))
    }

    @Test func randomAndTrainedWeightsAreNotMixedUnlessAsked() throws {
        var runs = Self.trainedRuns()
        for (id, groups) in [(Int64(6), 2), (Int64(7), 1)] {
            var random = Self.run(id, ratio: 0.75, groups: groups)  // random weights, seed 0
            random.weightsSeed = 0
            runs.append(random)
        }
        let error = #expect(throws: FeatureProbeError.self) {
            try SweepReport.files(runs: runs, layerMetrics: [], similarity: [], title: "mixed")
        }
        let message = error?.message ?? ""
        #expect(message.contains("trained weights in run(s) 1, 2, 3, 4, 5") && message.contains("random weights in run(s) 6, 7"), "\(message)")
        #expect(message.contains("--mix-weights"))
        let files = try SweepReport.files(runs: runs, layerMetrics: [], similarity: [], title: "mixed", allowMixing: true)
        let html = Self.text(files, "index.html")
        #expect(html.contains("r=0.75 g=2 [random]") && html.contains("vanilla [trained]"))
        #expect(html.contains("random, seed 0"))
        // Runs of one kind pass without the flag.
        _ = try SweepReport.files(runs: Self.trainedRuns(), layerMetrics: [], similarity: [], title: "trained")
        _ = try SweepReport.files(runs: Self.runs(), layerMetrics: [], similarity: [], title: "random")
    }

    @Test func trainedAndRandomRedundancyGoInSeparatePanels() throws {
        var runs = Self.trainedRuns()
        var random = Self.run(6, ratio: 0.75, groups: 2)
        random.weightsSeed = 0
        runs.append(random)
        let metrics = Self.layerMetrics().filter { [1, 2, 6].contains($0.runID) }
        let summaries = ConfigurationSummary.group(runs, layerMetrics: metrics)
        let figures = SweepReport.redundancyFigures(summaries: summaries, labels: SweepReport.RunLabels(runs: runs))
        #expect(figures.map(\.name) == ["redundancy_per_layer_trained", "redundancy_per_layer_random"])
        guard case .chart(let trained) = figures[0].content, case .chart(let untrained) = figures[1].content else {
            Issue.record("expected two charts")
            return
        }
        #expect(trained.series.map(\.name) == ["vanilla [trained] (2 seeds)"])
        #expect(untrained.series.map(\.name) == ["r=0.75 g=2 [random]"])
        #expect(trained.title.hasSuffix("(trained)") && untrained.title.hasSuffix("(random (untrained))"))
        let files = try SweepReport.files(runs: runs, layerMetrics: metrics, similarity: [], title: "mixed", allowMixing: true)
        #expect(files.contains { $0.name == "redundancy_per_layer_trained.png" } && files.contains { $0.name == "redundancy_per_layer_random.png" })
    }

    @Test func learningCurvesAverageTheSeedsPerEpoch() throws {
        // Vanilla (runs 1 and 2, seeds 0 and 1) and r=0.5 g=2 seed 0 (run 3); run 2 stopped after epoch 1.
        func epoch(_ number: Int, loss: Double, accuracy: Double) -> EpochRecord {
            EpochRecord(epoch: number, learningRate: 0.1, trainLoss: loss, trainAccuracy: 0.5, testLoss: loss,
                        testAccuracy: accuracy, trainSeconds: 1, imagesPerSecond: 100)
        }
        let epochs: [Int64: [EpochRecord]] = [
            1: [epoch(1, loss: 1.0, accuracy: 0.70), epoch(2, loss: 0.5, accuracy: 0.80)],
            2: [epoch(1, loss: 3.0, accuracy: 0.60)],
            3: [epoch(1, loss: 2.0, accuracy: 0.50), epoch(2, loss: 1.0, accuracy: 0.75)],
        ]
        let runs = Self.trainedRuns()
        let summaries = ConfigurationSummary.group(runs, layerMetrics: [])
        let figures = SweepReport.learningCurveFigures(summaries: summaries, labels: SweepReport.RunLabels(runs: runs), epochs: epochs)
        #expect(figures.map(\.name) == ["learning_curve_loss", "learning_curve_accuracy"])
        guard case .chart(let loss) = figures[0].content, case .chart(let accuracy) = figures[1].content else {
            Issue.record("expected two charts")
            return
        }
        #expect(loss.series.map(\.name) == ["vanilla (2 seeds)", "r=0.5 g=2 (2 seeds)"])
        // Vanilla epoch 1: (1.0 + 3.0) / 2 = 2.0; epoch 2 only seed 0 reached: 0.5.
        #expect(loss.series[0].points.map(\.x) == [1, 2] && loss.series[0].points.map(\.y) == [2.0, 0.5])
        #expect(loss.series[1].points.map(\.y) == [2.0, 1.0], "run 4 (seed 1) has no history: run 3's alone")
        #expect(abs(accuracy.series[0].points[0].y - 0.65) < 1e-12)
        // Without history the charts are left out with a note.
        let none = SweepReport.learningCurveFigures(summaries: summaries, labels: SweepReport.RunLabels(runs: runs), epochs: [:])
        guard case .absent(let note) = none[0].content else { Issue.record("expected a note"); return }
        #expect(note.contains("per-epoch history"))
    }

    @Test func latencyAgainstMacsHasTheVanillaPoint() throws {
        let summaries = ConfigurationSummary.group(Self.runs(), layerMetrics: [])
        let figure = SweepReport.latencyFigure(summaries: summaries, labels: SweepReport.RunLabels(runs: Self.runs()))
        guard case .chart(let chart) = figure.content else { Issue.record("expected a chart"); return }
        #expect(chart.series.map(\.name) == ["vanilla", "g=1", "g=2", "g=4"])
        // Vanilla: 1.82e9 MACs, latency 1.82e9 / 1e8 + 0.1 = 18.3 ms.
        #expect(chart.series[0].points.count == 1 && chart.series[0].points[0].x == 1.82e9
                && abs(chart.series[0].points[0].y - 18.3) < 1e-9)
        #expect(chart.series[3].points.count == 2, "the skipped g=4 run has no latency")
    }

    @Test func accuracyChartsCarryTheSpreadAsErrorBars() throws {
        let summaries = ConfigurationSummary.group(Self.trainedRuns(), layerMetrics: [])
        let labels = SweepReport.RunLabels(runs: Self.trainedRuns())
        let figure = SweepReport.accuracyFigure(summaries: summaries, labels: labels, name: "a.png", cost: "MACs",
                                                xLabel: "MACs", value: { $0.macs })
        guard case .chart(let chart) = figure.content else { Issue.record("expected a chart"); return }
        #expect(chart.series.map(\.name) == ["vanilla", "g=2"])
        #expect(chart.series[0].points.map(\.y) == [0.94] && abs(chart.series[0].errors![0] - 0.0141421356237) < 1e-10)
        #expect(chart.series[1].errors?.count == 2 && chart.series[1].errors?.last == 0, "one seed: no bar")
        #expect(chart.series[0].pointLabels == [""] && chart.series[1].pointLabels == ["r=0.5", "r=0.25"])
        // The axis covers the bars: vanilla's reaches 0.94 + 0.0141.
        let layout = ChartRenderer.Layout(chart: chart)
        #expect(layout.yDomain.1 >= 0.94 + 0.0141)
        #expect(chart.paretoFront?.map(\.y) == [0.88, 0.905, 0.94])
    }

    @Test func theFindingsParagraphStatesTheNumbers() throws {
        let summaries = ConfigurationSummary.group(Self.trainedRuns(), layerMetrics: [])
        let text = try #require(GridFindings.paragraph(summaries))
        #expect(text.contains("vanilla reaches 94.00 ± 1.41%"), "\(text)")
        #expect(text.contains("reach 88.00% (ratio 0.25, groups 2) to 90.50 ± 0.71% (ratio 0.5, groups 2)"), "\(text)")
        // 0.94 - 0.905 = 3.5 points > 2 x max(0.0141, 0.0071): not within the spread.
        #expect(text.contains("not borne out"), "\(text)")
        #expect(GridFindings.paragraph(ConfigurationSummary.group(Self.runs(accuracy: true), layerMetrics: [])) == nil,
                "no paragraph about the claim without trained runs")
        var otherSweep = Self.trainedRuns()
        otherSweep[4].sweepID = 2
        #expect(GridFindings.paragraph(ConfigurationSummary.group(otherSweep, layerMetrics: [])) == nil,
                "no paragraph over configurations of two sweeps")
    }
}

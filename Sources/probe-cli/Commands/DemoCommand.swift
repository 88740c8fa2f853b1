import ArgumentParser
import Drawing
import FeatureProbe
import Foundation
import SPConvLab

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The toolkit's main job on its embedded default: trained resnet20 vanilla and SPConv networks compared in SQLite and a report.",
        discussion: """
        Compares resnet20 vanilla and SPConv at ratios 1/4, 1/2, 3/4 with groups 1 and 2, each \
        trained on Fashion-MNIST with seeds 0 and 1 under train's default recipe (15 epochs; \
        notebooks-data/README.md), taken from the checkpoint store (notebooks-data/models, or \
        --store): test accuracy (mean ± standard deviation over seeds), parameters, MACs, FLOPs, \
        latency (median ms per batch of 32) and per-layer channel redundancy of the block \
        outputs on 256 Fashion-MNIST test images, the accuracy-vs-cost Pareto charts and a \
        paragraph on what the grid shows. It never trains: a run missing from the store is left \
        out and named, with the command that trains it. The database goes to <out>/demo.sqlite \
        (made anew), the report to <out>/report/index.html.

        --random runs the same grid untrained instead (seeded random weights, no accuracy), on \
        the Fashion-MNIST test images or, without them, the bundled photos; its report is titled \
        as such. Random weights show far more channel similarity than trained ones, so the two \
        are never mixed in one report.
        """)

    @Option(help: "Output folder.") var out: String = "reports/demo"
    @Flag(help: "Write into --out even when it holds files another command (or you) put there.") var force = false
    @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?
    @Option(help: "The checkpoint store with the trained grid (default: notebooks-data/models of this checkout).") var store: String?
    @Flag(help: "Compare untrained networks (seeded random weights) instead of the trained grid.") var random = false
    @OptionGroup var figures: FigureOptions

    /// The trained grid the demo shows: its seeds and epochs (train's default recipe).
    static let seeds: [UInt64] = [0, 1]
    static let epochs = 15

    /// The demo writes every figure in every format unless `--formats` says otherwise.
    var figureFormats: [FigureFormat] { figures.list(defaults: FigureFormat.allCases) }

    func validate() throws {
        try ThreadLimit.validate(threads)
        if random && store != nil { throw ValidationError("--store gives the trained networks, which --random does not use; give one or the other.") }
    }

    func run() throws {
        try reportingFailures {
            if let threads { Engine.setThreads(threads) }
            let start = Date()
            try OutputFolder.prepare(out, command: "demo", force: force)
            let database = URL(fileURLWithPath: out).appendingPathComponent("demo.sqlite").path
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
            let grid = try SweepGrid(ratios: "1/4,1/2,3/4", groups: "1,2")

            let fashion = FashionMNIST.isInstalled
            guard fashion || random else {
                throw FeatureProbeError("The trained demo probes Fashion-MNIST test images, and the Debian package \(FashionMNIST.debianPackage) is not installed (\(FashionMNIST.defaultFolder)). Run scripts/bootstrap.sh, or `probe-cli demo --random` for untrained networks on the bundled photos.")
            }
            let spec = fashion ? ModelSpec(.resnet20, inputChannels: 1, inputSize: 28) : ModelSpec(.resnet20)
            let inputLabel = fashion ? "fashion-mnist" : "assets/images"
            let source = try InputSource.make(fashion ? "fashion-mnist" : ProjectPaths.locate("assets/images"), spec: spec, limit: 256)
            func configuration(_ variant: ModelVariant, seed: UInt64?) -> RunConfiguration {
                RunConfiguration(model: "resnet20", variant: variant.name, ratio: variant.spconvConfiguration?.ratio,
                                 groups: variant.spconvConfiguration?.groups, inChannels: spec.inputChannels, classes: spec.classes,
                                 inputSize: spec.inputSize, dataset: inputLabel, images: source.count, batch: 32,
                                 threads: Engine.threads, trainEpochs: seed == nil ? nil : Self.epochs, trainSeed: seed)
            }
            var settings = SweepSettings()
            settings.layers = "blocks"
            var configurations: [RunConfiguration]
            var missing: [String] = []
            var trainingForFigures: SweepTraining?
            if random {
                configurations = grid.variants.map { configuration($0, seed: nil) }
            } else {
                let training = SweepTraining(trainSet: LabelledImages(try FashionMNIST(split: .train)),
                                             testSet: LabelledImages(try FashionMNIST(split: .test)),
                                             dataset: "fashion-mnist", normalization: FashionMNIST.normalization,
                                             configuration: TrainingConfiguration(epochs: Self.epochs),
                                             store: StoreCommand.StoreOption.store(store), policy: .reuseOnly,
                                             writer: TrainingSidecar.Writer(tool: "probe-cli demo", version: ToolInfo.version,
                                                                            gitCommit: ToolInfo.gitCommit, command: CommandLine.arguments))
                settings.training = training
                trainingForFigures = training
                configurations = []
                for variant in grid.variants {
                    for seed in Self.seeds {
                        var full = spec
                        full.variant = variant
                        let identity = training.identity(of: full, epochs: Self.epochs, seed: seed)
                        if let entry = try training.store.entry(for: identity), entry.isFinished {
                            configurations.append(configuration(variant, seed: seed))
                        } else {
                            missing.append("\(SweepRunner.describe(configuration(variant, seed: seed))) (key \(identity.key))")
                        }
                    }
                }
                guard !configurations.isEmpty else {
                    throw FeatureProbeError("The checkpoint store \(training.store.folder) has none of the demo's trained networks (resnet20 on Fashion-MNIST, \(Self.epochs) epochs, seeds \(Self.seeds.map(String.init).joined(separator: ", "))). Train them with: probe-cli sweep --model resnet20 --in-channels 1 --ratios 1/4,1/2,3/4 --groups 1,2 --train-epochs \(Self.epochs) --seeds 0,1 --db grid.sqlite --store \(training.store.folder); or run probe-cli demo --random for untrained networks.")
                }
            }
            let runner = SweepRunner(databasePath: database, sweepName: random ? "demo (random weights)" : "demo (trained)",
                                     commandLine: "probe-cli demo" + (random ? " --random" : ""),
                                     configurations: configurations, settings: settings,
                                     toolVersion: ToolInfo.version, gitCommit: ToolInfo.gitCommit)
            printError("demo: resnet20, \(configurations.count) \(random ? "untrained networks (random weights)" : "trained networks from the checkpoint store"), \(source.count) \(fashion ? "Fashion-MNIST test" : "bundled") images, \(Engine.threads) threads")
            let bar = ProgressBar("demo", unit: "networks")
            let counts = try runner.work(makeSource: { _ in source }) { p in
                bar.update(p.finished, of: p.total, note: p.current.map { "now: \($0)" } ?? "")
            }
            print(QueryFormatter.format(try CannedQuery.configurations(path: database), as: .table), terminator: "")
            let reportFolder = URL(fileURLWithPath: out).appendingPathComponent("report").path
            try OutputFolder.prepare(reportFolder, command: "demo", force: true)
            let data = try SweepReportLoader.load(path: database, heatmaps: .perRun(3))
            let title = random
                ? "SPConvLab demo: resnet20 with untrained, random weights on \(fashion ? "Fashion-MNIST" : "the bundled photos") (no accuracy; not comparable with trained networks)"
                : "SPConvLab demo: resnet20 trained on Fashion-MNIST, \(Self.epochs) epochs, seeds \(Self.seeds.map(String.init).joined(separator: " and "))"
            let files = try SweepReport.files(runs: data.runs, layerMetrics: data.layerMetrics, similarity: data.similarity,
                                              featureMaps: data.featureMaps, title: title, formats: figureFormats,
                                              epochs: try SweepReportLoader.epochs(path: database, runs: data.runs))
            try SweepReport.write(files, into: reportFolder)
            let figureFolders = try writeLayerFigures(spec: spec, source: source, training: trainingForFigures,
                                                       reportFolder: reportFolder)
            try OutputFolder.markWritten(out, command: "demo")
            let done = counts[.done] ?? 0
            if !missing.isEmpty {
                printError("note: the store lacks \(missing.count) of the demo's trained networks, left out: \(missing.joined(separator: "; ")). Train them with probe-cli sweep --model resnet20 --in-channels 1 --ratios 1/4,1/2,3/4 --groups 1,2 --train-epochs \(Self.epochs) --seeds 0,1 --db grid.sqlite.")
            }
            print("""

                \(done) of \(configurations.count) \(random ? "untrained" : "trained") networks measured in \(String(format: "%.0f", Date().timeIntervalSince(start))) s\(missing.isEmpty ? "" : " (\(missing.count) missing from the store)").
                Database: \(database)   (try: probe-cli query --db \(database) configurations)
                Report:   \(reportFolder)/index.html
                """)
            if !figureFolders.isEmpty {
                print("Figures:  " + figureFolders.joined(separator: ", "))
            }
        }
    }

    /// The layer the demo draws as a heatmap in clustered order, a feature-map grid and a pair
    /// sheet (the paper's Figure 1): resnet20's last block, where trained networks differ most.
    static let figureLayer = "layer3.2"

    /// Writes the heatmap, grid and pair sheet of ``figureLayer`` for vanilla and SPConv 1/2 g2
    /// (seed 0; or seeded random weights with `--random`) into `<report>/figures/<name>/`.
    ///
    /// - Returns: The folders written (none when the store lacks both networks).
    func writeLayerFigures(spec: ModelSpec, source: any BatchSource, training: SweepTraining?,
                           reportFolder: String) throws -> [String] {
        var written: [String] = []
        let spconv = ModelVariant.spconv(SPConvConfiguration(ratio: 0.5, groups: 2))
        for variant in [ModelVariant.vanilla, spconv] {
            var full = spec
            full.variant = variant
            let network: Network
            if let training {
                guard let entry = try training.store.entry(for: training.identity(of: full, epochs: Self.epochs, seed: 0)),
                      entry.isFinished else { continue }
                network = try Network(checkpoint: entry.files.weights)
            } else {
                network = try Network(full, seed: 0)
            }
            let name = "resnet20-\(variant == .vanilla ? "vanilla" : "spconv-r0.5-g2")-\(training == nil ? "random" : "trained-s0")"
            let folder = URL(fileURLWithPath: reportFolder).appendingPathComponent("figures/\(name)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var analysis = RedundancyAnalysis()
            analysis.metrics = [.cosine]
            analysis.exampleImage = 0
            var report = SimilarityReport()
            report.formats = figureFormats
            let results = try analysis.run(network, layers: try LayerSelection(Self.figureLayer, in: network), source: source)
            _ = try report.write(results, spec: network.spec, to: folder)
            written.append(folder)
        }
        return written
    }
}

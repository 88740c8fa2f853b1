import ArgumentParser
import FeatureProbe
import Foundation
import SPConvLab

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The toolkit's main job on its embedded default: a small SPConv sweep of resnet20, stored in SQLite, and its report.",
        discussion: """
        Sweeps resnet20 vanilla and SPConv at ratios 1/4, 1/2, 3/4 with groups 1 and 2: parameters, \
        MACs, FLOPs, latency (median ms per batch of 32) and per-layer channel redundancy of the \
        block outputs, on 256 Fashion-MNIST test images when dataset-fashion-mnist is installed \
        (1-channel 28x28 models), otherwise on the bundled photos (3-channel 32x32). Trained \
        checkpoints in notebooks-data/models (resnet20_vanilla, resnet20_spconv at ratio 1/2, \
        groups 2) are used for their configurations when present. The database goes to \
        <out>/demo.sqlite (made anew), the report to <out>/report/index.html.
        """)

    @Option(help: "Output folder.") var out: String = "reports/demo"
    @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) must be at least 1.") }
    }

    func run() throws {
        try reportingFailures {
            if let threads { Engine.setThreads(threads) }
            let start = Date()
            try OutputFolder.prepare(out)
            let database = URL(fileURLWithPath: out).appendingPathComponent("demo.sqlite").path
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }

            let fashion = FashionMNIST.isInstalled
            let spec = fashion ? ModelSpec(.resnet20, inputChannels: 1, inputSize: 28) : ModelSpec(.resnet20)
            let input = fashion ? "fashion-mnist" : ProjectPaths.locate("assets/images")
            let source = try InputSource.make(input, spec: spec, limit: 256)
            let grid = try SweepGrid(ratios: "1/4,1/2,3/4", groups: "1,2")
            let checkpoints = ["vanilla": "notebooks-data/models/resnet20_vanilla.safetensors",
                               "spconv 0.5 2": "notebooks-data/models/resnet20_spconv.safetensors"]
            let configurations = try grid.variants.map { variant -> RunConfiguration in
                let c = variant.spconvConfiguration
                let key = c.map { "spconv \(CSVWriter.formatG6($0.ratio)) \($0.groups)" } ?? "vanilla"
                let checkpoint = checkpoints[key].map(ProjectPaths.locate).flatMap { FileManager.default.fileExists(atPath: $0) && fashion ? $0 : nil }
                return RunConfiguration(model: "resnet20", variant: variant.name, ratio: c?.ratio, groups: c?.groups,
                                        inChannels: spec.inputChannels, classes: spec.classes, inputSize: spec.inputSize,
                                        weightsPath: checkpoint, weightsSHA256: try checkpoint.map(SHA256.hex(ofFile:)), dataset: fashion ? "fashion-mnist" : "assets/images",
                                        images: source.count, batch: 32, threads: Engine.threads)
            }
            var settings = SweepSettings()
            settings.layers = "blocks"
            let runner = SweepRunner(databasePath: database, sweepName: "demo", commandLine: "probe-cli demo",
                                     configurations: configurations, settings: settings,
                                     toolVersion: ToolInfo.version, gitCommit: ToolInfo.gitCommit)
            printError("demo: resnet20, \(configurations.count) configurations, \(source.count) \(fashion ? "Fashion-MNIST test" : "bundled") images, \(Engine.threads) threads")
            let bar = ProgressBar("demo sweep", unit: "configs")
            let counts = try runner.work(makeSource: { _ in source }) { p in
                bar.update(p.finished, of: p.total, note: p.current.map { "now: \($0)" } ?? "")
            }
            print(QueryFormatter.format(try CannedQuery.runs(path: database), as: .table), terminator: "")
            let reportFolder = URL(fileURLWithPath: out).appendingPathComponent("report").path
            try OutputFolder.prepare(reportFolder)
            let data = try SweepReportLoader.load(path: database, heatmaps: .perRun(3))
            let files = try SweepReport.files(runs: data.runs, layerMetrics: data.layerMetrics, similarity: data.similarity,
                                              title: "SPConvLab demo: resnet20 on \(fashion ? "Fashion-MNIST" : "the bundled photos")")
            try SweepReport.write(files, into: reportFolder)
            let done = counts[.done] ?? 0
            print("""

                \(done) of \(configurations.count) configurations measured in \(String(format: "%.0f", Date().timeIntervalSince(start))) s.
                Database: \(database)   (try: probe-cli query --db \(database) "SELECT variant, ratio, groups, params, macs, latency_ms FROM runs")
                Report:   \(reportFolder)/index.html
                """)
        }
    }
}

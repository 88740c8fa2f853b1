import ArgumentParser
import FeatureProbe
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a sweep report: CSVs, charts, stored heatmaps and an index.html that shows them.",
        discussion: """
        Writes runs.csv (one row per run, with where its weights came from), configurations.csv \
        (each configuration's mean and standard deviation over its seeds), layer_metrics.csv, \
        macs_vs_ratio.png, latency_vs_ratio.png, redundancy_per_layer.png, accuracy_vs_macs.png and \
        accuracy_vs_params.png (when accuracy exists; error bars over seeds, Pareto front), \
        heatmaps/ redrawn from the stored matrices (clustered order), report.js and index.html \
        (self-contained, no network; open it from the file system): tables sort by a click on \
        a header and the runs filter by a text box, chart points tell their values on hover, \
        heatmap cells tell their channel pair and similarity on hover and show the two \
        channels' stored feature maps on a click. The database is only read. A report that would put runs with random \
        weights beside trained (or file) ones is refused, naming the runs, unless --mix-weights \
        is given; then every label marks each run's weights.
        """)

    @Option(help: "The experiment database.") var db: String
    @Option(help: "Output folder (created if missing).") var out: String
    @Flag(help: "Write into --out even when it holds files another command (or you) put there.") var force = false
    @Option(help: "Only the sweep with this name (default: every sweep).") var sweep: String?
    @Option(help: "Heatmaps per run: a number of layers (evenly spaced), 'all' or 0.") var heatmaps: String = "4"
    @OptionGroup var figures: FigureOptions
    @Flag(name: .customLong("mix-weights"), help: "Allow runs with random weights beside trained ones (each label marks its weights).") var mixWeights = false

    func validate() throws {
        guard heatmaps == "all" || (Int(heatmaps).map { $0 >= 0 } ?? false) else {
            throw ValidationError("--heatmaps '\(heatmaps)' must be a number of layers (0 or more) or 'all'.")
        }
    }

    func run() throws {
        try reportingFailures {
            let selection: SweepReportLoader.HeatmapSelection = heatmaps == "all" ? .all : .perRun(Int(heatmaps)!)
            let data = try SweepReportLoader.load(path: db, sweep: sweep, heatmaps: selection)
            try OutputFolder.prepare(out, command: "report", force: force)
            let files = try SweepReport.files(runs: data.runs, layerMetrics: data.layerMetrics, similarity: data.similarity,
                                              featureMaps: data.featureMaps,
                                              title: "SPConv sweep report: \(URL(fileURLWithPath: db).lastPathComponent)",
                                              allowMixing: mixWeights, formats: figures.list(),
                                              epochs: try SweepReportLoader.epochs(path: db, runs: data.runs))
            try SweepReport.write(files, into: out)
            try OutputFolder.markWritten(out, command: "report")
            print(URL(fileURLWithPath: out).appendingPathComponent("index.html").path)
            printError("wrote \(files.count) files for \(data.runs.count) run(s) to \(out)")
        }
    }
}

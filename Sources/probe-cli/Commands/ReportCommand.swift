import ArgumentParser
import FeatureProbe
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a sweep report: CSVs, charts, stored heatmaps and an index.html that shows them.",
        discussion: """
        Writes runs.csv, layer_metrics.csv, macs_vs_ratio.png, latency_vs_ratio.png, \
        redundancy_per_layer.png, accuracy_vs_macs.png (when accuracy exists), heatmaps/ redrawn \
        from the stored matrices, and index.html (self-contained; open it from the file system). \
        The database is only read.
        """)

    @Option(help: "The experiment database.") var db: String
    @Option(help: "Output folder (created if missing).") var out: String
    @Option(help: "Only the sweep with this name (default: every sweep).") var sweep: String?
    @Option(help: "Heatmaps per run: a number of layers (evenly spaced), 'all' or 0.") var heatmaps: String = "4"

    func validate() throws {
        guard heatmaps == "all" || (Int(heatmaps).map { $0 >= 0 } ?? false) else {
            throw ValidationError("--heatmaps '\(heatmaps)' must be a number of layers (0 or more) or 'all'.")
        }
    }

    func run() throws {
        try reportingFailures {
            let selection: SweepReportLoader.HeatmapSelection = heatmaps == "all" ? .all : .perRun(Int(heatmaps)!)
            let data = try SweepReportLoader.load(path: db, sweep: sweep, heatmaps: selection)
            try OutputFolder.prepare(out)
            let files = try SweepReport.files(runs: data.runs, layerMetrics: data.layerMetrics, similarity: data.similarity,
                                              title: "SPConv sweep report: \(URL(fileURLWithPath: db).lastPathComponent)")
            try SweepReport.write(files, into: out)
            print(URL(fileURLWithPath: out).appendingPathComponent("index.html").path)
            printError("wrote \(files.count) files for \(data.runs.count) run(s) to \(out)")
        }
    }
}

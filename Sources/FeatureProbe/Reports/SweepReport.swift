import Drawing
import Foundation
import SPConvLab

/// The report of a sweep: CSV tables, charts, heatmaps and an `index.html` that shows them,
/// encoded from plain records (the database layer reads them; `write(_:into:)` stores the result).
///
/// Files, with names relative to the report folder:
/// - `runs.csv`: every ``RunRecord`` field, one row per run in the given order;
/// - `layer_metrics.csv`: every ``LayerMetricRecord`` field;
/// - `macs_vs_ratio.png`, `latency_vs_ratio.png`: one series per SPConv group count over the
///   split ratio, the vanilla baseline as a dashed reference line;
/// - `redundancy_per_layer.png`: mean |off-diagonal similarity| per layer under the `cosine`
///   metric (else the first metric recorded), one series per run, vanilla first;
/// - `accuracy_vs_macs.png` with the Pareto front, only when some run has both accuracy and MACs;
/// - `heatmaps/run<ID>.<layer>.<metric>.png`, one per stored similarity matrix (clustered order,
///   clusters outlined, as `probe-cli similarity` draws them);
/// - `report.js`: the page's script (``ReportScript``), plain JavaScript with no library;
/// - `index.html`: self-contained (inline CSS, the data its script reads inline as JSON, no
///   external URLs) with the table of runs, the charts, the heatmaps grouped by run and a note
///   for each chart left out. Every `src` and `href` in it names a file of the list
///   (``referencedFiles(in:)``). With its script, tables sort by a click on a header and filter
///   by a text box, chart markers tell their values on hover (and each chart has a data
///   table), and heatmaps of up to ``interactiveChannelLimit`` channels are redrawn on a canvas
///   from the embedded matrix: hovering a cell tells the channel pair and its similarity,
///   clicking it shows the two channels' stored feature maps (``FeatureMapRecord``) side by side.
///
/// With more than one model among the runs, series and reference names start with the model.
public enum SweepReport {
    /// The fields of `runs.csv`, in order (the `runs` table's columns).
    public static let runsHeader = [
        "id", "sweep_id", "model", "variant", "ratio", "groups", "in_channels", "classes", "input_size",
        "weights_path", "weights_sha256", "dataset", "images", "status", "reason", "params", "macs", "flops",
        "latency_ms", "batch", "threads", "accuracy", "train_epochs", "train_seconds", "train_seed", "weights_source",
        "weights_seed", "store_key", "checkpoint_sha256", "started_at", "finished_at", "tool_version", "git_commit", "host",
    ]

    /// The fields of `configurations.csv`, in order: ``CannedQuery/configurationColumns`` with the
    /// sweep's id for its name, one row per configuration and metric.
    public static let configurationsHeader = ["sweep_id"] + Array(CannedQuery.configurationColumns.dropFirst())

    /// The fields of `layer_metrics.csv`, in order.
    public static let layerMetricsHeader = [
        "run_id", "layer", "channels", "images", "metric", "mean_abs_offdiag", "frac_above_threshold", "threshold",
        "duplicates", "dead", "clusters", "effective_rank", "suggested_ratio",
    ]

    /// The report's files, `index.html` last.
    ///
    /// - Parameters:
    ///   - runs: The runs, in table order (usually by id).
    ///   - layerMetrics: Per-layer redundancy summaries, each run's layers in network order.
    ///   - similarity: Stored similarity matrices; each becomes a heatmap.
    ///   - featureMaps: Stored feature maps; those of a heatmap's run and layer are embedded for it.
    ///   - title: The page and report title.
    ///   - generatedAt: The time printed on the page.
    ///   - allowMixing: Whether runs with random weights may appear beside trained or file ones
    ///     (then every label marks each run's weights).
    /// - Returns: `(name, bytes)` pairs; names are relative paths with `/` separators.
    /// - Throws: ``FeatureProbeError`` when the runs mix random with trained or file weights and
    ///   `allowMixing` is false (``WeightsMixing``), a similarity record's values do not form
    ///   its `channels x channels` matrix, or cairo cannot draw a figure.
    ///   - formats: The formats every figure is written in; PNG (shown on the page) always is,
    ///     SVG and PDF are linked under each figure.
    ///   - epochs: Each trained run's per-epoch history, by run id, for the learning curves.
    public static func files(runs: [RunRecord], layerMetrics: [LayerMetricRecord], similarity: [SimilarityRecord],
                             featureMaps: [FeatureMapRecord] = [], title: String, generatedAt: Date = Date(),
                             allowMixing: Bool = false, formats: [FigureFormat] = [.png],
                             epochs: [Int64: [EpochRecord]] = [:]) throws -> [(name: String, bytes: [UInt8])] {
        let formats = formats.contains(.png) ? formats : [.png] + formats
        try WeightsMixing.check(runs, allowed: allowMixing, what: "The report")
        let summaries = ConfigurationSummary.group(runs, layerMetrics: layerMetrics)
        var files: [(name: String, bytes: [UInt8])] = []
        files.append(("runs.csv", Array(CSVWriter.table(header: runsHeader, rows: runs.map(runRow)).utf8)))
        files.append(("configurations.csv", Array(CSVWriter.table(header: configurationsHeader,
                                                                  rows: summaries.flatMap(configurationRows)).utf8)))
        files.append(("layer_metrics.csv", Array(CSVWriter.table(header: layerMetricsHeader,
                                                                 rows: layerMetrics.map(layerMetricRow)).utf8)))
        var page = Page(title: title, generatedAt: generatedAt, runs: runs, summaries: summaries)
        page.findings = GridFindings.paragraph(summaries)
        let labels = RunLabels(runs: runs)
        var interactive = InteractiveData()

        for figure in figures(summaries: summaries, labels: labels, epochs: epochs) {
            switch figure.content {
            case .chart(let chart):
                let written = try FigureFiles.encode(ChartRenderer.render(chart), stem: figure.name, formats: formats, title: chart.title)
                files += written
                interactive.charts.append(.init(file: written[0].name, points: hoverPoints(of: chart)))
                page.charts.append(.init(file: written[0].name, caption: figure.caption, note: nil,
                                         alternates: written.dropFirst().map(\.name),
                                         dataIndex: interactive.charts.count - 1, dataTable: dataTable(of: chart)))
            case .absent(let note):
                page.charts.append(.init(file: nil, caption: figure.caption, note: note))
            }
        }

        var usedNames = Set<String>()
        for record in similarity {
            guard record.channels > 0, record.values.count == record.channels * record.channels else {
                throw FeatureProbeError("The similarity matrix of run \(record.runID), layer '\(record.layer)', metric '\(record.metric)' has \(record.values.count) values for \(record.channels) channels; expected channels > 0 and channels x channels values. The stored row is damaged: measure the run again.")
            }
            var name = "heatmaps/run\(record.runID).\(safeFileName(record.layer)).\(safeFileName(record.metric))"
            if usedNames.contains(name) {
                var suffix = 2
                while usedNames.contains("\(name)-\(suffix)") { suffix += 1 }
                name += "-\(suffix)"
            }
            usedNames.insert(name)
            let threshold = layerMetrics.first { $0.runID == record.runID && $0.layer == record.layer && $0.metric == record.metric }?
                .threshold ?? LayerSummary.defaultThreshold
            let (order, clusterStarts) = heatmapOrder(record, threshold: threshold)
            let heatmapTitle = "run \(record.runID) · \(record.layer) · \(record.metric)"
            let figure = HeatmapRenderer.render(values: record.values, channels: record.channels, order: order,
                                                title: heatmapTitle,
                                                subtitle: "\(labels.long(record.runID)) · \(record.channels) channels, clustered order",
                                                clusterStarts: clusterStarts)
            let written = try FigureFiles.encode(figure, stem: name, formats: formats, title: heatmapTitle)
            files += written
            var dataIndex: Int?
            if record.channels <= interactiveChannelLimit {
                var maps = interactive.featureMaps.firstIndex { $0.run == record.runID && $0.layer == record.layer }
                if maps == nil, let stored = featureMaps.first(where: {
                    $0.runID == record.runID && $0.layer == record.layer && $0.channels == record.channels
                }) {
                    interactive.featureMaps.append(interactiveFeatureMaps(stored))
                    maps = interactive.featureMaps.count - 1
                }
                interactive.heatmaps.append(.init(file: written[0].name, run: record.runID, layer: record.layer, metric: record.metric,
                                                  channels: record.channels, order: order,
                                                  colormap: record.values.contains { $0 < 0 } ? "coolwarm" : "viridis",
                                                  matrix: base64(SQLValue.encodeFloat32LittleEndian(record.values)),
                                                  featureMaps: maps))
                dataIndex = interactive.heatmaps.count - 1
            }
            page.heatmaps.append(.init(runID: record.runID, file: written[0].name, layer: record.layer,
                                       metric: record.metric, channels: record.channels, alternates: written.dropFirst().map(\.name),
                                       dataIndex: dataIndex))
        }
        page.interactiveJSON = try interactive.json()
        files.append(("report.js", Array(ReportScript.javascript.utf8)))
        files.append(("index.html", Array(page.html(labels: labels).utf8)))
        return files
    }

    /// The relative paths that `html` points at: every `src="..."` and `href="..."` value, with
    /// character references decoded, in order of first appearance, each once.
    public static func referencedFiles(in html: String) -> [String] {
        var seen = Set<String>(), found: [String] = []
        for match in html.matches(of: /(?:src|href)\s*=\s*"([^"]*)"/) {
            let target = unescapeHTML(String(match.output.1))
            if seen.insert(target).inserted { found.append(target) }
        }
        return found
    }

    // MARK: - CSV rows

    static func runRow(_ run: RunRecord) -> [String] {
        [String(run.id), String(run.sweepID), run.model, run.variant, number(run.ratio), number(run.groups),
         String(run.inChannels), String(run.classes), String(run.inputSize), run.weightsPath ?? "",
         run.weightsSHA256 ?? "", run.dataset, String(run.images), run.status.rawValue, run.reason ?? "",
         number(run.params), number(run.macs), number(run.flops), number(run.latencyMS), String(run.batch),
         String(run.threads), number(run.accuracy), number(run.trainEpochs), number(run.trainSeconds),
         run.trainSeed.map(String.init) ?? "", run.weightsSource.rawValue, run.weightsSeed.map(String.init) ?? "",
         run.storeKey ?? "", run.checkpointSHA256 ?? "", run.startedAt ?? "", run.finishedAt ?? "", run.toolVersion,
         run.gitCommit ?? "", run.host ?? ""]
    }

    /// A configuration's rows of `configurations.csv`: one per metric (one with empty metric
    /// fields when it has none).
    static func configurationRows(_ summary: ConfigurationSummary) -> [[String]] {
        let r = summary.representative
        let head = [String(r.sweepID), r.model, r.variant, number(r.ratio), number(r.groups), r.weightsSource.rawValue, number(r.trainEpochs),
                    String(summary.runIDs.count), summary.seeds.map { $0.map(String.init) ?? "-" }.joined(separator: " "),
                    number(r.params), number(r.macs), number(summary.accuracy?.mean), number(summary.accuracy?.std),
                    number(summary.latencyMS?.mean), number(summary.latencyMS?.std)]
        let ids = summary.runIDs.map(String.init).joined(separator: " ")
        let fields = ConfigurationSummary.RedundancyField.allCases
        let metrics = summary.redundancySummaries.keys.sorted()
        guard !metrics.isEmpty else { return [head + [String](repeating: "", count: 1 + 2 * fields.count) + [ids]] }
        return metrics.map { metric in
            let spreads = summary.redundancySummaries[metric] ?? [:]
            return head + [metric] + fields.flatMap { [number(spreads[$0]?.mean), number(spreads[$0]?.std)] } + [ids]
        }
    }

    static func layerMetricRow(_ metric: LayerMetricRecord) -> [String] {
        [String(metric.runID), metric.layer, String(metric.channels), String(metric.images), metric.metric,
         CSVWriter.formatG6(metric.meanAbsOffDiagonal), CSVWriter.formatG6(metric.fractionAboveThreshold),
         CSVWriter.formatG6(metric.threshold), String(metric.duplicates), String(metric.dead), String(metric.clusters),
         CSVWriter.formatG6(metric.effectiveRank), CSVWriter.formatG6(metric.suggestedRatio)]
    }

    static func number(_ value: Double?) -> String { value.map { CSVWriter.formatG6($0) } ?? "" }
    static func number(_ value: Int?) -> String { value.map { String($0) } ?? "" }

    // MARK: - Names and escaping

    /// `text` with every character outside `A-Z a-z 0-9 . _ -` replaced by `_`.
    static func safeFileName(_ text: String) -> String {
        let kept = text.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": return Character(scalar)
            default: return "_"
            }
        }
        let name = String(kept)
        return name.isEmpty ? "_" : name
    }

    /// `text` safe inside HTML element content and double- or single-quoted attribute values.
    public static func escapeHTML(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Undoes ``escapeHTML(_:)``.
    static func unescapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

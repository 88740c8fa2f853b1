import SPConvLab

extension SweepReport {
    /// A chart of the report, or the note that replaces it when there is nothing to draw.
    struct ReportChart {
        enum Content {
            case chart(Chart)
            case absent(note: String)
        }

        let name: String
        let caption: String
        let content: Content
    }

    /// The report's charts, in page order, drawn from the configurations summarised over their
    /// seeds (a point is a configuration's mean; error bars its standard deviation).
    ///
    /// - Parameter epochs: Each trained run's per-epoch history, by run id, for the learning curves.
    static func figures(summaries: [ConfigurationSummary], labels: RunLabels,
                        epochs: [Int64: [EpochRecord]] = [:]) -> [ReportChart] {
        let seedNote = summaries.contains { $0.runIDs.count > 1 } ? " Each point is the mean over a configuration's seeds." : ""
        let means = summaries.map { summary -> RunRecord in
            var run = summary.representative
            run.latencyMS = summary.latencyMS?.mean
            run.accuracy = summary.accuracy?.mean
            return run
        }
        return [
            ratioFigure(runs: means, labels: labels, name: "macs_vs_ratio", value: { $0.macs.map(Double.init) },
                        title: "MACs vs split ratio", yLabel: "MACs (multiply-accumulates per image)",
                        caption: "Multiply-accumulates per image against the SPConv split ratio, one line per group count; the dashed line is the vanilla network.",
                        note: "No MACs recorded for any run."),
            ratioFigure(runs: means, labels: labels, name: "latency_vs_ratio", value: \.latencyMS,
                        title: "Latency vs split ratio", yLabel: "latency (ms)",
                        caption: "Measured latency (one forward pass of a batch) against the SPConv split ratio, one line per group count; the dashed line is the vanilla network." + seedNote,
                        note: "No latency recorded: run the sweep with latency measurement to fill this chart."),
            latencyFigure(summaries: summaries, labels: labels),
        ] + redundancyFigures(summaries: summaries, labels: labels) + [
            accuracyFigure(summaries: summaries, labels: labels, name: "accuracy_vs_macs", cost: "MACs",
                           xLabel: "MACs (multiply-accumulates per image)", value: { $0.macs }),
            accuracyFigure(summaries: summaries, labels: labels, name: "accuracy_vs_params", cost: "parameters",
                           xLabel: "parameters", value: { $0.params }),
        ] + learningCurveFigures(summaries: summaries, labels: labels, epochs: epochs)
    }

    /// The series key of a configuration in the cost charts: vanilla, or its group count.
    static func costSeriesName(_ run: RunRecord, labels: RunLabels) -> String {
        run.variant == ModelVariant.Kind.vanilla.rawValue ? labels.vanilla(model: run.model, source: run.weightsSource)
            : run.groups.map { labels.groups($0, model: run.model, source: run.weightsSource) } ?? labels.configuration(run)
    }

    /// Configurations in the order the cost charts list them: vanilla first, then by model and groups.
    static func costOrder(_ summaries: [ConfigurationSummary]) -> [ConfigurationSummary] {
        summaries.filter { $0.representative.variant == ModelVariant.Kind.vanilla.rawValue }
            + summaries.filter { $0.representative.variant != ModelVariant.Kind.vanilla.rawValue }
                .sorted { ($0.representative.model, $0.representative.groups ?? 0) < ($1.representative.model, $1.representative.groups ?? 0) }
    }

    /// Latency (mean over seeds, bars of one standard deviation) against MACs, one series per
    /// group count plus the vanilla point: whether fewer MACs buy time on this CPU.
    static func latencyFigure(summaries: [ConfigurationSummary], labels: RunLabels) -> ReportChart {
        let name = "latency_vs_macs"
        let caption = "Measured latency (one forward pass of a batch; mean over seeds with a bar of one standard deviation) against multiply-accumulates per image; vanilla is its own series. Points right of and below vanilla do more arithmetic in less time."
        let measured = costOrder(summaries.filter { $0.latencyMS != nil && $0.representative.macs != nil })
        guard !measured.isEmpty else {
            return ReportChart(name: name, caption: caption,
                               content: .absent(note: "No run has both latency and MACs: nothing to plot."))
        }
        var keys: [String] = []
        var points: [String: [(x: Double, y: Double)]] = [:], errors: [String: [Double]] = [:]
        for summary in measured {
            let key = costSeriesName(summary.representative, labels: labels)
            if points[key] == nil { keys.append(key) }
            points[key, default: []].append((Double(summary.representative.macs!), summary.latencyMS!.mean))
            errors[key, default: []].append(summary.latencyMS!.std ?? 0)
        }
        let series = keys.map { ChartSeries(name: $0, points: points[$0]!, connect: false, errors: errors[$0]!) }
        let chart = Chart(title: "Latency vs MACs", xLabel: "MACs (multiply-accumulates per image)", yLabel: "latency (ms)",
                          series: series)
        return ReportChart(name: name, caption: caption, content: .chart(chart))
    }

    /// A value against the split ratio: a series per (model, group count, weights), vanilla as references.
    static func ratioFigure(runs: [RunRecord], labels: RunLabels, name: String, value: (RunRecord) -> Double?,
                            title: String, yLabel: String, caption: String, note: String) -> ReportChart {
        var keys: [(name: String, model: String, groups: Int)] = []
        var points: [String: [(x: Double, y: Double)]] = [:]
        var references: [Chart.Reference] = []
        var referenceNames = Set<String>()
        for run in runs {
            guard let y = value(run) else { continue }
            if run.variant == ModelVariant.Kind.vanilla.rawValue {
                let name = labels.vanilla(model: run.model, source: run.weightsSource)
                if referenceNames.insert(name).inserted { references.append(Chart.Reference(name: name, y: y)) }
            } else if let ratio = run.ratio, let groups = run.groups {
                let key = labels.groups(groups, model: run.model, source: run.weightsSource)
                if points[key] == nil { keys.append((key, run.model, groups)) }
                points[key, default: []].append((ratio, y))
            }
        }
        guard !points.isEmpty || !references.isEmpty else {
            return ReportChart(name: name, caption: caption, content: .absent(note: note))
        }
        let series = keys.sorted { ($0.model, $0.groups, $0.name) < ($1.model, $1.groups, $1.name) }.map { key in
            ChartSeries(name: key.name, points: points[key.name] ?? [], connect: true)
        }
        let chart = Chart(title: title, xLabel: "SPConv split ratio", yLabel: yLabel, series: series, references: references)
        return ReportChart(name: name, caption: caption, content: .chart(chart))
    }

    /// Mean |off-diagonal| similarity per layer: one chart when all runs' weights come from one
    /// source, else one panel per source (trained, file, random), never mixed in one legend, since
    /// random weights show far more channel similarity than trained ones.
    static func redundancyFigures(summaries: [ConfigurationSummary], labels: RunLabels) -> [ReportChart] {
        let sources = WeightsSource.allCases.filter { source in summaries.contains { $0.representative.weightsSource == source } }
        guard sources.count > 1 else { return [redundancyFigure(summaries: summaries, labels: labels, source: nil)] }
        return sources.map { source in
            redundancyFigure(summaries: summaries.filter { $0.representative.weightsSource == source }, labels: labels, source: source)
        }
    }

    /// Mean |off-diagonal| similarity per layer, one series per configuration (vanilla first; the
    /// mean over its seeds), under `cosine` when recorded, else the first metric. With `source`,
    /// the panel of the runs whose weights come from there.
    static func redundancyFigure(summaries: [ConfigurationSummary], labels: RunLabels, source: WeightsSource?) -> ReportChart {
        let name = "redundancy_per_layer" + (source.map { "_\($0.rawValue)" } ?? "")
        let panel = source.map { " (\(WeightsDescription.sourceName($0)))" } ?? ""
        let metrics = Set(summaries.flatMap { $0.layerRedundancy.keys })
        guard let metric = metrics.contains("cosine") ? "cosine" : metrics.sorted().first else {
            return ReportChart(name: name, caption: "Mean channel redundancy per layer\(panel).",
                               content: .absent(note: "No layer metrics recorded: run the sweep with similarity capture to see redundancy per layer."))
        }
        let ordered = summaries.filter { $0.representative.variant == ModelVariant.Kind.vanilla.rawValue } + summaries.filter { $0.representative.variant != ModelVariant.Kind.vanilla.rawValue }
        let withLayers = ordered.filter { !($0.layerRedundancy[metric] ?? []).isEmpty }
        let categories = mergedLayerOrder(withLayers.map { $0.layerRedundancy[metric]!.map(\.layer) })
        let index = Dictionary(categories.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let series = withLayers.map { summary in
            let count = summary.runIDs.count
            return ChartSeries(name: labels.configuration(summary.representative) + (count > 1 ? " (\(count) seeds)" : ""),
                               points: summary.layerRedundancy[metric]!.map { (Double(index[$0.layer]!), $0.spread.mean) },
                               connect: true)
        }
        let chart = Chart(title: "Mean |off-diagonal| \(metric) similarity per layer\(panel)", xLabel: "layer (network order)",
                          yLabel: "mean |off-diagonal| \(metric)", series: series, categories: categories,
                          width: min(4000, max(960, 440 + 22 * categories.count)),
                          height: 560 + 7 * min(24, categories.map(\.count).max() ?? 0))
        let weights = source == nil ? "" : " This panel holds only the runs with \(WeightsDescription.sourceName(source!)) weights; the other panels hold the rest, since random weights show far more channel similarity than trained ones."
        return ReportChart(name: name, caption: "Mean absolute off-diagonal \(metric) similarity between the channels of each layer, one line per configuration (the mean over its seeds): lower means less redundant channels." + weights,
                           content: .chart(chart))
    }

    /// Layer paths of several runs merged into one order: each run's layers keep their order,
    /// and a layer first seen in a later run goes right after the layer before it in that run.
    static func mergedLayerOrder(_ sequences: [[String]]) -> [String] {
        var merged: [String] = []
        for sequence in sequences {
            var cursor = -1
            for layer in sequence {
                if let position = merged.firstIndex(of: layer) {
                    cursor = position
                } else {
                    merged.insert(layer, at: cursor + 1)
                    cursor += 1
                }
            }
        }
        return merged
    }

    /// Accuracy (mean over seeds, bars of one standard deviation) against a cost, one series per
    /// group count plus vanilla, with the Pareto front of the means; absent when no configuration
    /// has both.
    static func accuracyFigure(summaries: [ConfigurationSummary], labels: RunLabels, name: String, cost: String,
                               xLabel: String, value: (RunRecord) -> Int?) -> ReportChart {
        let caption = "Test accuracy against \(cost); each point is a configuration's mean over its seeds with a bar of one standard deviation, and the step line is the Pareto front of the means (no other configuration is both cheaper and more accurate)."
        let measured = summaries.filter { $0.accuracy != nil && value($0.representative) != nil }
        guard !measured.isEmpty else {
            let note = summaries.contains { $0.accuracy != nil }
                ? "Accuracy recorded but no \(cost): nothing to plot against."
                : "No accuracy recorded: train with --train-epochs to plot accuracy against \(cost)."
            return ReportChart(name: name, caption: caption, content: .absent(note: note))
        }
        var keys: [String] = []
        var points: [String: [(x: Double, y: Double)]] = [:], errors: [String: [Double]] = [:], ratios: [String: [String]] = [:]
        for summary in costOrder(measured) {
            let run = summary.representative
            let key = costSeriesName(run, labels: labels)
            if points[key] == nil { keys.append(key) }
            points[key, default: []].append((Double(value(run)!), summary.accuracy!.mean))
            errors[key, default: []].append(summary.accuracy!.std ?? 0)
            ratios[key, default: []].append(run.ratio.map { "r=\(CSVWriter.formatG6($0))" } ?? "")
        }
        let series = keys.map { ChartSeries(name: $0, points: points[$0]!, connect: false, errors: errors[$0]!, pointLabels: ratios[$0]!) }
        let chart = Chart(title: "Accuracy vs \(cost)", xLabel: xLabel, yLabel: "test accuracy",
                          series: series, paretoFront: ChartRenderer.paretoFront(of: series.flatMap(\.points)))
        return ReportChart(name: name, caption: caption, content: .chart(chart))
    }

    /// Learning curves of the trained configurations: training loss and test accuracy per epoch,
    /// one line per configuration (the mean over its seeds at each epoch).
    static func learningCurveFigures(summaries: [ConfigurationSummary], labels: RunLabels,
                                     epochs: [Int64: [EpochRecord]]) -> [ReportChart] {
        let trained = costOrder(summaries).filter { summary in summary.runIDs.contains { !(epochs[$0] ?? []).isEmpty } }
        let quantities: [(name: String, title: String, yLabel: String, value: (EpochRecord) -> Double)] = [
            ("learning_curve_loss", "Training loss per epoch", "training loss (mean over the epoch)", \.trainLoss),
            ("learning_curve_accuracy", "Test accuracy per epoch", "test accuracy", \.testAccuracy),
        ]
        return quantities.map { quantity in
            let caption = "\(quantity.title), one line per trained configuration; with several seeds, each point is the mean over the seeds that reached that epoch."
            guard !trained.isEmpty else {
                return ReportChart(name: quantity.name, caption: caption,
                                   content: .absent(note: "No per-epoch history recorded: runs trained by `probe-cli sweep --train-epochs N` have one."))
            }
            let series = trained.map { summary -> ChartSeries in
                var sums: [Int: (total: Double, count: Int)] = [:]
                for id in summary.runIDs {
                    for record in epochs[id] ?? [] where quantity.value(record).isFinite {
                        let entry = sums[record.epoch] ?? (0, 0)
                        sums[record.epoch] = (entry.total + quantity.value(record), entry.count + 1)
                    }
                }
                let count = summary.runIDs.count
                return ChartSeries(name: labels.configuration(summary.representative) + (count > 1 ? " (\(count) seeds)" : ""),
                                   points: sums.keys.sorted().map { (Double($0), sums[$0]!.total / Double(sums[$0]!.count)) })
            }
            let chart = Chart(title: quantity.title, xLabel: "epoch", yLabel: quantity.yLabel, series: series)
            return ReportChart(name: quantity.name, caption: caption, content: .chart(chart))
        }
    }
}

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
    static func figures(summaries: [ConfigurationSummary], labels: RunLabels) -> [ReportChart] {
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
            redundancyFigure(summaries: summaries, labels: labels),
            accuracyFigure(summaries: summaries, labels: labels, name: "accuracy_vs_macs", cost: "MACs",
                           xLabel: "MACs (multiply-accumulates per image)", value: { $0.macs }),
            accuracyFigure(summaries: summaries, labels: labels, name: "accuracy_vs_params", cost: "parameters",
                           xLabel: "parameters", value: { $0.params }),
        ]
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
            if run.variant == "vanilla" {
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

    /// Mean |off-diagonal| similarity per layer, one series per configuration (vanilla first; the
    /// mean over its seeds), under `cosine` when recorded, else the first metric.
    static func redundancyFigure(summaries: [ConfigurationSummary], labels: RunLabels) -> ReportChart {
        let name = "redundancy_per_layer"
        let metrics = Set(summaries.flatMap { $0.layerRedundancy.keys })
        guard let metric = metrics.contains("cosine") ? "cosine" : metrics.sorted().first else {
            return ReportChart(name: name, caption: "Mean channel redundancy per layer.",
                          content: .absent(note: "No layer metrics recorded: run the sweep with similarity capture to see redundancy per layer."))
        }
        let ordered = summaries.filter { $0.representative.variant == "vanilla" } + summaries.filter { $0.representative.variant != "vanilla" }
        let withLayers = ordered.filter { !($0.layerRedundancy[metric] ?? []).isEmpty }
        let categories = mergedLayerOrder(withLayers.map { $0.layerRedundancy[metric]!.map(\.layer) })
        let index = Dictionary(categories.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let series = withLayers.map { summary in
            let count = summary.runIDs.count
            return ChartSeries(name: labels.configuration(summary.representative) + (count > 1 ? " (\(count) seeds)" : ""),
                               points: summary.layerRedundancy[metric]!.map { (Double(index[$0.layer]!), $0.spread.mean) },
                               connect: true)
        }
        let chart = Chart(title: "Mean |off-diagonal| \(metric) similarity per layer", xLabel: "layer (network order)",
                          yLabel: "mean |off-diagonal| \(metric)", series: series, categories: categories,
                          width: min(4000, max(960, 440 + 22 * categories.count)),
                          height: 560 + 12 * min(24, categories.map(\.count).max() ?? 0))
        let weights = labels.marksWeights ? " Runs with random weights are marked [random], trained ones [trained]: compare like with like." : ""
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
        var points: [String: [(x: Double, y: Double)]] = [:], errors: [String: [Double]] = [:]
        let sorted = measured.filter { $0.representative.variant == "vanilla" }
            + measured.filter { $0.representative.variant != "vanilla" }
                .sorted { ($0.representative.model, $0.representative.groups ?? 0) < ($1.representative.model, $1.representative.groups ?? 0) }
        for summary in sorted {
            let run = summary.representative
            let key = run.variant == "vanilla" ? labels.vanilla(model: run.model, source: run.weightsSource)
                : run.groups.map { labels.groups($0, model: run.model, source: run.weightsSource) } ?? labels.configuration(run)
            if points[key] == nil { keys.append(key) }
            points[key, default: []].append((Double(value(run)!), summary.accuracy!.mean))
            errors[key, default: []].append(summary.accuracy!.std ?? 0)
        }
        let series = keys.map { ChartSeries(name: $0, points: points[$0]!, connect: false, errors: errors[$0]!) }
        let chart = Chart(title: "Accuracy vs \(cost)", xLabel: xLabel, yLabel: "test accuracy",
                          series: series, paretoFront: ChartRenderer.paretoFront(of: series.flatMap(\.points)))
        return ReportChart(name: name, caption: caption, content: .chart(chart))
    }
}

extension SweepReport {
    /// A chart of the report, or the note that replaces it when there is nothing to draw.
    struct Figure {
        enum Content {
            case chart(Chart)
            case absent(note: String)
        }

        let name: String
        let caption: String
        let content: Content
    }

    /// The report's charts, in page order.
    static func figures(runs: [RunRecord], layerMetrics: [LayerMetricRecord], labels: RunLabels) -> [Figure] {
        [
            ratioFigure(runs: runs, labels: labels, name: "macs_vs_ratio.png", value: { $0.macs.map(Double.init) },
                        title: "MACs vs split ratio", yLabel: "MACs (multiply-accumulates per image)",
                        caption: "Multiply-accumulates per image against the SPConv split ratio, one line per group count; the dashed line is the vanilla network.",
                        note: "No MACs recorded for any run."),
            ratioFigure(runs: runs, labels: labels, name: "latency_vs_ratio.png", value: \.latencyMS,
                        title: "Latency vs split ratio", yLabel: "latency (ms)",
                        caption: "Measured latency (one forward pass of a batch) against the SPConv split ratio, one line per group count; the dashed line is the vanilla network.",
                        note: "No latency recorded: run the sweep with latency measurement to fill this chart."),
            redundancyFigure(runs: runs, layerMetrics: layerMetrics, labels: labels),
            accuracyFigure(runs: runs, labels: labels),
        ]
    }

    /// A value against the split ratio: a series per (model, group count), vanilla as references.
    static func ratioFigure(runs: [RunRecord], labels: RunLabels, name: String, value: (RunRecord) -> Double?,
                            title: String, yLabel: String, caption: String, note: String) -> Figure {
        var keys: [(model: String, groups: Int)] = []
        var points: [String: [(x: Double, y: Double)]] = [:]
        var references: [Chart.Reference] = []
        var modelsWithReference = Set<String>()
        for run in runs {
            guard let y = value(run) else { continue }
            if run.variant == "vanilla" {
                if modelsWithReference.insert(run.model).inserted {
                    references.append(Chart.Reference(name: labels.vanilla(model: run.model), y: y))
                }
            } else if let ratio = run.ratio, let groups = run.groups {
                let key = labels.groups(groups, model: run.model)
                if points[key] == nil { keys.append((run.model, groups)) }
                points[key, default: []].append((ratio, y))
            }
        }
        guard !points.isEmpty || !references.isEmpty else {
            return Figure(name: name, caption: caption, content: .absent(note: note))
        }
        let series = keys.sorted { ($0.model, $0.groups) < ($1.model, $1.groups) }.map { key in
            let name = labels.groups(key.groups, model: key.model)
            return ChartSeries(name: name, points: points[name] ?? [], connect: true)
        }
        let chart = Chart(title: title, xLabel: "SPConv split ratio", yLabel: yLabel, series: series, references: references)
        return Figure(name: name, caption: caption, content: .chart(chart))
    }

    /// Mean |off-diagonal| similarity per layer, one series per run (vanilla first), under
    /// `cosine` when recorded, else the first metric.
    static func redundancyFigure(runs: [RunRecord], layerMetrics: [LayerMetricRecord], labels: RunLabels) -> Figure {
        let name = "redundancy_per_layer.png"
        guard let metric = layerMetrics.contains(where: { $0.metric == "cosine" }) ? "cosine" : layerMetrics.first?.metric else {
            return Figure(name: name, caption: "Mean channel redundancy per layer.",
                          content: .absent(note: "No layer metrics recorded: run the sweep with similarity capture to see redundancy per layer."))
        }
        let records = layerMetrics.filter { $0.metric == metric }
        var byRun: [Int64: [LayerMetricRecord]] = [:]
        var runOrder: [Int64] = []
        for record in records {
            if byRun[record.runID] == nil { runOrder.append(record.runID) }
            byRun[record.runID, default: []].append(record)
        }
        // Runs in table order, vanilla first; runs missing from the table last.
        let tableOrder = runs.filter { $0.variant == "vanilla" } + runs.filter { $0.variant != "vanilla" }
        var ordered: [Int64] = []
        for run in tableOrder where byRun[run.id] != nil && !ordered.contains(run.id) { ordered.append(run.id) }
        ordered += runOrder.filter { !ordered.contains($0) }

        let categories = mergedLayerOrder(ordered.map { byRun[$0]!.map(\.layer) })
        let index = Dictionary(categories.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        // Wide enough for a readable label per layer; tall enough for turned labels under the plot.
        let series = ordered.map { id in
            ChartSeries(name: labels.series(id), points: byRun[id]!.map { (Double(index[$0.layer]!), $0.meanAbsOffDiagonal) },
                        connect: true)
        }
        let chart = Chart(title: "Mean |off-diagonal| \(metric) similarity per layer", xLabel: "layer (network order)",
                          yLabel: "mean |off-diagonal| \(metric)", series: series, categories: categories,
                          width: min(4000, max(960, 440 + 22 * categories.count)),
                          height: 560 + 12 * min(24, categories.map(\.count).max() ?? 0))
        return Figure(name: name, caption: "Mean absolute off-diagonal \(metric) similarity between the channels of each layer, one line per run: lower means less redundant channels.",
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

    /// Accuracy against MACs with the Pareto front; absent when no run has both.
    static func accuracyFigure(runs: [RunRecord], labels: RunLabels) -> Figure {
        let name = "accuracy_vs_macs.png"
        let caption = "Accuracy against MACs; the step line is the Pareto front (no other run is both cheaper and more accurate)."
        var keys: [String] = []
        var points: [String: [(x: Double, y: Double)]] = [:]
        let measured = runs.filter { $0.accuracy != nil && $0.macs != nil }
        guard !measured.isEmpty else {
            let note = runs.contains { $0.accuracy != nil }
                ? "Accuracy recorded but no MACs: nothing to plot against."
                : "No accuracy recorded: train with --train-epochs to plot accuracy against MACs."
            return Figure(name: name, caption: caption, content: .absent(note: note))
        }
        let sorted = measured.filter { $0.variant == "vanilla" }
            + measured.filter { $0.variant != "vanilla" }.sorted { ($0.model, $0.groups ?? 0) < ($1.model, $1.groups ?? 0) }
        for run in sorted {
            let key = run.variant == "vanilla" ? labels.vanilla(model: run.model)
                : run.groups.map { labels.groups($0, model: run.model) } ?? labels.configuration(run)
            if points[key] == nil { keys.append(key) }
            points[key, default: []].append((Double(run.macs!), run.accuracy!))
        }
        let series = keys.map { ChartSeries(name: $0, points: points[$0]!, connect: false) }
        let chart = Chart(title: "Accuracy vs MACs", xLabel: "MACs (multiply-accumulates per image)", yLabel: "accuracy",
                          series: series, paretoFront: ChartRenderer.paretoFront(of: series.flatMap(\.points)))
        return Figure(name: name, caption: caption, content: .chart(chart))
    }
}

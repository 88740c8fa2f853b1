import Foundation

/// One configuration of a sweep summarised over its seeds: the runs that differ only in their
/// training seed, with the mean and sample standard deviation of accuracy, latency and, per
/// metric, each redundancy summary of the run (``RedundancyField``). The per-seed runs stay in
/// ``runIDs``.
public struct ConfigurationSummary: Sendable, Equatable {
    /// A run's redundancy summed up over its layers, as the `run_redundancy` view does.
    public enum RedundancyField: String, CaseIterable, Sendable {
        /// Mean over layers of the mean |off-diagonal| similarity.
        case meanAbsOffDiagonal = "mean_abs_offdiag"
        /// Mean over layers of the fraction of channel pairs above the threshold.
        case fractionAboveThreshold = "frac_above_threshold"
        /// Near-duplicate pairs, summed over layers.
        case duplicates
        /// Dead channels, summed over layers.
        case dead
        /// Mean over layers of effective rank / channels.
        case effectiveRankFraction = "effective_rank_fraction"
        /// Mean over layers of the suggested split ratio.
        case suggestedRatio = "suggested_ratio"

        /// The field's value for one run's layer records (nil without records).
        public func value(_ records: [LayerMetricRecord]) -> Double? {
            guard !records.isEmpty else { return nil }
            func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
            switch self {
            case .meanAbsOffDiagonal: return mean(records.map(\.meanAbsOffDiagonal))
            case .fractionAboveThreshold: return mean(records.map(\.fractionAboveThreshold))
            case .duplicates: return Double(records.map(\.duplicates).reduce(0, +))
            case .dead: return Double(records.map(\.dead).reduce(0, +))
            case .effectiveRankFraction: return mean(records.map { $0.effectiveRank / Double(max($0.channels, 1)) })
            case .suggestedRatio: return mean(records.map(\.suggestedRatio))
            }
        }
    }

    /// Mean, sample standard deviation (n - 1; nil for one value) and count of finite values.
    public struct Spread: Sendable, Equatable {
        public var mean: Double
        public var std: Double?
        public var count: Int

        /// The spread of the finite values, or nil when there is none.
        public init?(_ values: [Double]) {
            let finite = values.filter(\.isFinite)
            guard !finite.isEmpty else { return nil }
            count = finite.count
            mean = finite.reduce(0, +) / Double(finite.count)
            if finite.count > 1 {
                let m = mean
                std = (finite.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(finite.count - 1)).squareRoot()
            } else {
                std = nil
            }
        }

        /// `0.9312 ± 0.0021` (`%.Nf`), or the mean alone for one value.
        public func formatted(decimals: Int = 4, scale: Double = 1) -> String {
            let format = "%.\(decimals)f"
            let m = String(format: format, mean * scale)
            return std.map { m + " ± " + String(format: format, $0 * scale) } ?? m
        }
    }

    /// The first run of the group (its configuration fields describe the group).
    public var representative: RunRecord
    /// The done runs of the group, by id.
    public var runIDs: [Int64]
    /// Their training seeds (nil entries for untrained runs).
    public var seeds: [UInt64?]
    public var accuracy: Spread?
    public var latencyMS: Spread?
    /// Per metric and redundancy field: the spread over the runs of that run-level summary.
    public var redundancySummaries: [String: [RedundancyField: Spread]]
    /// Per metric: the spread over the runs of the mean (over layers) |off-diagonal| similarity.
    public var redundancy: [String: Spread] { redundancySummaries.compactMapValues { $0[.meanAbsOffDiagonal] } }
    /// Per metric and layer: the spread over the runs of that layer's mean |off-diagonal| similarity,
    /// layers in network order.
    public var layerRedundancy: [String: [(layer: String, spread: Spread)]]

    public static func == (a: ConfigurationSummary, b: ConfigurationSummary) -> Bool {
        a.runIDs == b.runIDs && a.accuracy == b.accuracy && a.latencyMS == b.latencyMS && a.redundancy == b.redundancy
    }

    /// Groups the done runs by everything but their seed (sweep, model, variant, ratio, groups,
    /// input shape, classes, data, batch, epochs, weights source and file), in order of first
    /// appearance.
    public static func group(_ runs: [RunRecord], layerMetrics: [LayerMetricRecord]) -> [ConfigurationSummary] {
        var order: [String] = []
        var members: [String: [RunRecord]] = [:]
        for run in runs where run.status == .done {
            let key = configurationKey(run)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(run)
        }
        var metricsByRun: [Int64: [LayerMetricRecord]] = [:]
        for metric in layerMetrics { metricsByRun[metric.runID, default: []].append(metric) }
        return order.map { key in
            let group = members[key]!
            var redundancy: [String: [RedundancyField: Spread]] = [:]
            var layerRedundancy: [String: [(layer: String, spread: Spread)]] = [:]
            let metrics = Set(group.flatMap { metricsByRun[$0.id]?.map(\.metric) ?? [] }).sorted()
            for metric in metrics {
                let perRun = group.map { run in (metricsByRun[run.id] ?? []).filter { $0.metric == metric } }
                var fields: [RedundancyField: Spread] = [:]
                for field in RedundancyField.allCases { fields[field] = Spread(perRun.compactMap(field.value)) }
                redundancy[metric] = fields
                var layers: [String] = []
                for records in perRun { for record in records where !layers.contains(record.layer) { layers.append(record.layer) } }
                layerRedundancy[metric] = layers.compactMap { layer in
                    Spread(perRun.compactMap { $0.first { $0.layer == layer }?.meanAbsOffDiagonal }).map { (layer, $0) }
                }
            }
            return ConfigurationSummary(representative: group[0], runIDs: group.map(\.id), seeds: group.map(\.trainSeed),
                                        accuracy: Spread(group.compactMap(\.accuracy)),
                                        latencyMS: Spread(group.compactMap(\.latencyMS)),
                                        redundancySummaries: redundancy, layerRedundancy: layerRedundancy)
        }
    }

    static func configurationKey(_ run: RunRecord) -> String {
        let ratio: String = run.ratio.map { "\($0)" } ?? "-"
        let groups: String = run.groups.map { String($0) } ?? "-"
        let epochs: String = run.trainEpochs.map { String($0) } ?? "-"
        let file: String = run.weightsSHA256 ?? run.weightsPath ?? "-"
        let fields: [String] = [String(run.sweepID), run.model, run.variant, ratio, groups, String(run.inChannels),
                                String(run.classes), String(run.inputSize), run.dataset, String(run.images), String(run.batch),
                                epochs, run.weightsSource.rawValue, file]
        return fields.joined(separator: "|")
    }
}

import Foundation
import SPConvLab

/// Reads what a sweep report shows from an experiment database, without changing it.
public enum SweepReportLoader {
    /// How many stored heatmaps per run a report draws: all, none, or at most N layers per run
    /// (evenly spaced over the run's layers, first and last included).
    public enum HeatmapSelection: Sendable, Equatable {
        case all
        case perRun(Int)
    }

    /// The runs (of one sweep, or all), their layer metrics, the chosen similarity matrices and
    /// the stored feature maps of the layers those matrices belong to (none from a file written
    /// before `v4_feature_maps`).
    public static func load(path: String, sweep name: String? = nil, heatmaps: HeatmapSelection = .perRun(4))
        throws -> (runs: [RunRecord], layerMetrics: [LayerMetricRecord], similarity: [SimilarityRecord],
                   featureMaps: [FeatureMapRecord]) {
        let database = try ExperimentDatabase(path: path, mode: .readOnly)
        var sweeps = try database.sweeps()
        if let name {
            sweeps = sweeps.filter { $0.name == name }
            guard !sweeps.isEmpty else {
                let known = try database.sweeps().map { "'\($0.name)'" }.joined(separator: ", ")
                throw FeatureProbeError("\(path) has no sweep named '\(name)'; its sweeps are \(known.isEmpty ? "none" : known).")
            }
        }
        let runs = try sweeps.flatMap { try database.runs(sweepID: $0.id) }
        var metrics: [LayerMetricRecord] = []
        var matrices: [SimilarityRecord] = []
        var featureMaps: [FeatureMapRecord] = []
        for run in runs {
            metrics += try database.layerMetrics(runID: run.id)
            let keys = try database.similarityKeys(runID: run.id)
            let chosen: [(layer: String, metric: String)]
            switch heatmaps {
            case .all: chosen = keys
            case .perRun(let count):
                let layers = keys.map(\.layer).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
                let picked = count <= 0 || layers.isEmpty ? [] : count >= layers.count ? layers
                    : Set((0..<count).map { layers[$0 * (layers.count - 1) / max(count - 1, 1)] }).sorted { layers.firstIndex(of: $0)! < layers.firstIndex(of: $1)! }
                chosen = keys.filter { picked.contains($0.layer) }
            }
            for key in chosen {
                if let record = try database.similarity(runID: run.id, layer: key.layer, metric: key.metric) { matrices.append(record) }
            }
            if !chosen.isEmpty { featureMaps += try database.featureMaps(runID: run.id, layers: Set(chosen.map(\.layer))) }
        }
        return (runs, metrics, matrices, featureMaps)
    }

    /// The per-epoch training history of each of `runs` that has one, by run id.
    public static func epochs(path: String, runs: [RunRecord]) throws -> [Int64: [EpochRecord]] {
        let database = try ExperimentDatabase(path: path, mode: .readOnly)
        var history: [Int64: [EpochRecord]] = [:]
        for run in runs where run.trainEpochs != nil {
            let records = try database.epochs(runID: run.id)
            if !records.isEmpty { history[run.id] = records }
        }
        return history
    }
}

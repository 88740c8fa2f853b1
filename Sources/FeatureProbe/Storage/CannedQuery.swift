/// The questions `probe-cli query` answers by name, each a read-only query over the views of
/// docs/SCHEMA.md returning a ``QueryResult``.
public enum CannedQuery {
    /// Every run (of the sweep named `sweep`, or of all sweeps) with its configuration, status,
    /// costs, accuracy, training epochs and mean redundancy: one row per run and metric
    /// (`run_summary`; `train_epochs` is NULL in a file written before `v2_training`).
    public static func runs(path: String, sweep: String? = nil) throws -> QueryResult {
        let connection = try ReadOnlyQuery.open(path: path)
        let viewColumns = Set(try ReadOnlyQuery.run(connection, sql: "PRAGMA table_info(run_summary)").rows.compactMap { $0[1].string })
        let hasEpochs = viewColumns.contains("train_epochs"), hasSource = viewColumns.contains("weights_source")
        // A file from before the provenance columns: the source its columns imply, as ExperimentDatabase reads it.
        let fileOrRandom = "(SELECT CASE WHEN weights_path IS NOT NULL THEN 'file' ELSE 'random' END FROM runs WHERE runs.id = run_id)"
        let source = hasSource ? "weights_source, train_seed" : hasEpochs
            ? "CASE WHEN train_epochs IS NOT NULL THEN 'trained' ELSE \(fileOrRandom) END AS weights_source, NULL AS train_seed"
            : "\(fileOrRandom) AS weights_source, NULL AS train_seed"
        let columns = """
            run_id, sweep, model, variant, ratio, groups, \(source), dataset, images, status, params, macs, latency_ms, accuracy, \
            \(hasEpochs ? "train_epochs" : "NULL AS train_epochs"), metric, layers, mean_abs_offdiag, suggested_ratio, reason
            """
        if let sweep {
            return try ReadOnlyQuery.run(connection, sql: "SELECT \(columns) FROM run_summary WHERE sweep = ? ORDER BY run_id, metric",
                                         bindings: [.text(sweep)])
        }
        return try ReadOnlyQuery.run(connection, sql: "SELECT \(columns) FROM run_summary ORDER BY run_id, metric")
    }

    /// The columns of ``configurations(path:sweep:allowMixing:)``.
    public static let configurationColumns = [
        "sweep", "model", "variant", "ratio", "groups", "weights_source", "train_epochs", "runs", "seeds", "params", "macs",
        "accuracy_mean", "accuracy_std", "latency_ms_mean", "latency_ms_std", "metric",
    ] + ConfigurationSummary.RedundancyField.allCases.flatMap { ["\($0.rawValue)_mean", "\($0.rawValue)_std"] } + ["run_ids"]

    /// Each configuration summarised over its seeds (``ConfigurationSummary``): one row per
    /// configuration and metric with the mean and sample standard deviation (NULL for one seed)
    /// of accuracy, latency and each run-level redundancy summary of `run_redundancy`
    /// (``ConfigurationSummary/RedundancyField``), and the ids of the per-seed runs (still in
    /// `runs`). Done runs only, in order of their first run.
    ///
    /// - Throws: ``FeatureProbeError`` when the runs mix random with trained or file weights and
    ///   `allowMixing` is false (``WeightsMixing``), or the sweep does not exist.
    public static func configurations(path: String, sweep: String? = nil, allowMixing: Bool = false) throws -> QueryResult {
        let data = try SweepReportLoader.load(path: path, sweep: sweep, heatmaps: .perRun(0))
        try WeightsMixing.check(data.runs, allowed: allowMixing, what: "query configurations")
        let names = Dictionary(try ExperimentDatabase(path: path, mode: .readOnly).sweeps().map { ($0.id, $0.name) },
                               uniquingKeysWith: { a, _ in a })
        var rows: [[SQLValue]] = []
        for summary in ConfigurationSummary.group(data.runs, layerMetrics: data.layerMetrics) {
            let r = summary.representative
            let seeds = summary.seeds.map { $0.map(String.init) ?? "-" }.joined(separator: ",")
            let head: [SQLValue] = [SQLValue(names[r.sweepID]), .text(r.model), .text(r.variant), SQLValue(r.ratio),
                                    SQLValue(r.groups), .text(r.weightsSource.rawValue), SQLValue(r.trainEpochs),
                                    SQLValue(summary.runIDs.count), .text(seeds), SQLValue(r.params), SQLValue(r.macs),
                                    SQLValue(summary.accuracy?.mean), SQLValue(summary.accuracy?.std),
                                    SQLValue(summary.latencyMS?.mean), SQLValue(summary.latencyMS?.std)]
            let ids = SQLValue.text(summary.runIDs.map(String.init).joined(separator: ","))
            let fields = ConfigurationSummary.RedundancyField.allCases
            let metrics = summary.redundancySummaries.keys.sorted()
            if metrics.isEmpty { rows.append(head + [SQLValue](repeating: .null, count: 1 + 2 * fields.count) + [ids]) }
            for metric in metrics {
                let spreads = summary.redundancySummaries[metric] ?? [:]
                rows.append(head + [.text(metric)] + fields.flatMap { [SQLValue(spreads[$0]?.mean), SQLValue(spreads[$0]?.std)] } + [ids])
            }
        }
        return QueryResult(columns: configurationColumns, rows: rows)
    }

    /// One run as `field, value` rows: every column of `runs`, then its sweep's name.
    ///
    /// - Throws: ``FeatureProbeError`` when there is no run `runID`.
    public static func show(path: String, runID: Int64) throws -> QueryResult {
        let result = try ReadOnlyQuery.run(path: path, sql: """
            SELECT r.*, s.name AS sweep FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE r.id = ?
            """, bindings: [.integer(runID)])
        guard let row = result.rows.first else { throw try missingRun(runID, path: path) }
        return QueryResult(columns: ["field", "value"], rows: zip(result.columns, row).map { [.text($0), $1] })
    }

    /// A run's layer metrics, by layer and metric.
    public static func layers(path: String, runID: Int64) throws -> QueryResult {
        try ReadOnlyQuery.run(path: path, sql: """
            SELECT layer, metric, channels, images, mean_abs_offdiag, frac_above_threshold, threshold, duplicates, dead,
                   clusters, effective_rank, suggested_ratio
            FROM layer_metrics WHERE run_id = ? ORDER BY rowid
            """, bindings: [.integer(runID)])
    }

    /// Two runs per layer side by side under one metric (refused when one has random weights and
    /// the other trained or file weights, unless `allowMixing`): `layer, a_channels, b_channels,
    /// a_/b_mean_abs_offdiag, a_/b_clusters, a_/b_effective_rank, a_/b_suggested_ratio`, layers of
    /// either run (a full outer join by the dotted layer path; a layer only one run has shows NULLs
    /// for the other), in `a`'s layer order then `b`'s.
    ///
    /// - Parameter metric: the metric; nil picks the first metric (alphabetically) both runs have.
    /// - Throws: ``FeatureProbeError`` when a run is missing or the runs share no metric.
    public static func compare(path: String, runA: Int64, runB: Int64, metric: String? = nil,
                               allowMixing: Bool = false) throws -> QueryResult {
        let connection = try ReadOnlyQuery.open(path: path)
        for id in [runA, runB] where try ReadOnlyQuery.run(connection, sql: "SELECT 1 FROM runs WHERE id = ?", bindings: [.integer(id)]).rows.isEmpty {
            throw try missingRun(id, path: path)
        }
        let database = try ExperimentDatabase(path: path, mode: .readOnly)
        try WeightsMixing.check(try [runA, runB].compactMap { try database.run(id: $0) }, allowed: allowMixing,
                                what: "query compare \(runA) \(runB)")
        let chosen: String
        if let metric {
            chosen = metric
        } else {
            let common = try ReadOnlyQuery.run(connection, sql: """
                SELECT metric FROM layer_metrics WHERE run_id = ? INTERSECT SELECT metric FROM layer_metrics WHERE run_id = ?
                ORDER BY metric LIMIT 1
                """, bindings: [.integer(runA), .integer(runB)])
            guard let first = common.rows.first?.first?.string else {
                throw FeatureProbeError("Runs \(runA) and \(runB) in \(path) have no similarity metric in common (or no layer metrics), so there is nothing to compare; compare two runs that are done and measured with the same metric.")
            }
            chosen = first
        }
        return try ReadOnlyQuery.run(connection, sql: """
            WITH a AS (SELECT *, rowid AS position FROM layer_metrics WHERE run_id = ?1 AND metric = ?3),
                 b AS (SELECT *, rowid AS position FROM layer_metrics WHERE run_id = ?2 AND metric = ?3)
            SELECT COALESCE(a.layer, b.layer) AS layer, ?3 AS metric,
                   a.channels AS a_channels, b.channels AS b_channels,
                   a.mean_abs_offdiag AS a_mean_abs_offdiag, b.mean_abs_offdiag AS b_mean_abs_offdiag,
                   a.clusters AS a_clusters, b.clusters AS b_clusters,
                   a.effective_rank AS a_effective_rank, b.effective_rank AS b_effective_rank,
                   a.suggested_ratio AS a_suggested_ratio, b.suggested_ratio AS b_suggested_ratio
            FROM a FULL OUTER JOIN b ON a.layer = b.layer
            ORDER BY a.position IS NULL, a.position, b.position
            """, bindings: [.integer(runA), .integer(runB), .text(chosen)])
    }

    /// The `limit` layers with the highest `mean_abs_offdiag` over all runs (ties by
    /// `frac_above_threshold`, then run and layer), from `layer_redundancy`.
    public static func topRedundant(path: String, limit: Int = 10, allowMixing: Bool = false) throws -> QueryResult {
        guard limit >= 1 else {
            throw FeatureProbeError("--limit must be a positive number of layers, got \(limit).")
        }
        let runs = try SweepReportLoader.load(path: path, heatmaps: .perRun(0)).runs
        try WeightsMixing.check(runs, allowed: allowMixing, what: "query top-redundant (it ranks the layers of every run together)")
        let connection = try ReadOnlyQuery.open(path: path)
        let hasSource = try ReadOnlyQuery.run(connection, sql: "PRAGMA table_info(runs)").rows.contains { $0[1].string == "weights_source" }
        return try ReadOnlyQuery.run(connection, sql: """
            SELECT run_id, sweep, model, variant, ratio, groups, \(hasSource ? "(SELECT weights_source FROM runs WHERE runs.id = run_id)" : "NULL") AS weights_source,
                   layer, metric, channels, mean_abs_offdiag,
                   frac_above_threshold, duplicates, dead, clusters, effective_rank, suggested_ratio
            FROM layer_redundancy
            ORDER BY mean_abs_offdiag DESC, frac_above_threshold DESC, run_id, layer, metric
            LIMIT ?
            """, bindings: [SQLValue(limit)])
    }

    /// The done configurations no other done run of the same sweep beats (`pareto_candidates`).
    ///
    /// When any done run has an accuracy, the criterion is "not beaten on both lower MACs and
    /// higher accuracy"; otherwise "not beaten on both lower MACs and lower mean_abs_offdiag" (per
    /// metric): at equal cost, the network whose channels repeat each other less uses its MACs
    /// better. The `criterion` column says which applied. Ordered by sweep, metric, MACs.
    public static func pareto(path: String, allowMixing: Bool = false) throws -> QueryResult {
        // The front is computed per sweep, so each sweep must hold weights of one kind.
        let runs = try SweepReportLoader.load(path: path, heatmaps: .perRun(0)).runs
        for sweepID in Set(runs.map(\.sweepID)).sorted() {
            try WeightsMixing.check(runs.filter { $0.sweepID == sweepID }, allowed: allowMixing, what: "query pareto (sweep \(sweepID))")
        }
        return try ReadOnlyQuery.run(path: path, sql: """
            SELECT * FROM pareto_candidates
            WHERE criterion = (CASE WHEN EXISTS (SELECT 1 FROM runs WHERE status = 'done' AND accuracy IS NOT NULL)
                                    THEN 'accuracy' ELSE 'mean_abs_offdiag' END)
            ORDER BY sweep, metric, macs, run_id
            """)
    }

    private static func missingRun(_ runID: Int64, path: String) throws -> FeatureProbeError {
        let range = try ReadOnlyQuery.run(path: path, sql: "SELECT min(id), max(id), count(*) FROM runs").rows.first ?? []
        let known = (range.first?.int64).map { "runs \($0) to \(range[1].int64 ?? $0) (\(range[2].int64 ?? 0) runs)" } ?? "no runs"
        return FeatureProbeError("There is no run \(runID) in \(path); it holds \(known). List them with `probe-cli query --db \(path) runs`.")
    }
}

/// Merging shard databases into one.
extension ExperimentDatabase {
    /// What a merge did.
    public struct MergeSummary: Sendable, Equatable {
        /// Runs new to the output database.
        public var inserted = 0
        /// Runs the output had unfinished and an input had finished (or failed/skipped), replaced.
        public var updated = 0
        /// Runs left as they were (already done in the output, or no better in the input).
        public var unchanged = 0
    }

    /// Merges the sweeps, runs, layer metrics, similarity matrices and feature maps of `inputs` into the
    /// database at `output` (created if missing), without duplicates.
    ///
    /// Sweeps are matched by name and runs by configuration (the `runs_configuration` key, training
    /// epochs included; an input written before `v2_training` has untrained runs), and run
    /// ids are remapped. A run already `done` in the output is never copied again; an unfinished
    /// one (pending, running, failed, skipped) is replaced by a `done` run of an input, and a
    /// pending one by a failed or skipped one. A `running` row of an input (its process died) comes
    /// in as `pending`. Each input is merged in one transaction, so an interrupted merge can simply
    /// be run again.
    ///
    /// - Throws: ``FeatureProbeError`` when an input is missing, not SQLite, not an experiment
    ///   database, or from a newer schema; inputs before it stay merged, later ones are not read.
    @discardableResult
    public static func merge(into output: String, from inputs: [String]) throws -> MergeSummary {
        // Check every input before writing anything.
        let sources = try inputs.map { try ExperimentDatabase(path: $0, mode: .readOnly) }
        let target = try ExperimentDatabase(path: output)
        var summary = MergeSummary()
        for source in sources {
            try target.connection.transaction(immediate: true) {
                try target.mergeRows(from: source, into: &summary)
            }
        }
        return summary
    }

    private func mergeRows(from source: ExperimentDatabase, into summary: inout MergeSummary) throws {
        var sweepIDs: [Int64: Int64] = [:]
        for sweep in try source.sweeps() {
            try connection.run("INSERT OR IGNORE INTO sweeps (name, command_line, created_at) VALUES (?, ?, ?)",
                               [.text(sweep.name), .text(sweep.commandLine), .text(sweep.createdAt)])
            guard let id = try self.sweep(named: sweep.name)?.id else { continue }
            sweepIDs[sweep.id] = id
        }
        let select = try connection.prepare("SELECT id, status FROM runs WHERE \(Self.configurationMatch)")
        for (sourceSweep, targetSweep) in sweepIDs.sorted(by: { $0.key < $1.key }) {
            for var run in try source.runs(sweepID: sourceSweep) {
                if run.status == .running { run.status = .pending }
                try select.bind(Self.configurationKey(sweepID: targetSweep, Self.configuration(of: run)))
                let existing = try select.step() ? select.namedRow(table: "runs", describe: Self.describeRun) : nil
                if let existing {
                    let status = try existing.oneOf("status", as: RunStatus.self)
                    let targetID = try existing.int64("id")
                    // A row still running in the output may belong to a live worker: leave it alone.
                    let better = status != .done && status != .running
                        && (run.status == .done || (status == .pending && run.status != .pending))
                    guard better else {
                        summary.unchanged += 1
                        continue
                    }
                    try connection.run("DELETE FROM runs WHERE id = ?", [.integer(targetID)])
                    try insertCopy(of: run, sweepID: targetSweep, from: source)
                    summary.updated += 1
                } else {
                    try insertCopy(of: run, sweepID: targetSweep, from: source)
                    summary.inserted += 1
                }
            }
        }
    }

    /// Inserts `run` (with a new id) and its epochs, layer metrics, matrices and feature maps from `source`.
    private func insertCopy(of run: RunRecord, sweepID: Int64, from source: ExperimentDatabase) throws {
        let pending = run.status == .pending
        let values: [SQLValue] = [
            .integer(sweepID), .text(run.model), .text(run.variant), SQLValue(run.ratio), SQLValue(run.groups),
            SQLValue(run.inChannels), SQLValue(run.classes), SQLValue(run.inputSize), SQLValue(run.weightsPath),
            SQLValue(run.weightsSHA256), .text(run.dataset), SQLValue(run.images), .text(run.status.rawValue),
            SQLValue(run.reason), SQLValue(run.params), SQLValue(run.macs), SQLValue(run.flops),
            SQLValue(run.latencyMS), SQLValue(run.batch), SQLValue(run.threads), SQLValue(run.accuracy),
            SQLValue(run.trainEpochs), SQLValue(pending ? nil : run.trainSeconds),
            SQLValue(pending ? nil : run.startedAt), SQLValue(pending ? nil : run.finishedAt),
            .text(run.toolVersion), SQLValue(run.gitCommit), SQLValue(run.host),
            SQLValue(run.trainSeed.map { Int64(bitPattern: $0) }), .text(run.weightsSource.rawValue),
            SQLValue(run.weightsSeed.map { Int64(bitPattern: $0) }), SQLValue(pending ? nil : run.storeKey),
            SQLValue(pending ? nil : run.checkpointSHA256),
        ]
        try connection.run("""
            INSERT INTO runs (sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, weights_path,
                weights_sha256, dataset, images, status, reason, params, macs, flops, latency_ms, batch, threads,
                accuracy, train_epochs, train_seconds, started_at, finished_at, tool_version, git_commit, host,
                train_seed, weights_source, weights_seed, store_key, checkpoint_sha256)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, values)
        let newID = connection.lastInsertRowID
        try insertEpochs(try source.epochs(runID: run.id), runID: newID)
        for metric in try source.layerMetrics(runID: run.id) {
            try connection.run("""
                INSERT INTO layer_metrics (run_id, layer, metric, channels, images, mean_abs_offdiag,
                    frac_above_threshold, threshold, duplicates, dead, clusters, effective_rank, suggested_ratio)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, Self.layerMetricValues(metric, runID: newID))
        }
        let matrices = try source.connection.prepare(
            "SELECT layer, metric, channels, matrix FROM similarity WHERE run_id = ? ORDER BY rowid")
        try matrices.bind([.integer(run.id)])
        while try matrices.step() {
            let row = matrices.row()
            try connection.run("INSERT INTO similarity (run_id, layer, metric, channels, matrix) VALUES (?, ?, ?, ?, ?)",
                               [.integer(newID)] + row)
        }
        // A file written before v4_feature_maps has none.
        try insertFeatureMaps(try source.featureMaps(runID: run.id), runID: newID)
    }
}

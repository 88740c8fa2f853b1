import SPConvLab

/// Sweeps and runs: creating, claiming, completing and reading them.
extension ExperimentDatabase {
    static let runColumnsV1 = """
        id, sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, weights_path, \
        weights_sha256, dataset, images, status, reason, params, macs, flops, latency_ms, batch, threads, \
        accuracy, started_at, finished_at, tool_version, git_commit, host
        """
    /// The columns ``runRecord(_:)`` reads (by name). A file opened read-only keeps its schema,
    /// so one written before `v2_training` reads its missing training columns as NULL.
    var runColumns: String {
        Self.runColumnsV1 + (hasTrainingColumns ? ", train_epochs, train_seconds" : ", NULL AS train_epochs, NULL AS train_seconds")
            + (hasProvenanceColumns ? ", train_seed, weights_source, weights_seed, store_key, checkpoint_sha256" : """
                , NULL AS train_seed, \(hasTrainingColumns ? "CASE WHEN train_epochs IS NOT NULL THEN 'trained' WHEN weights_path IS NOT NULL THEN 'file' ELSE 'random' END" : "CASE WHEN weights_path IS NOT NULL THEN 'file' ELSE 'random' END") AS weights_source, \
                CASE WHEN weights_path IS NULL\(hasTrainingColumns ? " AND train_epochs IS NULL" : "") THEN 0 END AS weights_seed, NULL AS store_key, NULL AS checkpoint_sha256
                """)
    }
    /// The `runs_configuration` key as a WHERE clause. `train_epochs IS ?` is NULL-safe equality; as
    /// the schema keeps epochs >= 1 it agrees with the index's `COALESCE(train_epochs, 0)`, and a
    /// configuration asking for 0 epochs (refused by the CHECK) is not mistaken for an untrained one.
    static let configurationMatch = """
        sweep_id = ? AND model = ? AND variant = ? AND COALESCE(ratio, -1) = COALESCE(?, -1) \
        AND COALESCE(groups, -1) = COALESCE(?, -1) AND in_channels = ? AND classes = ? AND input_size = ? \
        AND COALESCE(weights_sha256, weights_path, '') = COALESCE(?, ?, '') AND dataset = ? AND images = ? \
        AND batch = ? AND train_epochs IS ? AND train_seed IS ?
        """
    static let now = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

    static func configurationKey(sweepID: Int64, _ c: RunConfiguration) -> [SQLValue] {
        let identity: [SQLValue] = [.integer(sweepID), .text(c.model), .text(c.variant), SQLValue(c.ratio),
                                    SQLValue(c.groups), SQLValue(c.inChannels), SQLValue(c.classes)]
        let inputs: [SQLValue] = [SQLValue(c.inputSize), SQLValue(c.weightsSHA256), SQLValue(c.weightsPath),
                                  .text(c.dataset), SQLValue(c.images), SQLValue(c.batch), SQLValue(c.trainEpochs),
                                  SQLValue(c.trainSeed.map { Int64(truncatingIfNeeded: $0) })]
        return identity + inputs
    }

    /// The configuration of a stored run.
    static func configuration(of run: RunRecord) -> RunConfiguration {
        RunConfiguration(model: run.model, variant: run.variant, ratio: run.ratio, groups: run.groups,
                         inChannels: run.inChannels, classes: run.classes, inputSize: run.inputSize,
                         weightsPath: run.weightsPath, weightsSHA256: run.weightsSHA256, dataset: run.dataset,
                         images: run.images, batch: run.batch, threads: run.threads, trainEpochs: run.trainEpochs,
                         trainSeed: run.trainSeed)
    }

    // MARK: - Sweeps

    /// The sweep named `name`, created with `commandLine` if there is none (a resumed sweep finds
    /// its rows again by name).
    public func findOrCreateSweep(name: String, commandLine: String) throws -> SweepRecord {
        try connection.transaction(immediate: true) {
            try connection.run("INSERT OR IGNORE INTO sweeps (name, command_line, created_at) VALUES (?, ?, \(Self.now))",
                               [.text(name), .text(commandLine)])
            guard let sweep = try sweep(named: name) else {
                throw FeatureProbeError("The sweep \(name) could not be created in \(path).")
            }
            return sweep
        }
    }

    /// The sweep named `name`, if any.
    public func sweep(named name: String) throws -> SweepRecord? {
        try connection.rows("SELECT id, name, command_line, created_at FROM sweeps WHERE name = ?", [.text(name)], table: "sweeps")
            .first.map(Self.sweepRecord)
    }

    /// All sweeps, oldest first.
    public func sweeps() throws -> [SweepRecord] {
        try connection.rows("SELECT id, name, command_line, created_at FROM sweeps ORDER BY id", table: "sweeps")
            .map(Self.sweepRecord)
    }

    static func sweepRecord(_ row: SQLRow) throws -> SweepRecord {
        SweepRecord(id: try row.int64("id"), name: try row.string("name"), commandLine: try row.string("command_line"),
                    createdAt: try row.string("created_at"))
    }

    /// `run 12`, for errors about a row of runs whose id can be read.
    static func describeRun(_ row: SQLRow) -> String? { (try? row.int64("id")).map { "run \($0)" } }

    // MARK: - Runs

    /// Inserts a `pending` row for each configuration the sweep lacks and returns the rows of all
    /// of them, in the order given (existing rows keep their status: a resumed sweep runs only
    /// what is missing).
    ///
    /// - Parameters:
    ///   - sweepID: the sweep.
    ///   - configurations: the grid (or this shard's part of it).
    ///   - toolVersion: the probe-cli version, stored on new rows.
    ///   - gitCommit: the tool's git commit when known, stored on new rows.
    /// - Throws: ``FeatureProbeError`` when a configuration breaks a constraint (for example a
    ///   ratio outside (0, 1], or a ratio without groups); then no row is inserted.
    public func ensureRuns(sweepID: Int64, configurations: [RunConfiguration], toolVersion: String,
                           gitCommit: String? = nil) throws -> [RunRecord] {
        try connection.transaction(immediate: true) {
            let insert = try connection.prepare("""
                INSERT OR IGNORE INTO runs (sweep_id, model, variant, ratio, groups, in_channels, classes, input_size,
                    weights_sha256, weights_path, dataset, images, batch, train_epochs, train_seed, threads, tool_version,
                    git_commit, weights_source, weights_seed, status)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
                """)
            let select = try connection.prepare("SELECT \(runColumns) FROM runs WHERE \(Self.configurationMatch)")
            var records: [RunRecord] = []
            for configuration in configurations {
                let key = Self.configurationKey(sweepID: sweepID, configuration)
                try insert.bind(key + [SQLValue(configuration.threads), .text(toolVersion), SQLValue(gitCommit),
                                       .text(configuration.weightsSource.rawValue),
                                       SQLValue(configuration.weightsSeed.map { Int64(truncatingIfNeeded: $0) })])
                while try insert.step() {}
                try select.bind(key)
                guard try select.step() else {
                    throw FeatureProbeError("The run \(configuration) was neither inserted nor found in \(path).")
                }
                records.append(try Self.runRecord(select.namedRow(table: "runs", describe: Self.describeRun)))
            }
            return records
        }
    }

    /// Claims the next runnable run of a sweep for `worker`, atomically.
    ///
    /// In one `BEGIN IMMEDIATE` transaction: the first run by id that is `pending`, or `running`
    /// under a worker on this host whose process is gone (`kill(pid, 0)` fails with ESRCH: a
    /// process killed mid-run), and that `isEligible` accepts (a shard's filter), becomes
    /// `running` with this worker, host, pid and `started_at`. Concurrent claimers, in threads or
    /// processes, never get the same run.
    ///
    /// - Returns: the claimed run, or nil when nothing is left to claim.
    public func claimNext(sweepID: Int64, worker: Worker = .current,
                          isEligible: (RunRecord) -> Bool = { _ in true }) throws -> RunRecord? {
        try connection.transaction(immediate: true) {
            let candidates = try connection.prepare("""
                SELECT \(runColumns), worker, worker_pid FROM runs
                WHERE sweep_id = ? AND status IN ('pending', 'running') ORDER BY id
                """)
            try candidates.bind([.integer(sweepID)])
            var chosen: RunRecord?
            while try candidates.step() {
                let row = candidates.namedRow(table: "runs", describe: Self.describeRun)
                let run = try Self.runRecord(row)
                if run.status == .running {
                    guard let host = run.host, let pid = try row.optionalInt64("worker_pid").map(Int32.init(truncatingIfNeeded:)) else { continue }
                    let owner = Worker(host: host, pid: pid)
                    if owner == worker || owner.mayBeAlive { continue }
                }
                if isEligible(run) {
                    chosen = run
                    break
                }
            }
            guard let chosen else { return nil }
            try connection.run("""
                UPDATE runs SET status = 'running', worker = ?, worker_pid = ?, host = ?, started_at = \(Self.now),
                    finished_at = NULL, reason = NULL
                WHERE id = ?
                """, [.text(worker.description), .integer(Int64(worker.pid)), .text(worker.host), .integer(chosen.id)])
            return try run(id: chosen.id)
        }
    }

    /// Records a finished run: its row becomes `done` with the results, and its layer metrics,
    /// similarity matrices and feature maps are inserted, all in one transaction, and only while the run is still
    /// `running` under `worker`.
    ///
    /// - Throws: ``FeatureProbeError`` when the run is not claimed by `worker` or any row breaks a
    ///   constraint (a matrix whose size is not `channels * channels`, ...); then nothing is written.
    public func complete(runID: Int64, worker: Worker = .current, result: RunResult) throws {
        try connection.transaction(immediate: true) {
            let changed = try connection.run("""
                UPDATE runs SET status = 'done', reason = NULL, params = ?, macs = ?, flops = ?, latency_ms = ?,
                    accuracy = ?, train_seconds = ?, store_key = ?, checkpoint_sha256 = ?, finished_at = \(Self.now)
                WHERE id = ? AND status = 'running' AND worker = ?
                """, [SQLValue(result.params), SQLValue(result.macs), SQLValue(result.flops), SQLValue(result.latencyMS),
                      SQLValue(result.accuracy), SQLValue(result.trainSeconds), SQLValue(result.storeKey),
                      SQLValue(result.checkpointSHA256), .integer(runID), .text(worker.description)])
            guard changed == 1 else { throw try notClaimedError(runID: runID, worker: worker) }
            try insertEpochs(result.epochs, runID: runID)
            try connection.run("DELETE FROM layer_metrics WHERE run_id = ?", [.integer(runID)])
            try connection.run("DELETE FROM similarity WHERE run_id = ?", [.integer(runID)])
            let insertMetric = try connection.prepare("""
                INSERT INTO layer_metrics (run_id, layer, metric, channels, images, mean_abs_offdiag,
                    frac_above_threshold, threshold, duplicates, dead, clusters, effective_rank, suggested_ratio)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for metric in result.layerMetrics {
                try insertMetric.bind(Self.layerMetricValues(metric, runID: runID))
                while try insertMetric.step() {}
            }
            let insertMatrix = try connection.prepare(
                "INSERT INTO similarity (run_id, layer, metric, channels, matrix) VALUES (?, ?, ?, ?, ?)")
            for matrix in result.similarity {
                try insertMatrix.bind([.integer(runID), .text(matrix.layer), .text(matrix.metric),
                                       SQLValue(matrix.channels), SQLValue(float32LittleEndian: matrix.values)])
                while try insertMatrix.step() {}
            }
            try connection.run("DELETE FROM feature_maps WHERE run_id = ?", [.integer(runID)])
            try insertFeatureMaps(result.featureMaps, runID: runID)
        }
    }

    /// Replaces a run's per-epoch history.
    func insertEpochs(_ epochs: [EpochRecord], runID: Int64) throws {
        try connection.run("DELETE FROM epochs WHERE run_id = ?", [.integer(runID)])
        let insert = try connection.prepare("""
            INSERT INTO epochs (run_id, epoch, learning_rate, train_loss, train_accuracy, test_loss, test_accuracy,
                train_seconds, images_per_second)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for e in epochs {
            try insert.bind([.integer(runID), SQLValue(e.epoch), .real(e.learningRate), Self.finite(e.trainLoss),
                             .real(e.trainAccuracy), Self.finite(e.testLoss), .real(e.testAccuracy), .real(e.trainSeconds),
                             .real(e.imagesPerSecond)])
            while try insert.step() {}
        }
    }

    static func finite(_ value: Double) -> SQLValue { value.isFinite ? .real(value) : .null }

    /// A run's per-epoch history, by epoch (empty for an untrained run or a file without the table).
    public func epochs(runID: Int64) throws -> [EpochRecord] {
        guard hasProvenanceColumns else { return [] }
        return try connection.rows("""
            SELECT epoch, learning_rate, train_loss, train_accuracy, test_loss, test_accuracy, train_seconds, images_per_second
            FROM epochs WHERE run_id = ? ORDER BY epoch
            """, [.integer(runID)], table: "epochs", describe: { row in (try? row.int("epoch")).map { "epoch \($0) of run \(runID)" } })
            .map(Self.epochRecord)
    }

    /// The measurements are NaN where the epoch did not measure them (stored as NULL).
    static func epochRecord(_ row: SQLRow) throws -> EpochRecord {
        EpochRecord(epoch: try row.int("epoch"), learningRate: try row.doubleOrNaN("learning_rate"),
                    trainLoss: try row.doubleOrNaN("train_loss"), trainAccuracy: try row.doubleOrNaN("train_accuracy"),
                    testLoss: try row.doubleOrNaN("test_loss"), testAccuracy: try row.doubleOrNaN("test_accuracy"),
                    trainSeconds: try row.doubleOrNaN("train_seconds"), imagesPerSecond: try row.doubleOrNaN("images_per_second"))
    }

    static func layerMetricValues(_ metric: LayerMetricRecord, runID: Int64) -> [SQLValue] {
        [.integer(runID), .text(metric.layer), .text(metric.metric), SQLValue(metric.channels), SQLValue(metric.images),
         .real(metric.meanAbsOffDiagonal), .real(metric.fractionAboveThreshold), .real(metric.threshold),
         SQLValue(metric.duplicates), SQLValue(metric.dead), SQLValue(metric.clusters), .real(metric.effectiveRank),
         .real(metric.suggestedRatio)]
    }

    /// Marks a pending or running run `failed`, with why.
    public func fail(runID: Int64, worker: Worker = .current, reason: String) throws {
        try finish(runID: runID, worker: worker, status: .failed, reason: reason)
    }

    /// Marks a pending or running run `skipped`, with why (for example a ratio the model cannot take).
    public func skip(runID: Int64, worker: Worker = .current, reason: String) throws {
        try finish(runID: runID, worker: worker, status: .skipped, reason: reason)
    }

    /// A pending run, or a running one only under `worker` (never another worker's claim).
    private func finish(runID: Int64, worker: Worker, status: RunStatus, reason: String) throws {
        try connection.transaction(immediate: true) {
            let changed = try connection.run("""
                UPDATE runs SET status = ?, reason = ?, finished_at = \(Self.now)
                WHERE id = ? AND (status = 'pending' OR (status = 'running' AND worker = ?))
                """, [.text(status.rawValue), .text(reason), .integer(runID), .text(worker.description)])
            guard changed == 1 else {
                let current = try run(id: runID)?.status.rawValue ?? "missing"
                throw FeatureProbeError("Run \(runID) in \(path) cannot be marked \(status.rawValue): its status is \(current); only pending or running runs can be.")
            }
        }
    }

    /// Puts a sweep's failed runs back to `pending` so the next claims retry them; returns how many.
    @discardableResult
    public func retryFailed(sweepID: Int64) throws -> Int {
        try connection.transaction(immediate: true) {
            try connection.run("""
                UPDATE runs SET status = 'pending', reason = NULL, finished_at = NULL WHERE sweep_id = ? AND status = 'failed'
                """, [.integer(sweepID)])
        }
    }

    /// Puts a sweep's `running` runs that `isEligible` accepts back to `pending`, whoever claimed
    /// them and on whatever host; returns how many.
    ///
    /// For a process that owns the database alone (a Slurm array task and its shard file): every
    /// run still `running` when it starts was left by a dead process, which the claim's liveness
    /// check cannot see when that process ran on another host. Never call it while another process
    /// may be working on the sweep: its claims would be measured twice, and its completions refused.
    @discardableResult
    public func releaseRunning(sweepID: Int64, isEligible: (RunRecord) -> Bool = { _ in true }) throws -> Int {
        try connection.transaction(immediate: true) {
            let running = try runs(sweepID: sweepID).filter { $0.status == .running && isEligible($0) }
            for run in running {
                try connection.run("""
                    UPDATE runs SET status = 'pending', worker = NULL, worker_pid = NULL WHERE id = ? AND status = 'running'
                    """, [.integer(run.id)])
            }
            return running.count
        }
    }

    private func notClaimedError(runID: Int64, worker: Worker) throws -> FeatureProbeError {
        let row = try connection.query("SELECT status, worker FROM runs WHERE id = ?", [.integer(runID)]).rows.first
        guard let row else {
            return FeatureProbeError("Run \(runID) does not exist in \(path); complete only runs returned by claimNext.")
        }
        return FeatureProbeError("Run \(runID) in \(path) is \(row[0].string ?? "?") under worker \(row[1].string ?? "none"), not running under \(worker); only the worker that claimed a run can complete it. Nothing was written.")
    }

    /// The runs of a sweep, by id.
    public func runs(sweepID: Int64) throws -> [RunRecord] {
        try connection.rows("SELECT \(runColumns) FROM runs WHERE sweep_id = ? ORDER BY id", [.integer(sweepID)], table: "runs",
                            describe: Self.describeRun).map(Self.runRecord)
    }

    /// The run with this id, if any.
    public func run(id: Int64) throws -> RunRecord? {
        try connection.rows("SELECT \(runColumns) FROM runs WHERE id = ?", [.integer(id)], table: "runs", describe: Self.describeRun)
            .first.map(Self.runRecord)
    }

    /// A run's layer metrics in the order they were stored (the network's layer order).
    public func layerMetrics(runID: Int64) throws -> [LayerMetricRecord] {
        try connection.rows("""
            SELECT run_id, layer, channels, images, metric, mean_abs_offdiag, frac_above_threshold, threshold,
                   duplicates, dead, clusters, effective_rank, suggested_ratio
            FROM layer_metrics WHERE run_id = ? ORDER BY rowid
            """, [.integer(runID)], table: "layer_metrics", describe: { row in
                (try? row.string("layer")).map { "the layer '\($0)' of run \(runID)" }
            }).map { row in
            // NaN measurements (a dead layer's rank, for one) are stored as NULL.
            LayerMetricRecord(runID: try row.int64("run_id"), layer: try row.string("layer"), channels: try row.int("channels"),
                              images: try row.int("images"), metric: try row.string("metric"),
                              meanAbsOffDiagonal: try row.doubleOrNaN("mean_abs_offdiag"),
                              fractionAboveThreshold: try row.doubleOrNaN("frac_above_threshold"),
                              threshold: try row.doubleOrNaN("threshold"), duplicates: try row.int("duplicates"), dead: try row.int("dead"),
                              clusters: try row.int("clusters"), effectiveRank: try row.doubleOrNaN("effective_rank"),
                              suggestedRatio: try row.doubleOrNaN("suggested_ratio"))
        }
    }

    /// The stored similarity matrix of one layer under one metric, if any.
    public func similarity(runID: Int64, layer: String, metric: String) throws -> SimilarityRecord? {
        // The BLOB's length is checked in SQL before the BLOB is read (length() does not load
        // it), so a damaged row with a huge BLOB costs nothing.
        try connection.query("""
            SELECT channels, length(matrix),
                   CASE WHEN typeof(matrix) = 'blob' AND channels BETWEEN 1 AND ? AND length(matrix) = 4 * channels * channels
                        THEN matrix END
            FROM similarity WHERE run_id = ? AND layer = ? AND metric = ?
            """, [.integer(Int64(SimilarityRecord.maximumChannels)), .integer(runID), .text(layer), .text(metric)]).rows.first.map { row in
            let (channels, storedBytes) = (row[0].int ?? 0, row[1].int ?? 0)
            guard let bytes = row[2].bytes else {
                throw FeatureProbeError("The similarity matrix of run \(runID), layer '\(layer)', metric \(metric) in \(path) is damaged: \(storedBytes) bytes for \(channels) channels (expected a BLOB of 4 x C x C bytes with C from 1 to \(SimilarityRecord.maximumChannels)). The database was changed outside the toolkit.")
            }
            return SimilarityRecord(runID: runID, layer: layer, metric: metric, channels: channels,
                                    values: SQLValue.decodeFloat32LittleEndian(bytes))
        }
    }

    /// The layers and metrics with a stored matrix for a run.
    public func similarityKeys(runID: Int64) throws -> [(layer: String, metric: String)] {
        try connection.query("SELECT layer, metric FROM similarity WHERE run_id = ? ORDER BY rowid",
                             [.integer(runID)]).rows.map { ($0[0].string ?? "", $0[1].string ?? "") }
    }

    /// A row of runs, by column name. Every run has an id, sweep, configuration, status, batch,
    /// threads and tool version; the measurements and provenance are NULL until known.
    static func runRecord(_ row: SQLRow) throws -> RunRecord {
        RunRecord(id: try row.int64("id"), sweepID: try row.int64("sweep_id"), model: try row.string("model"),
                  variant: try row.string("variant"), ratio: try row.optionalDouble("ratio"), groups: try row.optionalInt("groups"),
                  inChannels: try row.int("in_channels"), classes: try row.int("classes"), inputSize: try row.int("input_size"),
                  weightsPath: try row.optionalString("weights_path"), weightsSHA256: try row.optionalString("weights_sha256"),
                  dataset: try row.string("dataset"), images: try row.int("images"),
                  status: try row.oneOf("status", as: RunStatus.self), reason: try row.optionalString("reason"),
                  params: try row.optionalInt("params"), macs: try row.optionalInt("macs"), flops: try row.optionalInt("flops"),
                  latencyMS: try row.optionalDouble("latency_ms"), batch: try row.int("batch"), threads: try row.int("threads"),
                  accuracy: try row.optionalDouble("accuracy"), trainEpochs: try row.optionalInt("train_epochs"),
                  trainSeconds: try row.optionalDouble("train_seconds"),
                  trainSeed: try row.optionalInt64("train_seed").map { UInt64(bitPattern: $0) },
                  weightsSource: try row.oneOf("weights_source", as: WeightsSource.self),
                  weightsSeed: try row.optionalInt64("weights_seed").map { UInt64(bitPattern: $0) },
                  storeKey: try row.optionalString("store_key"), checkpointSHA256: try row.optionalString("checkpoint_sha256"),
                  startedAt: try row.optionalString("started_at"), finishedAt: try row.optionalString("finished_at"),
                  toolVersion: try row.string("tool_version"), gitCommit: try row.optionalString("git_commit"),
                  host: try row.optionalString("host"))
    }
}

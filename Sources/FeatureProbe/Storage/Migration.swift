/// One named step of the experiment database's schema.
///
/// The list ``all`` is the schema's history: migrations are applied in order, each in its own
/// `BEGIN IMMEDIATE` transaction, and recorded in `schema_migrations(name, applied_at)`; the schema
/// version (`PRAGMA user_version`) is the number applied. A released migration is never edited:
/// a change to the schema is a new migration appended to the list (docs/SCHEMA.md).
public struct Migration: Sendable, Equatable {
    /// A unique name, `v<N>_<what it does>`.
    public let name: String
    /// The statements, run in one transaction.
    public let sql: String

    /// Every migration this build knows, oldest first.
    public static let all: [Migration] = [
        Migration(name: "v1_initial_schema", sql: v1InitialSchema),
        Migration(name: "v2_training", sql: v2Training),
        Migration(name: "v3_provenance_seeds_epochs", sql: v3ProvenanceSeedsEpochs),
        Migration(name: "v4_feature_maps", sql: v4FeatureMaps),
    ]

    /// The schema version this build writes: `all.count`.
    public static var currentVersion: Int { all.count }

    static let v1InitialSchema = """
        CREATE TABLE sweeps (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE CHECK (name <> ''),
            command_line  TEXT NOT NULL,
            created_at    TEXT NOT NULL
        );

        CREATE TABLE runs (
            id              INTEGER PRIMARY KEY,
            sweep_id        INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
            model           TEXT NOT NULL CHECK (model <> ''),
            variant         TEXT NOT NULL CHECK (variant <> ''),
            ratio           REAL CHECK (ratio IS NULL OR (ratio > 0 AND ratio <= 1)),
            groups          INTEGER CHECK (groups IS NULL OR groups >= 1),
            in_channels     INTEGER NOT NULL CHECK (in_channels >= 1),
            classes         INTEGER NOT NULL CHECK (classes >= 1),
            input_size      INTEGER NOT NULL CHECK (input_size >= 1),
            weights_path    TEXT,
            weights_sha256  TEXT CHECK (weights_sha256 IS NULL OR length(weights_sha256) = 64),
            dataset         TEXT NOT NULL CHECK (dataset <> ''),
            images          INTEGER NOT NULL CHECK (images >= 0),
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
            reason          TEXT,
            params          INTEGER CHECK (params IS NULL OR params >= 0),
            macs            INTEGER CHECK (macs IS NULL OR macs >= 0),
            flops           INTEGER CHECK (flops IS NULL OR flops >= 0),
            latency_ms      REAL CHECK (latency_ms IS NULL OR latency_ms >= 0),
            batch           INTEGER NOT NULL CHECK (batch >= 1),
            threads         INTEGER NOT NULL CHECK (threads >= 1),
            accuracy        REAL CHECK (accuracy IS NULL OR (accuracy >= 0 AND accuracy <= 1)),
            started_at      TEXT,
            finished_at     TEXT,
            tool_version    TEXT NOT NULL,
            git_commit      TEXT,
            host            TEXT,
            worker          TEXT,
            worker_pid      INTEGER,
            CHECK ((ratio IS NULL) = (groups IS NULL)),
            CHECK (status <> 'running' OR (worker IS NOT NULL AND worker_pid IS NOT NULL AND host IS NOT NULL)),
            CHECK (status <> 'done' OR (params IS NOT NULL AND macs IS NOT NULL AND flops IS NOT NULL
                                        AND finished_at IS NOT NULL)),
            CHECK (status NOT IN ('failed', 'skipped') OR reason IS NOT NULL)
        );

        -- One row per configuration and sweep. NULLs are distinct in a UNIQUE constraint, so the
        -- vanilla baseline's NULL ratio and groups are folded to -1 (and missing weights to '').
        CREATE UNIQUE INDEX runs_configuration ON runs (
            sweep_id, model, variant, COALESCE(ratio, -1), COALESCE(groups, -1), in_channels, classes,
            input_size, COALESCE(weights_sha256, weights_path, ''), dataset, images, batch
        );
        CREATE INDEX runs_by_status ON runs (sweep_id, status);

        -- rowid order is the insertion order: the network's layer order.
        CREATE TABLE layer_metrics (
            run_id                INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            layer                 TEXT NOT NULL CHECK (layer <> ''),
            metric                TEXT NOT NULL CHECK (metric <> ''),
            channels              INTEGER NOT NULL CHECK (channels >= 1),
            images                INTEGER NOT NULL CHECK (images >= 0),
            mean_abs_offdiag      REAL NOT NULL CHECK (mean_abs_offdiag >= 0),
            frac_above_threshold  REAL NOT NULL CHECK (frac_above_threshold >= 0 AND frac_above_threshold <= 1),
            threshold             REAL NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
            duplicates            INTEGER NOT NULL CHECK (duplicates >= 0),
            dead                  INTEGER NOT NULL CHECK (dead >= 0 AND dead <= channels),
            clusters              INTEGER NOT NULL CHECK (clusters >= 1 AND clusters <= channels),
            effective_rank        REAL NOT NULL CHECK (effective_rank >= 0),
            suggested_ratio       REAL NOT NULL CHECK (suggested_ratio > 0 AND suggested_ratio <= 1),
            PRIMARY KEY (run_id, layer, metric)
        );

        -- The C x C similarity matrix: C*C float32 little-endian, row-major.
        CREATE TABLE similarity (
            run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            layer     TEXT NOT NULL CHECK (layer <> ''),
            metric    TEXT NOT NULL CHECK (metric <> ''),
            channels  INTEGER NOT NULL CHECK (channels >= 1),
            matrix    BLOB NOT NULL CHECK (typeof(matrix) = 'blob' AND length(matrix) = 4 * channels * channels),
            PRIMARY KEY (run_id, layer, metric)
        );

        -- Per run and metric: the mean redundancy over its layers.
        CREATE VIEW run_redundancy AS
        SELECT run_id, metric,
               COUNT(*)                   AS layers,
               SUM(channels)              AS channels,
               AVG(mean_abs_offdiag)      AS mean_abs_offdiag,
               AVG(frac_above_threshold)  AS frac_above_threshold,
               SUM(duplicates)            AS duplicates,
               SUM(dead)                  AS dead,
               AVG(effective_rank / channels) AS effective_rank_fraction,
               AVG(suggested_ratio)       AS suggested_ratio
        FROM layer_metrics
        GROUP BY run_id, metric;

        -- A run's configuration and results with its redundancy: one row per run and metric
        -- (metric NULL for a run without layer metrics).
        CREATE VIEW run_summary AS
        SELECT r.id AS run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset, r.images,
               r.status, r.reason, r.params, r.macs, r.flops, r.latency_ms, r.accuracy,
               rr.metric, rr.layers, rr.mean_abs_offdiag, rr.frac_above_threshold, rr.duplicates, rr.dead,
               rr.suggested_ratio
        FROM runs r
        JOIN sweeps s ON s.id = r.sweep_id
        LEFT JOIN run_redundancy rr ON rr.run_id = r.id;

        -- Every layer metric with its run's configuration.
        CREATE VIEW layer_redundancy AS
        SELECT lm.run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset,
               lm.layer, lm.metric, lm.channels, lm.images, lm.mean_abs_offdiag, lm.frac_above_threshold,
               lm.threshold, lm.duplicates, lm.dead, lm.clusters, lm.effective_rank, lm.suggested_ratio
        FROM layer_metrics lm
        JOIN runs r ON r.id = lm.run_id
        JOIN sweeps s ON s.id = r.sweep_id;

        -- Done runs that no other done run of the same sweep beats. criterion 'accuracy': beaten
        -- means another run has MACs <= and accuracy >=, one of them strictly. criterion
        -- 'mean_abs_offdiag' (per metric): MACs <= and mean redundancy <=, one strictly (lower
        -- redundancy is better: fewer of the paid-for channels repeat each other).
        CREATE VIEW pareto_candidates AS
        SELECT r.id AS run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset,
               'accuracy' AS criterion, NULL AS metric, r.macs, r.accuracy, NULL AS mean_abs_offdiag
        FROM runs r JOIN sweeps s ON s.id = r.sweep_id
        WHERE r.status = 'done' AND r.accuracy IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM runs o
              WHERE o.sweep_id = r.sweep_id AND o.id <> r.id AND o.status = 'done' AND o.accuracy IS NOT NULL
                AND o.macs <= r.macs AND o.accuracy >= r.accuracy
                AND (o.macs < r.macs OR o.accuracy > r.accuracy))
        UNION ALL
        SELECT r.id, s.name, r.model, r.variant, r.ratio, r.groups, r.dataset,
               'mean_abs_offdiag', rr.metric, r.macs, r.accuracy, rr.mean_abs_offdiag
        FROM runs r JOIN sweeps s ON s.id = r.sweep_id JOIN run_redundancy rr ON rr.run_id = r.id
        WHERE r.status = 'done'
          AND NOT EXISTS (
              SELECT 1 FROM runs o JOIN run_redundancy orr ON orr.run_id = o.id AND orr.metric = rr.metric
              WHERE o.sweep_id = r.sweep_id AND o.id <> r.id AND o.status = 'done'
                AND o.macs <= r.macs AND orr.mean_abs_offdiag <= rr.mean_abs_offdiag
                AND (o.macs < r.macs OR orr.mean_abs_offdiag < rr.mean_abs_offdiag));
        """

    /// Sweeps that train: how many epochs a run was trained for (NULL: not trained by the sweep,
    /// its accuracy, if any, came from elsewhere) and how long training took. A trained and an
    /// untrained run of one configuration are different runs, so the epochs join the
    /// configuration key; `run_summary` shows them after the accuracy.
    static let v2Training = """
        ALTER TABLE runs ADD COLUMN train_epochs INTEGER CHECK (train_epochs IS NULL OR train_epochs >= 1);
        ALTER TABLE runs ADD COLUMN train_seconds REAL CHECK (train_seconds IS NULL OR train_seconds >= 0);

        -- One row per configuration and sweep; an untrained run's NULL epochs fold to 0.
        DROP INDEX runs_configuration;
        CREATE UNIQUE INDEX runs_configuration ON runs (
            sweep_id, model, variant, COALESCE(ratio, -1), COALESCE(groups, -1), in_channels, classes,
            input_size, COALESCE(weights_sha256, weights_path, ''), dataset, images, batch, COALESCE(train_epochs, 0)
        );

        -- No other view reads run_summary, so it alone is recreated.
        DROP VIEW run_summary;
        CREATE VIEW run_summary AS
        SELECT r.id AS run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset, r.images,
               r.status, r.reason, r.params, r.macs, r.flops, r.latency_ms, r.accuracy, r.train_epochs,
               rr.metric, rr.layers, rr.mean_abs_offdiag, rr.frac_above_threshold, rr.duplicates, rr.dead,
               rr.suggested_ratio
        FROM runs r
        JOIN sweeps s ON s.id = r.sweep_id
        LEFT JOIN run_redundancy rr ON rr.run_id = r.id;
        """

    /// Where each run's weights came from, training seeds, and per-epoch history.
    ///
    /// `weights_source` is `trained` (trained for `train_epochs` with seed `train_seed`; a run of
    /// this version records the checkpoint's `store_key` and `checkpoint_sha256` in the store),
    /// `file` (loaded from `weights_path`, SHA-256 `weights_sha256`), or `random` (built with the
    /// seeded initialisation of seed `weights_seed`). Rows written before this migration get
    /// `trained` when the sweep trained them (with the seed of the sweep's `--train-seed`, 0 by
    /// default, read from its command line; their checkpoint was not kept), `file` when they name
    /// a weights file, else `random` with seed 0 (the seed every untrained run was built with). A trained configuration is one run per seed, so the seed joins the key.
    /// `epochs` holds a trained run's history, one row per epoch; losses may be NULL (SQLite keeps
    /// a NaN as NULL) when a run diverged.
    static let v3ProvenanceSeedsEpochs = """
        ALTER TABLE runs ADD COLUMN train_seed INTEGER CHECK (train_seed IS NULL OR train_seed >= 0);
        ALTER TABLE runs ADD COLUMN weights_source TEXT NOT NULL DEFAULT 'random'
            CHECK (weights_source IN ('trained', 'file', 'random'));
        ALTER TABLE runs ADD COLUMN weights_seed INTEGER CHECK (weights_seed IS NULL OR weights_seed >= 0);
        ALTER TABLE runs ADD COLUMN store_key TEXT CHECK (store_key IS NULL OR store_key <> '');
        ALTER TABLE runs ADD COLUMN checkpoint_sha256 TEXT
            CHECK (checkpoint_sha256 IS NULL OR length(checkpoint_sha256) = 64);
        UPDATE runs SET weights_source = CASE WHEN train_epochs IS NOT NULL THEN 'trained'
                                              WHEN weights_path IS NOT NULL THEN 'file' ELSE 'random' END;
        UPDATE runs SET weights_seed = 0 WHERE weights_source = 'random';
        -- A trained row's seed was the sweep's --train-seed (default 0), which its command line keeps.
        UPDATE runs SET train_seed = COALESCE(
            (SELECT CAST(substr(command_line, instr(command_line, '--train-seed ') + 13) AS INTEGER) FROM sweeps
             WHERE sweeps.id = runs.sweep_id AND instr(command_line, '--train-seed ') > 0),
            (SELECT CAST(substr(command_line, instr(command_line, '--train-seed=') + 13) AS INTEGER) FROM sweeps
             WHERE sweeps.id = runs.sweep_id AND instr(command_line, '--train-seed=') > 0),
            0)
        WHERE train_epochs IS NOT NULL;
        UPDATE runs SET weights_seed = train_seed WHERE weights_source = 'trained';

        DROP INDEX runs_configuration;
        CREATE UNIQUE INDEX runs_configuration ON runs (
            sweep_id, model, variant, COALESCE(ratio, -1), COALESCE(groups, -1), in_channels, classes,
            input_size, COALESCE(weights_sha256, weights_path, ''), dataset, images, batch, COALESCE(train_epochs, 0),
            COALESCE(train_seed, -1)
        );

        CREATE TABLE epochs (
            run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch              INTEGER NOT NULL CHECK (epoch >= 1),
            learning_rate      REAL NOT NULL CHECK (learning_rate >= 0),
            train_loss         REAL,
            train_accuracy     REAL NOT NULL CHECK (train_accuracy >= 0 AND train_accuracy <= 1),
            test_loss          REAL,
            test_accuracy      REAL NOT NULL CHECK (test_accuracy >= 0 AND test_accuracy <= 1),
            train_seconds      REAL NOT NULL CHECK (train_seconds >= 0),
            images_per_second  REAL NOT NULL CHECK (images_per_second >= 0),
            PRIMARY KEY (run_id, epoch)
        );

        DROP VIEW run_summary;
        CREATE VIEW run_summary AS
        SELECT r.id AS run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset, r.images,
               r.status, r.reason, r.params, r.macs, r.flops, r.latency_ms, r.accuracy, r.train_epochs,
               r.weights_source, r.train_seed, r.weights_seed, r.store_key,
               rr.metric, rr.layers, rr.mean_abs_offdiag, rr.frac_above_threshold, rr.duplicates, rr.dead,
               rr.suggested_ratio
        FROM runs r
        JOIN sweeps s ON s.id = r.sweep_id
        LEFT JOIN run_redundancy rr ON rr.run_id = r.id;
        """

    /// The feature maps of one probed image per run and layer (the first one the sweep probes), so
    /// a report can show the two channels a similarity compares. Each channel is quantised to
    /// uint8 after a min-max normalisation of its own; `minimum` and `maximum` keep each channel's
    /// range as float32 little-endian (docs/SCHEMA.md, "The feature-map BLOBs").
    static let v4FeatureMaps = """
        CREATE TABLE feature_maps (
            run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            layer     TEXT NOT NULL CHECK (layer <> ''),
            image     INTEGER NOT NULL CHECK (image >= 0),
            channels  INTEGER NOT NULL CHECK (channels >= 1),
            height    INTEGER NOT NULL CHECK (height >= 1),
            width     INTEGER NOT NULL CHECK (width >= 1),
            minimum   BLOB NOT NULL CHECK (typeof(minimum) = 'blob' AND length(minimum) = 4 * channels),
            maximum   BLOB NOT NULL CHECK (typeof(maximum) = 'blob' AND length(maximum) = 4 * channels),
            maps      BLOB NOT NULL CHECK (typeof(maps) = 'blob' AND length(maps) = channels * height * width),
            PRIMARY KEY (run_id, layer, image)
        );
        """
}

DROP VIEW run_summary; DROP VIEW layer_redundancy; DROP VIEW pareto_candidates; DROP VIEW run_redundancy;
DROP TABLE feature_maps; DROP TABLE epochs; DROP INDEX runs_configuration; DROP INDEX runs_by_status;
ALTER TABLE runs DROP COLUMN train_epochs; ALTER TABLE runs DROP COLUMN train_seconds; ALTER TABLE runs DROP COLUMN train_seed;
ALTER TABLE runs DROP COLUMN weights_source; ALTER TABLE runs DROP COLUMN weights_seed; ALTER TABLE runs DROP COLUMN store_key;
ALTER TABLE runs DROP COLUMN checkpoint_sha256;
DELETE FROM schema_migrations WHERE name <> 'v1_initial_schema'; PRAGMA user_version = 1;
CREATE VIEW run_redundancy AS SELECT run_id, metric, COUNT(*) AS layers, SUM(channels) AS channels,
  AVG(mean_abs_offdiag) AS mean_abs_offdiag, AVG(frac_above_threshold) AS frac_above_threshold, SUM(duplicates) AS duplicates,
  SUM(dead) AS dead, AVG(effective_rank / channels) AS effective_rank_fraction, AVG(suggested_ratio) AS suggested_ratio
  FROM layer_metrics GROUP BY run_id, metric;
CREATE VIEW run_summary AS SELECT r.id AS run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset, r.images,
  r.status, r.reason, r.params, r.macs, r.flops, r.latency_ms, r.accuracy, rr.metric, rr.layers, rr.mean_abs_offdiag,
  rr.frac_above_threshold, rr.duplicates, rr.dead, rr.suggested_ratio
  FROM runs r JOIN sweeps s ON s.id = r.sweep_id LEFT JOIN run_redundancy rr ON rr.run_id = r.id;
CREATE VIEW layer_redundancy AS SELECT lm.run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset,
  lm.layer, lm.metric, lm.channels, lm.images, lm.mean_abs_offdiag, lm.frac_above_threshold, lm.threshold, lm.duplicates,
  lm.dead, lm.clusters, lm.effective_rank, lm.suggested_ratio
  FROM layer_metrics lm JOIN runs r ON r.id = lm.run_id JOIN sweeps s ON s.id = r.sweep_id;
CREATE VIEW pareto_candidates AS SELECT r.id AS run_id, s.name AS sweep, r.model, r.variant, r.ratio, r.groups, r.dataset,
  'accuracy' AS criterion, NULL AS metric, r.macs, r.accuracy, NULL AS mean_abs_offdiag FROM runs r JOIN sweeps s ON s.id = r.sweep_id;

INSERT INTO sweeps (id, name, command_line, created_at) VALUES (1, 'grid', 'probe-cli sweep --train-seed 3', '2025-01-01T00:00:00Z');
INSERT INTO sweeps (id, name, command_line, created_at) VALUES (2, 'other', 'probe-cli sweep', '2025-01-02T00:00:00Z');

INSERT INTO runs (id, sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, dataset, images, status,
  params, macs, flops, batch, threads, finished_at, tool_version)
VALUES (1, 1, 'resnet20', 'vanilla', NULL, NULL, 1, 10, 28, 'fashion-mnist', 64, 'done', 1, 2, 4, 8, 1, 'x', '0.1.0');
INSERT INTO layer_metrics VALUES (1, 'conv1', 'cosine', 1, 64, 0.3, 0.25, 0.9, 1, 0, 1, 1.5, 0.75);
INSERT INTO similarity VALUES (1, 'conv1', 'cosine', 1, X'0000803F');

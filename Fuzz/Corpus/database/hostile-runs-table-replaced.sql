DROP VIEW run_summary; DROP VIEW layer_redundancy; DROP VIEW pareto_candidates;
DROP TABLE feature_maps; DROP TABLE epochs; DROP TABLE similarity; DROP TABLE layer_metrics; DROP TABLE runs;
CREATE TABLE runs (id INTEGER PRIMARY KEY, sweep_id, train_epochs, weights_source);
INSERT INTO sweeps VALUES (1, 'grid', '', '');
INSERT INTO runs VALUES (1, 1, 3, 'trained'), (2, 1, NULL, NULL);

INSERT INTO sweeps (id, name, command_line, created_at) VALUES (1, 'grid', 'probe-cli sweep --train-seed 3', '2025-01-01T00:00:00Z');
INSERT INTO sweeps (id, name, command_line, created_at) VALUES (2, 'other', 'probe-cli sweep', '2025-01-02T00:00:00Z');
INSERT INTO runs (id, sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, dataset, images, status,
  params, macs, flops, latency_ms, batch, threads, accuracy, started_at, finished_at, tool_version, host,
  train_epochs, train_seconds, train_seed, weights_source, weights_seed, store_key)
VALUES (1, 1, 'resnet20', 'vanilla', NULL, NULL, 1, 10, 28, 'fashion-mnist', 64, 'done', 270000, 40000000, 80000000, 1.5, 8, 1,
  0.92, '2025-01-01T00:00:00Z', '2025-01-01T01:00:00Z', '0.1.0', 'host', 15, 3600.0, 0, 'trained', 0, 'ab12'),
       (2, 1, 'resnet20', 'spconv', 0.5, 2, 1, 10, 28, 'fashion-mnist', 64, 'done', 150000, 22000000, 44000000, 1.1, 8, 1,
  0.91, '2025-01-01T00:00:00Z', '2025-01-01T02:00:00Z', '0.1.0', 'host', 15, 3500.0, 0, 'trained', 0, 'cd34'),
       (3, 1, 'resnet20', 'spconv', 0.25, 2, 1, 10, 28, 'fashion-mnist', 64, 'failed', NULL, NULL, NULL, NULL, 8, 1,
  NULL, NULL, NULL, '0.1.0', 'host', NULL, NULL, NULL, 'random', 0, NULL),
       (4, 2, 'vgg16', 'vanilla', NULL, NULL, 3, 10, 32, 'synthetic:64', 64, 'done', 100, 1000, 2000, 0.5, 8, 1,
  NULL, NULL, '2025-01-02T00:00:00Z', '0.1.0', 'host', NULL, NULL, NULL, 'random', 7, NULL);
UPDATE runs SET reason = 'out of memory' WHERE id = 3;
INSERT INTO layer_metrics VALUES
  (1, 'conv1', 'cosine', 2, 64, 0.3, 0.25, 0.9, 1, 0, 2, 1.5, 0.75),
  (1, 'layer1.0.conv1', 'cosine', 2, 64, 0.4, 0.5, 0.9, 0, 1, 1, 1.0, 0.5),
  (2, 'conv1', 'cosine', 2, 64, 0.2, 0.0, 0.9, 0, 0, 2, 2.0, 1.0),
  (2, 'conv1', 'pearson', 2, 64, 0.25, 0.0, 0.9, 0, 0, 2, 2.0, 1.0),
  (4, 'features.0', 'cosine', 1, 64, 0.0, 0.0, 0.9, 0, 0, 1, 1.0, 1.0);
INSERT INTO similarity VALUES
  (1, 'conv1', 'cosine', 2, X'0000803F0000003F0000003F0000803F'),
  (1, 'layer1.0.conv1', 'cosine', 2, X'0000803F000000BF000000BF0000803F'),
  (2, 'conv1', 'pearson', 2, X'0000803F0000C07F0000807F0000803F'),
  (4, 'features.0', 'cosine', 1, X'0000803F');
INSERT INTO feature_maps VALUES
  (1, 'conv1', 0, 2, 2, 2, X'000080BF00000000', X'0000803F00002041', X'00FF80407F7F0001'),
  (4, 'features.0', 0, 1, 1, 3, X'00000000', X'00000000', X'000000');
INSERT INTO epochs VALUES
  (1, 1, 0.1, 2.3, 0.1, 2.2, 0.12, 10.0, 500.0),
  (1, 2, 0.05, NULL, 0.5, NULL, 0.6, 10.0, 500.0),
  (2, 1, 0.1, 1e999, 0.1, -1e999, 0.1, 10.0, 500.0);

INSERT INTO similarity VALUES (1, 'layer2', 'cosine', 2147483648, X'');
INSERT INTO similarity VALUES (1, 'layer3', 'cosine', 4611686018427387904, X'0000803F');
INSERT INTO feature_maps VALUES (1, 'layer2', 0, 4611686018427387904, 1, 1, X'', X'', X'');
INSERT INTO feature_maps VALUES (1, 'layer3', 0, 1, 4294967296, 4294967296, X'00000000', X'00000000', X'');

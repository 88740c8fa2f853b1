INSERT INTO sweeps VALUES (1, 'grid', '', '');
INSERT INTO runs (id, sweep_id, model, variant, in_channels, classes, input_size, dataset, images, batch, threads, tool_version)
VALUES (1, 1, 'resnet20', 'vanilla', 1, 10, 28, 'synthetic:1', 1, 1, 1, '0');
INSERT INTO feature_maps VALUES (1, 'conv1', 0, 4611686018427387904, 1, 1, X'', X'', X'');

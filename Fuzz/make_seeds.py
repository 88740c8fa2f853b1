#!/usr/bin/env python3
"""Writes the seed corpus of the libFuzzer targets into Fuzz/Corpus/<target>/.

Seeds are small (a few KiB per target): copies of the reader test fixtures (written by the
reference writers, which the toolkit's writers match byte for byte: safetensors, numpy.save,
gzip, PIL), files built here by hand, and hostile variants of each (lengths beyond the file,
overflowing shapes, nesting past the limit, bombs, damaged streams). The database seeds are SQL
run by the harness on an empty database of the current schema, and the SQLite files two of them
make (written by the built harness itself, then vacuumed to 512-byte pages):

    python3 Fuzz/make_seeds.py                                  # everything but the SQLite files
    python3 Fuzz/make_seeds.py --harness "$(bash Fuzz/build.sh)/fuzz-database"

Crashing inputs found by fuzzing are added by hand as Corpus/<target>/crash-<what>, and are
not rewritten here. Standard library only.
"""
import argparse
import gzip
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "Corpus")
FIXTURES = os.path.join(ROOT, "Tests", "SPConvLabTests", "Fixtures")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def copy_fixture(target, relative, name=None):
    with open(os.path.join(FIXTURES, relative), "rb") as f:
        write(target, name or "fixture-" + os.path.basename(relative), f.read())


# MARK: - safetensors

def safetensors(header, data=b"", length=None):
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def safetensors_seeds():
    for name in ["f32_reference", "escaped_metadata", "mixed_dtypes", "no_metadata"]:
        copy_fixture("safetensors", f"io/{name}.safetensors")
    f32 = struct.pack("<4f", 1.0, -2.0, 0.5, float("inf"))
    write("safetensors", "f16-bf16-f64", safetensors(
        {"__metadata__": {"format": "pt"},
         "h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
         "b": {"dtype": "BF16", "shape": [1, 1], "data_offsets": [4, 6]},
         "d": {"dtype": "F64", "shape": [], "data_offsets": [6, 14]},
         "bn.num_batches_tracked": {"dtype": "I64", "shape": [], "data_offsets": [14, 22]}},
        struct.pack("<2e", 1.5, float("nan")) + b"\x80\x3f" + struct.pack("<d", -3.25) + struct.pack("<q", 7)))
    write("safetensors", "empty-and-gap", safetensors(
        {"z": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]},
         "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [4, 20]}}, b"\0" * 4 + f32))
    write("safetensors", "hostile-length-beyond-file", safetensors({"w": {}}, length=1 << 40))
    write("safetensors", "hostile-length-too-big", safetensors({"w": {}}, length=(1 << 64) - 1))
    write("safetensors", "hostile-short", b"\x10\0\0\0")
    write("safetensors", "hostile-shape-overflow", safetensors(
        {"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 16]}}, f32))
    write("safetensors", "hostile-zero-then-huge", safetensors(
        {"w": {"dtype": "F32", "shape": [0, 9223372036854775807, 9223372036854775807], "data_offsets": [0, 0]}}))
    write("safetensors", "hostile-overlap", safetensors(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32))
    write("safetensors", "hostile-reversed-offsets", safetensors(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}, f32))
    write("safetensors", "hostile-offsets-beyond", safetensors(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [9223372036854775803, 9223372036854775807]}}, f32))
    write("safetensors", "hostile-numbers", safetensors(
        b'{"a":{"dtype":"F32","shape":[1.0,-0,1e2,-5,99999999999999999999],"data_offsets":[0,4]}}'))
    write("safetensors", "hostile-duplicates", safetensors(
        b'{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]},"a":{}}', f32))
    write("safetensors", "hostile-deep", safetensors(b"[" * 70 + b"]" * 70))
    write("safetensors", "hostile-deep-objects", safetensors(b'{"a":' * 63 + b"1" + b"}" * 63))
    write("safetensors", "hostile-strings", safetensors(
        b'{"\\ud83d\\ude00\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t":{"dtype":"F32","shape":[],"data_offsets":[0,4]},'
        b'"__metadata__":{"\\ud800":"x","k":"\xff\xfe","e":"\xc3\x28","n":"\\uDFFF"}}', f32))
    write("safetensors", "hostile-metadata-types", safetensors(
        b'{"__metadata__":{"a":1,"b":[],"c":null,"d":true,"a":"x"}}'))
    write("safetensors", "hostile-dtypes", safetensors(
        {"a": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]},
         "b": {"dtype": "F4", "shape": [3], "data_offsets": [4, 6]},
         "c.num_batches_tracked": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [6, 8]}}, b"\x01" * 8))
    write("safetensors", "hostile-not-object", safetensors(b' "just a string" '))
    write("safetensors", "hostile-trailing", safetensors(b'{} {}'))


# MARK: - npy

def npy(header, data=b"", version=(1, 0), length=None):
    text = header.encode() if isinstance(header, str) else header
    size = len(text) if length is None else length
    prefix = b"\x93NUMPY" + bytes(version)
    prefix += struct.pack("<H", size) if version == (1, 0) else struct.pack("<I", size)
    return prefix + text + data


def npy_seeds():
    for name in ["empty_0x3_f4", "fortran_2x3_f4", "half_3x4_f2", "int64_i8", "scalar_f4",
                 "v2_header_2x3_f4", "v3_header_2x3_f4", "vector_f4", "vector_f8"]:
        copy_fixture("npy", f"io/{name}.npy")
    values = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    write("npy", "python2-long", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n", values))
    write("npy", "double-quotes-any-order", npy('{"shape": (6,), "fortran_order": False, "descr": "<f4"}   \n', values))
    write("npy", "hostile-length-beyond-file", npy("{}", version=(2, 0), length=0xFFFFFFFF))
    write("npy", "hostile-shape-overflow", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }\n", values))
    write("npy", "hostile-zero-then-huge", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807, 9223372036854775807), }\n"))
    write("npy", "hostile-dimension-too-long", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n"))
    write("npy", "hostile-negative", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", values))
    write("npy", "hostile-not-tuple", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }\n", values))
    write("npy", "hostile-structured", npy("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (6,), }\n", values))
    write("npy", "hostile-big-endian", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }\n", values))
    write("npy", "hostile-escapes", npy("{'descr': '<f\\4', 'fortran_order': False, 'shape': (6,), }\n", values))
    write("npy", "hostile-non-ascii", npy("{'descr': '<f4\xff', 'fortran_order': False, 'shape': (6,), }\n".encode("latin-1"), values))
    write("npy", "hostile-data-short", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }\n", values))
    write("npy", "hostile-version", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", values, version=(4, 0)))
    write("npy", "hostile-v2-short", b"\x93NUMPY\x02\x00\x05\x00")
    write("npy", "hostile-duplicate-key", npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", values))
    write("npy", "hostile-unterminated", npy("{'descr': '<f4", values))


# MARK: - png

def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(width, height, depth, color, rows, interlace=0, extra=b"", compress=True, ihdr=None):
    header = ihdr if ihdr is not None else struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    raw = b"".join(b"\0" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
            + chunk(b"IDAT", zlib.compress(raw, 9) if compress else raw) + chunk(b"IEND", b""))


def png_seeds():
    for name in ["gray16_2x2", "gray_alpha_2x2", "palette_2x2", "palette_trns_2x2", "rgb_2x2", "huge_header"]:
        copy_fixture("png", f"images/{name}.png")
    write("png", "gray1-3x3", png(3, 3, 1, 0, [b"\xa0", b"\x40", b"\xe0"]))
    write("png", "rgba16-2x1", png(2, 1, 16, 6, [bytes(range(16))]))
    write("png", "rgb8-gamma-2x1", png(2, 1, 8, 2, [b"\x10\x80\xf0\x00\x40\xff"], extra=chunk(b"gAMA", struct.pack(">I", 100000))))
    write("png", "rgb8-srgb-chrm-2x1", png(2, 1, 8, 2, [b"\x10\x80\xf0\x00\x40\xff"],
                                          extra=chunk(b"sRGB", b"\0") + chunk(b"cHRM", struct.pack(">8I", *([31270] * 8)))))
    write("png", "gray8-trns-2x1", png(2, 1, 8, 0, [b"\x05\x06"], extra=chunk(b"tRNS", b"\0\x05")))
    write("png", "palette4-trns-2x2", png(2, 2, 4, 3, [b"\x01", b"\x10"],
                                         extra=chunk(b"PLTE", b"\xff\0\0\0\xff\0") + chunk(b"tRNS", b"\x80")))
    write("png", "interlaced-5x5", png(5, 5, 8, 4, [bytes(range(i * 10, i * 10 + 10)) for i in range(5)], interlace=1))
    write("png", "iccp-bkgd-text", png(1, 1, 8, 0, [b"\x7f"], extra=chunk(b"iCCP", b"x\0\0" + zlib.compress(b"\0" * 64))
                                       + chunk(b"bKGD", b"\0\x01") + chunk(b"tEXt", b"k\0v")))
    write("png", "hostile-too-wide", png(4097, 1, 8, 0, [b"\0" * 4097]))
    write("png", "hostile-too-many-pixels", png(4096, 4096, 1, 0, [b"\0" * 512] * 4))
    write("png", "hostile-zero-width", png(0, 1, 8, 0, [b""]))
    write("png", "hostile-bad-depth", png(1, 1, 3, 2, [b"\0"]))
    write("png", "hostile-truncated-idat", png(8, 8, 8, 2, [b"\x55" * 24] * 8)[:-30])
    write("png", "hostile-bad-crc", png(1, 1, 8, 0, [b"\0"])[:29] + b"\xde\xad\xbe\xef" + png(1, 1, 8, 0, [b"\0"])[33:])
    write("png", "hostile-raw-idat", png(2, 2, 8, 0, [b"\1\2", b"\3\4"], compress=False))
    write("png", "hostile-palette-missing", png(1, 1, 8, 3, [b"\0"]))
    write("png", "hostile-short-ihdr", png(1, 1, 8, 0, [b"\0"], ihdr=b"\0\0\0\1\0\0"))
    write("png", "hostile-signature-only", b"\x89PNG\r\n\x1a\n")


# MARK: - idx

def idx(dimensions, data, magic=None):
    head = struct.pack(">I", magic if magic is not None else 0x800 | len(dimensions))
    return head + b"".join(struct.pack(">I", d) for d in dimensions) + data


def gz(data, **kwargs):
    return gzip.compress(data, mtime=0, **kwargs)


def gzip_with_header_fields(data):
    """A gzip member with FHCRC, FEXTRA, FNAME and FCOMMENT set (RFC 1952 section 2.3)."""
    header = b"\x1f\x8b\x08\x1e" + b"\0\0\0\0\0\xff" + struct.pack("<H", 4) + b"ab\0\0" + b"name\0" + b"comment\0"
    header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    return header + body + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


def idx_seeds():
    for name in ["labels5.idx1", "labels5.idx1.gz", "images5.idx3.gz", "huge_count.idx3.gz", "trailing_garbage.gz",
                 "two_members.gz", "truncated.idx3.gz", "corrupt.idx3.gz"]:
        copy_fixture("idx", f"idx/{name}")
    images = idx([2, 2, 3], bytes(range(12)))
    labels = idx([3], b"\0\x01\x09")
    write("idx", "images-2x2x3", images)
    write("idx", "labels-3", labels)
    write("idx", "images-2x2x3.gz", gz(images))
    write("idx", "labels-header-fields.gz", gzip_with_header_fields(labels))
    write("idx", "labels-stored.gz", gz(labels, compresslevel=0))
    write("idx", "labels-split-members.gz", gz(labels[:5]) + gz(labels[5:]))
    write("idx", "empty.gz", gz(b""))
    write("idx", "hostile-overflow-dimensions", idx([0xFFFFFFFF] * 3, b""))
    write("idx", "hostile-zero-dimension", idx([0, 0xFFFFFFFF, 0xFFFFFFFF], b""))
    write("idx", "hostile-wrong-type", idx([3], b"abc", magic=0x0D01))
    write("idx", "hostile-extra-data", labels + b"\xff")
    write("idx", "hostile-bomb.gz", gz(idx([1, 1024, 1024], b"")  + b"\0" * (1 << 20)))
    write("idx", "hostile-bad-crc.gz", gz(labels)[:-8] + b"\0\0\0\0" + gz(labels)[-4:])
    write("idx", "hostile-wrong-isize.gz", gz(labels)[:-4] + struct.pack("<I", 0xFFFFFFFF))
    write("idx", "hostile-reserved-flags.gz", b"\x1f\x8b\x08\xe0" + gz(labels)[4:])
    write("idx", "hostile-not-deflate.gz", b"\x1f\x8b\x07" + gz(labels)[3:])
    write("idx", "hostile-magic-only.gz", b"\x1f\x8b")


# MARK: - database

# The SQL seeds run on an empty database of the current schema (v4_feature_maps), with CHECK
# constraints ignored. Values are float32 little-endian BLOBs where the schema says so.
POPULATED = """
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
"""

# The schema of a file written before v2_training: the toolkit reads it read-only as it is.
V1_ONLY = """
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
"""

DATABASE_SEEDS = {
    "populated.sql": POPULATED,
    "v1-schema-populated.sql": V1_ONLY + POPULATED.split("INSERT INTO runs")[0] + """
INSERT INTO runs (id, sweep_id, model, variant, ratio, groups, in_channels, classes, input_size, dataset, images, status,
  params, macs, flops, batch, threads, finished_at, tool_version)
VALUES (1, 1, 'resnet20', 'vanilla', NULL, NULL, 1, 10, 28, 'fashion-mnist', 64, 'done', 1, 2, 4, 8, 1, 'x', '0.1.0');
INSERT INTO layer_metrics VALUES (1, 'conv1', 'cosine', 1, 64, 0.3, 0.25, 0.9, 1, 0, 1, 1.5, 0.75);
INSERT INTO similarity VALUES (1, 'conv1', 'cosine', 1, X'0000803F');
""",
    "hostile-huge-channels.sql": POPULATED + """
INSERT INTO similarity VALUES (1, 'layer2', 'cosine', 2147483648, X'');
INSERT INTO similarity VALUES (1, 'layer3', 'cosine', 4611686018427387904, X'0000803F');
INSERT INTO feature_maps VALUES (1, 'layer2', 0, 4611686018427387904, 1, 1, X'', X'', X'');
INSERT INTO feature_maps VALUES (1, 'layer3', 0, 1, 4294967296, 4294967296, X'00000000', X'00000000', X'');
""",
    "hostile-types.sql": POPULATED + """
UPDATE runs SET ratio = 'half', groups = X'02', macs = -1, params = 9223372036854775807, accuracy = 1e999,
  latency_ms = -1e999, train_seed = -1, weights_seed = -9223372036854775808, status = 'weird', weights_source = 'alien' WHERE id = 1;
UPDATE runs SET model = CAST(X'FFFE' AS TEXT), variant = '', train_epochs = 0 WHERE id = 2;
UPDATE layer_metrics SET channels = 'many', mean_abs_offdiag = -0.5, clusters = -5, effective_rank = 1e308 WHERE run_id = 1;
UPDATE similarity SET matrix = 'text, not a blob', channels = 0 WHERE run_id = 1;
UPDATE feature_maps SET minimum = X'00', image = -1 WHERE run_id = 1;
UPDATE epochs SET epoch = 9223372036854775807, learning_rate = -1 WHERE run_id = 1 AND epoch = 1;
UPDATE sweeps SET name = '' WHERE id = 2;
""",
    "hostile-views-replaced.sql": POPULATED + """
DROP VIEW run_summary; CREATE VIEW run_summary AS SELECT 1 AS x;
DROP VIEW pareto_candidates; CREATE VIEW pareto_candidates AS SELECT * FROM sweeps;
DROP VIEW layer_redundancy; CREATE TABLE layer_redundancy (run_id);
DROP TABLE epochs;
""",
    "hostile-runs-table-replaced.sql": """
DROP VIEW run_summary; DROP VIEW layer_redundancy; DROP VIEW pareto_candidates;
DROP TABLE feature_maps; DROP TABLE epochs; DROP TABLE similarity; DROP TABLE layer_metrics; DROP TABLE runs;
CREATE TABLE runs (id INTEGER PRIMARY KEY, sweep_id, train_epochs, weights_source);
INSERT INTO sweeps VALUES (1, 'grid', '', '');
INSERT INTO runs VALUES (1, 1, 3, 'trained'), (2, 1, NULL, NULL);
""",
    "hostile-newer-schema.sql": "INSERT INTO schema_migrations VALUES ('v9_from_the_future', 'now'); PRAGMA user_version = 9;",
    "hostile-not-ours.sql": "DROP TABLE schema_migrations; CREATE TABLE t (x); PRAGMA user_version = 0;",
    "hostile-nothing.sql": "",
}


def database_seeds(harness):
    for name, sql in DATABASE_SEEDS.items():
        write("database", name, sql.strip() + "\n")
    if not harness:
        return
    for name in ["populated.sql", "v1-schema-populated.sql"]:
        with tempfile.TemporaryDirectory() as folder:
            kept = os.path.join(folder, "kept.sqlite")
            subprocess.run([harness, "-runs=1", os.path.join(CORPUS, "database", name)], check=True,
                           env=dict(os.environ, SPCONVLAB_FUZZ_KEEP_DATABASE=kept),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            connection = sqlite3.connect(kept)
            connection.execute("PRAGMA page_size = 512")
            connection.execute("VACUUM")
            connection.close()
            with open(kept, "rb") as f:
                write("database", name.replace(".sql", ".sqlite"), f.read())


# MARK: - onnx

def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, value):
    """One protobuf field: an int as a varint, bytes or str as length-delimited."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def value_info(name, dims):
    shape = b"".join(field(1, field(1, d)) for d in dims)
    return field(1, name) + field(2, field(1, field(1, 1) + field(2, shape)))


def onnx_model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = b"".join(field(1, n) for n in nodes) + b"".join(field(5, t) for t in initializers)
    graph += b"".join(field(11, value_info(n, d)) for n, d in inputs) + b"".join(field(12, field(1, n)) for n in outputs)
    return field(1, 8) + field(8, field(1, "") + field(2, opset)) + field(7, graph)


def onnx_node(op, inputs, outputs, name=""):
    return b"".join(field(1, i) for i in inputs) + b"".join(field(2, o) for o in outputs) + field(3, name) + field(4, op)


def onnx_seeds():
    for name in ["mixed", "ops"]:
        copy_fixture("onnx", f"onnx/{name}.onnx")
        with open(os.path.join(FIXTURES, "onnx", f"{name}.onnx"), "rb") as f:
            data = f.read()
        write("onnx", f"{name}-truncated-half", data[:len(data) // 2])
        write("onnx", f"{name}-truncated-end", data[:-3])
    image = [("x", [1, 3, 4, 4])]
    write("onnx", "relu", onnx_model([onnx_node("Relu", ["x"], ["y"], "relu")], image, ["y"]))
    conv_weight = field(1, 2) + field(1, 3) + field(1, 1) + field(1, 1) + field(2, 1) + field(8, "w") + field(9, bytes(24))
    write("onnx", "conv1x1", onnx_model([onnx_node("Conv", ["x", "w"], ["y"], "conv")], image, ["y"], [conv_weight]))
    write("onnx", "hostile-unknown-op", onnx_model([onnx_node("LSTM", ["x"], ["y"], "lstm")], image, ["y"]))
    write("onnx", "hostile-dangling", onnx_model([onnx_node("Relu", ["nowhere"], ["y"], "relu")], image, ["y"]))
    write("onnx", "hostile-cycle", onnx_model([onnx_node("Add", ["x", "b"], ["a"], "one"), onnx_node("Relu", ["a"], ["b"], "two")],
                                              image, ["b"]))
    huge = field(1, 1 << 40) + field(2, 1) + field(8, "w")
    write("onnx", "hostile-huge-initializer", onnx_model([onnx_node("Conv", ["x", "w"], ["y"], "conv")], image, ["y"], [huge]))
    write("onnx", "hostile-huge-input", onnx_model([onnx_node("Relu", ["x"], ["y"], "relu")], [("x", [1, 1 << 24, 1 << 24, 1 << 24])], ["y"]))
    write("onnx", "hostile-opset", onnx_model([onnx_node("Relu", ["x"], ["y"], "relu")], image, ["y"], opset=99))
    write("onnx", "hostile-length-beyond-file", field(1, 8) + varint(7 << 3 | 2) + varint(1 << 40))
    write("onnx", "empty", b"")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--harness", help="the built fuzz-database binary; writes the SQLite seeds too")
    arguments = parser.parse_args()
    for target in ["safetensors", "npy", "png", "idx", "onnx", "database"]:
        folder = os.path.join(CORPUS, target)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if not name.startswith("crash-") and not (name.endswith(".sqlite") and not arguments.harness):
                    os.remove(os.path.join(folder, name))
    safetensors_seeds()
    npy_seeds()
    png_seeds()
    idx_seeds()
    onnx_seeds()
    database_seeds(arguments.harness)
    for target in sorted(os.listdir(CORPUS)):
        folder = os.path.join(CORPUS, target)
        sizes = [os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)]
        print(f"{target}: {len(sizes)} seeds, {sum(sizes)} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the CSV fixtures of Tests/FeatureProbeTests (Fixtures/csv/) from Python itself, so the
Swift CSVWriter is checked against the reference it imitates.

- g6.tsv: `kind<TAB>bits<TAB>'%.6g' % value` per line; kind "f" is a float32 (bits: 8 hex
  digits) formatted through its exact double value, kind "d" a float64 (16 hex digits).
  Covers zero, negative zero, nan, +-inf, subnormals, ties at the seventh digit, values whose
  shortest repr is a seventh-digit tie, rounding carries (999999.5 -> 1e+06) and 4000 seeded
  random values over many magnitudes.
- matrix.csv: a 3x3 float32 matrix (matrix_values.json holds its bits) as '%.6g' rows, "\n".
- table_input.json / table.csv: header and rows written by csv.writer (dialect "excel").

Rerun from the repository root (numpy only):
    python3 tools/make_csv_fixtures.py
"""
import csv
import io
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FeatureProbeTests", "Fixtures", "csv")


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def g6_lines():
    rng = np.random.default_rng(20200711)
    floats = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1.0, -1.0, 0.5, 0.1, 1e-05,
              1.5e-05, 0.0001, 0.00012345678, 123456.0, 999999.0, 999999.5, 9999995.0, 1234565.0,
              1234575.0, 1234585.0, 100000.0, 1000000.0, 1e-45, 1.17549435e-38, 3.4028235e38,
              -0.987654321, 0.99999994, 0.9999995, 12345.65, 2.5, 1e10, 123.4565]
    floats = [float(np.float32(v)) for v in floats]
    # float32 values whose shortest repr has 7 significant digits ending in 5.
    found = 0
    while found < 40:
        v = np.float32(rng.uniform(-1, 1) * 10.0 ** rng.integers(-6, 8))
        digits = np.format_float_scientific(v, unique=True, trim="-").lstrip("-").split("e")[0].replace(".", "")
        if len(digits) == 7 and digits.endswith("5"):
            floats.append(float(v))
            found += 1
    for _ in range(2000):
        floats.append(float(np.float32(rng.uniform(-1, 1) * 10.0 ** rng.uniform(-12, 12))))
    for _ in range(1000):
        floats.append(float(np.float32(rng.uniform(-1, 1))))
    for bits in rng.integers(0, 2**32, size=1000, dtype=np.uint64):
        floats.append(float(np.frombuffer(struct.pack("<I", int(bits)), dtype="<f4")[0]))
    lines = [f"f\t{f32_bits(v):08x}\t{'%.6g' % v}" for v in floats]
    doubles = [0.1, -0.0, 1e-05, 0.30000000000000004, 1234565.0, 2.0 / 3.0, 1e300, 5e-324, 123456789.0]
    doubles += list(rng.uniform(-1, 1, size=200) * 10.0 ** rng.uniform(-8, 8, size=200))
    lines += [f"d\t{f64_bits(v):016x}\t{'%.6g' % v}" for v in doubles]
    return lines


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "g6.tsv"), "w", newline="\n") as f:
        f.write("\n".join(g6_lines()) + "\n")

    matrix = np.array([[1.0, -0.25, 1e-05], [0.333333333, -0.0, 123456789.0], [2.5e-7, 0.987654321, -1.0]],
                      dtype=np.float32)
    with open(os.path.join(OUT, "matrix_values.json"), "w") as f:
        json.dump([f32_bits(float(v)) for v in matrix.reshape(-1)], f)
    with open(os.path.join(OUT, "matrix.csv"), "w", newline="\n") as f:
        for row in matrix:
            f.write(",".join("%.6g" % float(v) for v in row) + "\n")

    header = ["model", "layer", "note"]
    rows = [["resnet20", "layer1.0.conv1", "plain"],
            ["resnet20", "a,b", 'say "hi"'],
            ["x", "line\nbreak", "carriage\rreturn"],
            ["", "", ""],
            ["  spaced  ", "semi;colon", "tab\there"],
            ["quote\"only", "\"", ","]]
    with open(os.path.join(OUT, "table_input.json"), "w") as f:
        json.dump({"header": header, "rows": rows}, f)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    with open(os.path.join(OUT, "table.csv"), "w", newline="") as f:
        f.write(buffer.getvalue())


main()

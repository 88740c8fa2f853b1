#!/usr/bin/env python3
"""NumPy's twin of FeatureProbe's SimilarityBenchmark: the median time of one batch's channel
similarity matrix, printed as one JSON line per (shape, metric).

NumPy's natural implementation: X = maps.transpose(1, 0, 2, 3).reshape(C, -1) (a copy), for pearson
X -= X.mean(1, keepdims=True), G = X @ X.T (NumPy hands A @ A.T to BLAS syrk), G / outer(d, d) with
d = sqrt(diag(G)). Maps are float32 standard normal, as in the Swift benchmark.

    OPENBLAS_NUM_THREADS=2 python3 tools/bench_similarity_numpy.py [--runs 30] [--warmup 3]
"""
import argparse
import json
import time

import numpy as np

SHAPES = [(32, 16, 32, 32), (32, 64, 8, 8), (32, 256, 16, 16), (8, 512, 28, 28)]


def similarity(maps, metric):
    n, c, h, w = maps.shape
    x = maps.transpose(1, 0, 2, 3).reshape(c, -1)
    if metric == "pearson":
        x = x - x.mean(axis=1, keepdims=True)
    g = x @ x.T
    d = np.sqrt(np.diag(g))
    return g / np.outer(d, d)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        maps = rng.standard_normal(shape).astype(np.float32)
        for metric in ("cosine", "pearson"):
            for _ in range(args.warmup):
                similarity(maps, metric)
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                similarity(maps, metric)
                times.append((time.perf_counter() - start) * 1e3)
            print(json.dumps({"shape": list(shape), "metric": metric, "ms": float(np.median(times)),
                              "numpy": np.__version__}))


if __name__ == "__main__":
    main()

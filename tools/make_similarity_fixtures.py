#!/usr/bin/env python3
"""Writes the similarity fixtures of Tests/FeatureProbeTests/Fixtures/similarity/ with NumPy (float64).

Rerun from the repository root after changing a definition in docs/REDUNDANCY.md:

    python3 tools/make_similarity_fixtures.py

Inputs (float32, seeded):
  relu_maps.npy    (6, 12, 5, 5) ReLU'd normal maps; channel 3 all zero (dead for both metrics),
                   channel 7 the constant 2.5 (dead for pearson only), channel 5 = 2 * channel 1,
                   channel 9 = -channel 0 + 0.25.
  offset_maps.npy  (4, 8, 6, 6) normal maps with per-channel means from 100 to 800 (std 0.5):
                   pearson without shifting would cancel catastrophically in float32.
  cka_second.npy   (6, 10, 5, 5) a random linear mix of relu_maps' channels plus noise.
Expected outputs (float64):
  {input}_{metric}_{reduction}.npy  the C x C similarity matrix, and ..._dead.npy the dead mask.
  cka.npy  [CKA(relu, relu), CKA(relu, cka_second), CKA(offset, offset)]
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FeatureProbeTests", "Fixtures", "similarity")
TAU = 1e-6  # SimilarityAccumulator.deadTolerance


def dead_mask(metric, moments, mean_squares):
    """Dead channels from the mean-product matrix (about zero for cosine, covariances for pearson)."""
    spreads = np.maximum(np.diag(moments), 0)
    largest = spreads.max()
    if metric == "cosine":
        bound = TAU**2 * largest
    else:
        bound = TAU**2 * np.maximum(mean_squares, largest)
    return (spreads == 0) | (spreads <= bound)


def normalise(moments, dead):
    inv = np.where(dead, 0.0, 1.0 / np.sqrt(np.where(dead, 1.0, np.diag(moments))))
    s = np.clip(moments * np.outer(inv, inv), -1, 1)
    np.fill_diagonal(s, 1)
    return s


def similarity(x, metric):
    """x: C x M channel vectors (float64). Returns (matrix, dead mask)."""
    m = x.shape[1]
    if metric == "pearson":
        means = x.mean(axis=1)
        xc = x - means[:, None]
        moments = xc @ xc.T / m
        mean_squares = np.diag(moments) + means**2
    else:
        moments = x @ x.T / m
        mean_squares = np.diag(moments)
    dead = dead_mask(metric, moments, mean_squares)
    return normalise(moments, dead), dead


def pooled(maps, metric):
    n, c, h, w = maps.shape
    return similarity(maps.astype(np.float64).transpose(1, 0, 2, 3).reshape(c, -1), metric)


def per_image(maps, metric):
    n, c, h, w = maps.shape
    total = np.zeros((c, c))
    dead_everywhere = np.ones(c, dtype=bool)
    for image in maps.astype(np.float64):
        s, dead = similarity(image.reshape(c, -1), metric)
        total += s
        dead_everywhere &= dead
    return total / n, dead_everywhere


def linear_cka(a, b):
    x = a.astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, a.shape[1])
    y = b.astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, b.shape[1])
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20200704)
    relu = np.maximum(rng.standard_normal((6, 12, 5, 5)), 0)
    relu[:, 3] = 0
    relu[:, 7] = 2.5
    relu[:, 5] = 2 * relu[:, 1]
    relu[:, 9] = -relu[:, 0] + 0.25
    relu = relu.astype(np.float32)
    offsets = (np.arange(1, 9) * 100.0)[None, :, None, None]
    offset = (0.5 * rng.standard_normal((4, 8, 6, 6)) + offsets).astype(np.float32)
    mix = rng.standard_normal((10, 12))
    second = np.einsum("dc,nchw->ndhw", mix, relu.astype(np.float64)) + 0.1 * rng.standard_normal((6, 10, 5, 5))
    second = second.astype(np.float32)

    np.save(os.path.join(OUT, "relu_maps.npy"), relu)
    np.save(os.path.join(OUT, "offset_maps.npy"), offset)
    np.save(os.path.join(OUT, "cka_second.npy"), second)
    for name, maps in (("relu", relu), ("offset", offset)):
        for metric in ("cosine", "pearson"):
            for reduction, fn in (("pooled", pooled), ("per-image", per_image)):
                s, dead = fn(maps, metric)
                base = f"{name}_{metric}_{reduction}"
                np.save(os.path.join(OUT, base + ".npy"), s)
                np.save(os.path.join(OUT, base + "_dead.npy"), dead.astype(np.float64))
    cka = np.array([linear_cka(relu, relu), linear_cka(relu, second), linear_cka(offset, offset)])
    np.save(os.path.join(OUT, "cka.npy"), cka)
    print("wrote", OUT, "CKA", cka)


if __name__ == "__main__":
    main()

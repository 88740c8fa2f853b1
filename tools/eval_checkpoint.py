#!/usr/bin/env python3
"""Independent PyTorch check of a Swift-trained checkpoint's Fashion-MNIST test accuracy.

Usage:
    python3 tools/eval_checkpoint.py notebooks-data/models/resnet20_spconv_r0.5_g2_s0_93fb3aeab7d44b6f.safetensors \
        [--data-dir /usr/share/datasets/fashion-mnist] [--tolerance 0.3] [--threads 2]
    python3 tools/eval_checkpoint.py notebooks-data/models/*[0-9a-f].safetensors --markdown   # the whole store

Exit status 1 when any checkpoint's accuracy differs from its sidecar's by more than the
tolerance, or is unfinished or unreadable.

Reads the JSON sidecar next to the checkpoint (same path, .json instead of .safetensors):
    model ("resnet20", ...), variant ("vanilla"|"spconv"), ratio + groups (spconv only),
    in_channels, classes, input_size, normalization {"mean": [...], "std": [...]},
    final_test_accuracy (fraction in 0..1).
Builds the model with tools/torch_zoo.build (written independently of the Swift engine),
loads the safetensors state_dict (every key must match exactly; only BN
num_batches_tracked may be absent or extra), reads t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz itself (gzip + numpy, IDX magics 2051/2049 and counts checked),
normalises (x/255 - mean)/std, evaluates in model.eval() mode in batches of 1000 and
prints our accuracy next to the sidecar's claim.

Exit status: 0 if |ours - claim| <= tolerance (percentage points), 1 if it is larger or if
the checkpoint, sidecar or dataset is missing or malformed.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np


REQUIRED = ("model", "variant", "in_channels", "classes", "input_size", "normalization",
            "final_test_accuracy")


class CheckError(Exception):
    pass


def read_idx(path: str, magic: int, ndim: int) -> np.ndarray:
    if not os.path.isfile(path):
        raise CheckError(f"missing dataset file {path}")
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 + 4 * ndim:
        raise CheckError(f"{path}: truncated IDX header")
    got_magic = struct.unpack(">I", data[:4])[0]
    if got_magic != magic:
        raise CheckError(f"{path}: IDX magic {got_magic}, expected {magic}")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise CheckError(f"{path}: header says {dims} = {int(np.prod(dims))} bytes, "
                         f"file has {body.size}")
    return body.reshape(dims)


def load_test_set(data_dir: str):
    images = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"), 2051, 3)
    labels = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"), 2049, 1)
    if images.shape[0] != labels.shape[0]:
        raise CheckError(f"{images.shape[0]} test images but {labels.shape[0]} labels")
    if images.shape[0] != 10000:
        print(f"warning: {images.shape[0]} test images (Fashion-MNIST has 10000)")
    if labels.max() > 9:
        raise CheckError(f"label {labels.max()} out of range 0..9")
    return images, labels


def read_sidecar(ckpt: str) -> dict:
    side = os.path.splitext(ckpt)[0] + ".json"
    if not os.path.isfile(side):
        raise CheckError(f"missing sidecar {side}")
    try:
        with open(side) as f:
            meta = json.load(f)
    except json.JSONDecodeError as e:
        raise CheckError(f"{side}: not valid JSON ({e})")
    missing = [k for k in REQUIRED if k not in meta]
    if meta.get("variant") == "spconv":
        missing += [k for k in ("ratio", "groups") if k not in meta]
    if missing:
        raise CheckError(f"{side}: missing key(s) {', '.join(missing)}")
    if meta["variant"] not in ("vanilla", "spconv"):
        raise CheckError(f"{side}: unknown variant {meta['variant']!r}")
    norm = meta["normalization"]
    if not isinstance(norm, dict) or "mean" not in norm or "std" not in norm:
        raise CheckError(f"{side}: normalization must be {{\"mean\": [...], \"std\": [...]}}")
    acc = meta["final_test_accuracy"]
    if not isinstance(acc, (int, float)) or not 0.0 <= acc <= 1.0:
        raise CheckError(f"{side}: final_test_accuracy {acc!r} is not a fraction in 0..1")
    return meta


def load_model(ckpt: str, meta: dict):
    import torch
    from safetensors.torch import load_file
    import torch_zoo

    kw = dict(in_channels=int(meta["in_channels"]), classes=int(meta["classes"]))
    if meta["variant"] == "spconv":
        kw.update(ratio=float(meta["ratio"]), groups=int(meta["groups"]))
    try:
        model = torch_zoo.build(meta["model"], meta["variant"], **kw)
    except ValueError as e:
        raise CheckError(f"cannot build model from sidecar: {e}")
    try:
        sd = load_file(ckpt)
    except Exception as e:  # safetensors raises its own error types
        raise CheckError(f"{ckpt}: cannot read safetensors ({e})")

    def core(keys):
        return {k for k in keys if not k.endswith("num_batches_tracked")}

    want = model.state_dict()
    missing = sorted(core(want) - core(sd))
    unexpected = sorted(core(sd) - core(want))
    if missing or unexpected:
        raise CheckError(f"{ckpt}: state_dict mismatch, {len(missing)} missing "
                         f"{missing[:5]}, {len(unexpected)} unexpected {unexpected[:5]}")
    bad = [f"{k}: {tuple(sd[k].shape)} vs {tuple(want[k].shape)}"
           for k in core(want) if tuple(sd[k].shape) != tuple(want[k].shape)]
    if bad:
        raise CheckError(f"{ckpt}: shape mismatch in {len(bad)} tensor(s): {bad[:5]}")
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()
          if not k.endswith("num_batches_tracked") or k in want}
    if any(not torch.isfinite(v).all() for v in sd.values() if v.is_floating_point()):
        raise CheckError(f"{ckpt}: contains NaN or Inf")
    result = model.load_state_dict(sd, strict=False)
    leftovers = [k for k in list(result.missing_keys) + list(result.unexpected_keys)
                 if not k.endswith("num_batches_tracked")]
    if leftovers:
        raise CheckError(f"{ckpt}: load_state_dict left {leftovers[:5]}")
    return model.eval()


def evaluate(model, images: np.ndarray, labels: np.ndarray, meta: dict, batch=1000) -> float:
    import torch

    cin, size = int(meta["in_channels"]), int(meta["input_size"])
    if images.shape[1:] != (size, size):
        raise CheckError(f"sidecar input_size {size} but test images are "
                         f"{images.shape[1]}x{images.shape[2]}")
    mean = np.asarray(meta["normalization"]["mean"], dtype=np.float32).reshape(-1)
    std = np.asarray(meta["normalization"]["std"], dtype=np.float32).reshape(-1)
    if mean.size not in (1, cin) or std.size not in (1, cin) or cin != 1:
        raise CheckError(f"normalization mean/std sizes {mean.size}/{std.size} do not fit "
                         f"in_channels {cin} (Fashion-MNIST is 1-channel)")
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            x = images[i:i + batch].astype(np.float32)[:, None] / 255.0
            x = (x - mean[0]) / std[0]
            pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
            correct += int((pred == labels[i:i + batch]).sum())
    return 100.0 * correct / len(images)


def check(path: str, images, labels, tolerance: float):
    """(row for the markdown table, ok) for one checkpoint; raises CheckError."""
    if not os.path.isfile(path):
        raise CheckError(f"missing checkpoint {path}")
    meta = read_sidecar(path)
    if not meta.get("finished", True):
        raise CheckError(f"{path} is an unfinished run (epoch {meta.get('completed_epochs')} of {meta.get('epochs')})")
    model = load_model(path, meta)
    ours = evaluate(model, images, labels, meta)
    claim = 100.0 * float(meta["final_test_accuracy"])
    diff = ours - claim
    desc = meta["model"] + " " + meta["variant"]
    if meta["variant"] == "spconv":
        desc += f" ratio {meta['ratio']} groups {meta['groups']}"
    desc += f" seed {meta.get('seed', '?')}"
    print(f"{desc}: PyTorch test accuracy {ours:.2f}% on {len(labels)} images, "
          f"sidecar claims {claim:.2f}% (diff {diff:+.2f} points, tolerance {tolerance})")
    ok = abs(diff) <= tolerance
    print("OK" if ok else "MISMATCH", file=sys.stdout if ok else sys.stderr)
    name = "vanilla" if meta["variant"] == "vanilla" else f"SPConv {meta['ratio']} g{meta['groups']}"
    row = (f"| {name}, seed {meta.get('seed', '?')} | `{os.path.basename(path)}` | {claim:.2f}% | {ours:.2f}% | "
           f"{100.0 * float(meta.get('best_test_accuracy', 0)):.2f}% (epoch {meta.get('best_epoch', '?')}) |")
    return row, ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("checkpoints", nargs="+", help="paths of .safetensors checkpoints (each with its .json sidecar)")
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--tolerance", type=float, default=0.3,
                    help="allowed |ours - claim| in percentage points (default 0.3)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--markdown", action="store_true",
                    help="end with a markdown table (run, file, sidecar accuracy, PyTorch accuracy, best)")
    args = ap.parse_args(argv)
    rows, failures = [], 0
    try:
        images, labels = load_test_set(args.data_dir)
        import torch
        torch.set_num_threads(args.threads)
    except CheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for path in args.checkpoints:
        try:
            row, ok = check(path, images, labels, args.tolerance)
            rows.append(row)
            failures += 0 if ok else 1
        except CheckError as e:
            print(f"error: {e}", file=sys.stderr)
            failures += 1
    if args.markdown:
        print("\n| run | file | test accuracy (sidecar) | test accuracy (PyTorch) | best (sidecar) |")
        print("|---|---|---:|---:|---:|")
        print("\n".join(sorted(rows)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

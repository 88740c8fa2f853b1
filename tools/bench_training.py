#!/usr/bin/env python3
"""Training speed, our engine (`probe-cli train`) next to PyTorch eager CPU.

Usage:
    python3 tools/bench_training.py                       # full epoch, both sides
    python3 tools/bench_training.py --limit 2048 --skip-ours
    python3 tools/bench_training.py --repeats 3 --write docs/PERFORMANCE.md

For each variant (resnet20 vanilla; resnet20 spconv ratio 0.5 groups 2), 1 input channel,
10 classes, 28x28 Fashion-MNIST, ONE epoch over the first --limit training images:

PyTorch: torch.set_num_threads(--threads), model.train(), batch 128 (last batch partial),
  SGD(lr 0.1, momentum 0.9, weight_decay 5e-4), cross-entropy, seeded shuffle; per batch a
  vectorised augmentation on the uint8 images (random crop with 2-pixel zero padding and a
  random horizontal flip, one gather), then (x/255 - 0.2860)/0.3530. Images/s = images /
  wall time of the training loop (shuffle, augmentation, forward, backward, step; no
  dataset loading, no eval, no warm-up).
Ours: runs
  <probe-cli> train --model resnet20 --variant <v> [--ratio 0.5 --groups 2] --in-channels 1
      --dataset fashion-mnist --epochs 1 --batch 128 --threads T --limit N --seed 0
      --test-limit 1000 --output <tmpdir>/<v>.safetensors
  and reads "train_images_per_second" from <tmpdir>/<v>.json.
With --repeats R each side runs R times and the median is reported.

--write FILE replaces the text between <!-- training-bench:begin --> and
<!-- training-bench:end --> in FILE (appending a "## Training speed" section with the
markers if absent) with a markdown table, the CPU, the date and this command; the raw
numbers go to --json (default docs/training-bench.json).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from spconvlab_tools import cpuinfo
import torch.nn.functional as F

import torch_zoo  # this folder: Python puts a script's own folder first on sys.path
from eval_checkpoint import CheckError, read_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = [("resnet20", "vanilla", None, None), ("resnet20", "spconv", 0.5, 2)]
MEAN, STD = 0.2860, 0.3530
BEGIN, END = "<!-- training-bench:begin -->", "<!-- training-bench:end -->"


def cpu_name() -> str:
    return cpuinfo.field("model name", "unknown CPU")


def augment(x_u8: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random 28x28 crop of the 2-pixel zero-padded image + random h-flip, normalised float."""
    b, h, w = x_u8.shape
    padded = F.pad(x_u8, (2, 2, 2, 2))
    oy = torch.randint(0, 5, (b, 1), generator=gen)
    ox = torch.randint(0, 5, (b, 1), generator=gen)
    flip = torch.rand(b, 1, generator=gen) < 0.5
    ar_h, ar_w = torch.arange(h), torch.arange(w)
    rows = oy + ar_h                                   # (b, h)
    cols = torch.where(flip, ox + (w - 1) - ar_w, ox + ar_w)  # (b, w), reversed if flipped
    crop = padded[torch.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return ((crop.float() / 255.0 - MEAN) / STD).unsqueeze(1)


def torch_epoch(model_name, variant, ratio, groups, images, labels, batch, seed) -> float:
    torch.manual_seed(seed)
    kw = dict(ratio=ratio, groups=groups) if variant == "spconv" else {}
    model = torch_zoo.build(model_name, variant, in_channels=1, classes=10, **kw).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    t0 = time.perf_counter()
    perm = torch.randperm(n, generator=gen)
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        x = augment(images[idx], gen)
        loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    dt = time.perf_counter() - t0
    if not torch.isfinite(loss):
        raise RuntimeError(f"PyTorch {variant}: loss became {loss.item()}")
    return n / dt


def ours_epoch(cli, model_name, variant, ratio, groups, args, tmpdir) -> float:
    out = os.path.join(tmpdir, f"{variant}.safetensors")
    cmd = [cli, "train", "--model", model_name, "--variant", variant]
    if variant == "spconv":
        cmd += ["--ratio", str(ratio), "--groups", str(groups)]
    cmd += ["--in-channels", "1", "--dataset", "fashion-mnist", "--epochs", "1",
            "--batch", str(args.batch), "--threads", str(args.threads),
            "--limit", str(args.limit), "--test-limit", "1000", "--seed", "0", "--output", out]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise CheckError(f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
                         f"--- stderr (last 20 lines) ---\n{tail}")
    side = os.path.join(tmpdir, f"{variant}.json")
    try:
        with open(side) as f:
            value = json.load(f)["train_images_per_second"]
    except (OSError, json.JSONDecodeError, KeyError) as e:
        raise CheckError(f"cannot read train_images_per_second from {side}: {e!r}")
    return float(value)


def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def paired_ratio(rows, engine):
    """SPConv / vanilla images/s of one engine, per round (the two ran back to back) and their
    median, or None without both variants' runs."""
    runs = {r["variant"]: r[f"{engine}_runs"] for r in rows}
    sp, va = runs.get("spconv") or [], runs.get("vanilla") or []
    if not sp or len(sp) != len(va):
        return None
    per_round = [s / v for s, v in zip(sp, va)]
    return statistics.median(per_round), per_round


def markdown(rows, cpu, args, command) -> str:
    lines = ["| model | variant | ours img/s | PyTorch img/s | ours/PyTorch | ours, each round |",
             "|---|---|---:|---:|---:|---|"]
    for r in rows:
        runs = ", ".join(fmt(v) for v in r["ours_runs"]) or "-"
        lines.append(f"| {r['model']} | {r['label']} | {fmt(r['ours'])} | {fmt(r['pytorch'])} "
                     f"| {fmt(r['ratio_ours_pytorch'], '.2f')} | {runs} |")
    lines += ["", f"One epoch of Fashion-MNIST training over {args.limit} images, batch "
              f"{args.batch}, {args.threads} threads, SGD momentum 0.9, crop+flip augmentation, "
              f"median of {args.repeats} round(s); each round runs both variants on both engines "
              f"back to back. CPU: {cpu}. "
              f"Date: {datetime.date.today().isoformat()}."]
    for engine, name in (("ours", "our engine"), ("pytorch", "PyTorch")):
        paired = paired_ratio(rows, engine)
        if paired:
            lines += ["", f"SPConv ÷ vanilla images/s in {name}, per round: "
                      + ", ".join(f"{v:.2f}" for v in paired[1]) + f" (median {paired[0]:.2f})."]
    lines += ["",
              f"Command: `{command}`"]
    return "\n".join(lines)


def write_markdown(path, block) -> None:
    text = open(path).read() if os.path.exists(path) else ""
    b, e = text.find(BEGIN), text.find(END)
    if b != -1 and e > b:
        text = text[:b + len(BEGIN)] + "\n" + block + "\n" + text[e:]
    else:
        text = text.rstrip("\n") + f"\n\n## Training speed\n\n{BEGIN}\n{block}\n{END}\n"
    with open(path, "w") as f:
        f.write(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--limit", type=int, default=60000, help="first N training images")
    ap.add_argument("--repeats", type=int, default=1, help="runs per side; median reported")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--probe-cli", default=os.path.join(ROOT, ".build", "release", "probe-cli"))
    ap.add_argument("--skip-ours", action="store_true", help="PyTorch only")
    ap.add_argument("--skip-pytorch", action="store_true", help="ours only")
    ap.add_argument("--write", metavar="FILE", help="update the marked section of FILE")
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "training-bench.json"),
                    help="raw numbers, written together with --write")
    args = ap.parse_args(argv)
    command = "python3 tools/bench_training.py " + shlex.join(sys.argv[1:] if argv is None
                                                               else argv)
    if not args.skip_ours and not os.path.isfile(args.probe_cli):
        print(f"error: {args.probe_cli} not found; build it with\n"
              f"    swift build -c release --product probe-cli\n"
              f"or pass --probe-cli PATH (or --skip-ours)", file=sys.stderr)
        return 1

    torch.set_num_threads(args.threads)
    rows = []
    try:
        if not args.skip_pytorch:
            imgs = read_idx(os.path.join(args.data_dir, "train-images-idx3-ubyte.gz"), 2051, 3)
            labs = read_idx(os.path.join(args.data_dir, "train-labels-idx1-ubyte.gz"), 2049, 1)
            images = torch.from_numpy(imgs[:args.limit].copy())
            labels = torch.from_numpy(labs[:args.limit].astype(np.int64))
        with tempfile.TemporaryDirectory(prefix="bench-training-") as tmpdir:
            # Rounds outermost: each round runs every variant on both engines, so a drift in the
            # host's load (this machine is shared) falls on all of them alike, not on the
            # variants measured last.
            ours = {v: [] for v in VARIANTS}
            pt = {v: [] for v in VARIANTS}
            for round_no in range(args.repeats):
                for key in VARIANTS:
                    model_name, variant, ratio, groups = key
                    if not args.skip_ours:
                        ours[key].append(ours_epoch(args.probe_cli, model_name, variant, ratio,
                                                    groups, args, tmpdir))
                    if not args.skip_pytorch:
                        pt[key].append(torch_epoch(model_name, variant, ratio, groups,
                                                   images, labels, args.batch, seed=0))
                print(f"  round {round_no + 1}/{args.repeats}: "
                      + ", ".join(f"{k[1]} ours {fmt(ours[k][-1] if ours[k] else None)}"
                                  f" PyTorch {fmt(pt[k][-1] if pt[k] else None)}"
                                  for k in VARIANTS), flush=True)
            for key in VARIANTS:
                model_name, variant, ratio, groups = key
                label = variant if ratio is None else f"spconv r{ratio} g{groups}"
                o = statistics.median(ours[key]) if ours[key] else None
                p = statistics.median(pt[key]) if pt[key] else None
                rows.append(dict(model=model_name, variant=variant, ratio=ratio, groups=groups,
                                 label=label, ours=o, pytorch=p, ours_runs=ours[key],
                                 pytorch_runs=pt[key],
                                 ratio_ours_pytorch=(o / p) if o and p else None))
    except CheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    cpu = cpu_name()
    print()
    print(f"{'model':<10} {'variant':<16} {'ours img/s':>11} {'PyTorch img/s':>14} "
          f"{'ours/PyTorch':>13}")
    for r in rows:
        print(f"{r['model']:<10} {r['label']:<16} {fmt(r['ours']):>11} {fmt(r['pytorch']):>14} "
              f"{fmt(r['ratio_ours_pytorch'], '.2f'):>13}")
    print(f"CPU: {cpu}; {args.threads} threads, batch {args.batch}, limit {args.limit}, "
          f"median of {args.repeats}")
    paired = paired_ratio(rows, "ours")
    if paired:
        print("SPConv / vanilla in our engine per round: "
              + ", ".join(f"{v:.2f}" for v in paired[1]) + f" (median {paired[0]:.2f})")

    if args.write:
        write_markdown(args.write, markdown(rows, cpu, args, command))
        raw = dict(cpu=cpu, date=datetime.datetime.now().isoformat(timespec="seconds"),
                   command=command, limit=args.limit, batch=args.batch, threads=args.threads,
                   repeats=args.repeats, torch_version=torch.__version__, rows=rows)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
            f.write("\n")
        print(f"wrote {args.write} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end parity check: checkpoints saved from the PyTorch zoo (tools/torch_zoo.py) load into
`probe-cli run --weights` and give PyTorch's logits.

For each configuration it builds the PyTorch model with seeded random weights and non-trivial
BatchNorm statistics, saves its state_dict with safetensors (num_batches_tracked included, as
PyTorch writes it), writes a random input as .npy, runs the release probe-cli, and compares the
logits: max |ours - torch| / max |torch| must stay below --tolerance (default 1e-3).

Usage:
    swift build -c release --product probe-cli
    python3 tools/check_parity.py                  # the standard set: every model, vanilla and SPConv
    python3 tools/check_parity.py --random 20      # plus 20 random valid (model, ratio, groups) draws
Needs torch (pip install torch==2.13.0+cpu from the local wheel folder), numpy and safetensors.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import save_file

from torch_zoo import build  # this folder: Python puts a script's own folder first on sys.path

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BINARY = os.path.join(ROOT, ".build", "release", "probe-cli")

STANDARD = [
    # model, variant, ratio, groups, in_channels, classes, input_size, batch
    ("resnet20", "vanilla", None, None, 3, 10, 32, 2),
    ("resnet20", "spconv", 0.5, 2, 1, 10, 28, 2),
    ("resnet56", "spconv", 0.25, 4, 3, 10, 32, 2),
    ("resnet110", "spconv", 0.75, 2, 3, 100, 32, 1),
    ("vgg16", "vanilla", None, None, 3, 10, 32, 2),
    ("vgg16", "spconv", 0.5, 2, 3, 10, 32, 2),
    ("resnet18", "vanilla", None, None, 3, 1000, 64, 1),
    ("resnet18", "spconv", 0.5, 2, 3, 1000, 64, 1),
    ("resnet50", "vanilla", None, None, 3, 1000, 64, 1),
    ("resnet50", "spconv", 0.125, 2, 3, 1000, 64, 1),
    ("resnet50", "spconv", 0.5, 4, 1, 10, 64, 1),
]


def randomize_bn(model, generator):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=generator) * 0.8 + 0.6
            m.bias.data = torch.randn(n, generator=generator) * 0.2
            m.running_mean = torch.randn(n, generator=generator) * 0.2
            m.running_var = torch.rand(n, generator=generator) * 0.8 + 0.6
            m.num_batches_tracked = torch.tensor(7)


def check(cfg, workdir, tolerance, seed):
    model, variant, ratio, groups, in_ch, classes, size, batch = cfg
    torch.manual_seed(seed)
    kwargs = dict(in_channels=in_ch, classes=classes)
    if variant == "spconv":
        kwargs.update(ratio=ratio, groups=groups)
    net = build(model, variant, **kwargs).eval()
    randomize_bn(net, torch.Generator().manual_seed(seed))
    x = torch.randn(batch, in_ch, size, size, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        expected = net.double()(x.double()).float().numpy()
    net = net.float()
    weights = os.path.join(workdir, "w.safetensors")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, weights)
    np.save(os.path.join(workdir, "x.npy"), x.numpy())
    cmd = [BINARY, "run", "--model", model, "--variant", variant, "--in-channels", str(in_ch),
           "--classes", str(classes), "--input-size", str(size), "--weights", weights,
           "--input", os.path.join(workdir, "x.npy"), "--output", os.path.join(workdir, "y.npy")]
    if variant == "spconv":
        cmd += ["--ratio", repr(ratio), "--groups", str(groups)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        return dict(config=cfg, ok=False, error=run.stderr.strip())
    ours = np.load(os.path.join(workdir, "y.npy"))
    rel = float(np.abs(ours - expected).max() / max(np.abs(expected).max(), 1e-12))
    return dict(config=cfg, ok=rel < tolerance, relative_difference=rel)


def random_configs(count, rng):
    out = []
    while len(out) < count:
        model = rng.choice(["resnet20", "resnet56", "vgg16", "resnet18", "resnet50"])
        ratio = rng.choice([1 / 8, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4])
        groups = rng.choice([1, 2, 4])
        in_ch = rng.choice([1, 3])
        size = 32 if model in ("resnet20", "resnet56", "vgg16") else 64
        try:
            build(model, "spconv", ratio=ratio, groups=groups, in_channels=in_ch, classes=10)
        except Exception:
            continue  # not a valid configuration; the Swift side refuses these with an error
        out.append((model, "spconv", ratio, groups, in_ch, 10, size, 1))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random", type=int, default=0, help="extra random valid SPConv configurations")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    configs = STANDARD + random_configs(args.random, random.Random(args.seed))
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        for i, cfg in enumerate(configs):
            result = check(cfg, workdir, args.tolerance, args.seed * 1000 + i)
            failures += not result["ok"]
            print(json.dumps(result), flush=True)
    print(f"{len(configs) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes Tests/SPConvLabTests/Fixtures/torch/state_dicts.json: the exact state_dict keys and
shapes of every zoo model, vanilla and SPConv, as PyTorch builds them (tools/torch_zoo.py).

The Swift tests check that each SPConvLab model has the same keys, in the same order, with the
same shapes, so a user's PyTorch checkpoint loads without renaming.

Rerun: python3 tools/make_state_dict_fixture.py   (needs torch; about 20 s on one core)
"""
import json
import os
import sys

import torch

from torch_zoo import build  # this folder: Python puts a script's own folder first on sys.path

CONFIGS = [
    # (model, variant, ratio, groups, in_channels, classes)
    ("resnet20", "vanilla", None, None, 3, 10),
    ("resnet20", "spconv", 0.5, 2, 1, 10),
    ("resnet20", "spconv", 0.25, 4, 3, 7),
    ("resnet56", "spconv", 0.5, 2, 3, 10),
    ("resnet110", "vanilla", None, None, 3, 100),
    ("resnet110", "spconv", 0.75, 2, 3, 10),
    ("vgg16", "vanilla", None, None, 3, 10),
    ("vgg16", "spconv", 0.5, 2, 3, 100),
    ("resnet18", "vanilla", None, None, 3, 1000),
    ("resnet18", "spconv", 0.25, 2, 3, 1000),
    ("resnet50", "vanilla", None, None, 3, 1000),
    ("resnet50", "spconv", 0.125, 2, 1, 10),
]


def main():
    torch.set_num_threads(1)
    out = []
    for model, variant, ratio, groups, in_channels, classes in CONFIGS:
        kwargs = dict(in_channels=in_channels, classes=classes)
        if variant == "spconv":
            kwargs.update(ratio=ratio, groups=groups)
        net = build(model, variant, **kwargs)
        keys = [f"{k}:{'x'.join(str(d) for d in v.shape)}" for k, v in net.state_dict().items()]
        params = sum(p.numel() for p in net.parameters())
        out.append(dict(model=model, variant=variant, ratio=ratio, groups=groups, in_channels=in_channels,
                        classes=classes, params=params, keys=keys))
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "SPConvLabTests", "Fixtures", "torch", "state_dicts.json")
    with open(path, "w") as f:
        json.dump({"_convention": "keys are 'name:shape' with shape dims joined by 'x' ('' for a scalar), in state_dict order",
                   "models": out}, f, separators=(",", ":"))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Peer benchmark: PyTorch eager CPU and ONNX Runtime on the SPConvLab zoo.

Examples:
    python3 tools/bench_peers.py --model resnet20 --variant spconv --batch 32 --threads 2
    python3 tools/bench_peers.py --all            # standard table, 2 threads

One JSON line per (runtime, config) on stdout:
    {"runtime": "pytorch"|"onnxruntime", "model", "variant", "ratio", "groups", "batch",
     "input_size", "in_channels", "classes", "threads", "runs", "ms_per_batch" (median),
     "ms_min", "gflops" (work per batch in GFLOP = 2 * hook-counted MACs * batch / 1e9,
     conv + linear only), "gflops_per_s", "macs_per_image", ...}
ONNX Runtime lines also carry "max_abs_diff_vs_torch" (same input, fp32).

PyTorch: torch.set_num_threads(T), torch.inference_mode(), model.eval().
ONNX Runtime: torch.onnx.export (TorchScript exporter, opset 17) to a temp file,
CPUExecutionProvider, intra_op_num_threads=T, inter_op_num_threads=1, sequential
execution, ORT_ENABLE_ALL graph optimisations.
Timing: `warmup` untimed runs, then `runs` timed runs (time.perf_counter), median reported.
The environment's OPENBLAS_* variables are left untouched.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

import torch_zoo  # this folder: Python puts a script's own folder first on sys.path

STANDARD = [  # model, batch, input size, classes
    ("resnet20", 32, 32, 10),
    ("resnet56", 32, 32, 10),
    ("vgg16", 32, 32, 10),
    ("resnet50", 8, 224, 1000),
]


def cpu_info():
    model, avx512f = "unknown", False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    avx512f = "avx512f" in line.split()
    except OSError:
        pass
    return model, avx512f


def time_runs(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def bench(cfg, runtimes=("pytorch", "onnxruntime")):
    torch.manual_seed(0)
    torch.set_num_threads(cfg["threads"])
    kw = {} if cfg["variant"] == "vanilla" else dict(ratio=cfg["ratio"], groups=cfg["groups"])
    model = torch_zoo.build(cfg["model"], cfg["variant"], in_channels=cfg["in_channels"],
                            classes=cfg["classes"], **kw).eval()
    macs = torch_zoo.count_macs(model, cfg["input_size"], cfg["in_channels"])["total"]
    x = torch.randn(cfg["batch"], cfg["in_channels"], cfg["input_size"], cfg["input_size"])
    gflop = 2.0 * macs * cfg["batch"] / 1e9
    base = dict(model=cfg["model"], variant=cfg["variant"],
                ratio=cfg["ratio"] if cfg["variant"] == "spconv" else None,
                groups=cfg["groups"] if cfg["variant"] == "spconv" else None,
                batch=cfg["batch"], input_size=cfg["input_size"],
                in_channels=cfg["in_channels"], classes=cfg["classes"],
                threads=cfg["threads"], warmup=cfg["warmup"], runs=cfg["runs"],
                macs_per_image=macs, gflops=round(gflop, 4))
    out = []

    with torch.inference_mode():
        ref = model(x).numpy()
        if "pytorch" in runtimes:
            med, mn = time_runs(lambda: model(x), cfg["warmup"], cfg["runs"])
            out.append(dict(runtime="pytorch", **base, ms_per_batch=round(med, 3),
                            ms_min=round(mn, 3), gflops_per_s=round(gflop / med * 1e3, 2),
                            version=torch.__version__))

    if "onnxruntime" in runtimes:
        import onnxruntime as ort
        with tempfile.TemporaryDirectory() as td:
            path = os.path.join(td, "model.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (x,), path, opset_version=17, dynamo=False,
                                  input_names=["input"], output_names=["logits"])
            so = ort.SessionOptions()
            so.intra_op_num_threads = cfg["threads"]
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        xn = x.numpy()
        y = sess.run(None, {"input": xn})[0]
        diff = float(np.abs(y - ref).max())
        med, mn = time_runs(lambda: sess.run(None, {"input": xn}), cfg["warmup"], cfg["runs"])
        out.append(dict(runtime="onnxruntime", **base, ms_per_batch=round(med, 3),
                        ms_min=round(mn, 3), gflops_per_s=round(gflop / med * 1e3, 2),
                        max_abs_diff_vs_torch=diff, version=ort.__version__))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet20", choices=torch_zoo.MODELS)
    ap.add_argument("--variant", default="vanilla", choices=torch_zoo.VARIANTS)
    ap.add_argument("--ratio", type=float, default=0.5)
    ap.add_argument("--groups", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--input-size", type=int, default=None, help="default 32 CIFAR, 224 ImageNet")
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--classes", type=int, default=None, help="default 10 CIFAR, 1000 ImageNet")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runtime", choices=("both", "pytorch", "onnxruntime"), default="both")
    ap.add_argument("--all", action="store_true",
                    help="standard table: resnet20/56, vgg16 b32 @32; resnet50 b8 @224; "
                         "vanilla + spconv(ratio, groups); --threads (default 2)")
    args = ap.parse_args()

    runtimes = ("pytorch", "onnxruntime") if args.runtime == "both" else (args.runtime,)
    model_name, avx512f = cpu_info()
    print(json.dumps(dict(info="host", cpu=model_name, avx512f=avx512f, nproc=os.cpu_count(),
                          torch=torch.__version__,
                          OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE"),
                          OPENBLAS_L2_SIZE=os.environ.get("OPENBLAS_L2_SIZE"))), flush=True)

    if args.all:
        configs = [(m, b, s, c, v) for (m, b, s, c) in STANDARD for v in torch_zoo.VARIANTS]
    else:
        s = args.input_size or torch_zoo.default_input_size(args.model)
        c = args.classes or (10 if args.model in torch_zoo.CIFAR_MODELS else 1000)
        configs = [(args.model, args.batch, s, c, args.variant)]
    for (m, b, s, c, v) in configs:
        cfg = dict(model=m, variant=v, ratio=args.ratio, groups=args.groups, batch=b,
                   input_size=s, in_channels=args.in_channels, classes=c,
                   threads=args.threads, runs=args.runs, warmup=args.warmup)
        for line in bench(cfg, runtimes):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

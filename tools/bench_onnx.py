"""ONNX models on our engine (`probe-cli bench --onnx`) next to ONNX Runtime, in one run.

For each model, rounds alternate: ours, then ORT (same batch, same thread count, intra-op
threads = --threads, inter-op 1, all graph optimisations on), median ms per batch of each
round's timed passes; the table gives the median over rounds and ours/ORT.

    swift build -c release --product probe-cli
    python3 tools/bench_onnx.py [--batch 32] [--threads 2] [--rounds 5] [MODEL.onnx ...]

Without models it times the test fixtures resnet18 and mobilenet_v2 (narrow, 32x32).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "SPConvLabTests", "Fixtures", "onnx")


def ours(cli, path, args):
    out = subprocess.run([cli, "bench", "--onnx", path, "--batch", str(args.batch), "--threads", str(args.threads),
                          "--runs", str(args.runs), "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: probe-cli bench --onnx {path} failed:\n{out.stderr}")
    return json.loads(out.stdout)["ms_per_batch"]


def theirs(session, x, runs):
    for _ in range(3):
        session.run(None, {session.get_inputs()[0].name: x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {session.get_inputs()[0].name: x})
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--probe-cli", default=os.path.join(ROOT, ".build", "release", "probe-cli"))
    args = ap.parse_args()
    models = args.models or [os.path.join(FIXTURES, "resnet18.onnx"), os.path.join(FIXTURES, "mobilenet_v2.onnx")]
    print("| model | batch | ours ms | ORT ms | ours/ORT |")
    print("|---|---:|---:|---:|---:|")
    for path in models:
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        shape = [args.batch] + [d for d in session.get_inputs()[0].shape[1:]]
        x = np.random.default_rng(1).random(shape, dtype=np.float32)
        a, b = [], []
        for _ in range(args.rounds):
            a.append(ours(args.probe_cli, path, args))
            b.append(theirs(session, x, args.runs))
        o, t = statistics.median(a), statistics.median(b)
        print(f"| {os.path.basename(path)} | {args.batch} | {o:.2f} | {t:.2f} | {o / t:.2f} |")
    print(f"\n{args.threads} threads, median of {args.rounds} alternating rounds of {args.runs} timed passes; "
          f"ONNX Runtime {ort.__version__}; CPU: {platform.processor() or platform.machine()}")


if __name__ == "__main__":
    main()

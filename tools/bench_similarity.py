#!/usr/bin/env python3
"""Similarity step and streaming memory, ours (`probe-cli bench-similarity`) beside NumPy, in one run.

Rounds alternate NumPy then ours, so noise on this shared machine hits both; the table reports the
median over rounds of each side's median and writes it into docs/PERFORMANCE.md between
<!-- similarity-table:begin --> and <!-- similarity-table:end -->.

Usage:
    swift build -c release --product probe-cli
    python3 tools/bench_similarity.py [--rounds 3] [--no-write]
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BINARY = os.path.join(ROOT, ".build", "release", "probe-cli")


def json_lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def cpu_name():
    with open("/proc/cpuinfo") as f:
        text = f.read()
    name = re.search(r"model name\s*:\s*(.*)", text).group(1)
    return name, (" avx512f" in text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    ours, numpy_ = {}, {}
    for _ in range(args.rounds):
        for row in json_lines([sys.executable, os.path.join(ROOT, "tools", "bench_similarity_numpy.py"), "--runs", str(args.runs)]):
            numpy_.setdefault((tuple(row["shape"]), row["metric"]), []).append(row["ms"])
        for row in json_lines([BINARY, "bench-similarity", "--threads", "2", "--runs", str(args.runs)]):
            ours.setdefault((tuple(row["shape"]), row["metric"]), []).append(row["ms"])
    memory = {n: json_lines([BINARY, "bench-similarity", "--stream", str(n)])[0]["peak_rss_bytes"] for n in (100, 10000)}
    name, avx512 = cpu_name()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [f"Measured {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')} on **{name}** "
             f"(avx512f: {'yes' if avx512 else 'no'}, nproc {os.cpu_count()}), commit `{commit}`, 2 threads each, "
             f"{args.rounds} alternating rounds of {args.runs} timed runs; command `python3 tools/bench_similarity.py`.",
             "", "| maps (N, C, H, W) | metric | ours ms | NumPy ms | ours/NumPy |", "|---|---|---:|---:|---:|"]
    for key in sorted(ours, key=lambda k: (k[0][1] * k[0][2] * k[0][3], k[1])):
        o, n = statistics.median(ours[key]), statistics.median(numpy_[key])
        lines.append(f"| {key[0]} | {key[1]} | {o:.3f} | {n:.3f} | {o / n:.2f} |")
    lines += ["", f"Streaming 64-channel 16x16 maps in batches of 100 (pearson), peak RSS: 100 images "
              f"{memory[100] / 1e6:.1f} MB, 10,000 images {memory[10000] / 1e6:.1f} MB, ratio {memory[10000] / memory[100]:.2f}."]
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return
    path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
    text = open(path).read()
    begin, end = "<!-- similarity-table:begin -->", "<!-- similarity-table:end -->"
    if begin in text:
        text = text[:text.index(begin) + len(begin)] + "\n" + table + "\n" + text[text.index(end):]
    else:
        text += f"\n## Similarity step against NumPy (regenerated)\n\n{begin}\n{table}\n{end}\n"
    open(path, "w").write(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compare the speed of two builds of probe-cli on the zoo, paired round by round.

Issue 13 asks that no row of the speed table be slower than before the engine's rewrite by more
than 3%. On a shared, noisy host two tables taken minutes apart differ by more than that, so this
script runs both builds on the same row seconds apart, round after round, and reports for each row
the median of the rounds' own ratios (candidate over baseline) with their range, beside each
build's median time:

    # the build before the change, in a clone of its own
    git clone -q . /tmp/before && git -C /tmp/before checkout -q 0dbc44a
    (cd /tmp/before && swift build -c release --product probe-cli)
    swift build -c release --product probe-cli
    python3 tools/compare_builds.py --baseline /tmp/before/.build/release/probe-cli

Each round runs the baseline then the candidate on a row, the other order the next round, so a
slow spell that comes and goes is shared out evenly. Each build keeps its kernel choices in a
timing file of its own (SPCONVLAB_TIMING_CACHE in a fresh temporary folder), timed by the build's
first run of a row, outside the measured rounds. Rows whose ratio's median exceeds --limit are
marked. The table (markdown) goes to standard output, the raw rounds to --json-out.

Only the Python standard library is used; the helpers are perf_table.py's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import perf_table as pt
from spconvlab_tools import cpuinfo

MODELS = {  # model: (input size, classes, batch sizes)
    "resnet20": (32, 10, (1, 32)), "resnet56": (32, 10, (1, 32)), "resnet110": (32, 10, (1, 32)),
    "vgg16": (32, 10, (1, 32)), "resnet18": (224, 1000, (1, 8)), "resnet50": (224, 1000, (1, 8)),
}


def runs_for(model, batch):
    """Timed runs per call: about a second of work for each row."""
    size = MODELS[model][0]
    if size == 32:
        return 200 if batch == 1 else 30
    return 20 if batch == 1 else 6


def bench(binary, cache, model, variant, batch, threads, runs, timeout, extra_env=()):
    size, classes, _ = MODELS[model]
    cmd = [binary, "bench", "--model", model, "--variant", variant, "--input-size", str(size),
           "--classes", str(classes), "--batch", str(batch), "--threads", str(threads),
           "--runs", str(runs), "--json"]
    if variant == "spconv":
        cmd[6:6] = ["--ratio", "1/2", "--groups", "2"]
    env = dict(os.environ, SPCONVLAB_TIMING_CACHE=cache)
    env.update(extra_env)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{binary} exit {r.returncode} on {model} {variant} b{batch}: {r.stderr.strip()[-400:]}")
    return pt.parse_json_object(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="probe-cli of the earlier build")
    ap.add_argument("--candidate", default=pt.PROBE, help="probe-cli of the build under test (default: this tree's release build)")
    ap.add_argument("--baseline-env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment variable for the baseline's runs only (repeatable); with --baseline the same "
                         "binary as the candidate, this compares two settings of one build")
    ap.add_argument("--candidate-env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment variable for the candidate's runs only (repeatable)")
    ap.add_argument("--rows", default=",".join(MODELS), help="models, comma-separated (default: the whole zoo)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per row (default 5)")
    ap.add_argument("--threads", type=int, default=pt.nproc(), help="kernel threads (default: all cores)")
    ap.add_argument("--limit", type=float, default=1.03, help="mark rows whose median ratio exceeds this (default 1.03)")
    ap.add_argument("--idle-wait", type=float, default=30, help="seconds to wait for a quiet machine before each row")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per probe-cli call")
    ap.add_argument("--json-out", help="write every round's measurements here")
    args = ap.parse_args()
    for name, path in (("--baseline", args.baseline), ("--candidate", args.candidate)):
        if not os.access(path, os.X_OK):
            sys.exit(f"compare_builds: {name} {path!r} is not an executable file; give the path of a probe-cli release build.")
    models = [m.strip() for m in args.rows.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        sys.exit(f"compare_builds: --rows names {', '.join(unknown)}, which is not a zoo model; use some of {', '.join(MODELS)}.")
    if args.rounds < 1:
        sys.exit(f"compare_builds: --rounds {args.rounds} must be at least 1.")

    envs = {}
    for name in ("baseline", "candidate"):
        pairs = getattr(args, f"{name}_env")
        bad = [p for p in pairs if "=" not in p or not p.split("=", 1)[0]]
        if bad:
            sys.exit(f"compare_builds: --{name}-env {bad[0]!r} is not NAME=VALUE; give one variable per flag, as SPCONVLAB_CONV_ALGO=auto.")
        envs[name] = dict(p.split("=", 1) for p in pairs)
    caches = tempfile.mkdtemp(prefix="compare-builds-")
    builds = {"baseline": (args.baseline, os.path.join(caches, "baseline.tsv"), envs["baseline"]),
              "candidate": (args.candidate, os.path.join(caches, "candidate.tsv"), envs["candidate"])}
    results = []
    for model in models:
        for batch in MODELS[model][2]:
            for variant in ("vanilla", "spconv"):
                pt.wait_for_idle(args.idle_wait)
                runs = runs_for(model, batch)
                # The first call of each build times its kernel choices; not measured.
                for binary, cache, env in builds.values():
                    bench(binary, cache, model, variant, batch, args.threads, 2, args.timeout, env)
                rounds = []
                for k in range(args.rounds):
                    order = ("baseline", "candidate") if k % 2 == 0 else ("candidate", "baseline")
                    got = {}
                    for name in order:
                        binary, cache, env = builds[name]
                        got[name] = bench(binary, cache, model, variant, batch, args.threads, runs, args.timeout, env)
                    rounds.append({name: {"ms": got[name]["ms_per_batch"], "isa": got[name].get("isa")} for name in got})
                row = {"model": model, "batch": batch, "variant": variant, "runs": runs, "rounds": rounds}
                results.append(row)
                ratios = [r["candidate"]["ms"] / r["baseline"]["ms"] for r in rounds]
                pt.log(f"{model} b{batch} {variant}: candidate/baseline {statistics.median(ratios):.3f} "
                       f"({min(ratios):.3f}-{max(ratios):.3f})")

    model_name, avx512 = pt.cpu_info()
    cpu = f"{model_name} ({'AVX-512' if avx512 else 'no AVX-512'}), family {cpuinfo.field('cpu family')}"
    print(f"Paired comparison, {time.strftime('%Y-%m-%d %H:%M')}: {args.rounds} rounds per row, {args.threads} threads, "
          f"CPU {cpu}.")
    def described(name, path):
        env = " ".join(f"{k}={v}" for k, v in envs[name].items())
        return f"`{env + ' ' if env else ''}{path}`"
    print(f"- baseline: {described('baseline', args.baseline)}\n- candidate: {described('candidate', args.candidate)}\n")
    print("| model | batch | variant | baseline ms | candidate ms | candidate ÷ baseline, median (range) of rounds |")
    print("|---|---:|---|---:|---:|---|")
    over = 0
    for row in results:
        base = statistics.median(r["baseline"]["ms"] for r in row["rounds"])
        cand = statistics.median(r["candidate"]["ms"] for r in row["rounds"])
        ratios = [r["candidate"]["ms"] / r["baseline"]["ms"] for r in row["rounds"]]
        med = statistics.median(ratios)
        mark = " **over the limit**" if med > args.limit else ""
        over += med > args.limit
        variant = "vanilla" if row["variant"] == "vanilla" else "SPConv (1/2, g2)"
        print(f"| {row['model']} | {row['batch']} | {variant} | {base:.3f} | {cand:.3f} | "
              f"{med:.2f} ({min(ratios):.2f}-{max(ratios):.2f}){mark} |")
    print(f"\n{over} of {len(results)} rows over {args.limit:.2f}.")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"cpu": cpu, "threads": args.threads, "baseline": args.baseline, "candidate": args.candidate,
                       "baseline_env": envs["baseline"], "candidate_env": envs["candidate"],
                       "rows": results}, f, indent=1)


if __name__ == "__main__":
    main()

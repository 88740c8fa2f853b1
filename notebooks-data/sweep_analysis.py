# %% [markdown]
# # Sweep analysis: redundancy and cost against the SPConv split ratio
#
# This notebook reads an experiment database written by `probe-cli sweep` (or `probe-cli demo`)
# and redraws the main pictures of a sweep with pandas and matplotlib:
#
# 1. the runs table (configuration, status, costs), and again with where each run's weights came
#    from (trained with which seed and checkpoint, a file, or random);
# 2. the configurations with mean ± standard deviation over their seeds (accuracy, latency,
#    redundancy), and the per-epoch training history of the trained runs with learning curves;
# 3. the mean redundancy (`mean_abs_offdiag` averaged over the probed layers) against the split
#    ratio, one line per group count, with the vanilla baseline as a horizontal line;
# 4. the MACs against the split ratio, drawn the same way;
# 5. one similarity heatmap, decoded from the `similarity.matrix` BLOB.
#
# The same code is `notebooks-data/sweep_analysis.py` (run it as a script; `--help` lists the
# options); `notebooks-data/make_notebook.py` builds this notebook from it, so edit the script
# and regenerate. The schema is in `docs/SCHEMA.md`. The figures are saved as PNG files in the
# output folder (default `reports/tmp/notebook`).

# %%
import argparse
import os
import sqlite3
import sys
import textwrap
from pathlib import Path

import matplotlib

IN_NOTEBOOK = "ipykernel" in sys.modules
if not IN_NOTEBOOK:
    matplotlib.use("Agg")  # a script only writes files: no display needed

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# %% [markdown]
# ## Parameters
#
# As a script, the options come from the command line (`--db`, `--out`, `--sweep`, `--metric`,
# `--run`, `--layer`). In the notebook there is no command line: the defaults apply, and the
# environment variables `SWEEP_DB` and `SWEEP_OUT` override the database and the output folder,
# e.g. `SWEEP_DB=/tmp/big.sqlite jupyter nbconvert --execute ...`. Relative default paths are
# taken from the repository root (the folder holding `Package.swift`), so the notebook finds the
# demo database whatever folder Jupyter was started in; paths given explicitly are taken as they
# are.


# %%
def repository_root() -> Path:
    """The nearest folder at or above the working directory (or this file) with Package.swift."""
    starts = [Path.cwd()]
    if "__file__" in globals():
        starts.insert(0, Path(__file__).resolve().parent)
    for start in starts:
        for folder in [start, *start.parents]:
            if (folder / "Package.swift").exists():
                return folder
    return Path.cwd()


ROOT = repository_root()

parser = argparse.ArgumentParser(
    description="Plot redundancy and MACs against the SPConv split ratio from a probe-cli "
    "experiment database, and redraw one similarity heatmap from its BLOB.")
parser.add_argument("--db", type=Path,
                    default=Path(os.environ.get("SWEEP_DB", ROOT / "reports/demo/demo.sqlite")),
                    help="the experiment database (default: reports/demo/demo.sqlite)")
parser.add_argument("--out", type=Path,
                    default=Path(os.environ.get("SWEEP_OUT", ROOT / "reports/tmp/notebook")),
                    help="folder for the PNG files (default: reports/tmp/notebook)")
parser.add_argument("--sweep", help="sweep name (default: the most recent sweep in the file)")
parser.add_argument("--metric", help="similarity metric (default: cosine when present)")
parser.add_argument("--run", type=int,
                    help="run id of the heatmap (default: the run of the most redundant layer)")
parser.add_argument("--layer", help="layer of the heatmap (default: that run's most redundant)")
args = parser.parse_args([] if IN_NOTEBOOK else None)

if not args.db.exists():
    sys.exit(f"{args.db}: no such database (run `probe-cli demo` first, or pass --db)")
args.out.mkdir(parents=True, exist_ok=True)
print(f"database: {args.db}\noutput:   {args.out}")


def show(frame: pd.DataFrame) -> None:
    """A table as a notebook would show it; as plain text in a script."""
    if IN_NOTEBOOK:
        from IPython.display import display
        display(frame)
    else:
        print(frame.to_string(index=False, max_colwidth=48))


def save(fig, name: str) -> None:
    """Write the figure as PNG into --out; show it in a notebook, close it in a script."""
    path = args.out / name
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")
    if IN_NOTEBOOK:
        plt.show()
    else:
        plt.close(fig)


# %% [markdown]
# ## Open the database and show the runs
#
# The file is opened read-only (`mode=ro`), so the notebook never changes it, even while a sweep
# is still writing to it (the database is in WAL mode). A file may hold several sweeps (after
# `probe-cli merge`, or several sweeps into one `--db`); the plots use one of them, the most
# recent unless `--sweep` names another. The vanilla baseline has `ratio` and `groups` NULL
# (`NaN` in pandas). Runs a model cannot take (e.g. channels not divisible by the groups) are
# stored as `skipped` with the reason.

# %%
db = sqlite3.connect(f"file:{args.db.resolve()}?mode=ro", uri=True)
print("schema version:", db.execute("PRAGMA user_version").fetchone()[0])

sweeps = pd.read_sql("SELECT id, name, command_line, created_at FROM sweeps ORDER BY id", db)
show(sweeps)
if sweeps.empty:
    sys.exit(f"{args.db}: no sweep in this database")
if args.sweep is None:
    sweep = sweeps.iloc[-1]
else:
    matches = sweeps[sweeps["name"] == args.sweep]
    if matches.empty:
        sys.exit(f"no sweep named {args.sweep!r}; the file has: {', '.join(sweeps['name'])}")
    sweep = matches.iloc[0]
print(f"sweep: {sweep['name']} (id {sweep['id']})")

runs = pd.read_sql(
    """SELECT id, model, variant, ratio, groups, in_channels, input_size, dataset, images,
              status, reason, params, macs, flops, latency_ms, accuracy
       FROM runs WHERE sweep_id = ? ORDER BY variant <> 'vanilla', ratio, groups, id""",
    db, params=(int(sweep["id"]),))
# Integer columns with NULLs (baseline groups, costs of skipped runs) would turn into floats.
integers = ["groups", "params", "macs", "flops"]
runs[integers] = runs[integers].astype("Int64")
show(runs)
print(runs["status"].value_counts().to_string())

# %% [markdown]
# ## Where each run's weights came from
#
# Every number of a run depends on its weights, so the runs table with provenance says where they
# came from (docs/SCHEMA.md, migration v3): `weights_source` is `trained` (trained by the sweep
# or taken finished from the checkpoint store: `train_epochs`, the training seed `train_seed`,
# the store key and the SHA-256 of the checkpoint), `file` (loaded from `weights_path`, whose
# SHA-256 is `weights_sha256`) or `random` (untrained, seeded with `weights_seed`). Random
# weights show far more channel similarity than trained ones, so the two kinds are never
# averaged together below. A file written before migration v3 lacks these columns; they read as
# empty here, as in `probe-cli query`. `tools/export_mlflow.py` logs the same columns as MLflow
# parameters and tags.

# %%
run_columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def column(name: str, fallback: str = "NULL") -> str:
    """`name` when the file has that runs column, else `fallback` under the same name."""
    return f"r.{name}" if name in run_columns else f"{fallback} AS {name}"


provenance = pd.read_sql(
    f"""SELECT r.id AS run_id, r.variant, r.ratio, r.groups, r.status,
               {column('weights_source', "CASE WHEN r.weights_path IS NULL THEN 'random' ELSE 'file' END")},
               {column('train_epochs')}, {column('train_seed')}, {column('weights_seed')},
               {column('store_key')}, {column('checkpoint_sha256')}, r.weights_path, r.weights_sha256,
               r.accuracy, r.latency_ms, r.tool_version, r.git_commit, r.host, r.finished_at
        FROM runs r WHERE r.sweep_id = ? ORDER BY r.variant <> 'vanilla', r.ratio, r.groups, r.id""",
    db, params=(int(sweep["id"]),))
for name in ["groups", "train_epochs", "train_seed", "weights_seed"]:
    provenance[name] = provenance[name].astype("Int64")
# Hashes shortened for the table; the full values are in the database.
for name in ["checkpoint_sha256", "weights_sha256"]:
    provenance[name] = provenance[name].str.slice(0, 12)
show(provenance)

# %% [markdown]
# ## Configurations: mean ± standard deviation over seeds
#
# A trained sweep (`--seeds 0,1,...`) stores one run per configuration and seed. Grouping the
# done runs by configuration (variant, ratio, groups, weights source, epochs) gives the numbers
# to compare: test accuracy, latency and the run's mean redundancy (`mean_abs_offdiag` of the
# `run_redundancy` view, cosine when the sweep has it), each as mean ± sample standard deviation
# over the seeds (no deviation for one seed). `probe-cli query configurations` prints the same
# numbers.

# %%
per_seed = provenance[provenance["status"] == "done"].merge(
    pd.read_sql("SELECT run_id, metric, mean_abs_offdiag FROM run_redundancy", db), on="run_id", how="left")
seed_metrics = sorted(per_seed["metric"].dropna().unique())
if seed_metrics:
    chosen = args.metric or ("cosine" if "cosine" in seed_metrics else seed_metrics[0])
    per_seed = per_seed[per_seed["metric"].isna() | (per_seed["metric"] == chosen)]
keys = ["variant", "ratio", "groups", "weights_source", "train_epochs"]
configurations = (per_seed.groupby(keys, dropna=False, sort=False)  # table order: vanilla first
                  .agg(runs=("run_id", "count"),
                       seeds=("train_seed", lambda s: ",".join(str(v) for v in sorted(s.dropna()))),
                       accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
                       latency_ms_mean=("latency_ms", "mean"), latency_ms_std=("latency_ms", "std"),
                       mean_abs_offdiag_mean=("mean_abs_offdiag", "mean"),
                       mean_abs_offdiag_std=("mean_abs_offdiag", "std"))
                  .reset_index())


def plus_minus(mean: float, std: float, digits: int) -> str:
    """`mean ± std` as text; the mean alone for one seed, '' when there is no value."""
    if pd.isna(mean):
        return ""
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


summary = configurations[keys + ["runs", "seeds"]].copy()
summary["accuracy"] = [plus_minus(m, s, 4) for m, s in zip(configurations["accuracy_mean"], configurations["accuracy_std"])]
summary["latency_ms"] = [plus_minus(m, s, 2)
                         for m, s in zip(configurations["latency_ms_mean"], configurations["latency_ms_std"])]
summary["mean_abs_offdiag"] = [plus_minus(m, s, 4) for m, s in zip(configurations["mean_abs_offdiag_mean"],
                                                                    configurations["mean_abs_offdiag_std"])]
show(summary)

# %% [markdown]
# ## Per-epoch training history
#
# Each trained run keeps its history in the `epochs` table (one row per epoch: the learning rate
# of the epoch's last step, training loss and accuracy, test loss and accuracy, seconds and
# images per second). A loss stored as NULL was not a finite number: the run diverged. Below,
# the table for the sweep's trained runs, then the learning curves: test accuracy and training
# loss per epoch, one line per run (configuration and seed). The same history is in MLflow as
# metric steps after `tools/export_mlflow.py`.

# %%
if "epochs" not in tables:
    history = pd.DataFrame()
    print("this file predates the epochs table (schema version < 3): no per-epoch history")
else:
    history = pd.read_sql(
        """SELECT e.run_id, r.variant, r.ratio, r.groups, r.train_seed, e.epoch, e.learning_rate,
                  e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy, e.train_seconds,
                  e.images_per_second
           FROM epochs e JOIN runs r ON r.id = e.run_id
           WHERE r.sweep_id = ? ORDER BY e.run_id, e.epoch""",
        db, params=(int(sweep["id"]),))
    history[["groups", "train_seed"]] = history[["groups", "train_seed"]].astype("Int64")
    if history.empty:
        print(f"sweep {sweep['name']!r} has no trained run with a history (untrained or random weights)")
if not history.empty:
    show(history)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for run_id, curve in history.groupby("run_id"):
        first = curve.iloc[0]
        label = "vanilla" if first["variant"] == "vanilla" else f"SPConv {first['ratio']:g} g{int(first['groups'])}"
        if not pd.isna(first["train_seed"]):
            label += f", seed {int(first['train_seed'])}"
        left.plot(curve["epoch"], curve["test_accuracy"], marker=".", label=label)
        right.plot(curve["epoch"], curve["train_loss"], marker=".", label=label)
    left.set_ylabel("test accuracy")
    right.set_ylabel("training loss (running mean over the epoch)")
    for axis in (left, right):
        axis.set_xlabel("epoch")
        axis.grid(True, alpha=0.3)
    right.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.suptitle(textwrap.fill(f"learning curves, sweep {sweep['name']}", 100), fontsize=10)
    save(fig, "history.png")

# %% [markdown]
# ## Mean redundancy per run
#
# `layer_metrics` has one row per run, probed layer and metric; `mean_abs_offdiag` is the mean
# `|s_ij|` over the channel pairs of a layer (docs/REDUNDANCY.md). Averaging it over the layers
# of a run gives one number per run and metric (the same number as the `run_redundancy` view).
# Only `done` runs have layer metrics.

# %%
per_run = pd.read_sql(
    """SELECT r.id AS run_id, r.variant, r.ratio, r.groups, r.macs, lm.metric,
              COUNT(*) AS layers, AVG(lm.mean_abs_offdiag) AS mean_abs_offdiag
       FROM runs r JOIN layer_metrics lm ON lm.run_id = r.id
       WHERE r.sweep_id = ? AND r.status = 'done'
       GROUP BY r.id, lm.metric
       ORDER BY lm.metric, r.ratio, r.groups""",
    db, params=(int(sweep["id"]),))

metrics = sorted(per_run["metric"].unique())
if not metrics:
    sys.exit(f"sweep {sweep['name']!r} has no done run with layer metrics yet")
metric = args.metric or ("cosine" if "cosine" in metrics else metrics[0])
if metric not in metrics:
    sys.exit(f"no layer metrics for metric {metric!r}; the sweep has: {', '.join(metrics)}")
redundancy = per_run[per_run["metric"] == metric]
show(redundancy)

# %% [markdown]
# ## Plot: mean redundancy against the split ratio
#
# One line per group count of SPConv's group-wise convolution; the dashed horizontal line is the
# vanilla baseline (no split, so no ratio). Lower is better: fewer of the channels paid for
# repeat each other.


# %%
def plot_against_ratio(frame: pd.DataFrame, column: str, ylabel: str, title: str):
    """`column` against the ratio, one line per group count, the baseline as a horizontal line."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    spconv = frame[frame["variant"] != "vanilla"].dropna(subset=["ratio", "groups"])
    for groups, line in spconv.groupby("groups"):
        # One value per ratio (a sweep has one run per configuration; the mean is a guard).
        line = line.groupby("ratio", as_index=False)[column].mean()
        ax.plot(line["ratio"], line[column], marker="o", label=f"SPConv, groups = {int(groups)}")
    baseline = frame[frame["variant"] == "vanilla"][column]
    if not baseline.empty:
        value = baseline.mean()
        ax.axhline(value, color="black", linestyle="--", label=f"vanilla baseline ({value:.3g})")
    ax.set_xlabel("split ratio (representative share of the input channels)")
    ax.set_ylabel(ylabel)
    # Sweep names made from the grid are long: wrapped on a smaller second line.
    ax.set_title(title + "\n" + textwrap.fill(f"sweep {sweep['name']}", 90), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)  # beside, not over, the lines
    return fig, ax


model = ", ".join(sorted(runs["model"].unique()))
fig, ax = plot_against_ratio(
    redundancy, "mean_abs_offdiag", f"mean |offdiag| ({metric}), mean over layers",
    f"{model}: mean redundancy vs split ratio")
save(fig, "redundancy_vs_ratio.png")

# %% [markdown]
# ## Plot: MACs against the split ratio
#
# The cost side of the trade-off: multiply-accumulates of one forward pass, from the `runs`
# table. A larger ratio sends more channels through the expensive 3x3 path; more groups make
# that path cheaper.

# %%
done = runs[runs["status"] == "done"]
fig, ax = plot_against_ratio(done, "macs", "MACs per image",
                             f"{model}: MACs vs split ratio")
ax.ticklabel_format(axis="y", style="sci", scilimits=(6, 6))
save(fig, "macs_vs_ratio.png")

# %% [markdown]
# ## Redraw a heatmap from the stored similarity matrix
#
# `similarity.matrix` is the layer's `C x C` matrix as `4 * C * C` bytes of little-endian
# float32, row-major, with `C` in the `channels` column beside it, so
# `numpy.frombuffer(blob, dtype='<f4').reshape(C, C)` gives it back exactly. Without `--run` and
# `--layer`, the heatmap is the layer with the highest `mean_abs_offdiag` in the sweep. The
# colour scale is fixed, not stretched to the matrix: `[0, 1]` when no entry is negative (the
# usual case for cosine after a ReLU), otherwise the whole value range `[-1, 1]`, so heatmaps of
# different layers and runs compare.

# %%
candidates = pd.read_sql(
    """SELECT lm.run_id, lm.layer, lm.mean_abs_offdiag, r.variant, r.ratio, r.groups
       FROM layer_metrics lm JOIN runs r ON r.id = lm.run_id
       JOIN similarity s ON s.run_id = lm.run_id AND s.layer = lm.layer AND s.metric = lm.metric
       WHERE r.sweep_id = ? AND lm.metric = ?
       ORDER BY lm.mean_abs_offdiag DESC""",
    db, params=(int(sweep["id"]), metric))
if args.run is not None:
    candidates = candidates[candidates["run_id"] == args.run]
if args.layer is not None:
    candidates = candidates[candidates["layer"] == args.layer]
if candidates.empty:
    sys.exit(f"no stored matrix for run {args.run}, layer {args.layer}, metric {metric}")
pick = candidates.iloc[0]
run_id, layer = int(pick["run_id"]), pick["layer"]

channels, blob = db.execute(
    "SELECT channels, matrix FROM similarity WHERE run_id = ? AND layer = ? AND metric = ?",
    (run_id, layer, metric)).fetchone()
matrix = np.frombuffer(blob, dtype="<f4").reshape(channels, channels)
print(f"run {run_id}, layer {layer}: {channels} x {channels}, diagonal all 1: "
      f"{bool(np.allclose(np.diag(matrix), 1))}, symmetric: {bool(np.allclose(matrix, matrix.T))}")

if pick["variant"] == "vanilla":
    configuration = "vanilla"
else:
    configuration = f"SPConv ratio {pick['ratio']:g}, groups {int(pick['groups'])}"
fig, ax = plt.subplots(figsize=(6, 5))
low = 0.0 if matrix.min() >= 0 else -1.0
image = ax.imshow(matrix, cmap="viridis", vmin=low, vmax=1, interpolation="nearest")
fig.colorbar(image, ax=ax, label=f"{metric} similarity")
ax.set_title(f"{layer} · {metric} · run {run_id} ({configuration})\n"
             f"mean |offdiag| = {pick['mean_abs_offdiag']:.3f}", fontsize=10)
ax.set_xlabel("channel")
ax.set_ylabel("channel")
save(fig, f"heatmap_run{run_id}_{layer}_{metric}.png")

# %%
db.close()
print(f"figures in {args.out}")

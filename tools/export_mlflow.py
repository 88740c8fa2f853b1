"""Export a probe-cli experiment database to MLflow: one experiment per sweep, one run per configuration and seed.

    pip install mlflow numpy
    python3 tools/export_mlflow.py reports/demo/demo.sqlite --tracking-uri sqlite:///mlflow.db \
        --report-dir reports/demo/report
    mlflow ui --backend-store-uri sqlite:///mlflow.db

Each sweep of the database (docs/SCHEMA.md) becomes the MLflow experiment `<prefix><sweep name>`,
and each of its finished rows (status done, failed or skipped; one row per configuration and
seed) one MLflow run:

- parameters: model, variant, ratio, groups, in_channels, classes, input_size, dataset, images,
  batch, threads, train_epochs, seed (the training seed, `runs.train_seed`), weights_source,
  weights_seed, weights_path, weights_sha256, store_key, checkpoint_sha256; a NULL column is not
  logged (the vanilla baseline has no ratio or groups, an untrained run no seed);
- metrics: params, macs, flops, latency_ms, accuracy, train_seconds (table `runs`); each probed
  layer's redundancy summary as `redundancy.<layer>.<field>` (table `layer_metrics`; fields
  channels, images, mean_abs_offdiag, frac_above_threshold, threshold, duplicates, dead, clusters,
  effective_rank, suggested_ratio) and the mean over the layers as `run_redundancy.<field>` (view
  `run_redundancy`), for the cosine metric; another similarity metric M gets the prefixes
  `redundancy_M.` and `run_redundancy_M.`; the per-epoch history (table `epochs`) as metric steps
  1, 2, ...: learning_rate, train_loss, train_accuracy, test_loss, test_accuracy, epoch_seconds
  (the epoch's training seconds) and images_per_second (a loss stored as NULL, a diverged
  epoch, is left out);
- artifacts: every stored similarity matrix as `similarity/<layer>.<metric>.npy` (float32, exact)
  and `.csv` (no header, `%.9g`, which round-trips float32); with `--report-dir`, the report's
  heatmap files of that run (`heatmaps/run<ID>.*` of a `probe-cli report` or `demo` folder);
  `database_row.json`, the run's row as read;
- tags (`spconvlab.*`): where every number came from: the database's absolute path, schema
  version, sweep id, name and command line, the row id, the weights' provenance in words and in
  columns, the tool version, git commit and host that measured it, and the export's command line.

MLflow run status: FINISHED for done, FAILED for failed, KILLED for skipped (its reason in the
tag `spconvlab.reason`). Pending and running rows are left out and counted; export again when the
sweep has finished them.

Exporting again into the same tracking store adds no duplicate: each run carries the tag
`spconvlab.run_key`, a hash of its sweep's name and its configuration key (the columns of the
unique index `runs_configuration`, so row ids renumbered by `probe-cli merge` do not matter), and
`spconvlab.fingerprint`, a hash of everything exported from the database. A run whose key and
fingerprint are already there is left as it is (report heatmaps it lacks are added); one whose
data changed (a failed run measured again, say) is written anew and the old MLflow run deleted.
A run is tagged `spconvlab.export_state=complete` only after all of it is written; an export that
stops half-way deletes its partial run, and the next export replaces any run left incomplete.

Bad input (a missing file, a file that is not SQLite, a SQLite file without the experiment
tables, a schema version other than 1 to 4, a report folder not written from this database)
stops before anything is written, with one paragraph on standard error and exit status 1; a bad
flag exits with status 64. The database is opened read-only (`file:...?mode=ro`) and read in one
transaction, so a sweep may be writing to it meanwhile.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from spconvlab_tools.experiment_db import (
    DatabaseError, ExperimentDB, Sweep, configuration_key, format_value,
)

EXIT_FAILURE = 1
EXIT_USAGE = 64

PARAM_COLUMNS = [
    ("model", "model"), ("variant", "variant"), ("ratio", "ratio"), ("groups", "groups"),
    ("in_channels", "in_channels"), ("classes", "classes"), ("input_size", "input_size"),
    ("dataset", "dataset"), ("images", "images"), ("batch", "batch"), ("threads", "threads"),
    ("train_epochs", "train_epochs"), ("seed", "train_seed"), ("weights_source", "weights_source"),
    ("weights_seed", "weights_seed"), ("weights_path", "weights_path"), ("weights_sha256", "weights_sha256"),
    ("store_key", "store_key"), ("checkpoint_sha256", "checkpoint_sha256"),
]
RUN_METRIC_COLUMNS = ["params", "macs", "flops", "latency_ms", "accuracy", "train_seconds"]
HISTORY_METRICS = [
    ("learning_rate", "learning_rate"), ("train_loss", "train_loss"), ("train_accuracy", "train_accuracy"),
    ("test_loss", "test_loss"), ("test_accuracy", "test_accuracy"), ("epoch_seconds", "train_seconds"),
    ("images_per_second", "images_per_second"),
]
LAYER_FIELDS = ["channels", "images", "mean_abs_offdiag", "frac_above_threshold", "threshold", "duplicates",
                "dead", "clusters", "effective_rank", "suggested_ratio"]
RUN_REDUNDANCY_FIELDS = ["layers", "channels", "mean_abs_offdiag", "frac_above_threshold", "duplicates", "dead",
                         "effective_rank_fraction", "suggested_ratio"]
MLFLOW_STATUS = {"done": "FINISHED", "failed": "FAILED", "skipped": "KILLED"}
EXPORTED_STATUSES = tuple(MLFLOW_STATUS)
SOURCES = ("params, macs, flops, latency_ms, accuracy, train_seconds: table runs; redundancy.*: table layer_metrics; "
           "run_redundancy.*: view run_redundancy; learning_rate, train_loss, train_accuracy, test_loss, test_accuracy, "
           "epoch_seconds, images_per_second (steps = epochs): table epochs; similarity/*.npy|csv: table similarity "
           "(float32 BLOB); heatmaps/*: the report folder given to the export")
TAG = "spconvlab."


class ExportError(Exception):
    """A failure to report in one paragraph with exit status `status`."""

    def __init__(self, message: str, status: int = EXIT_FAILURE):
        super().__init__(message)
        self.status = status


def one_paragraph(text: str) -> str:
    return " ".join(str(text).split())


# MARK: - Command line

class Parser(argparse.ArgumentParser):
    """argparse with the toolkit's conventions: a bad flag is one paragraph and exit status 64."""

    def error(self, message: str):
        usage = one_paragraph(self.format_usage()).removeprefix("usage: ")
        raise ExportError(f"{message}. Usage: {usage} (see --help).", EXIT_USAGE)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = Parser(
        prog="export_mlflow.py",
        description="Export a probe-cli experiment database to MLflow: one experiment per sweep, one run per "
                    "configuration and seed, with parameters, metrics, per-epoch history, similarity matrices "
                    "and heatmaps as artifacts, and provenance tags. Re-exporting adds no duplicates.")
    parser.add_argument("database", metavar="DB", help="the experiment database (probe-cli sweep/demo/merge output)")
    parser.add_argument("--tracking-uri", metavar="URI",
                        help="MLflow tracking store, e.g. sqlite:///mlflow.db or http://host:5000 (default: "
                             "MLFLOW_TRACKING_URI, else MLflow's default, sqlite:///mlflow.db in the current folder)")
    parser.add_argument("--experiment-prefix", metavar="TEXT", default="",
                        help="text put before each sweep's name to make the experiment name (default: none)")
    parser.add_argument("--report-dir", metavar="DIR",
                        help="a report folder written from this database (probe-cli report --out DIR, or demo's "
                             "<out>/report): its heatmaps/run<ID>.* files are logged with each run")
    parser.add_argument("--artifact-root", metavar="DIR",
                        help="folder for the artifacts of experiments this export creates (default: for a "
                             "sqlite: store, mlartifacts/ beside its file; otherwise the store's default)")
    return parser.parse_args(argv)


# MARK: - What one run exports

@dataclass
class RunExport:
    """Everything one MLflow run receives, computed from the database before MLflow is touched."""
    sweep: Sweep
    row: dict
    key: str
    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    history: dict[str, list[tuple[int, float]]]
    matrices: list[tuple[str, str, np.ndarray]]
    tags: dict[str, str]
    fingerprint: str = ""
    heatmaps: list[str] = field(default_factory=list)  # absolute paths in the report folder


def metric_key(*parts: str) -> str:
    """An MLflow metric key from dotted parts, characters MLflow refuses replaced by '_'."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", ".".join(parts))


def run_name(row: dict) -> str:
    name = row["variant"] if row["ratio"] is None else f"{row['variant']} r{row['ratio']:g} g{row['groups']}"
    if row["model"]:
        name = f"{row['model']} {name}"
    if row["train_seed"] is not None:
        name += f" seed {row['train_seed']}"
    elif row["weights_source"] == "random":
        name += " (random weights)"
    return name


def provenance(row: dict) -> str:
    """Where the run's weights came from, in words."""
    source = row["weights_source"]
    if source == "trained":
        text = f"trained for {row['train_epochs']} epochs" if row["train_epochs"] else "trained"
        text += f" with seed {row['train_seed']}" if row["train_seed"] is not None else " (seed not recorded)"
        if row["store_key"]:
            text += f", checkpoint store key {row['store_key']}"
        if row["checkpoint_sha256"]:
            text += f", checkpoint SHA-256 {row['checkpoint_sha256']}"
        return text
    if source == "file":
        return f"loaded from {row['weights_path']}" + (f" (SHA-256 {row['weights_sha256']})" if row["weights_sha256"] else "")
    return f"untrained: seeded random initialisation, seed {row['weights_seed']}"


def describe_run(db: ExperimentDB, sweep: Sweep, row: dict, database_path: str, command: str) -> RunExport:
    params = {name: format_value(row[column]) for name, column in PARAM_COLUMNS if row[column] is not None}
    metrics: dict[str, float] = {}
    for column in RUN_METRIC_COLUMNS:
        if row[column] is not None:
            metrics[column] = float(row[column])
    for layer in db.layer_metrics(row["id"]):
        prefix = "redundancy" if layer["metric"] == "cosine" else f"redundancy_{layer['metric']}"
        for name in LAYER_FIELDS:
            metrics[metric_key(prefix, layer["layer"], name)] = float(layer[name])
    for summary in db.run_redundancy(row["id"]):
        prefix = "run_redundancy" if summary["metric"] == "cosine" else f"run_redundancy_{summary['metric']}"
        for name in RUN_REDUNDANCY_FIELDS:
            if summary[name] is not None:
                metrics[metric_key(prefix, name)] = float(summary[name])
    history: dict[str, list[tuple[int, float]]] = {}
    for epoch in db.epochs(row["id"]):
        for name, column in HISTORY_METRICS:
            if epoch[column] is not None:
                history.setdefault(name, []).append((int(epoch["epoch"]), float(epoch[column])))
    matrices = [(layer, metric, db.similarity(row["id"], layer, metric))
                for layer, metric, _ in db.similarity_keys(row["id"])]

    key_text = configuration_key(sweep.name, row)
    key = hashlib.sha256(key_text.encode()).hexdigest()[:32]
    tags = {
        TAG + "run_key": key,
        TAG + "configuration": key_text.replace("\n", "; "),
        TAG + "database": database_path,
        TAG + "database_run_id": str(row["id"]),
        TAG + "schema_version": str(db.schema_version),
        TAG + "sweep_id": str(sweep.id),
        TAG + "sweep_name": sweep.name,
        TAG + "sweep_command_line": sweep.command_line,
        TAG + "sweep_created_at": sweep.created_at,
        TAG + "status": row["status"],
        TAG + "weights": provenance(row),
        TAG + "weights_source": row["weights_source"],
        TAG + "sources": SOURCES,
        TAG + "export_command": command,
    }
    for column in ["reason", "tool_version", "git_commit", "host", "worker", "started_at", "finished_at"]:
        if row[column] is not None:
            tags[TAG + column] = str(row[column])
    tags["mlflow.note.content"] = (
        f"{run_name(row)}: weights {provenance(row)}. Run {row['id']} of sweep '{sweep.name}' "
        f"(id {sweep.id}, `{sweep.command_line}`) in {database_path}, status {row['status']}"
        + (f" ({row['reason']})" if row["reason"] else "") + ".")

    export = RunExport(sweep=sweep, row=row, key=key, name=run_name(row), params=params, metrics=metrics,
                       history=history, matrices=matrices, tags=tags)
    digest = hashlib.sha256()
    digest.update(json.dumps({"params": params, "metrics": metrics, "history": history,
                              "status": row["status"], "reason": row["reason"], "name": export.name,
                              "row": {k: row[k] for k in sorted(row) if k not in ("worker", "worker_pid")}},
                             sort_keys=True, default=str).encode())
    for layer, metric, matrix in matrices:
        digest.update(f"{layer}\0{metric}\0{matrix.shape[0]}\0".encode())
        digest.update(np.ascontiguousarray(matrix, dtype="<f4").tobytes())
    export.fingerprint = digest.hexdigest()
    export.tags[TAG + "fingerprint"] = export.fingerprint
    return export


# MARK: - The report folder

REPORT_HEATMAP = re.compile(r"^run(\d+)\.")


def report_heatmaps(report_dir: str, db: ExperimentDB, runs_by_id: dict[int, dict]) -> dict[int, list[str]]:
    """Run id -> the report's heatmap files of that run, after checking the report is this database's."""
    shown = repr(report_dir)
    accepted = ("a folder written by `probe-cli report --db DB --out DIR` (or demo's <out>/report) from this "
                "database, holding runs.csv and heatmaps/")
    if not os.path.isdir(report_dir):
        raise ExportError(f"--report-dir {shown}: no such folder. Give {accepted}.")
    runs_csv = os.path.join(report_dir, "runs.csv")
    if not os.path.isfile(runs_csv):
        raise ExportError(f"--report-dir {shown} is not a report folder: it has no runs.csv. Give {accepted}.")
    with open(runs_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        try:
            run_id = int(row.get("id") or "")
        except ValueError:
            raise ExportError(f"--report-dir {shown}: its runs.csv has no integer id column. Give {accepted}.") from None
        ours = runs_by_id.get(run_id)
        theirs = (row.get("model"), row.get("variant"), row.get("status"), row.get("finished_at") or "")
        mine = None if ours is None else (ours["model"], ours["variant"], ours["status"], ours["finished_at"] or "")
        if mine != theirs:
            found = "has no such run" if mine is None else f"has {mine[0]} {mine[1]}, {mine[2]}, finished {mine[3] or '-'}"
            raise ExportError(
                f"--report-dir {shown} was not written from {db.path!r}: its run {run_id} is {theirs[0]} {theirs[1]}, "
                f"{theirs[2]}, finished {theirs[3] or '-'}, and the database {found}. Give {accepted}, or write the "
                f"report again with probe-cli report.")
    found: dict[int, list[str]] = {}
    folder = os.path.join(report_dir, "heatmaps")
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            match = REPORT_HEATMAP.match(name)
            if match and os.path.isfile(os.path.join(folder, name)):
                found.setdefault(int(match.group(1)), []).append(os.path.join(folder, name))
    return found


# MARK: - MLflow

def make_client(tracking_uri: str | None):
    """The MLflow client for `tracking_uri`; an unusable URI is a usage error (exit 64)."""
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ExportError("the Python package mlflow is not installed for " + sys.executable
                          + "; install it with `pip install mlflow` (PyPI) and run the export again.") from None
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no store set-up chatter on stderr
    logging.getLogger("alembic").setLevel(logging.WARNING)
    uri = tracking_uri or mlflow.get_tracking_uri()
    try:
        client = MlflowClient(tracking_uri=uri)
        client._tracking_client.store  # builds the store now, so a bad URI fails before any export
    except Exception as error:  # noqa: BLE001 - MLflow raises many types for a bad URI
        raise ExportError(f"--tracking-uri {uri!r} cannot be used: {one_paragraph(error)} Accepted: {TRACKING_ACCEPTED}.",
                          EXIT_USAGE) from None
    return client, uri


def default_artifact_root(uri: str, given: str | None) -> str | None:
    if given:
        return os.path.abspath(given)
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):]
        path = path if path.startswith("/") else os.path.abspath(path)
        return os.path.join(os.path.dirname(path), "mlartifacts")
    return None


def experiment_for(client, name: str, sweep: Sweep, database_path: str, artifact_root: str | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage != "active":
            raise ExportError(
                f"the MLflow experiment {name!r} exists but is deleted; restore it (mlflow experiments restore "
                f"--experiment-id {experiment.experiment_id}), remove it for good (mlflow gc), or export under "
                f"another name with --experiment-prefix.")
        return experiment.experiment_id
    location = None
    if artifact_root:
        location = "file://" + os.path.join(artifact_root, hashlib.sha256(name.encode()).hexdigest()[:16])
    tags = {TAG + "database": database_path, TAG + "sweep_id": str(sweep.id),
            TAG + "sweep_command_line": sweep.command_line, TAG + "sweep_created_at": sweep.created_at}
    return client.create_experiment(name, artifact_location=location, tags=tags)


def existing_runs(client, experiment_id: str) -> dict[str, list]:
    """run key -> the active MLflow runs that carry it."""
    from mlflow.entities import ViewType

    found: dict[str, list] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                                  page_token=token)
        for run in page:
            key = run.data.tags.get(TAG + "run_key")
            if key:
                found.setdefault(key, []).append(run)
        token = page.token
        if not token:
            return found


def iso_milliseconds(text: str | None) -> int | None:
    if not text:
        return None
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_run(client, experiment_id: str, export: RunExport) -> str:
    """Creates the MLflow run with everything of `export`; deletes it again when anything fails."""
    from mlflow.entities import Metric, Param, RunTag

    start = iso_milliseconds(export.row["started_at"]) or iso_milliseconds(export.row["finished_at"])
    end = iso_milliseconds(export.row["finished_at"]) or start
    stamp = end or int(datetime.now(timezone.utc).timestamp() * 1000)
    tags = dict(export.tags)
    tags[TAG + "exported_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    tags[TAG + "export_state"] = "writing"
    run = client.create_run(experiment_id, start_time=start, tags={TAG + "run_key": export.key,
                                                                   TAG + "export_state": "writing"},
                            run_name=export.name)
    run_id = run.info.run_id
    try:
        params = [Param(k, v) for k, v in export.params.items()]
        metrics = [Metric(k, v, stamp, 0) for k, v in export.metrics.items()]
        metrics += [Metric(k, v, stamp, step) for k, points in export.history.items() for step, v in points]
        tag_list = [RunTag(k, v) for k, v in tags.items() if k != TAG + "export_state"]
        for batch in chunks(params, 100):
            client.log_batch(run_id, params=batch)
        for batch in chunks(tag_list, 100):
            client.log_batch(run_id, tags=batch)
        for batch in chunks(metrics, 1000):
            client.log_batch(run_id, metrics=batch)
        with tempfile.TemporaryDirectory(prefix="export_mlflow-") as folder:
            similarity = os.path.join(folder, "similarity")
            os.makedirs(similarity)
            for layer, metric, matrix in export.matrices:
                base = os.path.join(similarity, f"{safe_file_name(layer)}.{safe_file_name(metric)}")
                np.save(base + ".npy", np.ascontiguousarray(matrix, dtype="<f4"))
                with open(base + ".csv", "w", encoding="utf-8") as handle:
                    handle.write(matrix_csv(matrix))
            with open(os.path.join(folder, "database_row.json"), "w", encoding="utf-8") as handle:
                json.dump(export.row, handle, indent=1, default=str)
                handle.write("\n")
            if export.heatmaps:
                heatmaps = os.path.join(folder, "heatmaps")
                os.makedirs(heatmaps)
                for path in export.heatmaps:
                    with open(path, "rb") as source, open(os.path.join(heatmaps, os.path.basename(path)), "wb") as target:
                        target.write(source.read())
            client.log_artifacts(run_id, folder)
        client.set_tag(run_id, TAG + "export_state", "complete")
        client.set_terminated(run_id, status=MLFLOW_STATUS[export.row["status"]], end_time=end)
    except BaseException:
        try:
            client.delete_run(run_id)
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass
        raise
    return run_id


def add_missing_heatmaps(client, run, export: RunExport) -> int:
    """Logs the report heatmaps an unchanged run lacks; returns how many."""
    if not export.heatmaps:
        return 0
    present = {os.path.basename(item.path) for item in client.list_artifacts(run.info.run_id, "heatmaps")}
    missing = [path for path in export.heatmaps if os.path.basename(path) not in present]
    for path in missing:
        client.log_artifact(run.info.run_id, path, "heatmaps")
    return len(missing)


def safe_file_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", text)
    return name or "_"


def matrix_csv(matrix: np.ndarray) -> str:
    """The matrix as CSV without header, `%.9g` (float32 round-trips through 9 significant digits)."""
    out = io.StringIO()
    for row in np.asarray(matrix, dtype=np.float64):
        out.write(",".join(f"{value:.9g}" for value in row))
        out.write("\n")
    return out.getvalue()


# MARK: - Main

@dataclass
class Counts:
    new: int = 0
    replaced: int = 0
    unchanged: int = 0
    heatmaps_added: int = 0


# The schemes MLflow's tracking stores take; anything else is refused before the database is read.
TRACKING_SCHEMES = ("sqlite", "http", "https", "file", "postgresql", "mysql", "mssql", "databricks", "databricks-uc", "uc")
TRACKING_ACCEPTED = ("sqlite:///PATH.db (a local store; `mlflow ui --backend-store-uri` the same URI), "
                     "http(s)://HOST:PORT (an MLflow server), or file:///FOLDER with MLFLOW_ALLOW_FILE_STORE=true")


def check_tracking_uri(uri: str | None) -> None:
    if uri is None:
        return
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    if scheme not in TRACKING_SCHEMES:
        raise ExportError(f"--tracking-uri {uri!r} has no MLflow tracking store scheme (accepted schemes: "
                          f"{', '.join(TRACKING_SCHEMES)}); give {TRACKING_ACCEPTED}.", EXIT_USAGE)


def export(arguments: argparse.Namespace, argv: list[str]) -> int:
    check_tracking_uri(arguments.tracking_uri)
    try:
        db = ExperimentDB.open(arguments.database)
    except DatabaseError as error:
        raise ExportError(str(error)) from None
    database_path = os.path.abspath(arguments.database)
    command = " ".join(shlex.quote(part) for part in ["python3", "tools/export_mlflow.py", *argv])

    # Everything is read and checked before MLflow is touched, so bad input writes nothing.
    try:
        db.snapshot()
        sweeps = db.sweeps()
        plan: list[tuple[Sweep, list[RunExport], int]] = []
        runs_by_id: dict[int, dict] = {}
        for sweep in sweeps:
            rows = db.runs(sweep.id)
            for row in rows:
                runs_by_id[row["id"]] = row
            exports = [describe_run(db, sweep, row, database_path, command)
                       for row in rows if row["status"] in EXPORTED_STATUSES]
            plan.append((sweep, exports, len(rows) - len(exports)))
    except DatabaseError as error:
        raise ExportError(str(error)) from None
    except Exception as error:  # sqlite3 errors on a damaged file
        raise ExportError(f"{arguments.database!r} could not be read: {one_paragraph(error)}. Give an experiment "
                          f"database written by probe-cli sweep, demo or merge (docs/SCHEMA.md).") from None
    finally:
        db.close()
    if arguments.report_dir is not None:
        heatmaps = report_heatmaps(arguments.report_dir, db, runs_by_id)
        for _, exports, _ in plan:
            for item in exports:
                item.heatmaps = heatmaps.get(item.row["id"], [])
    keys = [(sweep.name, item.key) for sweep, exports, _ in plan for item in exports]
    if len(keys) != len(set(keys)):
        raise ExportError(f"{arguments.database!r} holds two rows with one configuration key; the file breaks the "
                          f"unique index runs_configuration and is damaged.")
    if not any(exports for _, exports, _ in plan):
        unfinished = sum(left for _, _, left in plan)
        print(f"{arguments.database}: nothing to export ({len(sweeps)} sweep(s), no done, failed or skipped run"
              + (f"; {unfinished} unfinished" if unfinished else "") + ").", file=sys.stderr)
        return 0

    client, uri = make_client(arguments.tracking_uri)
    artifact_root = default_artifact_root(uri, arguments.artifact_root)
    total = Counts()
    for sweep, exports, unfinished in plan:
        if not exports:
            continue
        name = arguments.experiment_prefix + sweep.name
        experiment_id = experiment_for(client, name, sweep, database_path, artifact_root)
        present = existing_runs(client, experiment_id)
        counts = Counts()
        for item in exports:
            runs = present.get(item.key, [])
            complete = [r for r in runs if r.data.tags.get(TAG + "export_state") == "complete"]
            same = [r for r in complete if r.data.tags.get(TAG + "fingerprint") == item.fingerprint]
            if same:
                keep = same[0]
                counts.unchanged += 1
                counts.heatmaps_added += add_missing_heatmaps(client, keep, item)
            else:
                write_run(client, experiment_id, item)
                keep = None
                if complete:
                    counts.replaced += 1
                else:
                    counts.new += 1
            for stale in runs:
                if keep is None or stale.info.run_id != keep.info.run_id:
                    client.delete_run(stale.info.run_id)
        print(f"experiment {name!r} (id {experiment_id}): {len(exports)} run(s): {counts.new} new, {counts.replaced} "
              f"replaced, {counts.unchanged} unchanged"
              + (f" ({counts.heatmaps_added} heatmap file(s) added)" if counts.heatmaps_added else "")
              + (f"; {unfinished} pending or running row(s) left out" if unfinished else ""))
        total.new += counts.new
        total.replaced += counts.replaced
        total.unchanged += counts.unchanged
    print(f"exported {arguments.database} into {uri}: {total.new} new, {total.replaced} replaced, {total.unchanged} "
          f"unchanged. View it with: mlflow ui --backend-store-uri {shlex.quote(uri)}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        arguments = parse_arguments(argv)
        return export(arguments, argv)
    except ExportError as error:
        print(f"error: {one_paragraph(error)}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("error: interrupted; any MLflow run in progress was deleted, export again to finish.", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as error:  # noqa: BLE001 - MLflow and the file system raise many types
        print(f"error: the export stopped: {type(error).__name__}: {one_paragraph(error)} (the run being written, if "
              f"any, was deleted; export again to finish).", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

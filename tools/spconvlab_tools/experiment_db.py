"""Read-only access to a probe-cli experiment database (docs/SCHEMA.md) from Python.

`ExperimentDB.open(path)` checks the file before anything reads it: that it exists, is SQLite,
has the experiment tables, and has a schema version (`PRAGMA user_version`) that this module
knows (1 to 4, the migrations of docs/SCHEMA.md). Every failure raises `DatabaseError` with one
paragraph naming the bad value and what would be accepted. The file is opened with
`file:...?mode=ro`, so nothing here can change it, and reads happen in one read transaction
(`snapshot()`), so a sweep still writing to the file cannot change the data half-way through.

Columns a later migration added read as None in an older file, as in probe-cli itself.
"""
from __future__ import annotations

import os
import sqlite3
import urllib.parse
from dataclasses import dataclass

import numpy as np

# The migrations of Sources/FeatureProbe/Storage/Migration.swift, in order: version N has the first N.
KNOWN_MIGRATIONS = ["v1_initial_schema", "v2_training", "v3_provenance_seeds_epochs", "v4_feature_maps"]

# Tables every version has, and the tables a version added.
BASE_TABLES = ["schema_migrations", "sweeps", "runs", "layer_metrics", "similarity"]
TABLES_ADDED = {3: ["epochs"], 4: ["feature_maps"]}

# Every column of `runs` in the order of docs/SCHEMA.md, the last ones added by v2 and v3.
RUN_COLUMNS = [
    "id", "sweep_id", "model", "variant", "ratio", "groups", "in_channels", "classes", "input_size",
    "weights_path", "weights_sha256", "dataset", "images", "status", "reason", "params", "macs",
    "flops", "latency_ms", "batch", "threads", "accuracy", "started_at", "finished_at",
    "tool_version", "git_commit", "host", "worker", "worker_pid",
    "train_epochs", "train_seconds",
    "train_seed", "weights_source", "weights_seed", "store_key", "checkpoint_sha256",
]

# The columns of the configuration key (the unique index runs_configuration), sweep aside.
CONFIGURATION_COLUMNS = [
    "model", "variant", "ratio", "groups", "in_channels", "classes", "input_size", "weights_identity",
    "dataset", "images", "batch", "train_epochs", "train_seed",
]

LAYER_METRIC_COLUMNS = [
    "channels", "images", "mean_abs_offdiag", "frac_above_threshold", "threshold", "duplicates",
    "dead", "clusters", "effective_rank", "suggested_ratio",
]

RUN_REDUNDANCY_COLUMNS = [
    "layers", "channels", "mean_abs_offdiag", "frac_above_threshold", "duplicates", "dead",
    "effective_rank_fraction", "suggested_ratio",
]

EPOCH_COLUMNS = [
    "learning_rate", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "train_seconds",
    "images_per_second",
]

SQLITE_HEADER = b"SQLite format 3\x00"

ACCEPTED = ("an experiment database written by probe-cli sweep, demo or merge (for example "
            "reports/demo/demo.sqlite), schema version 1 to 4 (docs/SCHEMA.md)")


class DatabaseError(Exception):
    """A file that is not a readable experiment database; the message is one paragraph."""


@dataclass(frozen=True)
class Sweep:
    id: int
    name: str
    command_line: str
    created_at: str


class ExperimentDB:
    """An experiment database opened read-only; build it with `ExperimentDB.open(path)`."""

    def __init__(self, path: str, connection: sqlite3.Connection, version: int, run_columns: set[str],
                 tables: set[str]):
        self.path = path
        self.connection = connection
        self.schema_version = version
        self._run_columns = run_columns
        self._tables = tables

    # MARK: - Opening

    @classmethod
    def open(cls, path: str) -> "ExperimentDB":
        """Opens `path` read-only after checking it; raises DatabaseError with the reason."""
        shown = repr(path)
        if not os.path.exists(path):
            raise DatabaseError(f"{shown}: no such file. Give {ACCEPTED}.")
        if os.path.isdir(path):
            raise DatabaseError(f"{shown} is a folder, not a database file. Give {ACCEPTED}.")
        try:
            with open(path, "rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as error:
            raise DatabaseError(f"{shown} cannot be read ({error.strerror}). Give {ACCEPTED}.") from None
        if header != SQLITE_HEADER:
            what = "an empty file" if not header else "not a SQLite file (its first bytes are not 'SQLite format 3')"
            raise DatabaseError(f"{shown} is {what}. Give {ACCEPTED}.")
        absolute = os.path.abspath(path)
        uri = "file:" + urllib.parse.quote(absolute) + "?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA query_only = ON")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as error:
            raise DatabaseError(f"{shown} cannot be opened read-only as SQLite ({error}). Give {ACCEPTED}.") from None

        if "schema_migrations" not in tables and tables:
            raise DatabaseError(
                f"{shown} is a SQLite database but not an experiment database: it has no schema_migrations table "
                f"(its tables: {', '.join(sorted(tables))}). Give {ACCEPTED}.")
        missing = [t for t in BASE_TABLES if t not in tables]
        if missing:
            raise DatabaseError(
                f"{shown} is a SQLite database without the experiment table(s) {', '.join(missing)}"
                f"{' (it has no tables at all)' if not tables else ''}. Give {ACCEPTED}.")
        if not 1 <= version <= len(KNOWN_MIGRATIONS):
            newer = ", written by a newer probe-cli" if version > len(KNOWN_MIGRATIONS) else ""
            raise DatabaseError(
                f"{shown} has schema version {version} (PRAGMA user_version{newer}); this reader knows versions "
                f"1 to {len(KNOWN_MIGRATIONS)} ({', '.join(KNOWN_MIGRATIONS)}). Give {ACCEPTED}, or update this "
                f"checkout to the probe-cli that wrote the file.")
        applied = [row[0] for row in connection.execute("SELECT name FROM schema_migrations")]
        unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
        if unknown:
            raise DatabaseError(
                f"{shown} records migration(s) {', '.join(unknown)} that this reader does not know (known: "
                f"{', '.join(KNOWN_MIGRATIONS)}); it was written by a newer probe-cli. Give {ACCEPTED}.")
        for added_in, names in TABLES_ADDED.items():
            absent = [t for t in names if version >= added_in and t not in tables]
            if absent:
                raise DatabaseError(
                    f"{shown} has schema version {version} but lacks the table(s) {', '.join(absent)} that version "
                    f"{added_in} adds; the file is damaged. Give {ACCEPTED}.")
        run_columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
        return cls(path, connection, version, run_columns, tables)

    def close(self) -> None:
        self.connection.close()

    def snapshot(self) -> None:
        """Starts the read transaction that every later read sees (WAL: a consistent snapshot)."""
        self.connection.execute("BEGIN")

    # MARK: - Reading

    def sweeps(self) -> list[Sweep]:
        rows = self.connection.execute("SELECT id, name, command_line, created_at FROM sweeps ORDER BY id")
        return [Sweep(*row) for row in rows]

    def runs(self, sweep_id: int) -> list[dict]:
        """The sweep's runs in id order, each a dict of RUN_COLUMNS (None for columns the file lacks)."""
        present = [c for c in RUN_COLUMNS if c in self._run_columns]
        rows = self.connection.execute(
            f"SELECT {', '.join(present)} FROM runs WHERE sweep_id = ? ORDER BY id", (sweep_id,))
        result = []
        for row in rows:
            run = dict.fromkeys(RUN_COLUMNS)
            run.update(zip(present, row))
            if "weights_source" not in self._run_columns:
                # As migration v3 fills in older rows (docs/SCHEMA.md).
                if run["train_epochs"] is not None:
                    run["weights_source"] = "trained"
                elif run["weights_path"] is not None:
                    run["weights_source"] = "file"
                else:
                    run["weights_source"], run["weights_seed"] = "random", 0
            result.append(run)
        return result

    def layer_metrics(self, run_id: int) -> list[dict]:
        """The run's layer metrics in stored order (the network's layer order)."""
        columns = ["layer", "metric", *LAYER_METRIC_COLUMNS]
        rows = self.connection.execute(
            f"SELECT {', '.join(columns)} FROM layer_metrics WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [dict(zip(columns, row)) for row in rows]

    def run_redundancy(self, run_id: int) -> list[dict]:
        """The run's `run_redundancy` rows: the mean over its layers, one per metric."""
        columns = ["metric", *RUN_REDUNDANCY_COLUMNS]
        rows = self.connection.execute(
            f"SELECT {', '.join(columns)} FROM run_redundancy WHERE run_id = ? ORDER BY metric", (run_id,))
        return [dict(zip(columns, row)) for row in rows]

    def epochs(self, run_id: int) -> list[dict]:
        """The run's per-epoch history in epoch order; empty before schema version 3."""
        if "epochs" not in self._tables:
            return []
        columns = ["epoch", *EPOCH_COLUMNS]
        rows = self.connection.execute(
            f"SELECT {', '.join(columns)} FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [dict(zip(columns, row)) for row in rows]

    def similarity_keys(self, run_id: int) -> list[tuple[str, str, int]]:
        """(layer, metric, channels) of the run's stored matrices, in stored order."""
        return list(self.connection.execute(
            "SELECT layer, metric, channels FROM similarity WHERE run_id = ? ORDER BY rowid", (run_id,)))

    def similarity(self, run_id: int, layer: str, metric: str) -> np.ndarray:
        """The C x C float32 matrix of the run's layer and metric, decoded from its BLOB."""
        row = self.connection.execute(
            "SELECT channels, matrix FROM similarity WHERE run_id = ? AND layer = ? AND metric = ?",
            (run_id, layer, metric)).fetchone()
        if row is None:
            raise DatabaseError(f"{self.path!r} has no similarity matrix for run {run_id}, layer {layer!r}, metric {metric!r}.")
        return decode_matrix(row[1], row[0], where=f"run {run_id}, layer {layer!r}, metric {metric!r}")


def decode_matrix(blob: bytes, channels: int, where: str = "the matrix") -> np.ndarray:
    """`channels x channels` float32 from the BLOB layout of docs/SCHEMA.md (little-endian, row-major)."""
    if channels < 1 or len(blob) != 4 * channels * channels:
        raise DatabaseError(
            f"the similarity BLOB of {where} has {len(blob)} bytes for {channels} channels; expected "
            f"4 * channels * channels bytes. The stored row is damaged: measure the run again.")
    return np.frombuffer(blob, dtype="<f4").reshape(channels, channels)


def configuration_key(sweep_name: str, run: dict) -> str:
    """The run's configuration key as text: its sweep's name and the columns of `runs_configuration`.

    NULLs are folded as the unique index folds them (ratio and groups -1, weights '', epochs 0,
    seed -1), so the text names one (configuration, seed) of one sweep whatever its row id, also
    after `probe-cli merge` renumbered the rows.
    """
    values = {
        "sweep": sweep_name,
        "model": run["model"], "variant": run["variant"],
        "ratio": -1 if run["ratio"] is None else run["ratio"],
        "groups": -1 if run["groups"] is None else run["groups"],
        "in_channels": run["in_channels"], "classes": run["classes"], "input_size": run["input_size"],
        "weights_identity": run["weights_sha256"] or run["weights_path"] or "",
        "dataset": run["dataset"], "images": run["images"], "batch": run["batch"],
        "train_epochs": run["train_epochs"] or 0,
        "train_seed": -1 if run["train_seed"] is None else run["train_seed"],
    }
    return "\n".join(f"{name}={format_value(value)}" for name, value in values.items())


def format_value(value) -> str:
    """A column value as text: floats with their shortest round-trip digits, NULL as ''."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)

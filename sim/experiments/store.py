"""The results folder of a sweep: its layout, and a writer that a reader can never catch half-way.

Layout (``analysis/results.py`` reads it)::

    <folder>/
      manifest.json                the sweep file's SHA-256, the sweep as resolved, package
                                   version, git commit, engine, creation time, invocations
      runs/<run_id>.json           one record per finished run (ok or failed), written LAST:
                                   a record's presence means the run's tables are complete
      timeseries/<run_id>.parquet  the run's monthly outputs + scenario, replicate, design_point
      areas/<run_id>.parquet       the run's final management areas + run_id, scenario,
                                   replicate, design_point
      estates/, events/, firms/    the run's estates, events and firms tables, keyed the same
      runs.parquet                 all records in one table, written when a sweep invocation
                                   ends (removed while one is adding runs)

Every file is written to a hidden temporary name in its folder and renamed into place
(``sim.outputs.atomic_write``), so a reader sees a whole file or none. A sweep killed half-way
leaves at most some hidden temporaries and tables without a record; the next invocation removes
the first and redoes the runs of the second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim import __version__
from sim.errors import InputError
from sim.outputs import OUTPUT_TABLES, atomic_write

MANIFEST = "manifest.json"
RUNS_TABLE = "runs.parquet"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
AREAS_DIR = "areas"
TABLE_DIRS: dict[str, str] = {name: name for name in OUTPUT_TABLES}
"""Each run table's folder (timeseries/, areas/, estates/, events/, firms/): one file per run."""
KEY_COLUMNS: tuple[str, ...] = ("run_id", "scenario", "replicate", "design_point")
"""Columns that identify a run; the tables of every run carry them."""
RECORD_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, "seed", "status", "error", "wall_time_s")
"""Columns of runs.parquet; each design factor adds a column named after its parameter."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def git_commit(cwd: Path | None = None) -> str | None:
    """The checked-out commit of the package's repository, or None when there is none."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, cwd=cwd or Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


class ResultsStore:
    """A sweep's results folder: create or reopen it, record runs as they finish, consolidate."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def open(self, *, sweep_sha256: str, resolved: dict[str, Any], engine: str,
             executor: str) -> dict[str, dict[str, Any]]:
        """Create the folder (or reopen one made by the same sweep); returns the stored records.

        A folder made by a different sweep file, or by the same file whose scenarios have
        changed since, is refused with an InputError naming the folder and both hashes.
        """
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise InputError(str(folder), None, "exists and is not a folder")
        manifest_path = folder / MANIFEST
        resolved_sha256 = hashlib.sha256(
            json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()
        invocation = {"started": _now(), "package_version": __version__,
                      "git_commit": git_commit(), "executor": executor}
        if manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("sweep_sha256") != sweep_sha256:
                raise InputError(str(folder), None,
                                 f"holds the results of a different sweep file (sha256 "
                                 f"{str(manifest.get('sweep_sha256'))[:12]}… in {MANIFEST}, "
                                 f"this file {sweep_sha256[:12]}…); use another --out folder")
            if manifest.get("resolved_sha256") != resolved_sha256:
                raise InputError(str(folder), None,
                                 "holds the results of this sweep file, but its scenarios have "
                                 f"changed since (resolved sweep sha256 "
                                 f"{str(manifest.get('resolved_sha256'))[:12]}… → "
                                 f"{resolved_sha256[:12]}…); use another --out folder")
            manifest.setdefault("invocations", []).append(invocation)
        else:
            if folder.is_dir() and any(folder.iterdir()):
                raise InputError(str(folder), None,
                                 f"is not empty and holds no {MANIFEST}: not a sweep's results "
                                 "folder; use another --out folder")
            manifest = {
                "sweep_sha256": sweep_sha256,
                "resolved_sha256": resolved_sha256,
                "sweep": resolved,
                "engine": engine,
                "package_version": __version__,
                "git_commit": invocation["git_commit"],
                "created": invocation["started"],
                "invocations": [invocation],
            }
        # the manifest first and runs/ last: a reader that finds runs/ always finds the manifest
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(manifest_path, manifest)
        for name in (*TABLE_DIRS.values(), RUNS_DIR):
            (folder / name).mkdir(exist_ok=True)
        self._remove_temporaries()
        return self.records()

    def _remove_temporaries(self) -> None:
        # Left by a sweep killed while writing: hidden files, never read by anyone.
        for name in (".", RUNS_DIR, *TABLE_DIRS.values()):
            for path in (self.folder / name).glob(".*"):
                if path.is_file():
                    path.unlink(missing_ok=True)

    def records(self) -> dict[str, dict[str, Any]]:
        """The stored run records, by run_id."""
        out = {}
        for path in sorted((self.folder / RUNS_DIR).glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            out[record["run_id"]] = record
        return out

    def begin_changes(self) -> None:
        """Remove the consolidated runs.parquet: records are about to change."""
        (self.folder / RUNS_TABLE).unlink(missing_ok=True)

    def add(self, record: dict[str, Any], tables: Mapping[str, pd.DataFrame] | None = None) -> None:
        """Store one finished run: its tables (by name, see TABLE_DIRS) first, its record last."""
        run_id = record["run_id"]
        for name, frame in (tables or {}).items():
            path = self.folder / TABLE_DIRS[name] / f"{run_id}.parquet"
            atomic_write(path, lambda p, f=frame: f.to_parquet(p, index=False, engine="pyarrow"))
        _write_json(self.folder / RUNS_DIR / f"{run_id}.json", record)

    def consolidate(self, order: Iterable[str], factor_names: Iterable[str]) -> pd.DataFrame:
        """Write runs.parquet from the stored records, in the sweep's run order; returns it."""
        frame = records_frame(self.records().values(), factor_names, order)
        atomic_write(self.folder / RUNS_TABLE,
                     lambda p: frame.to_parquet(p, index=False, engine="pyarrow"))
        return frame


def records_frame(records: Iterable[dict[str, Any]], factor_names: Iterable[str],
                  order: Iterable[str] | None = None) -> pd.DataFrame:
    """Run records as the runs table: keys, seed, one column per factor, status, error, wall time.

    Rows follow `order` (run ids) when given, else the records' order.
    """
    factor_names = list(factor_names)
    rows = []
    for record in records:
        row = {name: record[name] for name in RECORD_COLUMNS}
        row.update({name: record["factors"].get(name) for name in factor_names})
        rows.append(row)
    columns = [*KEY_COLUMNS, "seed", *factor_names, "status", "error", "wall_time_s"]
    frame = pd.DataFrame(rows, columns=columns)
    if order is not None:
        rank = {run_id: i for i, run_id in enumerate(order)}
        frame = frame.iloc[frame["run_id"].map(rank).fillna(len(rank)).argsort(kind="stable")]
    frame = frame.astype({"run_id": "str", "scenario": "str", "replicate": "int64",
                          "design_point": "int64", "seed": "int64", "status": "str",
                          "error": "str", "wall_time_s": "float64"})
    return frame.reset_index(drop=True)

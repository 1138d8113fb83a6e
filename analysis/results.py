"""Reading a sweep's results folder into tidy pandas frames, loading no more than asked for.

A results folder is what ``estate-sim sweep`` writes (sim/experiments/store.py)::

    <folder>/
      manifest.json                the sweep file's SHA-256, the sweep as resolved (scenarios,
                                   replicates, seed, engine, years, factors), package version,
                                   git commit, creation time
      runs.parquet                 one row per run (written when a sweep invocation ends)
      runs/<run_id>.json           one record per finished run (the source of runs.parquet;
                                   a sweep still running has only these)
      timeseries/<run_id>.parquet  one row per month of a run that finished ok
      areas/<run_id>.parquet       one row per management area at the end of a run that finished ok

The runs table has ``run_id, scenario, replicate, design_point, seed``, one column per design
factor (named after its parameter), ``status`` ("ok" or "failed"), ``error`` and
``wall_time_s``. Replicate r has the same seed under every scenario of a design point, so
differences between scenarios are paired by (design_point, replicate).

Time series and areas carry ``run_id, scenario, replicate, design_point`` followed by the
output contract's columns (MODEL.md, sim/outputs.py). Only runs with status "ok" have tables.
Join factor values with ``load_runs`` on ``run_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from sim.errors import InputError
from sim.experiments.store import (
    AREAS_DIR,
    KEY_COLUMNS,
    MANIFEST,
    RUNS_DIR,
    RUNS_TABLE,
    TEMP_PREFIX,
    TIMESERIES_DIR,
    read_json,
    read_record,
    records_frame,
)


def _check_folder(folder: str | Path) -> Path:
    folder = Path(folder)
    if not (folder / MANIFEST).is_file() or not (folder / RUNS_DIR).is_dir():
        raise InputError(str(folder), None,
                         f"not a sweep results folder (no {MANIFEST} and {RUNS_DIR}/ in it)")
    return folder


def load_manifest(folder: str | Path) -> dict:
    """The folder's manifest.json: sweep hash, the sweep as resolved, version, commit, engine."""
    folder = _check_folder(folder)
    return read_json(folder / MANIFEST, "manifest")


def factor_names(folder: str | Path) -> list[str]:
    """The names of the sweep's design factors (parameters), in the sweep file's order."""
    factors = load_manifest(folder)["sweep"].get("factors") or {}
    return list(factors.get("ranges", {}))


def load_runs(folder: str | Path) -> pd.DataFrame:
    """One row per stored run: keys, seed, factor values, status, error, wall time.

    Reads runs.parquet when the sweep has consolidated it, else the per-run records (a sweep
    that is running or was interrupted).
    """
    folder = _check_folder(folder)
    try:
        return pd.read_parquet(folder / RUNS_TABLE)
    except FileNotFoundError:  # not consolidated yet, or a resumed sweep has just removed it
        pass
    records = [read_record(p) for p in sorted((folder / RUNS_DIR).glob("*.json"))
               if not p.name.startswith(TEMP_PREFIX)]
    frame = records_frame(records, factor_names(folder))
    # The sweep's own order: design point, then scenario as listed, then replicate.
    listed = [s["name"] for s in load_manifest(folder)["sweep"]["scenarios"]]
    rank = frame["scenario"].map({name: i for i, name in enumerate(listed)})
    return (frame.assign(_rank=rank).sort_values(["design_point", "_rank", "replicate"])
            .drop(columns="_rank").reset_index(drop=True))


def _ok_runs(folder: Path, scenarios: Iterable[str] | None) -> pd.DataFrame:
    runs = load_runs(folder)
    runs = runs[runs["status"] == "ok"]
    if scenarios is not None:
        wanted = [scenarios] if isinstance(scenarios, str) else list(scenarios)
        unknown = sorted(set(wanted) - set(load_runs(folder)["scenario"]))
        if unknown:
            raise InputError(str(folder), None, f"no runs of scenario(s) {', '.join(unknown)}")
        runs = runs[runs["scenario"].isin(wanted)]
    return runs


def _read_tables(folder: Path, subdir: str, runs: pd.DataFrame,
                 columns: Sequence[str] | None, extra: Sequence[str] = ()) -> pd.DataFrame:
    paths = [str(folder / subdir / f"{run_id}.parquet") for run_id in runs["run_id"]]
    if not paths:
        return pd.DataFrame(columns=list(KEY_COLUMNS) + list(extra) + list(columns or []))
    dataset = ds.dataset(paths, format="parquet")
    if columns is not None:
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise InputError(str(folder / subdir), None,
                             f"no column(s) {', '.join(missing)} "
                             f"(has {', '.join(dataset.schema.names)})")
        wanted = list(dict.fromkeys([*KEY_COLUMNS, *extra, *columns]))
    else:
        wanted = None
    frame = dataset.to_table(columns=wanted).to_pandas()
    return frame.reset_index(drop=True)


def load_timeseries(folder: str | Path, columns: Sequence[str] | None = None,
                    scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """Monthly outputs of the runs that finished ok: keys, month, year and ``columns`` (all if None).

    Only the files of the chosen scenarios are opened, and only the chosen columns read.
    """
    folder = _check_folder(folder)
    runs = _ok_runs(folder, scenarios)
    return _read_tables(folder, TIMESERIES_DIR, runs, columns, extra=("month", "year"))


def load_final(folder: str | Path, columns: Sequence[str] | None = None,
               scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """The last month of each run that finished ok: one row per run (keys, month, year, columns)."""
    frame = load_timeseries(folder, columns, scenarios)
    if frame.empty:
        return frame
    last = frame.groupby("run_id", sort=False)["month"].transform("max")
    return frame[frame["month"] == last].reset_index(drop=True)


def load_areas(folder: str | Path, scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """Final management areas of the runs that finished ok: keys plus the areas' columns."""
    folder = _check_folder(folder)
    runs = _ok_runs(folder, scenarios)
    return _read_tables(folder, AREAS_DIR, runs, None)

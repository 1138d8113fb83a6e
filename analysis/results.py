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
      estates/<run_id>.parquet     one row per estate at the end of a run (how and when reformed)
      events/<run_id>.parquet      one row per event of a run (votes, entrustments, tenders, exits)
      firms/<run_id>.parquet       one row per property firm of a run

The runs table has ``run_id, scenario, replicate, design_point, seed``, one column per design
factor (named after its parameter), ``status`` ("ok" or "failed"), ``error`` and
``wall_time_s``. Replicate r has the same seed under every scenario of a design point, so
differences between scenarios are paired by (design_point, replicate).

Every table (time series, areas, estates, events, firms) carries ``run_id, scenario, replicate,
design_point`` followed by the output contract's columns (docs/ODD.md, section 8;
sim/outputs.py). Only runs with status "ok" have tables. Join factor values with ``load_runs`` on ``run_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.errors import InputError
from sim.experiments.design import design_factor_names
from sim.experiments.store import (
    KEY_COLUMNS,
    MANIFEST,
    RUNS_DIR,
    RUNS_TABLE,
    TABLE_DIRS,
    TEMP_PREFIX,
    TIMESERIES_DIR,
    read_json,
    read_record,
    records_frame,
)
from sim.outputs import OPTIONAL_TABLES, final_values


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


def scenario_labels(manifest: dict) -> dict[str, str]:
    """Scenario name -> label, as the sweep's scenario files set them (none in older folders)."""
    return {s["name"]: s["label"] for s in manifest.get("sweep", {}).get("scenarios", [])
            if s.get("label")}


def district_names(manifest: dict) -> list[str]:
    """The names of the districts the sweep's scenarios ran on, each once (none in older folders)."""
    return list(dict.fromkeys(s["district"] for s in manifest.get("sweep", {}).get("scenarios", [])
                              if s.get("district")))


def factor_names(folder: str | Path) -> list[str]:
    """The names of the sweep's design factors (parameters), in the sweep file's order."""
    return design_factor_names(load_manifest(folder)["sweep"].get("factors"))


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
    missing = [path for path in paths if not Path(path).is_file()]
    if missing:
        raise InputError(str(folder), subdir, f"{len(missing)} of {len(paths)} runs have no {subdir} "
                         f"table (e.g. {Path(missing[0]).name}): a folder made by an older "
                         "estate-sim; run the sweep into a new folder")
    dataset = ds.dataset(paths, format="parquet")
    if any(pa.types.is_null(f.type) for f in dataset.schema):
        # A column all empty in the first run (an events table without votes) is typed null
        # there, which the other runs' values cannot be cast to: unify every file's schema.
        schema = pa.unify_schemas([pq.read_schema(p) for p in paths], promote_options="permissive")
        dataset = ds.dataset(paths, format="parquet", schema=schema)
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
    """Each ok run's final values: one row per run (keys, month, year, columns).

    A final value is the mean over the run's last FINAL_MONTHS (12) months, the one definition
    every command uses (sim/outputs.py); ``month`` and ``year`` are the run's last.
    """
    frame = load_timeseries(folder, columns, scenarios)
    if frame.empty:
        return frame
    outcomes = [c for c in frame.columns if c not in (*KEY_COLUMNS, "month", "year")]
    final = final_values(frame, outcomes, KEY_COLUMNS)
    last = frame.groupby("run_id", sort=False)[["month", "year"]].max()
    final.insert(len(KEY_COLUMNS), "month", final["run_id"].map(last["month"]))
    final.insert(len(KEY_COLUMNS) + 1, "year", final["run_id"].map(last["year"]))
    return final


def load_results(folder: str | Path) -> pd.DataFrame:
    """One row per run: its keys, seed, factor values, status, error, wall time and final values.

    Final values (every outcome of the timeseries, sim/outputs.py) are the mean over the run's
    last 12 months; a run that failed keeps its row with empty outcomes.
    """
    runs = load_runs(folder)
    final = load_final(folder).drop(columns=["scenario", "replicate", "design_point", "month", "year"],
                                    errors="ignore")
    return runs.merge(final, on="run_id", how="left", validate="one_to_one")


def load_table(folder: str | Path, name: str, columns: Sequence[str] | None = None,
               scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """Any per-run table (timeseries, areas, estates, events, firms) of the runs that finished ok.

    Keys plus ``columns`` (all if None); only the chosen scenarios' files are read. The optional
    tables (``transfers``, ``estate_series``, ``area_series``: sim/outputs.py) come from the runs
    that wrote them.
    """
    folder = _check_folder(folder)
    if name not in TABLE_DIRS:
        raise InputError(str(folder), None, f"no table {name!r} (tables: {', '.join(TABLE_DIRS)})")
    runs = _ok_runs(folder, scenarios)
    if name in OPTIONAL_TABLES:  # written only by the runs that have it (sim/outputs.py)
        written = folder / TABLE_DIRS[name]
        runs = runs[[(written / f"{run_id}.parquet").is_file() for run_id in runs["run_id"]]]
    return _read_tables(folder, TABLE_DIRS[name], runs, columns)


def load_areas(folder: str | Path, scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """Final management areas of the runs that finished ok: keys plus the areas' columns."""
    return load_table(folder, "areas", scenarios=scenarios)


def load_estates(folder: str | Path, scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """Every estate at the end of each ok run: keys, its area, how and when it was reformed, outcomes.

    ``how`` is merged, entrusted, self_governed or none, ``joined_month`` the month (0: none).
    """
    return load_table(folder, "estates", scenarios=scenarios)


def load_events(folder: str | Path, scenarios: Iterable[str] | None = None,
                kinds: Iterable[str] | None = None) -> pd.DataFrame:
    """Every event of each ok run (merger votes, entrustments, tenders, exits, …), or ``kinds``.

    Columns: keys, month, kind, area_id, estates, firm_id, support, passed, text.
    """
    events = load_table(folder, "events", scenarios=scenarios)
    if kinds is not None:
        events = events[events["kind"].isin([kinds] if isinstance(kinds, str) else list(kinds))]
    return events.reset_index(drop=True)


def load_firms(folder: str | Path, scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """Every property firm of each ok run: keys, strength, entry and exit (and why), contracts, margin."""
    return load_table(folder, "firms", scenarios=scenarios)


SERIES_GROUPS: dict[str, tuple[str, str]] = {
    "estate": ("estate_series", "estate_id"), "area": ("area_series", "area_id"),
    "housing_type": ("estate_series", "housing_type"), "size_class": ("estate_series", "size_class"),
    "mode": ("area_series", "mode")}
"""What `load_series` groups by: the table it reads and the column that names a group."""


def load_series(folder: str | Path, by: str, metrics: Sequence[str] | str | None = None,
                scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """Monthly series of any measure by group: keys, month, the group column (`by`) and `metrics`.

    `by` is one of SERIES_GROUPS: one estate or area each (their own series), or a housing type,
    size class or service mode (household-weighted means over its estates or areas, per run and
    month). The runs must have kept the series: ``record: [estates]`` (or ``[areas]``) in the
    sweep or its scenarios.
    """
    from sim.outputs import by_group_means

    if by not in SERIES_GROUPS:
        raise InputError(str(folder), "by",
                         f"unknown grouping {by!r} (choose from {', '.join(SERIES_GROUPS)})")
    table, column = SERIES_GROUPS[by]
    series = load_table(folder, table, scenarios=scenarios)
    if series.empty:
        raise InputError(str(folder), table, f"no run kept the {table} table: add `record: "
                         f"[{table.split('_')[0]}s]` to the sweep (or its scenarios) and run it again")
    not_measures = (*KEY_COLUMNS, "month", "households", "firm_id", "estates")
    numeric = [c for c in series.columns
               if c not in not_measures and pd.api.types.is_numeric_dtype(series[c])]
    wanted = [metrics] if isinstance(metrics, str) else list(metrics or numeric)
    unknown = [m for m in wanted if m not in numeric]
    if unknown:
        raise InputError(str(folder), table, f"no measure {unknown[0]!r} (has {', '.join(numeric)})")
    if by in ("estate", "area"):
        return series[[*KEY_COLUMNS, "month", column, *wanted]]
    means = by_group_means(series, column, wanted, keys=(*KEY_COLUMNS, "month"))
    return means[[*KEY_COLUMNS, "month", column, *wanted]]

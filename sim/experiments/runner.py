"""One run of a sweep, as an executor carries it out: a task in, an outcome out, never an exception.

This is the function that executors send to worker processes and Dask workers, so it is small
and importable on its own; the worker needs estate-sim installed, and a CSV district's file at
the same path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.run import run_scenario
from sim.scenario import Scenario
from sim.variants import expand_factors

MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class RunTask:
    """One (scenario, design point, replicate) of a sweep, with its seed and factor values."""

    run_id: str
    scenario: Scenario
    replicate: int
    design_point: int
    seed: int
    engine: str
    years: int | None = None
    factors: dict[str, Any] = field(default_factory=dict)
    identity: str | None = None
    """SHA-256 of everything the run's results depend on (scenario, input files, seed, …)."""
    inputs: dict[str, str] = field(default_factory=dict)
    """SHA-256 of each input file (the district CSV) as the sweep read it, by key."""
    identity_parts: dict[str, Any] | None = None
    """The named parts of the identity (sim/experiments/identity.py), kept in the record."""
    keep: str | None = None
    """What of the run to store: None, every output table; else ``"module:function"``, a function
    of the run's result and scenario returning the tables to store by name (store.TABLE_DIRS),
    e.g. a calibration's one row of summary statistics."""

    def record(self, status: str, error: str | None, wall_time_s: float) -> dict[str, Any]:
        """The run's record for the results folder."""
        return {"run_id": self.run_id, "scenario": self.scenario.name,
                "replicate": self.replicate, "design_point": self.design_point,
                "seed": self.seed, "factors": dict(self.factors), "status": status,
                "error": error, "wall_time_s": round(wall_time_s, 4),
                "identity": self.identity, "identity_parts": self.identity_parts}


@dataclass
class RunOutcome:
    """What a run left: its record, and its tables by name (OUTPUT_TABLES) when it finished ok."""

    record: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the run finished without an error."""
        return self.record["status"] == "ok"


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and message, shortened."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


def _keyed(frame: pd.DataFrame, task: RunTask) -> pd.DataFrame:
    """The table with the run's keys as its first columns (one frame built at once, not four inserts)."""
    keys = {"run_id": task.run_id, "scenario": task.scenario.name,
            "replicate": np.int64(task.replicate), "design_point": np.int64(task.design_point)}
    columns = {name: frame[name].array for name in frame.columns if name not in keys}
    return pd.DataFrame({**keys, **columns}, index=pd.RangeIndex(len(frame)))


class InputChanged(Exception):
    """An input file of the run is not the one the sweep read (edited while the sweep runs)."""


def _check_inputs(task: RunTask) -> None:
    # The run's identity covers its input files' contents: a file edited since the sweep read
    # it would give results that belong to another run.
    csv = task.scenario.district.get("csv")
    expected = task.inputs.get("district.csv")
    if csv is None or expected is None:
        return
    digest = hashlib.sha256(Path(csv).read_bytes()).hexdigest()
    if digest != expected:
        raise InputChanged(f"{csv} changed since the sweep read it (sha256 {expected[:12]}… → "
                           f"{digest[:12]}…)")


def kept_tables(result, scenario: Scenario, keep: str | None) -> dict[str, pd.DataFrame]:
    """The tables of a run's result that its task keeps (RunTask.keep)."""
    if keep is None:
        return result.tables()
    module, _, function = keep.partition(":")
    return getattr(importlib.import_module(module), function)(result, scenario)


def execute_run(task: RunTask) -> RunOutcome:
    """Run one task; an error in the model becomes a failed outcome with a one-line message."""
    started = time.perf_counter()
    try:
        _check_inputs(task)
        # A fresh district cache: the factors may change the district's defaults (fees, funds).
        scenario = dataclasses.replace(task.scenario, _district_cache=[]).with_overrides(
            years=task.years, seed=task.seed, params=expand_factors(task.factors))
        result = run_scenario(scenario, task.engine)
        kept = kept_tables(result, scenario, task.keep)
        tables = {name: _keyed(frame, task) for name, frame in kept.items()}
        _check_inputs(task)
    except Exception as exc:  # a failed run is data: recorded, and the sweep goes on
        return RunOutcome(task.record("failed", one_line(exc), time.perf_counter() - started))
    return RunOutcome(task.record("ok", None, time.perf_counter() - started), tables)

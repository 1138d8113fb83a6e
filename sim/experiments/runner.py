"""One run of a sweep, as an executor carries it out: a task in, an outcome out, never an exception.

This is the function that executors send to worker processes and Dask workers, so it is small
and importable on its own; the worker needs estate-sim installed, and a CSV district's file at
the same path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.run import run_scenario
from sim.scenario import Scenario
from sim.snapshot import BurnIn, burn_in_key, make_burn_in
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


def task_scenario(task: RunTask) -> Scenario:
    """The scenario the task runs: its seed, years and factor values (variants expanded) applied."""
    # A fresh district cache: the factors may change the district's defaults (fees, funds).
    return dataclasses.replace(task.scenario, _district_cache=[]).with_overrides(
        years=task.years, seed=task.seed, params=expand_factors(task.factors))


def execute_run(task: RunTask, start: BurnIn | None = None, spent_s: float = 0.0) -> RunOutcome:
    """Run one task; an error in the model becomes a failed outcome with a one-line message.

    `start`: a burn-in made for this task's burn-in key (sim/snapshot.py), continued from instead
    of doing the run's own (the same tables); `spent_s` is time already spent on the run (that
    burn-in), added to its wall time.
    """
    started = time.perf_counter() - spent_s
    try:
        _check_inputs(task)
        scenario = task_scenario(task)
        result = run_scenario(scenario, task.engine, start=start)
        kept = kept_tables(result, scenario, task.keep)
        tables = {name: _keyed(frame, task) for name, frame in kept.items()}
        _check_inputs(task)
    except Exception as exc:  # a failed run is data: recorded, and the sweep goes on
        return RunOutcome(task.record("failed", one_line(exc), time.perf_counter() - started))
    return RunOutcome(task.record("ok", None, time.perf_counter() - started), tables)


@dataclass(frozen=True)
class RunGroup:
    """Runs whose burn-ins are the same computation (one burn-in key): a worker's unit of work."""

    tasks: tuple[RunTask, ...]
    key: str | None = None
    """Their burn-in key (sim.snapshot.burn_in_key); None for a run on its own."""


def group_by_burn_in(tasks: list[RunTask]) -> list[RunGroup]:
    """The tasks in groups of one burn-in key, in the order each group's first task comes.

    A task whose key cannot be made (its scenario is refused) is a group of its own, and fails
    when it runs, as it would alone.
    """
    groups: dict[str, list[RunTask]] = {}
    order: list[str | RunGroup] = []
    resolved: dict[tuple[int, str], Scenario] = {}  # a scenario with a design point's factors
    for task in tasks:
        try:
            point = (id(task.scenario), json.dumps(task.factors, sort_keys=True, default=str))
            if point not in resolved:
                resolved[point] = task_scenario(task)
            scenario = dataclasses.replace(resolved[point], seed=task.seed)
            key = burn_in_key(scenario, task.engine, task.inputs)
        except Exception:  # noqa: BLE001 - reported by the run itself
            order.append(RunGroup((task,)))
            continue
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(task)
    return [RunGroup(tuple(groups[x]), x if len(groups[x]) > 1 else None) if isinstance(x, str) else x
            for x in order]


def execute_group(group: RunGroup) -> list[RunOutcome]:
    """Run a group's tasks, in order, each from a copy of one burn-in made for them all.

    Should the burn-in fail, each run does its own and meets (and records) the error itself.
    """
    if group.key is None:
        return [execute_run(task) for task in group.tasks]
    started = time.perf_counter()
    first = group.tasks[0]
    try:
        _check_inputs(first)
        start = make_burn_in(task_scenario(first), first.engine, group.key)
    except Exception:  # noqa: BLE001 - each run meets it again and records it
        start = None
    spent = time.perf_counter() - started
    return [execute_run(task, start, spent if i == 0 else 0.0) for i, task in enumerate(group.tasks)]

"""The Python API: load a scenario, run it, run a sweep, read results — as the command line does.

``import sim`` gives these four (docs/API.md has a worked example)::

    scenario = sim.load_scenario("scenarios/integrated.yaml")
    result = sim.run(scenario, engine="vector", seed=1, years=3,
                     params={"merge_support": 0.5}, policies={"entrust": False})
    result.timeseries, result.areas, result.estates, result.events, result.firms
    table = sim.sweep("scenarios/sweeps/policy_comparison.yaml", workers=2, out="out/pc")
    table = sim.load_results("out/pc")   # one row per run: keys, factors, final outcomes

Bad input raises ``sim.errors.InputError`` naming the file (or the argument) and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError, shown
from sim.run import DEFAULT_ENGINE, ENGINES, RunResult, run_scenario
from sim.scenario import Scenario, whole_number
from sim.scenario import load_scenario as _load_scenario
from sim.snapshot import BurnIn, make_burn_in

MAX_WORKERS = 1024
"""Most local worker processes a sweep may ask for."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file (and its district); a Scenario ready to run or change."""
    return _load_scenario(path)


def run(scenario: Scenario | str | Path, engine: str = DEFAULT_ENGINE, *, seed: int | None = None,
        years: int | None = None, params: dict[str, Any] | None = None,
        policies: dict[str, Any] | None = None,
        progress: Callable[[int, int], None] | None = None,
        record: Sequence[str] | str | None = None,
        start: BurnIn | str | Path | None = None) -> RunResult:
    """Run a scenario (or a scenario file) once; returns its tables as DataFrames.

    ``seed`` and ``years`` replace the scenario's; ``params`` sets model parameters by their
    names in docs/ODD.md; ``policies`` switches policy blocks on or off (``{"merge": True}``) or
    sets their keys as a scenario file does (``{"merge": {"enabled": True, "max_group": 4}}``).
    ``record`` asks for further monthly series, as a scenario's ``record:`` does: ``"estates"``
    (``.estate_series``), ``"areas"`` (``.area_series``), ``"groups"`` (the timeseries' columns
    by housing type and size class). ``start`` is a burn-in to start from instead of doing the
    run's own: ``sim.burn_in(...)``'s result or the file ``estate-sim burn-in`` writes; its seed,
    district and parameters must be the run's (the policies may differ). The tables are the same
    as without it.
    """
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InputError("sim.run", "engine", f"unknown engine {shown(engine)} (choose from "
                         f"{', '.join(ENGINES)})")
    _check_progress("sim.run", progress)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario = scenario.with_overrides(seed=seed, years=years, params=params, policies=policies)
    if record:
        scenario = scenario.recording(record)
    if isinstance(start, str | Path):
        start = BurnIn.load(start)
    elif start is not None and not isinstance(start, BurnIn):
        raise InputError("sim.run", "start", f"must be a burn-in or its file, got {shown(start)}")
    return run_scenario(scenario, engine, progress=progress, start=start)


def burn_in(scenario: Scenario | str | Path, engine: str = DEFAULT_ENGINE, *, seed: int | None = None,
            params: dict[str, Any] | None = None, out: str | Path | None = None) -> BurnIn:
    """The scenario's model at the end of its burn-in, to start runs from (``sim.run(start=...)``).

    Any run with the same seed, district, engine and parameters can start from it, whatever its
    policies. With ``out``, it is also written there (``estate-sim run --start FILE`` reads it).
    """
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InputError("sim.burn_in", "engine", f"unknown engine {shown(engine)} (choose from "
                         f"{', '.join(ENGINES)})")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    state = make_burn_in(scenario.with_overrides(seed=seed, params=params), engine)
    if out is not None:
        state.save(out)
    return state


def sweep(path: str | Path, *, workers: int = 1, out: str | Path | None = None,
          progress: Callable[[int, int, int], None] | None = None) -> pd.DataFrame:
    """Run (or resume) a sweep file into `out` (default out/sweeps/NAME); returns load_results(out).

    Runs that fail are rows with status "failed" and their error; the sweep goes on.
    """
    from sim.experiments.executors import make_executor
    from sim.experiments.sweep import load_sweep, run_sweep

    workers = whole_number(workers, "sim.sweep", "workers", 1, MAX_WORKERS)
    _check_progress("sim.sweep", progress)
    loaded = load_sweep(path)
    folder = Path(out) if out is not None else Path("out") / "sweeps" / loaded.name
    run_sweep(loaded, folder, make_executor(workers, None, None), progress=progress)
    return load_results(folder)


def _check_progress(source: str, progress: Any) -> None:
    # checked up front: a bad callback would otherwise fail after the first month or run
    if progress is not None and not callable(progress):
        raise InputError(source, "progress", f"must be a function or None, got {shown(progress)}")


def load_series(folder: str | Path, by: str, metrics: Sequence[str] | str | None = None,
                scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """Monthly series of any measure by estate, area, housing type, size class or mode of a sweep.

    The runs must have kept them (``record: [estates]`` or ``[areas]``); analysis.results.load_series.
    """
    from analysis.results import load_series as _load_series

    return _load_series(folder, by, metrics, scenarios)


def load_results(folder: str | Path) -> pd.DataFrame:
    """A sweep's results folder as one tidy table: one row per run, its factors, final outcomes."""
    from analysis.results import load_results as _load_results

    return _load_results(folder)

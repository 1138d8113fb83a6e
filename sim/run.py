"""Running a scenario on an engine: the one entry point the CLI, sweeps and the app share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim import __version__
from sim.errors import InputError
from sim.outputs import timeseries_frame
from sim.scenario import Scenario

ENGINES = ("mesa", "vector")


@dataclass
class RunResult:
    """A finished run: its time series, its final areas, and what made it (run.json)."""

    timeseries: pd.DataFrame
    areas: pd.DataFrame
    meta: dict[str, Any]
    events: list[tuple[int, str]]


def make_model(scenario: Scenario, engine: str = "mesa"):
    """A model of the scenario on the chosen engine, ready to step month by month."""
    if engine == "mesa":
        from sim.mesa_engine import EstateGovernanceModel

        return EstateGovernanceModel(scenario)
    if engine == "vector":
        raise InputError("--engine", "vector", "the vectorized engine is not yet available")
    raise InputError("--engine", engine, f"unknown engine (choose from {', '.join(ENGINES)})")


def run_scenario(scenario: Scenario, engine: str = "mesa",
                 progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run a scenario for its years, month by month; `progress(done, total)` after each month."""
    started = time.perf_counter()
    model = make_model(scenario, engine)
    months = 12 * scenario.years
    for month in range(months):
        model.step()
        if progress is not None:
            progress(month + 1, months)
    run_id = f"{scenario.name}-seed{scenario.seed}"
    meta = {
        "run_id": run_id,
        "scenario": scenario.to_dict(),
        "scenario_hash": scenario.hash(),
        "scenario_file": str(scenario.path) if scenario.path else None,
        "seed": scenario.seed,
        "engine": engine,
        "package_version": __version__,
        "months": months,
        "households": model.n_households,
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return RunResult(timeseries_frame(run_id, model.records), model.areas_table(), meta, model.events)

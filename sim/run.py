"""Running a scenario on an engine: the one entry point the CLI, sweeps and the app share.

This module is also the Python API's ``sim.run(...)`` (sim/api.py): importing ``sim.run`` makes
the package's ``run`` attribute this module, so the module itself is callable (``_CallableModule``).
"""

from __future__ import annotations

import os
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim import __version__
from sim.errors import InputError
from sim.outputs import OPTIONAL_TABLES, OUTPUT_TABLES, SeriesRecorder, timeseries_frame
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.snapshot import BurnIn

ENGINES = ("mesa", "vector")
DEFAULT_ENGINE = "vector"
"""The engine of `run`, `sweep`, `sensitivity`, `calibrate` and `sim.run` unless told otherwise:
the arrays, tens of times faster; `mesa` (one agent per household) gives the same tables."""


@dataclass
class RunResult:
    """A finished run: its tables (docs/ODD.md, section 8) and what made it (``meta``, run.json).

    ``timeseries``: one row per month; ``areas``: the management areas at the end; ``estates``:
    one row per estate at the end; ``events``: what happened, one row per event; ``firms``: every
    property firm that took part.
    """

    timeseries: pd.DataFrame
    areas: pd.DataFrame
    meta: dict[str, Any]
    estates: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    firms: pd.DataFrame = field(default_factory=pd.DataFrame)
    transfers: pd.DataFrame | None = None
    """What the policies' transfers paid (sim.transfers), when a policy paid any."""
    estate_series: pd.DataFrame | None = None
    """One row per month and estate, when the scenario's `record:` asks for `estates`."""
    area_series: pd.DataFrame | None = None
    """One row per month and management area, when the scenario's `record:` asks for `areas`."""

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by its name in OUTPUT_TABLES, in that order, then the OPTIONAL_TABLES it has."""
        return {name: getattr(self, name) for name in OUTPUT_TABLES} | {
            name: getattr(self, name) for name in OPTIONAL_TABLES if getattr(self, name) is not None}


MEMORY_BYTES: dict[str, tuple[float, float, float]] = {
    "mesa": (3_000.0, 20_000.0, 300e6),
    "vector": (160.0, 4_000.0, 300e6),
}
"""Peak memory of each engine: (bytes per household, per estate, fixed), with margin over what was
measured (docs/PERFORMANCE.md: Mesa ~2.3 kB per household agent; vector ~80 B per household)."""


def available_memory_bytes() -> int | None:
    """Memory the system can give a new run now (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(scenario: Scenario, engine: str) -> None:
    """Refuse, before it starts, a run whose district would not fit in the memory available."""
    if engine not in MEMORY_BYTES:
        return
    district = scenario.load_district()
    per_household, per_estate, fixed = MEMORY_BYTES[engine]
    needed = fixed + per_household * district.households + per_estate * len(district)
    available = available_memory_bytes()
    if available is not None and needed > available:
        hint = " (try --engine vector)" if engine == "mesa" else ""
        raise InputError(scenario.source, "district",
                         f"{district.name} ({district.households:,} households) needs about "
                         f"{needed / 1e9:.1f} GB on the {engine} engine but only "
                         f"{available / 1e9:.1f} GB of memory is available{hint}")


def make_model(scenario: Scenario, engine: str = DEFAULT_ENGINE, start: BurnIn | None = None, *,
               cache: bool = True):
    """A model of the scenario on the chosen engine, ready to step month by month.

    A district too large for the memory available is refused first (InputError). With `start`
    (sim/snapshot.py), the model is a copy of that burn-in's end state instead of a new one; so it
    is when a folder of kept burn-ins is set (sim.snapshot.CACHE_ENV) and `cache` is true.
    """
    if engine in MEMORY_BYTES:
        check_memory(scenario, engine)
    scenario.check_policy_options()
    if start is None and cache and engine in ENGINES and scenario.params.burn_in_years > 0:
        from sim.snapshot import cache_folder, make_burn_in

        if cache_folder() is not None:
            start = make_burn_in(scenario, engine)
    if start is not None:
        return start.model(scenario, engine)
    if engine == "mesa":
        from sim.mesa_engine import EstateGovernanceModel

        return EstateGovernanceModel(scenario)
    if engine == "vector":
        from sim.vector_engine import VectorModel

        return VectorModel(scenario)
    raise InputError("--engine", engine, f"unknown engine (choose from {', '.join(ENGINES)})")


def run_scenario(scenario: Scenario, engine: str = DEFAULT_ENGINE,
                 progress: Callable[[int, int], None] | None = None,
                 start: BurnIn | None = None) -> RunResult:
    """Run a scenario for its years, month by month; `progress(done, total)` after each month.

    `start`: a burn-in to continue from (sim/snapshot.py) rather than doing the run's own; the
    tables are the same, byte for byte.
    """
    started = time.perf_counter()
    model = make_model(scenario, engine, start)
    months = 12 * scenario.years
    series = SeriesRecorder(scenario.record)
    for month in range(months):
        model.step()
        if scenario.record:
            series.add(model)
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
    if start is not None:
        meta["burn_in_key"] = start.key  # started from a stored burn-in (sim/snapshot.py)
    estates = scenario.load_district().with_attributes(model.estates_table())
    transfers = model.transfers_table()
    return RunResult(series.with_groups(timeseries_frame(run_id, model.records)), model.areas_table(), meta,
                     estates=estates, events=model.events_table(),
                     firms=model.firms_table(), transfers=transfers if len(transfers) else None,
                     estate_series=series.estate_series(run_id), area_series=series.area_series(run_id))


class _CallableModule(types.ModuleType):
    """``sim.run(...)``, the API's run, even after ``import sim.run`` made sim.run this module."""

    def __call__(self, *args, **kwargs) -> RunResult:
        from sim.api import run

        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

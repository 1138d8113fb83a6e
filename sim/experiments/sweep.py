"""Sweeps: many runs of several scenarios, replicates and parameter designs, stored as they finish.

A sweep file (YAML) names the scenarios (paths relative to the sweep file), the replicates, the
root seed, the engine, optionally the years and a design over documented parameters::

    name: policy-comparison
    scenarios: [../status_quo.yaml, ../integrated.yaml]
    replicates: 30
    seed: 12345
    engine: vector            # or mesa (the default)
    years: 10                 # optional: overrides the scenarios' years
    district: {csv: mine.csv} # optional: runs every scenario on this district (path relative here)
    factors:                  # optional: a design over documented parameter names
      method: lhs             # grid | lhs | sobol | morris
      samples: 64
      ranges: {fee_after_sale_public: [0.4, 1.0], volunteer_fatigue: [0.01, 0.1]}

The runs are every (design point, scenario, replicate). The scenarios' own seeds are not used:
run (d, r) takes its seed from the sweep's root seed (sim/experiments/seeds.py), the same under
every scenario. Factor values override the scenarios' parameters. Results go to a results folder
(sim/experiments/store.py); running the same sweep into the same folder again resumes it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sim.errors import InputError
from sim.experiments.design import MAX_DESIGN_POINTS, design_size, sample_design
from sim.experiments.executors import Executor
from sim.experiments.runner import RunOutcome, RunTask, execute_run, one_line
from sim.experiments.seeds import run_seed
from sim.experiments.store import ResultsStore, sha256_file
from sim.params import PARAMETER_INDEX
from sim.scenario import DistrictSpec, Scenario, load_scenario, resolve_district, validate_file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FactorsSpec(_Strict):
    """A design over documented parameters: method, sample size, each factor's [low, high]."""

    method: Literal["grid", "lhs", "sobol", "morris"]
    samples: int = Field(ge=1, le=MAX_DESIGN_POINTS)
    ranges: dict[str, list[float]] = Field(min_length=1)
    levels: int | None = Field(None, ge=2, le=100, description="Morris levels (default 4)")


class SweepSpec(_Strict):
    """A sweep file as written."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    scenarios: list[str] = Field(min_length=1)
    replicates: int = Field(1, ge=1, le=100_000)
    seed: int = Field(ge=0, lt=2**63)
    engine: Literal["mesa", "vector"] = "mesa"
    years: int | None = Field(None, ge=1, le=100)
    district: DistrictSpec | None = None
    factors: FactorsSpec | None = None


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its scenarios loaded, its design sampled, ready to plan runs."""

    name: str
    path: Path
    sha256: str
    scenarios: tuple[Scenario, ...]
    scenario_files: tuple[str, ...]
    replicates: int
    seed: int
    engine: str
    years: int | None
    factors: dict[str, Any] | None
    design: tuple[dict[str, Any], ...] = field(repr=False)

    @property
    def factor_names(self) -> list[str]:
        """The design's parameter names, in the sweep file's order."""
        return list(self.factors["ranges"]) if self.factors else []

    def tasks(self) -> list[RunTask]:
        """Every run, ordered by design point, then scenario, then replicate."""
        width_d = len(str(len(self.design) - 1))
        width_r = len(str(self.replicates - 1))
        out = []
        for d, point in enumerate(self.design):
            seeds = [run_seed(self.seed, d, r) for r in range(self.replicates)]
            for scenario in self.scenarios:
                slug = _slug(scenario.name)
                for r in range(self.replicates):
                    out.append(RunTask(f"{slug}-d{d:0{width_d}d}-r{r:0{width_r}d}", scenario, r, d,
                                       seeds[r], self.engine, self.years, dict(point)))
        return out

    def resolved(self) -> dict[str, Any]:
        """The sweep as resolved, for manifest.json (scenario contents by their hashes)."""
        return {
            "name": self.name,
            "scenarios": [{"name": s.name, "label": s.label, "district": s.load_district().name,
                           "file": f, "sha256": s.hash()}
                          for s, f in zip(self.scenarios, self.scenario_files, strict=True)],
            "replicates": self.replicates,
            "seed": self.seed,
            "engine": self.engine,
            "years": self.years,
            "factors": self.factors,
            "design_points": len(self.design),
            "runs": len(self.design) * len(self.scenarios) * self.replicates,
        }


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", name)


def _check_factors(spec: FactorsSpec, source: str) -> dict[str, Any]:
    for name, bounds in spec.ranges.items():
        key = f"factors.ranges.{name}"
        param = PARAMETER_INDEX.get(name)
        if param is None:
            raise InputError(source, key, "unknown parameter (see docs/ODD.md)")
        if param.kind is bool:
            raise InputError(source, key, "is true or false, not a number a design can vary")
        if len(bounds) != 2 or not bounds[0] < bounds[1]:
            raise InputError(source, key, f"must be [low, high] with low < high, got {bounds}")
        low = param.low if param.low is not None else float("-inf")
        high = param.high if param.high is not None else float("inf")
        if bounds[0] < low or bounds[1] > high:
            raise InputError(source, key, f"range {bounds} goes outside the parameter's own range "
                             f"[{param.low}, {param.high}]")
    if spec.levels is not None and spec.method != "morris":
        raise InputError(source, "factors.levels", "only the morris method takes levels")
    if spec.method == "sobol" and spec.samples & (spec.samples - 1):
        raise InputError(source, "factors.samples",
                         f"must be a power of two for sobol (Saltelli) sampling, got {spec.samples}")
    size = design_size(spec.method, spec.samples, len(spec.ranges))
    if size > MAX_DESIGN_POINTS:
        raise InputError(source, "factors.samples", f"the {spec.method} design would have {size:,} "
                         f"points (at most {MAX_DESIGN_POINTS:,})")
    return {"method": spec.method, "samples": spec.samples,
            "levels": (spec.levels or 4) if spec.method == "morris" else None,
            "ranges": {name: [float(b) for b in bounds] for name, bounds in spec.ranges.items()}}


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and its scenarios; errors name the file and the key."""
    path = Path(path)
    source = str(path)
    spec = validate_file(path, SweepSpec)
    factors = _check_factors(spec.factors, source) if spec.factors else None
    scenarios = []
    slugs: dict[str, int] = {}
    for i, name in enumerate(spec.scenarios):
        scenario_path = path.resolve().parent / name
        if not scenario_path.is_file():
            raise InputError(source, f"scenarios.{i}", f"file not found: {scenario_path}")
        scenario = load_scenario(scenario_path)
        if _slug(scenario.name) in slugs:
            raise InputError(source, f"scenarios.{i}", f"scenario name {scenario.name!r} is also "
                             f"that of scenarios.{slugs[_slug(scenario.name)]}; names identify runs")
        slugs[_slug(scenario.name)] = i
        if spec.district is not None:
            scenario = _on_district(scenario, resolve_district(spec.district, path.resolve().parent),
                                    source)
        scenarios.append(scenario)
    design = ([{}] if factors is None else
              sample_design(factors["method"], factors["samples"], factors["ranges"], spec.seed,
                            levels=factors["levels"] or 4))
    return Sweep(spec.name, path, sha256_file(path), tuple(scenarios), tuple(spec.scenarios),
                 spec.replicates, spec.seed, spec.engine, spec.years, factors, tuple(design))


def _on_district(scenario: Scenario, district: dict[str, Any], source: str) -> Scenario:
    # The sweep's `district:` replaces the scenario's; a district that cannot load is the sweep's
    # error (a CSV's own errors still name the CSV and its column).
    scenario = scenario.with_district(district)
    try:
        scenario.load_district()
    except InputError as exc:
        if exc.source != scenario.source:
            raise
        raise InputError(source, exc.key, exc.message) from None
    return scenario


@dataclass
class SweepSummary:
    """What an invocation of a sweep did."""

    folder: Path
    total: int
    skipped: int
    ran: int
    failed: list[str]
    wall_time_s: float

    def text(self) -> str:
        """A one-paragraph account for the command line."""
        lines = [f"{self.total} runs: {self.skipped} already stored, {self.ran} run now "
                 f"in {self.wall_time_s:.1f} s; {len(self.failed)} failed"]
        if self.failed:
            shown = ", ".join(self.failed[:5]) + (" …" if len(self.failed) > 5 else "")
            lines.append(f"failed: {shown} (see runs.parquet: status, error; run the same "
                         "command again to retry them)")
        lines.append(f"results in {self.folder}")
        return "\n".join(lines)


def _check_engine(sweep: Sweep) -> None:
    # Fail fast, as bad input, when the engine cannot build the sweep's model at all.
    from sim.run import make_model

    try:
        make_model(sweep.scenarios[0].with_overrides(years=1), sweep.engine)
    except InputError as exc:
        raise InputError(str(sweep.path), "engine", f"{sweep.engine}: {exc.message}") from None


def run_sweep(sweep: Sweep, folder: Path, executor: Executor,
              progress=None) -> SweepSummary:
    """Run the sweep's runs not yet stored ok in `folder`, storing each as it finishes.

    `progress(done, total, failed)` is called after each run, counting this invocation's runs
    only. Runs that failed before are retried; runs that raise are recorded as failed and the
    sweep goes on.
    """
    started = time.perf_counter()
    store = ResultsStore(folder)
    tasks = sweep.tasks()
    records = store.open(sweep_sha256=sweep.sha256, resolved=sweep.resolved(), engine=sweep.engine,
                         executor=executor.name)
    todo = [t for t in tasks if records.get(t.run_id, {}).get("status") != "ok"]
    skipped = len(tasks) - len(todo)
    failed: list[str] = []
    if todo:
        _check_engine(sweep)
        store.begin_changes()
        done = 0
        if progress is not None:
            progress(done, len(todo), 0)
        with executor:
            for task, result in executor.map_unordered(execute_run, todo):
                if not isinstance(result, RunOutcome):
                    result = RunOutcome(task.record("failed", one_line(result), 0.0))
                store.add(result.record, result.tables)
                done += 1
                if not result.ok:
                    failed.append(task.run_id)
                if progress is not None:
                    progress(done, len(todo), len(failed))
    runs = store.consolidate([t.run_id for t in tasks], sweep.factor_names)
    order = {t.run_id: i for i, t in enumerate(tasks)}
    all_failed = sorted(runs.loc[runs["status"] != "ok", "run_id"], key=order.get)
    return SweepSummary(Path(folder), len(tasks), skipped, len(todo), all_failed,
                        time.perf_counter() - started)

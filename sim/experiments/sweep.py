"""Sweeps: many runs of several scenarios, replicates and parameter designs, stored as they finish.

A sweep file (YAML) names the scenarios (paths relative to the sweep file), the replicates, the
root seed, the engine, optionally the years and a design over documented parameters::

    name: policy-comparison
    scenarios: [../status_quo.yaml, ../integrated.yaml]
    replicates: 30
    seed: 12345
    engine: vector            # the default; or mesa (one agent per household)
    years: 10                 # optional: overrides the scenarios' years
    district: {csv: mine.csv} # optional: runs every scenario on this district (path relative here)
    district_name: 我的街道   # optional: how figures and tables name the district
    factors:                  # optional: a design over documented parameter names
      method: lhs             # grid | lhs | sobol | morris
      samples: 64
      ranges: {fee_after_sale_public: [0.4, 1.0], volunteer_fatigue: [0.01, 0.1]}
    # factors: {method: posterior, source: ../calibration, sets: 12}
    #                         # or: the accepted parameter sets of a calibration folder
    #                         #     (sim/experiments/posterior.py), one design point per set
    variants: [default, resolution_only]  # optional: model variants (sim/variants.py) crossed
    #                         # with the design: each design point once per variant, the variant
    #                         # recorded as the factor `variant`

The runs are every (design point, scenario, replicate). The scenarios' own seeds are not used:
run (d, r) takes its seed from the sweep's root seed (sim/experiments/seeds.py), the same under
every scenario. Factor values override the scenarios' parameters. Results go to a results folder
(sim/experiments/store.py); running the same sweep into the same folder again resumes it, and a
sweep that grows (more replicates, more scenarios) reuses every stored run whose identity (the
scenario as resolved, the contents of its input files, the seed, factor values, engine and
years) is unchanged.
"""

from __future__ import annotations

import hashlib
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from sim.errors import InputError, not_a_file
from sim.experiments.design import (
    MAX_DESIGN_POINTS,
    METHODS,
    design_factor_names,
    design_size,
    sample_design,
)
from sim.experiments.executors import Executor
from sim.experiments.identity import identity_digest, identity_parts
from sim.experiments.posterior import PosteriorFactorsSpec, posterior_design
from sim.experiments.runner import (
    RunGroup,
    RunOutcome,
    RunTask,
    execute_group,
    execute_run,
    group_by_burn_in,
    one_line,
)
from sim.experiments.seeds import run_seed
from sim.experiments.store import ResultsStore, check_out_folder, sha256_file
from sim.params import PARAMETER_INDEX
from sim.run import DEFAULT_ENGINE
from sim.scenario import (
    DistrictSpec,
    Scenario,
    StrictSpec,
    did_you_mean,
    first_validation_error,
    load_scenario,
    read_yaml_mapping,
    resolve_district,
    scenario_from_mapping,
    validate_file,
)
from sim.text import plural
from sim.variants import FACTOR as VARIANT_FACTOR
from sim.variants import variant_params


class FactorsSpec(StrictSpec):
    """A design over documented parameters: method, sample size, each factor's [low, high]."""

    method: Literal["grid", "lhs", "sobol", "morris"]
    samples: int = Field(ge=1, le=MAX_DESIGN_POINTS)
    ranges: dict[str, list[float]] = Field(min_length=1)
    levels: int | None = Field(None, ge=2, le=100, description="Morris levels (default 4)")


class SweepSpec(StrictSpec):
    """A sweep file as written."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    scenarios: list[str] = Field(min_length=1)
    replicates: int = Field(1, ge=1, le=100_000)
    seed: int = Field(ge=0, lt=2**63)
    engine: Literal["mesa", "vector"] = DEFAULT_ENGINE
    years: int | None = Field(None, ge=1, le=100)
    district: DistrictSpec | None = None
    district_name: str | None = Field(None, min_length=1, max_length=80)
    record: list[Literal["estates", "areas", "groups"]] = Field(default_factory=list)
    factors: dict[str, Any] | None = Field(
        None, description="a FactorsSpec, or a PosteriorFactorsSpec when method is posterior")
    variants: list[str] | None = Field(None, min_length=1,
                                       description="model variants crossed with the design (sim/variants.py)")


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
    inputs: tuple[dict[str, str], ...] = ()
    """Per scenario, the SHA-256 of each input file it reads (its district CSV), by key."""

    @property
    def factor_names(self) -> list[str]:
        """The design's parameter names, in the sweep file's order (posterior: posterior.csv's)."""
        return design_factor_names(self.factors)

    def tasks(self) -> list[RunTask]:
        """Every run, ordered by design point, then scenario, then replicate."""
        # Unpadded numbers: a run's id must not change when the sweep grows.
        out = []
        inputs = self.inputs or tuple({} for _ in self.scenarios)
        for d, point in enumerate(self.design):
            seeds = [run_seed(self.seed, d, r) for r in range(self.replicates)]
            for scenario, files in zip(self.scenarios, inputs, strict=True):
                slug = slug_name(scenario.name)
                for r in range(self.replicates):
                    out.append(make_task(f"{slug}-d{d}-r{r}", scenario, r, d, seeds[r], self.engine,
                                         self.years, point, files))
        return out

    @property
    def runs(self) -> int:
        """How many runs the sweep makes."""
        return len(self.design) * len(self.scenarios) * self.replicates

    def resolved(self) -> dict[str, Any]:
        """The sweep as resolved, for manifest.json (scenario contents by their hashes)."""
        return {
            "name": self.name,
            "scenarios": [{"name": s.name, "label": s.label, "district": s.load_district().name,
                           "file": f, "sha256": s.hash(), "inputs": i}
                          for s, f, i in zip(self.scenarios, self.scenario_files,
                                             self.inputs or tuple({} for _ in self.scenarios),
                                             strict=True)],
            "replicates": self.replicates,
            "seed": self.seed,
            "engine": self.engine,
            "years": self.years,
            "factors": self.factors,
            "design_points": len(self.design),
            "runs": self.runs,
        }


def make_task(run_id: str, scenario: Scenario, replicate: int, design_point: int, seed: int, engine: str,
              years: int | None, point: dict[str, Any], inputs: dict[str, str]) -> RunTask:
    """One run of a sweep or a study, with its identity (sim/experiments/identity.py)."""
    parts = identity_parts(scenario, engine=engine, seed=seed, years=years, factors=point, inputs=inputs)
    return RunTask(run_id, scenario, replicate, design_point, seed, engine, years, dict(point),
                   identity_digest(parts), dict(inputs), parts)


def slug_name(name: str) -> str:
    """A scenario's name as it appears in run ids and file names, unique for distinct names.

    Letters, digits, ``_`` and ``.`` are kept; a name that loses anything else (Chinese
    characters, spaces, a leading dot) gets a short hash of the whole name, so that two
    distinct names never share a slug. The slug never contains ``~`` (the store's temporaries).
    """
    slug = re.sub(r"[^A-Za-z0-9_.]+", "_", name).lstrip(".") or "_"
    if slug == name:
        return slug
    return f"{slug}_{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def input_files(scenario: Scenario) -> dict[str, str]:
    """The SHA-256 of each file a scenario reads besides itself (its district CSV), by key."""
    csv = scenario.district.get("csv")
    if csv is None:
        return {}
    try:
        return {"district.csv": sha256_file(Path(csv))}
    except OSError as exc:
        raise InputError(scenario.source, "district.csv", f"cannot read {csv} ({exc.strerror})") from None


def _check_factors(spec: FactorsSpec, source: str) -> dict[str, Any]:
    for name, bounds in spec.ranges.items():
        key = f"factors.ranges.{name}"
        param = PARAMETER_INDEX.get(name)
        if param is None:
            raise InputError(source, key, "unknown parameter (see docs/ODD.md)"
                             + did_you_mean(str(name), PARAMETER_INDEX))
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


def _factors_spec(data: dict[str, Any], source: str) -> FactorsSpec | PosteriorFactorsSpec:
    # `factors:` is validated by its method's model; errors keep the dotted key from `factors`.
    method = data.get("method")
    if method is not None and method not in (*METHODS, "posterior"):
        raise InputError(source, "factors.method", f"must be one of {', '.join(METHODS)}, posterior; "
                         f"got {method!r}")
    model = PosteriorFactorsSpec if method == "posterior" else FactorsSpec
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        key, message = first_validation_error(exc, model)
        if model is PosteriorFactorsSpec and exc.errors()[0]["type"] == "extra_forbidden":
            message += " (method posterior takes source and, optionally, sets, assumptions and draws)"
        raise InputError(source, f"factors.{key}" if key else "factors", message) from None


def _design(spec: SweepSpec, path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The resolved factors and the design points, crossed with the model variants when named."""
    factors, design = _factor_design(spec, path)
    if not spec.variants:
        return factors, design
    for i, name in enumerate(spec.variants):
        variant_params(name, str(path), f"variants.{i}")
        if spec.variants.index(name) != i:
            raise InputError(str(path), f"variants.{i}", f"{name!r} is named twice")
    if len(design) * len(spec.variants) > MAX_DESIGN_POINTS:
        raise InputError(str(path), "variants", f"the design would have {len(design) * len(spec.variants):,} "
                         f"points (at most {MAX_DESIGN_POINTS:,})")
    factors = {**(factors or {}), "variants": list(spec.variants)}
    return factors, [{**point, VARIANT_FACTOR: name} for point in design for name in spec.variants]


def _factor_design(spec: SweepSpec, path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The resolved factors (None without a design) and the design points."""
    if spec.factors is None:
        return None, [{}]
    factors_spec = _factors_spec(spec.factors, str(path))
    if isinstance(factors_spec, PosteriorFactorsSpec):
        return posterior_design(factors_spec, path, spec.seed)
    factors = _check_factors(factors_spec, str(path))
    return factors, sample_design(factors["method"], factors["samples"], factors["ranges"], spec.seed,
                                  levels=factors["levels"] or 4)


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and its scenarios; errors name the file and the key."""
    path = Path(path)
    source = str(path)
    spec = validate_file(path, SweepSpec)
    factors, design = _design(spec, path)
    district = resolve_district(spec.district, path.resolve().parent) if spec.district else None
    scenarios = []
    slugs: dict[str, int] = {}
    for i, name in enumerate(spec.scenarios):
        scenario_path = path.resolve().parent / name
        problem = not_a_file(scenario_path)
        if problem:
            raise InputError(source, f"scenarios.{i}", f"{problem}: {scenario_path}")
        if district is None:
            scenario = load_scenario(scenario_path)
            if spec.district_name:
                scenario = scenario.with_district(scenario.district, spec.district_name)
        else:
            scenario = _on_district(scenario_from_mapping(
                read_yaml_mapping(scenario_path), str(scenario_path), scenario_path.resolve().parent),
                district, spec.district_name, source)
        if spec.record:  # the sweep's series, besides each scenario's own
            scenario = scenario.recording(spec.record)
        slug = slug_name(scenario.name)
        if slug in slugs:
            raise InputError(source, f"scenarios.{i}", f"scenario name {scenario.name!r} is also "
                             f"that of scenarios.{slugs[slug]}; names identify runs")
        slugs[slug] = i
        scenarios.append(scenario)
    inputs = tuple(input_files(s) for s in scenarios)
    return Sweep(spec.name, path, sha256_file(path), tuple(scenarios), tuple(spec.scenarios),
                 spec.replicates, spec.seed, spec.engine, spec.years, factors, tuple(design),
                 inputs)


def _on_district(scenario: Scenario, district: dict[str, Any], name: str | None,
                 source: str) -> Scenario:
    # The sweep's `district:` replaces the scenario's own, which is never loaded; a district that
    # cannot load is the sweep's error (a CSV's own errors still name the CSV and its column).
    # The scenario's block names are checked against the district the runs use.
    scenario = scenario.with_district(district, name)
    try:
        scenario.load_district()
    except InputError as exc:
        if exc.source != scenario.source:
            raise
        raise InputError(source, exc.key, exc.message) from None
    scenario.check_policy_options()
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
    damaged: list[str] = field(default_factory=list)

    def text(self) -> str:
        """A one-paragraph account for the command line."""
        lines = [f"{plural(self.total, 'run')}: {self.skipped} already stored, {self.ran} run now "
                 f"in {self.wall_time_s:.1f} s; {len(self.failed)} failed"]
        if self.damaged:
            lines.append(f"{len(self.damaged)} stored run(s) had damaged or missing tables and "
                         f"were redone: {_shown(self.damaged)}")
        if self.failed:
            lines.append(f"failed: {_shown(self.failed)} (see runs.parquet: status, error; run the "
                         "same command again to retry them)")
        lines.append(f"results in {self.folder}")
        return "\n".join(lines)


def _shown(run_ids: list[str]) -> str:
    return ", ".join(run_ids[:5]) + (" …" if len(run_ids) > 5 else "")


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by a signal (Ctrl-C, SIGTERM, SIGHUP): its message says what is stored."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.message = message
        self.signum = signum


def check_sweep(sweep: Sweep) -> None:
    """Every check that needs no results folder: the engine builds the model, memory suffices.

    Run before the folder is created or locked, so that a refused sweep leaves nothing behind.
    """
    from sim.run import check_memory, make_model

    try:
        for scenario in sweep.scenarios:
            check_memory(scenario, sweep.engine)
        make_model(sweep.scenarios[0].with_overrides(years=1), sweep.engine)
    except InputError as exc:
        if exc.key == "district":  # the memory guard: it names the scenario file already
            raise
        raise InputError(str(sweep.path), "engine", f"{sweep.engine}: {exc.message}") from None


def runs_to_do(store: ResultsStore, records: dict[str, dict[str, Any]],
               tasks: list[RunTask]) -> tuple[list[str], list[RunTask]]:
    """(the stored runs with damaged tables, every run to do): not stored ok, changed, or damaged."""
    def same(task: RunTask) -> bool:
        record = records.get(task.run_id, {})
        return record.get("status") == "ok" and record.get("identity") == task.identity

    damaged = [t.run_id for t in tasks if same(t) and not store.intact(records[t.run_id])]
    return damaged, [t for t in tasks if not same(t) or t.run_id in damaged]


def store_runs(store: ResultsStore, todo: list[RunTask], executor: Executor, progress=None, *,
               share_burn_ins: bool = True):
    """Run `todo` on the executor, storing each run as it finishes; yields each task stored.

    `progress(done, total, failed)` is called before the first run and after each. With
    `share_burn_ins`, runs of one burn-in key go to a worker together and their burn-in is done
    once (runner.execute_group); the results are the same either way, byte for byte.
    """
    if not todo:
        return
    store.begin_changes()
    failed = done = 0
    if progress is not None:
        progress(0, len(todo), 0)
    if share_burn_ins:
        finished = executor.map_unordered(execute_group, group_by_burn_in(todo))
    else:
        finished = ((RunGroup((task,)), result) for task, result in executor.map_unordered(execute_run, todo))
    for group, results in finished:
        if isinstance(results, RunOutcome):
            results = [results]
        elif not isinstance(results, list):  # the executor's own error: every run of the group failed
            results = [RunOutcome(task.record("failed", one_line(results), 0.0)) for task in group.tasks]
        for task, result in zip(group.tasks, results, strict=True):
            store.add(result.record, result.tables)
            failed += not result.ok
            done += 1
            if progress is not None:
                progress(done, len(todo), failed)
            yield task


def run_sweep(sweep: Sweep, folder: Path, executor: Executor,
              progress=None, *, rerun_changed: bool = False, share_burn_ins: bool = True) -> SweepSummary:
    """Run the sweep's runs not yet stored ok (and intact) in `folder`, storing each as it finishes.

    Every check comes first (the folder's place, the engine, memory, the executor: a bad Dask
    scheduler), then the folder is locked for the whole invocation and created or reopened.
    `progress(done, total, failed)` is called after each run, counting this invocation's runs
    only. Runs that failed before are retried; runs whose stored tables are damaged are redone;
    runs that raise are recorded as failed and the sweep goes on. A signal that stops the sweep
    raises SweepInterrupted saying how many runs are stored. A stored run whose identity
    changed is refused naming what differs, or with `rerun_changed` run again. Runs that share
    a burn-in (the same seed, district and parameters) do it once (`share_burn_ins`).
    """
    began = time.perf_counter()
    folder = Path(folder)
    check_out_folder(folder)
    tasks = sweep.tasks()
    check_sweep(sweep)
    started = False
    store = ResultsStore(folder)
    try:
        with executor, store:
            records = store.open(sweep_sha256=sweep.sha256, resolved=sweep.resolved(),
                                 engine=sweep.engine, executor=executor.name,
                                 identities={t.run_id: t.identity_parts for t in tasks},
                                 rerun_changed=rerun_changed)
            damaged, todo = runs_to_do(store, records, tasks)
            started = True
            for _ in store_runs(store, todo, executor, progress, share_burn_ins=share_burn_ins):
                pass
            runs = store.consolidate([t.run_id for t in tasks], sweep.factor_names)
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        if not started:
            raise SweepInterrupted(f"interrupted before any run started ({folder}); run the same "
                                   "command again to start",
                                   signum) from None
        # counted on disk: a stop between a run's record and the next line still counts it
        stored = store.stored(t.run_id for t in tasks)
        raise SweepInterrupted(f"interrupted: {stored} of {len(tasks)} runs are stored in {folder}; "
                               "run the same command again to resume", signum) from None
    order = {t.run_id: i for i, t in enumerate(tasks)}
    all_failed = sorted(runs.loc[runs["status"] != "ok", "run_id"], key=order.get)
    return SweepSummary(folder, len(tasks), len(tasks) - len(todo), len(todo), all_failed,
                        time.perf_counter() - began, damaged)

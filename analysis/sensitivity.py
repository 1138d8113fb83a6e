"""`estate-sim sensitivity SPEC`: global sensitivity of final values to documented parameters.

A sensitivity file (YAML) names one scenario, a design over documented parameters written as a
sweep file's ``factors`` block (sim/experiments/sweep.py), replicates, outputs and a seed::

    name: merge-support                 # optional: names the runs (default: the file's stem)
    scenario: ../integrated.yaml        # path relative to this file
    baseline: ../status_quo.yaml        # optional: the outputs become scenario minus baseline
    factors:
      method: sobol                     # sobol (Saltelli; samples N a power of two) or morris
      samples: 64                       # N: sobol base samples (N(2k+2) points), morris trajectories
      ranges: {merge_support: [0.2, 0.6], volunteer_fatigue: [0.01, 0.1]}
    replicates: 3                       # paired seeds per design point, averaged (default 3)
    outputs: [service_quality, fee_collection_rate]   # timeseries columns
    seed: 1
    engine: vector                      # the default; or mesa (agents)
    years: 5                            # optional: overrides the scenario's years

Each output is a run's final value (its mean over the last 12 months, sim/outputs.py). With a
``baseline`` each output is a policy difference: the scenario's final value minus the baseline's,
run by run on the same seed (paired), so the indices say what drives the policy's effect.
Replicates: replicate r of every design point runs with the same seed (common random numbers
across design points, drawn from ``seed`` as in a sweep), and the indices are computed from the
mean over replicates. How much of that mean's variance across design points is replicate noise
is reported as ``noise_share``; above about 0.1 the indices are blurred by noise: add replicates.
A study averages over ``MIN_REPLICATES`` (3) paired seeds unless it says otherwise, and is warned
when it asks for fewer.
Convergence: the indices are computed again from the first half of the design (N/2 base samples
or trajectories) and the largest absolute change is reported. The runs are stored as a sweep
results folder (``runs/`` under --out, read with analysis/results.py), so that an interrupted
analysis resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from analysis.compare import OUTCOMES
from analysis.plots import plt, save_figure
from analysis.results import load_runs, load_timeseries
from analysis.style import FIGURE_WIDTH_IN, figure_rc, metric_label
from sim import __version__
from sim.errors import InputError, not_a_file
from sim.experiments.executors import make_executor
from sim.experiments.runner import RunTask
from sim.experiments.seeds import run_seed
from sim.experiments.store import KEY_COLUMNS, ResultsStore, git_commit, sha256_file
from sim.experiments.sweep import (
    FactorsSpec,
    _check_factors,
    input_files,
    make_task,
    runs_to_do,
    sample_design,
    slug_name,
    store_runs,
)
from sim.outputs import final_values
from sim.progress import ProgressBar
from sim.run import DEFAULT_ENGINE
from sim.scenario import Scenario, StrictSpec, load_scenario, read_yaml_mapping, validate_file
from sim.text import plural

OUTPUT_CONFIDENCE = 0.95
RESAMPLES = 1000
"""Bootstrap resamples of SALib's confidence intervals."""
NOISE_WARNING = 0.1
MIN_SAMPLES = 4
"""Fewest base samples / trajectories: the convergence check needs at least two in each half."""


MIN_REPLICATES = 3
"""Paired seeds per design point a screening averages over by default (and warns below)."""

class SensitivitySpec(StrictSpec):
    """A sensitivity file as written."""

    name: str | None = Field(None, min_length=1, max_length=100,
                             pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    scenario: str = Field(min_length=1)
    baseline: str | None = Field(None, min_length=1)
    factors: FactorsSpec
    replicates: int = Field(MIN_REPLICATES, ge=1, le=10_000)
    outputs: list[str] = Field(min_length=1)
    seed: int = Field(ge=0, lt=2**63)
    engine: Literal["mesa", "vector"] = DEFAULT_ENGINE
    years: int | None = Field(None, ge=1, le=100)


@dataclass(frozen=True)
class SensitivityStudy:
    """A validated sensitivity file: its scenario loaded, its design sampled."""

    name: str
    path: Path
    sha256: str
    text: str
    scenario: Scenario
    scenario_file: str
    baseline: Scenario | None
    baseline_file: str | None
    factors: dict[str, Any]
    design: tuple[dict[str, Any], ...]
    replicates: int
    outputs: tuple[str, ...]
    seed: int
    engine: str
    years: int | None

    @property
    def names(self) -> list[str]:
        """The varied parameters, in the file's order."""
        return list(self.factors["ranges"])

    @property
    def scenarios(self) -> list[Scenario]:
        """The scenario, then the baseline when the outputs are differences."""
        return [self.scenario] + ([self.baseline] if self.baseline else [])

    @property
    def runs(self) -> int:
        """How many runs the study makes: design points × replicates × scenarios (baseline too)."""
        return len(self.design) * self.replicates * len(self.scenarios)

    @property
    def outcome_text(self) -> str:
        """What each output is, in words."""
        if self.baseline is None:
            return f"{self.scenario.label}: final value"
        return f"{self.scenario.label} minus {self.baseline.label} (paired by seed): final value"

    def resolved(self) -> dict[str, Any]:
        """The study as resolved, for manifest.json and sensitivity.json."""
        files = [self.scenario_file, self.baseline_file]
        return {"name": self.name, "kind": "sensitivity",
                "scenarios": [{"name": s.name, "label": s.label, "district": s.load_district().name,
                               "file": f, "sha256": s.hash()}
                              for s, f in zip(self.scenarios, files, strict=False)],
                "difference": self.baseline is not None,
                "factors": self.factors, "replicates": self.replicates,
                "outputs": list(self.outputs), "seed": self.seed, "engine": self.engine,
                "years": self.years, "design_points": len(self.design),
                "runs": self.runs}


def load_study(path: str | Path) -> SensitivityStudy:
    """Read and validate a sensitivity file; errors name the file and the key."""
    path = Path(path)
    source = str(path)
    data = read_yaml_mapping(path)
    if "scenarios" in data and "scenario" not in data:
        raise InputError(source, "scenarios", "this is a sweep file (run it with `estate-sim sweep`); "
                         "`sensitivity` takes a sensitivity spec with `scenario:` and optionally "
                         "`baseline:` (docs/SWEEPS.md, scenarios/sensitivity/)")
    spec = validate_file(path, SensitivitySpec)
    if spec.factors.method not in ("sobol", "morris"):
        raise InputError(source, "factors.method",
                         f"must be sobol or morris for a sensitivity analysis, got {spec.factors.method!r}")
    factors = _check_factors(spec.factors, source)
    if spec.factors.samples < MIN_SAMPLES:
        raise InputError(source, "factors.samples", f"must be at least {MIN_SAMPLES} (the convergence "
                         "check compares the indices of the design's two halves)")
    for i, output in enumerate(spec.outputs):
        if output not in OUTCOMES:
            raise InputError(source, f"outputs.{i}",
                             f"unknown output {output!r} (choose from {', '.join(OUTCOMES)})")
    scenario = _study_scenario(path, "scenario", spec.scenario)
    baseline = _study_scenario(path, "baseline", spec.baseline) if spec.baseline else None
    if baseline is not None and baseline.name == scenario.name:
        raise InputError(source, "baseline", f"has the same scenario name as scenario "
                         f"({scenario.name!r}); names identify the runs")
    design = sample_design(factors["method"], factors["samples"], factors["ranges"], spec.seed,
                           levels=factors["levels"] or 4)
    return SensitivityStudy(spec.name or path.stem, path, sha256_file(path),
                            path.read_text(encoding="utf-8"), scenario, spec.scenario, baseline,
                            spec.baseline, factors,
                            tuple(design), spec.replicates, tuple(dict.fromkeys(spec.outputs)),
                            spec.seed, spec.engine, spec.years)


def _study_scenario(path: Path, key: str, name: str) -> Scenario:
    scenario_path = path.resolve().parent / name
    problem = not_a_file(scenario_path)
    if problem:
        raise InputError(str(path), key, f"{problem}: {scenario_path}")
    return load_scenario(scenario_path)


def _problem(ranges: dict[str, Sequence[float]]) -> dict[str, Any]:
    return {"num_vars": len(ranges), "names": list(ranges),
            "bounds": [[float(low), float(high)] for low, high in ranges.values()]}


def _sobol(ranges, y: np.ndarray, seed: int) -> pd.DataFrame:
    from SALib.analyze import sobol

    result = sobol.analyze(_problem(ranges), y, calc_second_order=True, num_resamples=RESAMPLES,
                           conf_level=OUTPUT_CONFIDENCE, seed=seed)
    rows = []
    for i, name in enumerate(ranges):
        for index in ("S1", "ST"):
            value, half = float(result[index][i]), float(result[f"{index}_conf"][i])
            rows.append({"parameter": name, "index": index, "value": value,
                         "low": value - half, "high": value + half})
    return pd.DataFrame(rows)


def _morris(ranges, x: np.ndarray, y: np.ndarray, levels: int, seed: int) -> pd.DataFrame:
    from SALib.analyze import morris

    result = morris.analyze(_problem(ranges), x, y, num_resamples=RESAMPLES,
                            conf_level=OUTPUT_CONFIDENCE, num_levels=levels, seed=seed)
    rows = []
    for i, name in enumerate(ranges):
        mu_star, half = float(result["mu_star"][i]), float(result["mu_star_conf"][i])
        rows.append({"parameter": name, "index": "mu_star", "value": mu_star,
                     "low": mu_star - half, "high": mu_star + half})
        rows.append({"parameter": name, "index": "sigma", "value": float(result["sigma"][i]),
                     "low": np.nan, "high": np.nan})
    return pd.DataFrame(rows)


def sensitivity_indices(method: str, ranges: dict[str, Sequence[float]], x: np.ndarray,
                        y: np.ndarray, *, levels: int = 4, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Indices of one output with CIs, and the convergence check (first half of the design vs all).

    `x` is the design in the sampler's order (sobol: Saltelli with second-order terms; morris:
    trajectories), `y` the output at each point. Sobol: S1 and ST with SALib's bootstrap CIs;
    morris: mu_star (with CI) and sigma. Returns (indices, convergence) where convergence has
    the half and full sample sizes and the largest absolute change of S1/ST (or mu_star, also
    relative to the largest mu_star).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    k = len(ranges)
    block = 2 * k + 2 if method == "sobol" else k + 1
    if len(y) % block or len(x) != len(y):
        raise ValueError(f"{len(y)} outputs do not make whole {method} blocks of {block} points")
    samples = len(y) // block
    half = (samples // 2) * block

    def indices(rows: int) -> pd.DataFrame:
        if method == "sobol":
            return _sobol(ranges, y[:rows], seed)
        return _morris(ranges, x[:rows], y[:rows], levels, seed)

    full, first = indices(len(y)), indices(half)
    compared = ["S1", "ST"] if method == "sobol" else ["mu_star"]
    change = (full.set_index(["parameter", "index"])["value"]
              - first.set_index(["parameter", "index"])["value"]).abs()
    change = change[change.index.get_level_values("index").isin(compared)]
    convergence = {"samples": samples, "half_samples": samples // 2, "indices": compared,
                   "max_abs_change": float(change.max())}
    if method == "morris":
        top = float(full.loc[full["index"] == "mu_star", "value"].abs().max())
        convergence["max_relative_change"] = float(change.max() / top) if top > 0 else float("nan")
    return full, convergence


def noise_share(per_run: pd.DataFrame, output: str) -> float:
    """Share of the variance of the replicate-averaged output across design points that is noise.

    With common random numbers, replicate r's randomness is shared by every design point and
    shifts all point means alike, which leaves the indices unchanged; what blurs them is the
    point × replicate interaction (two-way ANOVA residual). Its variance divided by the number
    of replicates, over the variance of the point means, capped at 1. NaN with one replicate.
    """
    table = per_run.pivot_table(index="design_point", columns="replicate", values=output)
    table = table.dropna()  # points missing a replicate (failed runs) leave the decomposition
    points, replicates = table.shape
    if replicates < 2 or points < 2:
        return float("nan")
    values = table.to_numpy()
    residual = (values - values.mean(axis=1, keepdims=True) - values.mean(axis=0, keepdims=True)
                + values.mean())
    noise = float((residual**2).sum() / ((points - 1) * (replicates - 1))) / replicates
    between = float(values.mean(axis=1).var(ddof=1))
    if between <= 0:
        return 1.0 if noise > 0 else 0.0
    return min(1.0, noise / between)


def _tasks(study: SensitivityStudy) -> list[RunTask]:
    seeds = [run_seed(study.seed, 0, r) for r in range(study.replicates)]  # the same at every point
    width_d, width_r = len(str(len(study.design) - 1)), len(str(study.replicates - 1))
    # Slugged as a sweep's run ids (a study named `~tmp.x` must not make temporaries); one
    # scenario keeps the ids of earlier versions ("NAME-dD-rR"), so stored runs resume.
    name = slug_name(study.name)
    prefixes = ([name] if study.baseline is None else
                [f"{name}-{slug_name(s.name)}" for s in study.scenarios])
    inputs = [input_files(s) for s in study.scenarios]
    return [make_task(f"{prefix}-d{d:0{width_d}d}-r{r:0{width_r}d}", scenario, r, d, seeds[r],
                      study.engine, study.years, point, files)
            for d, point in enumerate(study.design)
            for scenario, prefix, files in zip(study.scenarios, prefixes, inputs, strict=True)
            for r in range(study.replicates)]


def run_design(study: SensitivityStudy, folder: Path, workers: int = 1, progress=None, *,
               rerun_changed: bool = False) -> dict:
    """Run the design's runs not yet stored ok in `folder` (a results folder); returns counts.

    As a sweep does: each run's identity is checked against the stored one (a changed district,
    parameter or model version is refused naming it, or with `rerun_changed` run again), and
    stored runs with damaged tables are redone.
    """
    started = time.perf_counter()
    tasks = _tasks(study)
    with make_executor(workers) as executor, ResultsStore(folder) as store:
        records = store.open(sweep_sha256=study.sha256, resolved=study.resolved(), engine=study.engine,
                             executor=executor.name, rerun_changed=rerun_changed,
                             identities={t.run_id: t.identity_parts for t in tasks})
        damaged, todo = runs_to_do(store, records, tasks)
        for _ in store_runs(store, todo, executor,
                            None if progress is None else lambda done, total, _: progress(done, total)):
            pass
        store.consolidate([t.run_id for t in tasks], study.names)
    return {"runs": len(tasks), "ran_now": len(todo), "damaged": damaged,
            "wall_time_s": time.perf_counter() - started}


def analyse(study: SensitivityStudy, folder: Path) -> dict[str, Any]:
    """Indices, convergence and noise share of each output, from the runs stored in `folder`."""
    runs = load_runs(folder)
    failed = runs[runs["status"] != "ok"]
    per_run = final_values(load_timeseries(folder, columns=list(study.outputs)), study.outputs,
                           KEY_COLUMNS)
    if study.baseline is not None:
        per_run = paired_outcome(per_run, study.scenario.name, study.baseline.name, study.outputs)
    means = per_run.groupby("design_point")[list(study.outputs)].mean()
    missing = sorted(set(range(len(study.design))) - set(means.index))
    if missing:
        first = failed["error"].iloc[0] if len(failed) else "no runs stored"
        raise RuntimeError(f"{len(missing)} of {len(study.design)} design points have no run that "
                           f"finished ok (e.g. point {missing[0]}; first error: {first}); the indices "
                           f"need every point — fix the failures and run the same command again")
    x = np.array([[point[name] for name in study.names] for point in study.design], dtype=float)
    tables, results = [], {}
    for output in study.outputs:
        indices, convergence = sensitivity_indices(
            study.factors["method"], study.factors["ranges"], x, means[output].to_numpy(),
            levels=study.factors["levels"] or 4, seed=study.seed)
        share = noise_share(per_run, output)
        tables.append(indices.assign(output=output))
        results[output] = {"indices": indices.to_dict(orient="records"), "convergence": convergence,
                           "noise_share": share, "output_variance": float(means[output].var(ddof=1))}
    return {"indices": pd.concat(tables, ignore_index=True)[["output", "parameter", "index", "value",
                                                            "low", "high"]],
            "outputs": results, "per_run": per_run, "design_means": means, "failed": failed}


def paired_outcome(per_run: pd.DataFrame, scenario: str, baseline: str,
                   outputs: Sequence[str]) -> pd.DataFrame:
    """Per (design_point, replicate): the scenario's outputs minus the baseline's (same seed).

    A pair whose other run failed has no difference (it is left out, as a failed run is).
    """
    keys = ["design_point", "replicate"]
    policy = per_run[per_run["scenario"] == scenario].set_index(keys)[list(outputs)]
    base = per_run[per_run["scenario"] == baseline].set_index(keys)[list(outputs)]
    return (policy - base).dropna().reset_index()


def sensitivity_figure(indices: pd.DataFrame, output: str, method: str, note: str):
    """Bars of one output's indices per parameter with their 95% CIs (sobol: S1 and ST)."""
    part = indices[indices["output"] == output]
    shown = ["S1", "ST"] if method == "sobol" else ["mu_star", "sigma"]
    names = {"S1": "first order S1", "ST": "total ST", "mu_star": "μ* (mean |elementary effect|)",
             "sigma": "σ (spread of elementary effects)"}
    bar_colours = {"S1": "#4c72b0", "ST": "#dd8452", "mu_star": "#4c72b0", "sigma": "#dd8452"}
    order = (part[part["index"] == shown[1 if method == "sobol" else 0]]
             .sort_values("value", ascending=True)["parameter"].tolist())
    with plt.rc_context(figure_rc()):
        fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 1.0 + 0.55 * len(order)))
        height = 0.38
        for j, index in enumerate(shown):
            rows = part[part["index"] == index].set_index("parameter").loc[order]
            y = np.arange(len(order)) + (j - 0.5) * height
            err = np.vstack([rows["value"] - rows["low"], rows["high"] - rows["value"]])
            ax.barh(y, rows["value"], height=height, color=bar_colours[index], label=names[index],
                    xerr=None if np.isnan(err).all() else err, capsize=3)
        ax.set_yticks(np.arange(len(order)), order)
        ax.axvline(0, color="black", lw=1)
        unit = "" if method == "sobol" else f" ({metric_label(output)})"
        ax.set_xlabel(("Share of output variance" if method == "sobol" else "Effect") + unit)
        ax.set_title(f"Sensitivity of {metric_label(output)}, final value\n"
                     f"{'Sobol’ indices' if method == 'sobol' else 'Morris screening'}; "
                     "error bars: 95% bootstrap CI", loc="left")
        ax.legend(loc="lower right", frameon=False)
        fig.text(0.0, -0.02, note, ha="left", va="top", fontsize=11, wrap=True)
        fig.tight_layout()
    return fig


def _finite(value: Any) -> Any:
    # Strict JSON: NaN and infinities become null.
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def run_sensitivity(spec: Path, out: Path, workers: int = 1, *, rerun_changed: bool = False) -> int:
    """The `sensitivity` command: run the design (resuming), analyse, write CSV, figures, JSON."""
    study = load_study(spec)
    if study.replicates < MIN_REPLICATES:
        print(f"warning: {plural(study.replicates, 'replicate')} per design point; screening needs at "
              f"least {MIN_REPLICATES} paired seeds to average over and to measure its noise share")
    if out.exists() and not out.is_dir():
        raise InputError("command line", "--out", f"{out} exists and is not a folder")
    folder = out / "runs"
    print(f"{study.name}: {study.factors['method']} design, {plural(len(study.design), 'point')} × "
          f"{plural(study.replicates, 'replicate')} × {plural(len(study.scenarios), 'scenario')} = "
          f"{plural(study.runs, 'run')}; "
          f"output: {study.outcome_text} "
          f"({study.engine}, {workers} worker{'s' if workers > 1 else ''})")
    with ProgressBar(study.runs, label=study.name) as bar:
        counts = run_design(study, folder, workers, progress=lambda done, _: bar.update(done),
                            rerun_changed=rerun_changed)
    result = analyse(study, folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    indices_path = out / "indices.csv"
    result["indices"].to_csv(indices_path, index=False, float_format="%.6g")
    points = pd.DataFrame(list(study.design)).join(result["design_means"].add_prefix("mean_"))
    points_path = out / "design_outputs.csv"
    points.rename_axis("design_point").to_csv(points_path, float_format="%.6g")
    written += [indices_path, points_path]
    failed = result["failed"]
    for output, info in result["outputs"].items():
        conv = info["convergence"]
        note = (f"Output: {study.outcome_text}. {plural(study.runs, 'run')}: "
                f"{plural(len(study.design), 'design point')} × {plural(study.replicates, 'replicate')} × "
                f"{plural(len(study.scenarios), 'scenario')} "
                f"(common random numbers), averaged; {len(failed)} failed. Replicate-noise share of the "
                f"variance: {info['noise_share']:.3f}. Convergence: largest change of "
                f"{'/'.join(conv['indices'])} between N={conv['half_samples']} and "
                f"N={conv['samples']}: {conv['max_abs_change']:.3g}.")
        fig = sensitivity_figure(result["indices"], output, study.factors["method"], note)
        written += save_figure(fig, out / f"sensitivity_{output}")
    report = {
        "study": study.resolved(), "file": str(study.path), "file_sha256": study.sha256,
        "file_text": study.text, "package_version": __version__, "git_commit": git_commit(),
        "confidence": OUTPUT_CONFIDENCE, "bootstrap_resamples": RESAMPLES,
        "replicates_handling": "mean over replicates; common random numbers across design points",
        "runs": counts["runs"], "ran_now": counts["ran_now"],
        "wall_time_s": round(counts["wall_time_s"], 2),
        "failed_runs": failed[["run_id", "design_point", "replicate", "error"]].to_dict(orient="records"),
        "outputs": result["outputs"],
    }
    json_path = out / "sensitivity.json"
    json_path.write_text(json.dumps(_finite(report), indent=2, default=float), encoding="utf-8")
    written.append(json_path)
    print(f"{plural(counts['runs'], 'run')} ({counts['ran_now']} run now, {counts['wall_time_s']:.1f} s); "
          f"{len(failed)} failed")
    if counts["damaged"]:
        print(f"{len(counts['damaged'])} stored run(s) had damaged or missing tables and were redone: "
              + ", ".join(counts["damaged"][:5]))
    for _, run in failed.iterrows():
        print(f"  failed: {run['run_id']}: {run['error']}")
    for output, info in result["outputs"].items():
        conv = info["convergence"]
        print(f"{output}: noise share {info['noise_share']:.3f}"
              + (" (HIGH: add replicates)" if info["noise_share"] > NOISE_WARNING else "")
              + f"; convergence N={conv['half_samples']}→{conv['samples']}: max |Δ| "
              f"{conv['max_abs_change']:.3g}")
        part = result["indices"][result["indices"]["output"] == output]
        for _, row in part.iterrows():
            interval = (f"[{row['low']:.4g}, {row['high']:.4g}]" if np.isfinite(row["low"])
                        else "(no CI: SALib gives none for σ)" if row["index"] == "sigma" else "(no CI)")
            print(f"  {row['parameter']:<32}{row['index']:>8} {row['value']:10.4g} {interval}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0

"""Calibration by approximate Bayesian computation (ABC rejection) against the Ouyang Road record.

Pattern-oriented (Grimm et al. 2005): each target is an outcome of the mechanisms, read off a
run's outputs (never written into the model or the district). A calibration spec names the
scenario, the uncertain parameters with their prior ranges (uniform, inside the parameters'
documented ranges), the targets with their tolerances, and the design (samples, seeds per
sample, accepted share). Every sample is run over the same seeds (common random numbers), the
summary statistics are averaged over seeds, and the samples closest to the targets are accepted.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from scipy.stats import qmc

from sim.errors import InputError, not_a_file
from sim.experiments.seeds import purpose_seeds
from sim.params import PARAMETER_INDEX
from sim.progress import ProgressBar
from sim.run import DEFAULT_ENGINE
from sim.scenario import Scenario, StrictSpec, load_scenario, validate_file

SMALL = 200


def summary_statistics(timeseries: pd.DataFrame, areas: pd.DataFrame, estates: pd.DataFrame | None = None,
                       firms: pd.DataFrame | None = None) -> dict[str, float]:
    """The record's patterns as a run shows them (all from the output contract's tables).

    - ``areas``, ``areas_lt200``, ``areas_lt100``: final month;
    - ``firms_eliminated``: firms that left the market for their performance in it (`firms`'
      exit_cause: owners replaced them, a reform's tender they could bid in went to a better firm,
      they withdrew from losing contracts, or their losses ended them), not those whose sites a
      reform moved with no tender they could bid in; without `firms`, every exit;
    - ``merge_share``: of the estates that joined a larger arrangement (`estates`' first route:
      merged into one area, merged in management only, or entrusted to a lead firm), the share
      merged into one area; without `estates`, merged estates over those plus small single areas
      in the entrusted mode;
    - ``merge_peak_share``: the largest share of the run's mergers completed in one year;
      ``last_merge_year``: the year of the last merger (NaN without mergers);
    - ``hongyi_like``: 1 if a three-estate after-sale merger of 35,000-55,000 m2 is among the
      merges, else 0;
    - ``hongyi_trio``: 1 if the article's three estates Hongyi, Hongtie and Xiangde-3 ended in one
      merged area, 0 if not, NaN if the district has no such estates (the named trio, apart from
      the "any similar merger" check above);
    - ``merge_votes_failed``: failed merger proposals;
    - ``firms_start``: property firms active in month 1 (after the burn-in; the article gives no
      figure: reported, not fitted).
    """
    last = timeseries.iloc[-1]
    merged = areas[areas["estates"] > 1]
    if estates is not None:
        routes = estates["how"].value_counts()
        merged_estates = float(routes.get("merged", 0))
        joined = merged_estates + float(routes.get("management_merged", 0) + routes.get("entrusted", 0))
    else:
        merged_estates = float(merged["estates"].sum())
        joined = merged_estates + float(((areas["mode"] == "entrusted") & (areas["estates"] == 1)
                                         & (areas["households"] < SMALL)).sum())
    eliminated = (float((firms["exit_cause"].isin(MARKET_EXITS) & (firms["exited_month"] > 0)).sum())
                  if firms is not None else float(last["firm_exits"]))
    hongyi = merged[(merged["estates"] == 3) & (merged["housing_type"] == "after_sale_public")
                    & merged["floor_area_m2"].between(35_000, 55_000)]
    return {
        "areas": float(last["management_areas"]),
        "areas_lt200": float(last["areas_lt200"]),
        "areas_lt100": float(last["areas_lt100"]),
        "firms_eliminated": eliminated,
        "merge_share": merged_estates / joined if joined else float("nan"),
        "hongyi_like": float(len(hongyi) > 0),
        "hongyi_trio": _trio_together(areas, HONGYI_TRIO),
        "merge_votes_failed": float(last["merge_votes_failed"]),
        **merge_time_course(timeseries),
        "firms_start": float(timeseries["active_firms"].iloc[0]) if "active_firms" in timeseries
        else float("nan"),
    }


MARKET_EXITS = ("performance", "outbid", "withdrawal", "losses")
"""Exit causes (rules.exit_cause) that count as a firm eliminated by the market: owners replaced it,
a reform's tender it could bid in went to a better firm, it withdrew, or its losses; "reform" (its
sites reassigned by a policy, with no tender it could bid in) and "no contract won" (an entrant
that never served) do not."""


def merge_time_course(timeseries: pd.DataFrame) -> dict[str, float]:
    """The programme's pace: the largest share of the mergers done in one year, and the last merger's year."""
    if "merges_done" not in timeseries or "year" not in timeseries:
        return {"merge_peak_share": float("nan"), "last_merge_year": float("nan")}
    per_year = timeseries.groupby("year")["merges_done"].max().diff().fillna(
        timeseries.groupby("year")["merges_done"].max().iloc[0])
    total = float(per_year.sum())
    if total <= 0:
        return {"merge_peak_share": float("nan"), "last_merge_year": float("nan")}
    return {"merge_peak_share": float(per_year.max() / total),
            "last_merge_year": float(per_year[per_year > 0].index.max())}


HONGYI_TRIO = ("Hongyi", "Hongtie", "Xiangde-3")
"""The article's first merger in Shanghai (2017): three after-sale estates into New Hongyi."""


def member_areas(areas: pd.DataFrame) -> dict[str, str]:
    """The area holding each estate: area ids join their members' estate ids with `+`."""
    return {member: area_id for area_id in areas["area_id"] for member in str(area_id).split("+")}


def _trio_together(areas: pd.DataFrame, names: tuple[str, ...]) -> float:
    """1.0 if every named estate is a member of the same area, 0.0 if not, NaN if one is missing."""
    if "area_id" not in areas:
        return float("nan")
    home = member_areas(areas)
    if any(name not in home for name in names):
        return float("nan")
    return float(len({home[name] for name in names}) == 1)


class TargetSpec(StrictSpec):
    """One observed pattern: its value and the tolerance that scales its distance."""

    value: float
    tolerance: float = Field(gt=0)


class CalibrationSpec(StrictSpec):
    """A calibration file as written."""

    name: str = Field(min_length=1)
    scenario: str
    engine: Literal["mesa", "vector"] = DEFAULT_ENGINE
    years: int | None = Field(None, ge=1, le=100)
    seed: int = Field(0, ge=0)
    samples: int = Field(ge=2, le=100_000)
    seeds_per_sample: int = Field(3, ge=1, le=1000)
    accept: float = Field(0.1, gt=0, le=1)
    refine: int = Field(0, ge=0, le=10_000)
    refine_seeds: int = Field(10, ge=1, le=1000)
    priors: dict[str, list[float]] = Field(min_length=1)
    targets: dict[str, TargetSpec] = Field(min_length=1)
    holdout: dict[str, TargetSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self):
        for name in self.holdout:
            if name in self.targets:
                raise ValueError(f"holdout.{name}: a held-out pattern cannot also be a target")
        for name, bounds in self.priors.items():
            if name not in PARAMETER_INDEX:
                raise ValueError(f"priors.{name}: unknown parameter")
            param = PARAMETER_INDEX[name]
            if len(bounds) != 2 or not bounds[0] < bounds[1]:
                raise ValueError(f"priors.{name}: give [low, high] with low < high")
            if ((param.low is not None and bounds[0] < param.low)
                    or (param.high is not None and bounds[1] > param.high)):
                raise ValueError(f"priors.{name}: outside the documented range [{param.low}, {param.high}]")
        return self


STATISTICS = ("areas", "areas_lt200", "areas_lt100", "firms_eliminated", "merge_share", "hongyi_like",
              "hongyi_trio", "merge_votes_failed", "merge_peak_share", "last_merge_year", "firms_start")


@dataclass(frozen=True)
class Calibration:
    """A validated calibration spec with its scenario loaded."""

    name: str
    path: Path | None
    scenario: Scenario
    engine: str
    seed: int
    samples: int
    seeds_per_sample: int
    accept: float
    priors: dict[str, tuple[float, float]]
    targets: dict[str, tuple[float, float]]
    refine: int = 0
    refine_seeds: int = 10
    holdout: dict[str, tuple[float, float]] = field(default_factory=dict)

    def seeds(self) -> list[int]:
        """The seeds every sample is run with (common random numbers across samples).

        The calibration stream of the spec's root (sim.experiments.seeds.purpose_seeds): never
        among the refinement's or the validation's seeds.
        """
        return purpose_seeds("calibration", self.seed, self.seeds_per_sample)

    def design(self) -> pd.DataFrame:
        """The prior samples: a Latin hypercube over the uniform priors, seeded from the spec."""
        names = list(self.priors)
        unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(self.seed)).random(self.samples)
        low = np.array([self.priors[n][0] for n in names])
        high = np.array([self.priors[n][1] for n in names])
        values = low + unit * (high - low)
        frame = pd.DataFrame(values, columns=names)
        for name in names:
            if PARAMETER_INDEX[name].kind is int:
                frame[name] = frame[name].round().astype(int)
        return frame


def load_calibration(path: str | Path) -> Calibration:
    """Read and check a calibration spec (YAML); errors name the file and the key."""
    path = Path(path)
    source = str(path)
    spec = validate_file(path, CalibrationSpec)
    for key, names in (("targets", spec.targets), ("holdout", spec.holdout)):
        for name in names:
            if name not in STATISTICS:
                raise InputError(source, f"{key}.{name}", f"unknown target (known: {', '.join(STATISTICS)})")
    scenario_path = (path.resolve().parent / spec.scenario)
    problem = not_a_file(scenario_path)
    if problem:
        raise InputError(source, "scenario", f"{problem}: {scenario_path}")
    scenario = load_scenario(scenario_path).with_overrides(years=spec.years)
    return Calibration(spec.name, path, scenario, spec.engine, spec.seed, spec.samples, spec.seeds_per_sample,
                       spec.accept, {k: (v[0], v[1]) for k, v in spec.priors.items()},
                       {k: (t.value, t.tolerance) for k, t in spec.targets.items()},
                       spec.refine, spec.refine_seeds,
                       {k: (t.value, t.tolerance) for k, t in spec.holdout.items()})


def statistics_table(result, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """A calibration run's one row of summary statistics: the one table its store keeps (RunTask.keep)."""
    return {"statistics": pd.DataFrame([summary_statistics(result.timeseries, result.areas, result.estates,
                                                           result.firms)])}


def simulate(scenario: Scenario, engine: str, design: pd.DataFrame, seeds: list[int], *, workers: int = 1,
             progress: Callable[[int, int], None] | None = None, runs: Path | None = None,
             rerun_changed: bool = False, flag: str = "--out") -> pd.DataFrame:
    """Summary statistics of every (sample, seed), one row each, in design order.

    Each run is stored in the results folder `runs` as it finishes (sim/experiments/stored.py):
    the same call again resumes, and a run whose inputs or model version changed is refused
    naming what differs (with `rerun_changed`, made again). Without `runs`, a temporary folder.
    """
    if runs is None:
        with tempfile.TemporaryDirectory(prefix="esim-calibration-") as temp:
            return simulate(scenario, engine, design, seeds, workers=workers, progress=progress,
                            runs=Path(temp) / "runs")
    from sim.experiments.stored import stored_tables, task

    tasks = [task(f"s{i}-r{j}", scenario, j, i, seed, engine, _typed(row), "sim.calibration:statistics_table")
             for i, row in enumerate(design.to_dict("records")) for j, seed in enumerate(seeds)]
    resolved = {"calibration of": scenario.name, "scenario_sha256": scenario.hash(), "engine": engine,
                "samples": len(design), "seeds": list(seeds)}
    tables = stored_tables(runs, tasks, ["statistics"], resolved=resolved, engine=engine, workers=workers,
                           flag=flag, rerun_changed=rerun_changed, progress=progress)
    frame = pd.concat([tables[t.run_id]["statistics"] for t in tasks], ignore_index=True)
    frame.insert(0, "sample", np.repeat(np.arange(len(design)), len(seeds)))
    frame.insert(1, "seed", np.tile(seeds, len(design)))
    return frame


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (int(v) if PARAMETER_INDEX[k].kind is int else float(v)) for k, v in row.items()}


def distances(stats: pd.DataFrame, targets: dict[str, tuple[float, float]]) -> np.ndarray:
    """Euclidean distance of each sample's statistics from the targets, in tolerance units."""
    total = np.zeros(len(stats))
    for name, (value, tolerance) in targets.items():
        total += ((stats[name].to_numpy(dtype=float) - value) / tolerance) ** 2
    # a statistic a run cannot give (no merger, so no last merger's year) is as far as can be
    return np.where(np.isnan(total), np.inf, np.sqrt(total))


def abc_rejection(calibration: Calibration, *, workers: int = 1,
                  progress: Callable[[int, int], None] | None = None, runs: Path | None = None,
                  rerun_changed: bool = False, flag: str = "--out") -> dict[str, pd.DataFrame]:
    """Run the design, average statistics over seeds, accept the closest share of samples.

    Returns the frames ``samples`` (parameters, mean statistics, distance, accepted),
    ``runs`` (statistics per sample and seed), ``posterior``, ``fit`` and, when the spec holds
    patterns out, ``prediction``: what the accepted sets predict for each held-out pattern (it
    plays no part in the distance), over every accepted (set, seed) run. The runs are stored in
    `runs`/samples and `runs`/refined (simulate: a stopped calibration resumes).
    """
    design = calibration.design()
    stored = {"rerun_changed": rerun_changed, "flag": flag}
    per_run = simulate(calibration.scenario, calibration.engine, design, calibration.seeds(), workers=workers,
                       progress=progress, runs=None if runs is None else runs / "samples", **stored)
    means = per_run.drop(columns="seed").groupby("sample").mean()
    samples = pd.concat([design, means.reset_index(drop=True)], axis=1)
    samples["distance"] = distances(samples, calibration.targets)
    n_accept = max(1, int(round(calibration.accept * len(samples))))
    accepted_index = np.argsort(samples["distance"].to_numpy(), kind="stable")[:n_accept]
    samples["accepted"] = False
    samples.loc[accepted_index, "accepted"] = True
    accepted = samples[samples["accepted"]]
    posterior = _spread(accepted, calibration.priors, ("parameter", "prior_low", "prior_high"), "")
    fit = _spread(accepted, calibration.targets, ("target", "observed", "tolerance"), "accepted_")
    frames = {"samples": samples, "runs": per_run, "posterior": posterior, "fit": fit}
    if calibration.holdout:
        accepted_runs = per_run[per_run["sample"].isin(accepted_index)]
        frames["prediction"] = _spread(accepted_runs, calibration.holdout,
                                       ("pattern", "observed", "tolerance"), "predicted_")
    if calibration.refine:
        frames["refined"] = refine(calibration, samples, workers=workers,
                                   runs=None if runs is None else runs / "refined", **stored)
    return frames


def _spread(accepted: pd.DataFrame, pairs: dict[str, tuple[float, float]], columns: tuple[str, str, str],
            prefix: str) -> pd.DataFrame:
    """Per name: its two given values, then the accepted samples' median, 5th and 95th percentile."""
    names = list(pairs)
    return pd.DataFrame({
        columns[0]: names,
        columns[1]: [pairs[n][0] for n in names],
        columns[2]: [pairs[n][1] for n in names],
        f"{prefix}median": [accepted[n].median() for n in names],
        f"{prefix}p05": [accepted[n].quantile(0.05) for n in names],
        f"{prefix}p95": [accepted[n].quantile(0.95) for n in names],
    })


def refine_seeds(n: int, root: int) -> list[int]:
    """Seeds of the refinement: the refinement stream of the calibration's root.

    Disjoint from the seeds the samples were fitted on and from every validation seed
    (sim.experiments.seeds.purpose_seeds).
    """
    return purpose_seeds("refinement", root, n)


def refine(calibration: Calibration, samples: pd.DataFrame, *, workers: int = 1, runs: Path | None = None,
           rerun_changed: bool = False, flag: str = "--out") -> pd.DataFrame:
    """Re-run the `refine` closest samples over `refine_seeds` fresh seeds, judged by their medians.

    Sorted by the largest deviation from any target in tolerance units (a set whose medians are
    all inside their bands comes first), then by distance; the first row is the parameter set
    the calibration proposes as defaults. Held-out patterns play no part in the order.
    """
    names = list(calibration.priors)
    closest = samples.sort_values("distance", kind="stable").head(calibration.refine)
    design = closest[names].reset_index(drop=True)
    for name in names:
        if PARAMETER_INDEX[name].kind is int:
            design[name] = design[name].round().astype(int)
    per_run = simulate(calibration.scenario, calibration.engine, design,
                       refine_seeds(calibration.refine_seeds, calibration.seed), workers=workers, runs=runs,
                       rerun_changed=rerun_changed, flag=flag)
    medians = per_run.drop(columns="seed").groupby("sample").median()
    medians["distance"] = distances(medians, calibration.targets)
    medians["max_deviation"] = np.max([np.abs(medians[t] - value) / tol
                                       for t, (value, tol) in calibration.targets.items()], axis=0)
    return pd.concat([design, medians], axis=1).sort_values(
        ["max_deviation", "distance"], kind="stable")


def write_calibration(out: Path, calibration: Calibration, frames: dict[str, pd.DataFrame]) -> list[Path]:
    """Write accepted sets, all samples, posterior summaries, the fit and a JSON summary."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    accepted = frames["samples"][frames["samples"]["accepted"]]
    for name, frame in frames.items():
        if name == "samples":
            accepted.to_csv(out / "accepted.csv", index=False, float_format="%.6g")
            paths.append(out / "accepted.csv")
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.6g")
        paths.append(path)
    best = accepted.sort_values("distance").iloc[0]
    summary = {
        "name": calibration.name,
        "spec": str(calibration.path) if calibration.path else None,
        "scenario": calibration.scenario.name,
        "engine": calibration.engine,
        "samples": calibration.samples,
        "seeds": calibration.seeds(),
        "accepted": int(len(accepted)),
        "posterior_median": {n: float(accepted[n].median()) for n in calibration.priors},
        "best_sample": {n: float(best[n]) for n in calibration.priors},
        "best_distance": float(best["distance"]),
    }
    if "refined" in frames:
        chosen = frames["refined"].iloc[0]
        summary["refined_over_seeds"] = calibration.refine_seeds
        summary["proposed_defaults"] = {n: (int(chosen[n]) if PARAMETER_INDEX[n].kind is int
                                            else float(chosen[n])) for n in calibration.priors}
        summary["proposed_fit_medians"] = {t: float(chosen[t]) for t in calibration.targets}
        summary["refinement_seeds"] = refine_seeds(calibration.refine_seeds, calibration.seed)
    if "prediction" in frames:
        summary["holdout_prediction"] = {
            row.pattern: {"median": float(row.predicted_median), "p05": float(row.predicted_p05),
                          "p95": float(row.predicted_p95)} for row in frames["prediction"].itertuples()}
    path = out / "calibration.json"
    path.write_text(json.dumps(summary, indent=2))
    return paths + [path]


def run_calibration(path: Path, out: Path, *, workers: int = 1, quiet: bool = False, runs: Path | None = None,
                    rerun_changed: bool = False) -> int:
    """`estate-sim calibrate`: the ABC run and its files.

    The runs are stored in `runs` (default OUT/runs) as they finish: the same command again
    resumes a stopped calibration and reuses every stored run whose identity is unchanged.
    """
    calibration = load_calibration(path)
    total = calibration.samples * calibration.seeds_per_sample
    with ProgressBar(total, label=f"calibrate {calibration.name}", enabled=not quiet) as bar:
        frames = abc_rejection(calibration, workers=workers, progress=bar.update,
                               runs=out / "runs" if runs is None else runs, rerun_changed=rerun_changed,
                               flag="--out" if runs is None else "--runs")
    written = write_calibration(out, calibration, frames)
    if not quiet:
        print(frames["posterior"].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print()
        print(frames["fit"].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if "prediction" in frames:
            print()
            print(frames["prediction"].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print("wrote " + ", ".join(str(p) for p in written))
    return 0

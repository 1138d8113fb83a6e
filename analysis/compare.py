"""`estate-sim compare RESULTS`: policies of a sweep compared, with honest uncertainty.

From a sweep's results folder (analysis/results.py) this makes

- ``timeseries``: per policy and month, the mean over runs and a band (95% CI of the mean by
  default, or the 95% envelope of the runs);
- ``final_distributions``: each policy's final values (a run's mean over its last 12 months,
  sim/outputs.py), one point per run, over a box (quartiles; whiskers 1.5 IQR);
- ``paired_differences``: each policy minus the baseline, run by run on (design_point, replicate)
  — common random numbers — with a BCa bootstrap 95% CI of the mean difference;
- ``differences_by_area_size`` and ``differences_by_housing_type``: the same for the areas'
  household-weighted means, split into small (< 200 households) and large management areas, and
  by housing type (groups are the areas at the END of the run: a merged area counts as large);
- ``comparison_table`` and ``subgroup_table`` (CSV and Markdown): means, intervals, differences;
- with two policies or more, ``ranking.csv`` and the ``ranking`` figure: per headline measure and
  pair of policies, the probability that one beats the other over the (design point, replicate)
  pairs — over parameter sets × seeds for a posterior sweep — and ``difference_bands.csv`` with
  the ``differences_under_uncertainty`` figure: each policy's differences from the baseline with
  a band over seeds and a band over parameter sets × seeds (analysis/ranking.py);
- with two policies or more, ``conclusions.csv``: per policy and ranked metric, P(better than the
  baseline) pooled and per model variant, whether the conclusion is robust, and where it is not
  the PRIM box of factors in which it flips (analysis/conclusions.py).

Every figure says over what its band is: seeds, design points × seeds, or parameter sets × seeds.

Failed runs are counted per policy in the tables, the captions and on stdout; a run whose partner
failed is excluded from the paired differences only, and counted there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.conclusions import VARIANT, conclusions, conclusions_display, conclusions_note, conclusions_text
from analysis.drawing import FigureHelper, FigureJob, weight
from analysis.factors import design_point_table
from analysis.ranking import INTERVAL, difference_bands, ranking, summary_text, versus_baseline
from analysis.results import (
    district_names,
    factor_names,
    load_areas,
    load_manifest,
    load_runs,
    load_timeseries,
    scenario_labels,
)
from analysis.style import district_title, label, metric_title, metric_unit, policy_order
from analysis.uncertainty import (
    CONFIDENCE,
    N_RESAMPLES,
    PAIR_KEYS,
    Band,
    Pairing,
    bootstrap_mean_ci,
    household_weighted,
    paired_differences,
)
from sim import __version__
from sim.errors import InputError
from sim.experiments.store import KEY_COLUMNS, MANIFEST, git_commit
from sim.outputs import AREA_COLUMNS, FINAL_MONTHS, TIMESERIES_COLUMNS, final_values
from sim.text import did_you_mean

DEFAULT_METRICS = ("service_quality", "fee_collection_rate", "satisfaction", "active_firms",
                   "cost_per_household", "rc_workload")
OUTCOMES = tuple(c for c in TIMESERIES_COLUMNS if c not in ("run_id", "month", "year"))
"""Metrics `compare` accepts: the timeseries contract's outcome columns."""
AREA_OUTCOMES = tuple(c for c in ("service_quality", "fee_collection_rate", "satisfaction",
                                  "fund_per_m2") if c in AREA_COLUMNS)
DEFAULT_BASELINE = "status_quo"
SMALL_AREA_HOUSEHOLDS = 200
"""Management areas with fewer households than this are 'small' (the article's threshold)."""
SUBGROUPS = {"area size": "size_group", "housing type": "housing_type"}
"""Splits of the areas' outcomes: grouping's name -> column."""


@dataclass
class Comparison:
    """A sweep's policies compared: the data, the pairing and the summary tables."""

    folder: Path
    manifest: dict
    baseline: str
    metrics: list[str]
    order: list[str]
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    final: pd.DataFrame
    pairing: Pairing
    summary: pd.DataFrame
    subgroups: pd.DataFrame = field(default_factory=pd.DataFrame)
    subgroup_pairings: dict[str, Pairing] = field(default_factory=dict)
    factors: list[str] = field(default_factory=list)
    """The sweep's design factors (empty without a design)."""
    design_points: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per design point, policy and metric: factor values, mean and paired difference."""
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per ranked metric and ordered pair of policies: P(policy_a beats policy_b), paired."""
    bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per policy and metric: mean paired difference, seed band, parameter sets × seeds band."""
    conclusions: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per policy and ranked metric (pooled, then per variant): P(better), robust, PRIM's box."""

    @property
    def posterior(self) -> bool:
        """Whether the design points are a calibration's accepted parameter sets."""
        return (self.manifest.get("sweep", {}).get("factors") or {}).get("method") == "posterior"

    @property
    def scope(self) -> str:
        """What the runs vary over, for titles: 'seeds', 'parameter sets × seeds', ..."""
        if self.runs["design_point"].nunique() < 2:
            return "seeds (one parameter set)" if self.posterior else "seeds"
        return "parameter sets × seeds" if self.posterior else "design points × seeds"

    @property
    def points_name(self) -> str:
        """What a design point is: a parameter set (posterior) or a design point."""
        return "parameter sets" if self.posterior else "design points"

    @property
    def failures(self) -> pd.DataFrame:
        """Per policy: runs stored, finished ok, failed."""
        status = self.runs.groupby("scenario")["status"]
        table = pd.DataFrame({"runs": status.size(), "ok": status.apply(lambda s: (s == "ok").sum())})
        table["failed"] = table["runs"] - table["ok"]
        return table.reindex(self.order)

    @property
    def planned_runs(self) -> int | None:
        """How many runs of the compared scenarios the sweep plans (None when the manifest does not say)."""
        sweep = self.manifest.get("sweep", {})
        planned, listed = sweep.get("runs"), sweep.get("scenarios") or []
        if planned is None or not listed or len(self.order) >= len(listed):
            return planned
        return planned // len(listed) * len(self.order)  # --scenarios: the chosen ones' share

    @property
    def labels(self) -> dict[str, str]:
        """Each scenario's label, as its file set it (manifest.json)."""
        return scenario_labels(self.manifest)

    def label(self, name: str) -> str:
        """How figures and tables name a scenario."""
        return label(name, self.labels)

    @property
    def district(self) -> str:
        """The districts the sweep ran on, by readable name ('' when the manifest does not say)."""
        return ", ".join(district_title(name) for name in district_names(self.manifest))

    @property
    def final_year(self) -> int:
        """The last simulated year, whose months the final values average (FINAL_MONTHS)."""
        return int(self.timeseries["year"].max())

    def runs_text(self) -> str:
        """Per policy 'ok/stored, failed' for captions and stdout."""
        parts = [f"{self.label(name)} {row.ok} ok" + (f", {row.failed} FAILED" if row.failed else "")
                 for name, row in self.failures.iterrows()]
        text = "Runs per policy: " + "; ".join(parts) + "."
        stored = len(self.runs)
        if self.planned_runs and stored < self.planned_runs:
            text += f" Only {stored} of the sweep's {self.planned_runs} runs are stored (incomplete)."
        return text

    def unpaired_text(self) -> str:
        """Per policy, how many runs lost their partner and left the paired differences."""
        lost = self.pairing.unpaired.groupby("scenario").size()
        if lost.empty:
            return "Every run is paired with the baseline's."
        return ("Unpaired runs (partner failed), left out of the differences only: "
                + "; ".join(f"{self.label(name)} {n}" for name, n in lost.items()) + ".")


def _check_metrics(metrics: Sequence[str]) -> list[str]:
    metrics = list(dict.fromkeys(metrics))
    for metric in metrics:
        if metric not in OUTCOMES:
            raise InputError("command line", "--metrics",
                             f"unknown metric {metric!r} (choose from {', '.join(OUTCOMES)})")
    if not metrics:
        raise InputError("command line", "--metrics", "give at least one metric")
    return metrics


def _interval_columns(values: np.ndarray, prefix: str) -> dict[str, float | str | int]:
    ci = bootstrap_mean_ci(values)
    return {f"{prefix}mean": ci.estimate, f"{prefix}low": ci.low, f"{prefix}high": ci.high,
            f"{prefix}ci_method": ci.method}


def _summarise(values: pd.DataFrame, pairing: Pairing, metrics: Sequence[str], order: Sequence[str],
               baseline: str, groups: Sequence[str] = ()) -> pd.DataFrame:
    rows = []
    keys = ["scenario", *groups]
    by_cell = dict(tuple(values.groupby(keys, sort=False)))
    diffs = dict(tuple(pairing.differences.groupby(keys, sort=False)))
    lost = {(k if isinstance(k, tuple) else (k,)): n
            for k, n in pairing.unpaired.groupby(keys, sort=False).size().items()}
    cells = sorted(by_cell, key=lambda k: (order.index(k[0]), *map(str, k[1:])))
    for cell in cells:
        runs = by_cell[cell]
        for metric in metrics:
            row = dict(zip(keys, cell, strict=True))
            row.update(metric=metric, unit=metric_unit(metric), n=len(runs))
            row.update(_interval_columns(runs[metric].to_numpy(), ""))
            row["p2.5"], row["p97.5"] = np.quantile(runs[metric], [0.025, 0.975])
            if cell[0] != baseline:
                diff = diffs.get(cell)
                paired = diff[metric].to_numpy() if diff is not None else np.array([])
                row.update(_interval_columns(paired, "diff_"))
                row.update(pairs=len(paired), unpaired=int(lost.get(cell, 0)))
            rows.append(row)
    table = pd.DataFrame(rows)
    if "pairs" in table:
        table = table.astype({"pairs": "Int64", "unpaired": "Int64"})
    return table


def default_baseline(scenarios: Sequence[str]) -> str:
    """The baseline when none is given: status_quo if the sweep has it, else its first scenario."""
    return DEFAULT_BASELINE if DEFAULT_BASELINE in scenarios else scenarios[0]


def _chosen_scenarios(scenarios: list[str], chosen: Sequence[str] | None, folder: Path) -> list[str]:
    if not chosen:
        return scenarios
    for name in chosen:
        if name not in scenarios:
            raise InputError("command line", "--scenarios", f"no scenario {name!r} in {folder}"
                             f"{did_you_mean(name, scenarios)} (it has {', '.join(scenarios)})")
    return [s for s in scenarios if s in chosen]


def compare_results(folder: str | Path, baseline: str | None = None,
                    metrics: Sequence[str] = DEFAULT_METRICS,
                    scenarios: Sequence[str] | None = None) -> Comparison:
    """Load a results folder and compare its policies with the baseline (tables, no figures).

    Without a baseline: status_quo if the sweep has it, else the sweep's first scenario (of
    ``scenarios``, when given: only those are compared, and the baseline with them).
    """
    folder = Path(folder)
    manifest = load_manifest(folder)
    metrics = _check_metrics(metrics)
    runs = load_runs(folder)
    every = list(dict.fromkeys(
        [s["name"] for s in manifest.get("sweep", {}).get("scenarios", [])] + list(runs["scenario"])))
    chosen = _chosen_scenarios(every, scenarios, folder)
    baseline = baseline or default_baseline(every if DEFAULT_BASELINE in every else chosen)
    if baseline not in every:
        raise InputError("command line", "--baseline",
                         f"no scenario {baseline!r} in {folder} (it has {', '.join(every)})")
    scenarios = [s for s in every if s in chosen or s == baseline]
    runs = runs[runs["scenario"].isin(scenarios)].reset_index(drop=True)
    ok = runs[runs["status"] == "ok"]
    if ok.empty:
        first = runs["error"].dropna().iloc[0] if runs["error"].notna().any() else "no runs stored"
        raise InputError(str(folder), None, f"no run finished ok ({len(runs)} stored; "
                         f"first error: {first})")
    order = policy_order([s for s in scenarios if s in set(runs["scenario"])], first=baseline)
    timeseries = load_timeseries(folder, columns=metrics, scenarios=scenarios)
    final = final_values(timeseries, metrics, KEY_COLUMNS)
    pairing = paired_differences(final, baseline, metrics)
    summary = _summarise(final, pairing, metrics, order, baseline)
    comparison = Comparison(folder, manifest, baseline, metrics, order, runs, timeseries, final,
                            pairing, summary)
    factors = [name for name in factor_names(folder) if name in runs.columns]
    if factors and runs["design_point"].nunique() > 1:
        comparison.factors = factors
        comparison.design_points = design_point_table(final, runs, factors, pairing.differences,
                                                      metrics, order)
    if len(order) > 1:
        comparison.ranking = ranking(final, metrics, order)
        comparison.bands = difference_bands(pairing.differences, metrics, order)
        design = [*factors, *([VARIANT] if VARIANT in runs.columns and VARIANT not in factors else [])]
        comparison.conclusions = conclusions(pairing.differences, runs, metrics, order, baseline,
                                             design if runs["design_point"].nunique() > 1 else [])
    area_metrics = [m for m in metrics if m in AREA_OUTCOMES]
    if area_metrics:
        _add_subgroups(comparison, load_areas(folder, scenarios=scenarios), area_metrics)
    return comparison


def _add_subgroups(comparison: Comparison, areas: pd.DataFrame, metrics: list[str]) -> None:
    small = areas["households"] < SMALL_AREA_HOUSEHOLDS
    areas = areas.assign(size_group=np.where(small, f"small (< {SMALL_AREA_HOUSEHOLDS} hh)",
                                             f"large (≥ {SMALL_AREA_HOUSEHOLDS} hh)"))
    tables = []
    for grouping, column in SUBGROUPS.items():
        values = household_weighted(areas, [column], metrics)
        pairing = paired_differences(values, comparison.baseline, metrics, groups=[column])
        comparison.subgroup_pairings[grouping] = pairing
        table = _summarise(values, pairing, metrics, comparison.order, comparison.baseline, [column])
        tables.append(table.rename(columns={column: "group"}).assign(grouping=grouping))
    subgroups = pd.concat(tables, ignore_index=True)
    comparison.subgroups = subgroups[["grouping", *subgroups.columns.drop("grouping")]]


def number_text(value: float) -> str:
    """A number with as many decimals as its size needs ('–' when missing)."""
    if not np.isfinite(value):
        return "–"
    magnitude = abs(value)
    digits = 3 if magnitude < 10 else 1 if magnitude < 1000 else 0
    return f"{value:,.{digits}f}"


def interval_text(row: pd.Series, prefix: str) -> str:
    """'mean [low, high]' from a summary row's columns <prefix>mean, <prefix>low, <prefix>high."""
    mean, low, high = (row.get(f"{prefix}{k}", np.nan) for k in ("mean", "low", "high"))
    if not np.isfinite(mean):
        return "–"
    return f"{number_text(mean)} [{number_text(low)}, {number_text(high)}]"


def markdown_table(frame: pd.DataFrame) -> str:
    """A frame as a Markdown table, numbers with as many decimals as their size needs."""
    def cell(value) -> str:
        return number_text(float(value)) if isinstance(value, float | np.floating) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _markdown(table: pd.DataFrame, comparison: Comparison, groups: Sequence[str] = ()) -> str:
    failures = comparison.failures
    header = [*groups, "policy", "runs ok / failed", "mean [95% CI]", "2.5–97.5% of runs",
              f"Δ vs {comparison.label(comparison.baseline)} [95% CI]", "pairs (unpaired)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        name = row["scenario"]
        is_baseline = name == comparison.baseline
        cells = [*(str(row[c]) for c in groups), comparison.label(name),
                 f"{failures.loc[name, 'ok']} / {failures.loc[name, 'failed']}",
                 interval_text(row, ""), f"{number_text(row['p2.5'])} – {number_text(row['p97.5'])}",
                 "(baseline)" if is_baseline else interval_text(row, "diff_"),
                 "" if is_baseline else f"{row['pairs']} ({row['unpaired']})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def methods_text(comparison: Comparison) -> str:
    """What the numbers are: final values, intervals, pairing, failures."""
    points = comparison.runs["design_point"].nunique()
    return (
        f"Final value: a run's mean over its last {FINAL_MONTHS} months (year "
        f"{comparison.final_year}). "
        f"Means over runs ({points} {comparison.points_name[:-1]}{'s' if points > 1 else ''} × "
        "replicates) with "
        f"{100 * CONFIDENCE:g}% BCa bootstrap CIs ({N_RESAMPLES} resamples, seeded); "
        "'2.5–97.5% of runs' is the spread of the runs themselves. Δ: the mean of run-by-run "
        f"differences from {comparison.label(comparison.baseline)}, paired on ({', '.join(PAIR_KEYS)}) — "
        "common random numbers — with its BCa bootstrap CI. " + comparison.runs_text() + " "
        + comparison.unpaired_text())


def comparison_markdown(comparison: Comparison) -> str:
    """The comparison table (and the subgroup table) as Markdown, with a note on methods."""
    where = f" on {comparison.district}" if comparison.district else ""
    parts = [f"# Policies compared with {comparison.label(comparison.baseline)}{where}", "",
             methods_text(comparison)]
    for metric in comparison.metrics:
        part = comparison.summary[comparison.summary["metric"] == metric]
        parts += ["", f"## {metric_title(metric)} ({metric_unit(metric)})", "",
                  _markdown(part, comparison)]
    if not comparison.subgroups.empty:
        parts += ["", "# By management area (household-weighted means over each run's areas at the "
                  "end of the run)", "",
                  f"Small areas: fewer than {SMALL_AREA_HOUSEHOLDS} households. Groups are the "
                  "areas at the end of the run, so mergers move households from small to large "
                  "areas: compare within a policy's own composition. A run with no area of a group "
                  "has no value for it; such runs count as unpaired."]
        for (grouping, metric), part in comparison.subgroups.groupby(["grouping", "metric"], sort=False):
            parts += ["", f"## {metric_title(metric)} ({metric_unit(metric)}) by {grouping}", "",
                      _markdown(part, comparison, ["group"])]
    if not comparison.ranking.empty:
        parts += ["", f"# Ranking over {comparison.scope}", "", RANKING_NOTE, "",
                  markdown_table(ranking_wide(comparison))]
    if not comparison.conclusions.empty:
        parts += ["", "# Conclusions that survive the assumptions", "",
                  conclusions_note(comparison.baseline, comparison.labels), "",
                  markdown_table(conclusions_display(comparison.conclusions, comparison.labels))]
    if comparison.factors:
        parts += ["", "# Per design point", "", DESIGN_POINT_NOTE]
        for metric in comparison.metrics:
            parts += ["", f"## {metric_title(metric)} ({metric_unit(metric)})", "",
                      markdown_table(design_point_wide(comparison, metric))]
    return "\n".join(parts) + "\n"


DESIGN_POINT_NOTE = ("Each row is a design point: its factor values, each policy's mean final value "
                     "over its replicates, and (Δ) the mean paired difference from the baseline at "
                     "that point. design_points.csv has the same in long form.")


RANKING_NOTE = ("P(beats baseline): the share of the paired runs — the same (design point, seed) under "
                "both policies — in which the policy's final value is better than the baseline's (ties "
                "count half); in brackets, the share of design points (parameter sets) at which its "
                "mean over the seeds is better. Every pair of policies is in ranking.csv.")


def ranking_wide(comparison: Comparison) -> pd.DataFrame:
    """One row per policy other than the baseline, one column per ranked metric: P(beats baseline)."""
    versus = versus_baseline(comparison.ranking, comparison.baseline)
    columns = {}
    for metric, part in versus.groupby("metric", sort=False):
        title = f"{metric_title(metric)} ({part['better'].iloc[0]} is better)"
        columns[title] = {row.policy_a: f"{row.p_a_better:.2f} [{row.p_a_better_sets:.2f}]"
                          for row in part.itertuples()}
    wide = pd.DataFrame(columns).reindex([n for n in comparison.order if n != comparison.baseline])
    wide.index = [comparison.label(name) for name in wide.index]
    return wide.rename_axis(f"P(beats {comparison.label(comparison.baseline)})").reset_index()


def design_point_wide(comparison: Comparison, metric: str) -> pd.DataFrame:
    """One row per design point: the factors, each policy's mean and its Δ from the baseline."""
    part = comparison.design_points[comparison.design_points["metric"] == metric]
    means = part.pivot(index="design_point", columns="scenario", values="mean")
    diffs = part.pivot(index="design_point", columns="scenario", values="diff_mean")
    columns = {}
    for name in comparison.order:
        if name in means:
            columns[comparison.label(name)] = means[name]
        if name != comparison.baseline and name in diffs:
            columns[f"Δ {comparison.label(name)}"] = diffs[name]
    factors = part.drop_duplicates("design_point").set_index("design_point")[comparison.factors]
    return factors.join(pd.DataFrame(columns)).reset_index()


def write_comparison(comparison: Comparison, out: str | Path, band: Band | None = None,
                     helper: FigureHelper | None = None) -> list[Path]:
    """Write the figures (PNG and SVG) and the tables (CSV and Markdown) into `out`.

    With a `helper` (analysis/drawing.py) a second process draws some of the figures.
    """
    # The figures are named, not imported: matplotlib is imported where the first is drawn, after
    # the helper has its own first (and `report` reusing a comparison draws none).
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    band = band or Band()
    c = comparison
    counts = {name: f"{row.ok} runs" + (f", {row.failed} failed" if row.failed else "")
              for name, row in c.failures.iterrows()}
    policies, panels = len(c.order), len(c.metrics)
    items: list[_Table | FigureJob] = [FigureJob("analysis.plots:timeseries_figure", out / "timeseries", dict(
        timeseries=c.timeseries, metrics=c.metrics, order=c.order, band=band, counts=counts,
        labels=c.labels,
        title=f"Policies compared — line: mean over runs; band: {band.describe(f'runs: {c.scope}')}",
        caption=c.runs_text() + " Bands that overlap do not show that policies do not differ: the "
                                "paired differences do (paired_differences)."), weight(panels, 2 * policies))]
    items.append(FigureJob("analysis.plots:distribution_figure", out / "final_distributions", dict(
        final=c.final, metrics=c.metrics, order=c.order, labels=c.labels,
        title=f"Final values (mean of the last {FINAL_MONTHS} months, year {c.final_year}), "
              f"one point per run ({c.scope}); box: quartiles, whiskers: 1.5 IQR",
        caption=c.runs_text()), weight(panels, 2 * policies)))
    if len(c.order) > 1:
        items.append(FigureJob("analysis.plots:difference_figure", out / "paired_differences", dict(
            summary=c.summary, metrics=c.metrics, order=c.order, baseline=c.baseline, labels=c.labels,
            title=f"Paired difference from {c.label(c.baseline)} in year {c.final_year}: mean; band: "
                  f"{100 * CONFIDENCE:g}% BCa bootstrap CI of the mean over {c.scope}",
            caption=c.runs_text() + " " + c.unpaired_text()), weight(panels, policies - 1)))
        for grouping, part in c.subgroups.groupby("grouping", sort=False) if not c.subgroups.empty else []:
            path = out / f"differences_by_{grouping.replace(' ', '_')}"
            area_metrics, groups = list(dict.fromkeys(part["metric"])), part["group"].nunique()
            items.append(FigureJob("analysis.plots:difference_figure", path, dict(
                summary=part, metrics=area_metrics, order=c.order,
                baseline=c.baseline, group_column="group", labels=c.labels,
                title=f"Paired difference from {c.label(c.baseline)} by {grouping} (household-weighted, "
                      f"areas at the end of the run; band: {100 * CONFIDENCE:g}% CI over {c.scope})",
                caption="Runs without an area of a group, or whose partner failed, are left out of "
                        "that group's difference. " + c.runs_text()),
                weight(len(area_metrics), groups * (policies - 1))))
        items += _ranking_items(c, out)
    shown = figure_factors(c)
    for metric in c.metrics if shown else []:
        items.append(FigureJob("analysis.factors:factor_figure", out / f"factor_{metric}", dict(
            table=c.design_points, metric=metric, factors=shown, order=c.order, labels=c.labels,
            title="final value against each factor",
            caption="Point: a design point's mean final value over its replicates; line: the mean of "
                    "those points in bins of the factor. " + c.runs_text()),
            weight(len(shown), 2 * policies)))
    if c.factors:
        items.append(_csv(c.design_points, out / "design_points.csv"))
    items.append(_csv(c.summary, out / "comparison_table.csv"))
    if not c.subgroups.empty:
        items.append(_csv(c.subgroups, out / "subgroup_table.csv"))
    items.append(_Table(out / "comparison_table.md",
                        lambda path: path.write_text(comparison_markdown(c), encoding="utf-8")))
    return _draw(items, helper)


@dataclass(frozen=True)
class _Table:
    """A table's file and how to write it: written while the helper draws its first figure."""

    path: Path
    write: Callable[[Path], object]


def _csv(frame: pd.DataFrame, path: Path) -> _Table:
    return _Table(path, lambda path: frame.to_csv(path, index=False, float_format="%.6g"))


def _draw(items: Sequence[_Table | FigureJob], helper: FigureHelper | None) -> list[Path]:
    # Draw the figures among `items` and write the tables; every file written, in the items' order.
    # The longest figures first (by their weight), taken in turn by this process and the helper:
    # the longest-processing-time rule, so that the two end close together.
    jobs = sorted((item for item in items if isinstance(item, FigureJob)), key=lambda job: -job.weight)
    tables = [item for item in items if isinstance(item, _Table)]
    drawn = (helper or FigureHelper(enabled=False)).draw(
        jobs, meanwhile=lambda: [table.write(table.path) for table in tables])
    paths = dict(zip((id(job) for job in jobs), drawn, strict=True))
    written = []
    for item in items:
        written += paths[id(item)] if isinstance(item, FigureJob) else [item.path]
    return written


MAX_FACTOR_PANELS = 12
"""Most factors the factor figures show (the assumptions drawn from priors are left out first)."""


def figure_factors(c: Comparison) -> list[str]:
    """The numeric factors the factor figures show: not the assumptions' draws, at most MAX_FACTOR_PANELS."""
    drawn = set((c.manifest.get("sweep", {}).get("factors") or {}).get("assumption_ranges") or [])
    points = c.design_points
    numeric = [f for f in c.factors if f in points and pd.api.types.is_numeric_dtype(points[f])]
    return ([f for f in numeric if f not in drawn] or numeric)[:MAX_FACTOR_PANELS]


def write_ranking(c: Comparison, out: Path, helper: FigureHelper | None = None) -> list[Path]:
    """ranking.csv and its figure, difference_bands.csv and its figure (two policies or more)."""
    out.mkdir(parents=True, exist_ok=True)
    return _draw(_ranking_items(c, out), helper)


def _ranking_items(c: Comparison, out: Path) -> list[_Table | FigureJob]:
    # The ranking's tables and figures, in write_ranking's order.
    items: list[_Table | FigureJob] = [_csv(c.ranking, out / "ranking.csv")]
    if c.ranking.empty:
        return items
    percent = f"{100 * INTERVAL:g}%"
    items.append(FigureJob("analysis.ranking:ranking_figure", out / "ranking", dict(
        table=c.ranking, order=c.order, labels=c.labels,
        title=f"P(policy a beats policy b) in year {c.final_year}, paired (the same seeds under every "
              f"policy)\nuncertainty: {c.scope}",
        caption=f"Cell: the share of ({c.points_name[:-1]}, seed) pairs in which policy a's final value "
                f"is better than policy b's (ties count half); uncertainty: {c.scope}. " + c.runs_text()),
        weight(c.ranking["metric"].nunique(), 2 * len(c.order))))
    items.append(_csv(c.conclusions, out / "conclusions.csv"))
    items.append(_csv(c.bands, out / "difference_bands.csv"))
    if c.bands.empty:  # no run of any policy was paired with the baseline's
        return items
    several = c.runs["design_point"].nunique() > 1
    bands = (f"bar: {percent} interval over seeds with the {c.points_name} held; pale band: "
             f"{percent} interval over {c.scope}" if several else
             f"bar: {percent} interval over seeds")
    items.append(FigureJob("analysis.ranking:bands_figure", out / "differences_under_uncertainty", dict(
        bands=c.bands, metrics=c.metrics, order=c.order, baseline=c.baseline, labels=c.labels,
        title=f"Paired difference from {c.label(c.baseline)} in year {c.final_year}\ndot: mean; {bands}",
        caption="Run-by-run differences on the same seeds (common random numbers), not intervals of "
                "the mean. " + ("The seed bar pools each "
                                f"{c.points_name[:-1]}'s differences about their own mean; the gap "
                                "between the bars is what parameter uncertainty adds. " if several
                                else "") + c.runs_text()), weight(len(c.metrics), 1.5 * (len(c.order) - 1))))
    return items


def terminal_table(comparison: Comparison) -> str:
    """Per metric and policy: mean [CI] and Δ [CI], for stdout."""
    lines = []
    for metric in comparison.metrics:
        lines.append(f"{metric_title(metric)} ({metric_unit(metric)}), year {comparison.final_year}")
        part = comparison.summary[comparison.summary["metric"] == metric]
        for _, row in part.iterrows():
            name = row["scenario"]
            diff = "" if name == comparison.baseline else f"   Δ {interval_text(row, 'diff_')}"
            lines.append(f"  {comparison.label(name):<40}{interval_text(row, ''):>32}{diff}")
    return "\n".join(lines)


def print_failures(comparison: Comparison) -> None:
    """What was compared, runs per policy, each failed run with its error, the unpaired runs."""
    where = f" on {comparison.district}" if comparison.district else ""
    print(f"{comparison.manifest.get('sweep', {}).get('name', comparison.folder.name)}{where}: "
          f"each policy paired with {comparison.label(comparison.baseline)}")
    print(comparison.runs_text())
    for _, run in comparison.runs[comparison.runs["status"] != "ok"].iterrows():
        print(f"  failed: {run['run_id']}: {run['error']}")
    print(comparison.unpaired_text())


SAVED = "comparison.json"
"""In a comparison folder: what was compared (its key), the files written, and (in SAVED_DIR)
the comparison's tables, so that `report` can reuse them instead of comparing again."""
SAVED_DIR = "data"
SAVED_FRAMES = ("final", "summary", "subgroups", "design_points", "ranking", "bands", "conclusions")


def comparison_key(folder: str | Path, baseline: str | None, metrics: Sequence[str],
                   scenarios: Sequence[str] | None, band: str = "ci") -> str:
    """What a comparison was made from: the runs, the manifest, the arguments and the code."""
    folder = Path(folder)
    digest = hashlib.sha256(pd.util.hash_pandas_object(load_runs(folder), index=False).to_numpy().tobytes())
    digest.update((folder / MANIFEST).read_bytes())
    digest.update(json.dumps({"baseline": baseline, "metrics": list(metrics), "band": band,
                              "scenarios": sorted(scenarios) if scenarios else None,
                              "version": __version__, "commit": git_commit()}).encode())
    return digest.hexdigest()


def save_comparison(c: Comparison, out: Path, key: str, written: Sequence[Path]) -> None:
    """Write the comparison's tables and its key beside its figures (read by load_comparison)."""
    data = Path(out) / SAVED_DIR
    data.mkdir(parents=True, exist_ok=True)
    frames = {name: getattr(c, name) for name in SAVED_FRAMES}
    frames.update(differences=c.pairing.differences, unpaired=c.pairing.unpaired)
    for name, frame in frames.items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    meta = {"key": key, "baseline": c.baseline, "metrics": c.metrics, "order": c.order,
            "factors": c.factors, "final_year": c.final_year,
            "files": [Path(p).name for p in written]}
    (Path(out) / SAVED).write_text(json.dumps(meta, indent=1), encoding="utf-8")


def load_comparison(folder: str | Path, out: Path, key: str) -> tuple[Comparison, list[Path]] | None:
    """The comparison saved in `out` with this key, and its files; None if there is none."""
    try:
        meta = json.loads((Path(out) / SAVED).read_text(encoding="utf-8"))
        if meta.get("key") != key:
            return None
        frames = {name: pd.read_parquet(Path(out) / SAVED_DIR / f"{name}.parquet")
                  for name in (*SAVED_FRAMES, "differences", "unpaired")}
    except (OSError, ValueError):  # none there, or damaged: compare again
        return None
    runs = load_runs(folder)
    runs = runs[runs["scenario"].isin(meta["order"])].reset_index(drop=True)
    comparison = Comparison(
        Path(folder), load_manifest(folder), meta["baseline"], meta["metrics"], meta["order"], runs,
        pd.DataFrame({"year": [meta["final_year"]]}), frames["final"],
        Pairing(frames["differences"], frames["unpaired"]), frames["summary"], frames["subgroups"],
        factors=meta["factors"], design_points=frames["design_points"], ranking=frames["ranking"],
        bands=frames["bands"], conclusions=frames["conclusions"])
    return comparison, [Path(out) / name for name in meta["files"]]


def run_compare(folder: Path, out: Path | None = None, baseline: str | None = None,
                metrics: Sequence[str] = DEFAULT_METRICS, band: str = "ci",
                scenarios: Sequence[str] | None = None) -> int:
    """The `compare` command: compare, write, and report failures and files on stdout.

    A helper process (analysis/drawing.py) starts first, to import matplotlib while this one
    compares, and then draws some of the figures.
    """
    with FigureHelper() as helper:
        comparison = compare_results(folder, baseline, metrics, scenarios)
        out = out or Path(folder) / "comparison"
        written = write_comparison(comparison, out, Band(band), helper)
    save_comparison(comparison, out, comparison_key(folder, baseline, metrics, scenarios, band), written)
    print_failures(comparison)
    print()
    print(terminal_table(comparison))
    if not comparison.ranking.empty:
        print()
        print(summary_text(comparison.ranking, comparison.baseline, comparison.scope,
                           comparison.points_name, comparison.labels))
        if not comparison.conclusions.empty:
            print()
            print(conclusions_text(comparison.conclusions, comparison.baseline, comparison.labels))
    print()
    print("wrote " + ", ".join(str(p) for p in written))
    return 0

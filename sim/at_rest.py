"""Is the status quo at rest after its burn-in? Yearly slopes of the headline outcomes, and a verdict.

A policy's effect is measured against the status quo. If the status quo still drifts after the
burn-in (buildings ageing toward their repair cycle, firms consolidating, payment habits settling),
a comparison mixes the policy's effect with the avoided or shared drift. This module measures the
drift the way docs/VALIDATION.md reports it: per run, the least-squares slope of the outcome's
yearly means over the run's years (per year); over several runs (seeds), the mean slope with its
95% interval. The district is *at rest* for an outcome when that interval includes 0 or lies
within ±REST_TOLERANCE a year. With one run the interval is the slope's own (from the residuals of
its yearly means). `estate-sim run` and `estate-sim sweep` print the verdict for status-quo runs
and, where it fails, the remedy: a longer burn-in (`params: {burn_in_years: …}`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

REST_OUTCOMES = ("satisfaction", "service_quality", "fee_collection_rate")
"""The outcomes whose trend must vanish in a status quo at rest."""
REST_TOLERANCE = 0.001
"""Largest drift (units a year) counted as at rest, whatever the interval (the issue's ±0.001)."""


@dataclass(frozen=True)
class Drift:
    """The drift of one outcome over one or more runs: mean slope a year and its 95% interval."""

    outcome: str
    slope: float
    low: float
    high: float
    runs: int

    @property
    def at_rest(self) -> bool:
        """The interval includes 0, or lies within ±REST_TOLERANCE a year."""
        return bool(self.low <= 0.0 <= self.high
                    or (-REST_TOLERANCE <= self.low and self.high <= REST_TOLERANCE))

    def text(self) -> str:
        """`satisfaction +0.0004/yr [-0.0001, +0.0009]`, and whether it is at rest."""
        verdict = "at rest" if self.at_rest else "DRIFTS"
        return f"{self.outcome} {self.slope:+.4f}/yr [{self.low:+.4f}, {self.high:+.4f}] {verdict}"


def yearly_slopes(timeseries: pd.DataFrame, outcomes=REST_OUTCOMES, keys=("run_id",)) -> pd.DataFrame:
    """Per run (`keys`): each outcome's least-squares slope (a year) over its yearly means."""
    yearly = timeseries.groupby([*keys, "year"], sort=False)[list(outcomes)].mean().reset_index()

    def slopes(frame: pd.DataFrame) -> pd.Series:
        years = frame["year"].to_numpy(dtype=float)
        if len(years) < 2:
            return pd.Series(np.nan, index=list(outcomes))
        return pd.Series({c: np.polyfit(years, frame[c].to_numpy(dtype=float), 1)[0] for c in outcomes})

    return yearly.groupby(list(keys), sort=False)[["year", *outcomes]].apply(slopes).reset_index()


def drift(timeseries: pd.DataFrame, outcomes=REST_OUTCOMES) -> list[Drift]:
    """The drift of each outcome over the runs of `timeseries` (one run: its own regression's interval)."""
    per_run = yearly_slopes(timeseries, outcomes)
    out = []
    for outcome in outcomes:
        values = per_run[outcome].dropna().to_numpy()
        if len(values) >= 2:
            mean = float(values.mean())
            half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
        elif len(values) == 1:
            mean, half = float(values[0]), _one_run_half_width(timeseries, outcome)
        else:
            continue
        out.append(Drift(outcome, mean, mean - half, mean + half, len(values)))
    return out


def _one_run_half_width(timeseries: pd.DataFrame, outcome: str) -> float:
    """Half the 95% interval of one run's slope, from the residuals of its yearly means."""
    yearly = timeseries.groupby("year")[outcome].mean()
    if len(yearly) < 3:
        return float("inf")
    years, values = yearly.index.to_numpy(dtype=float), yearly.to_numpy(dtype=float)
    if np.ptp(values) == 0:
        return 0.0  # a flat series: its slope is exactly 0
    fit = stats.linregress(years, values)
    return float(stats.t.ppf(0.975, len(yearly) - 2) * fit.stderr)


def rest_report(drifts: list[Drift], burn_in_years: int, *, label: str = "status quo") -> list[str]:
    """Lines for the command line: the slopes, and a warning with the remedy where the district drifts."""
    if not drifts:
        return []
    lines = [f"{label} after a {burn_in_years}-year burn-in ({drifts[0].runs} run"
             f"{'s' if drifts[0].runs != 1 else ''}): " + "; ".join(d.text() for d in drifts)]
    drifting = [d.outcome for d in drifts if not d.at_rest]
    if drifting:
        lines.append(f"WARNING: the {label} is not at rest after its burn-in ({', '.join(drifting)} "
                     f"drift by more than {REST_TOLERANCE} a year): a policy's effect against it mixes in "
                     f"that drift; use a longer burn-in, e.g. params: {{burn_in_years: {2 * burn_in_years}}}")
    return lines

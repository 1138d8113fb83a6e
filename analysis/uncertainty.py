"""Uncertainty of sweep results: bootstrap intervals, t intervals, and paired policy differences.

Intervals are 95% unless asked otherwise. The bootstrap resamples runs (``N_RESAMPLES`` times, from
a seeded generator) and reads the interval off the resampled means by the BCa method (bias-corrected
and accelerated; Efron 1987), or by plain percentiles. Differences between policies are PAIRED:
replicate r of design point d meets the same random numbers under every policy (common random
numbers, sim/experiments/seeds.py), so the difference is taken run by run on (design_point,
replicate) and its mean bootstrapped; runs whose partner failed are left out of the difference and
counted.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

N_RESAMPLES = 4000
"""Bootstrap resamples per interval (Monte Carlo error of a 95% bound: about ±0.3 percentile points)."""
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 20240601
"""Root seed of the bootstrap's generator, so that a table is the same every time it is made."""
CACHED_RESAMPLES = 1_000_000
"""Largest resampling (values × resamples, 8 MB of positions) kept for the next interval of as many values."""
PAIR_KEYS = ("design_point", "replicate")
"""What pairs a run of one policy with the baseline's: same design point, same replicate (seed)."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval, and how the interval was made."""

    estimate: float
    low: float
    high: float
    n: int
    method: str


def bootstrap_mean_ci(values: Sequence[float] | np.ndarray, *, confidence: float = CONFIDENCE,
                      n_resamples: int = N_RESAMPLES, method: str = "bca",
                      rng: np.random.Generator | None = None) -> Interval:
    """Bootstrap confidence interval of the mean of `values` (BCa or percentile).

    Fewer than two values give no interval (NaN bounds); values that are all equal give a
    zero-width interval (method "degenerate"). BCa falls back to percentile when its
    acceleration is undefined, and says so in ``method``.
    """
    if method not in ("bca", "percentile"):
        raise ValueError(f"unknown bootstrap method {method!r} (bca or percentile)")
    x = np.asarray(values, dtype=float)
    if np.isnan(x).any():
        raise ValueError("values contain NaN")
    n = len(x)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0, "none")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, np.nan, np.nan, 1, "none")
    if np.all(x == x[0]):
        return Interval(mean, mean, mean, n, "degenerate")
    if rng is None and n * n_resamples <= CACHED_RESAMPLES:
        resamples = _seeded_resamples(n, n_resamples)
    else:
        rng = rng if rng is not None else np.random.default_rng(BOOTSTRAP_SEED)
        resamples = rng.integers(0, n, size=(n_resamples, n))
    means = x[resamples].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    quantiles = np.array([alpha, 1.0 - alpha])
    if method == "bca":
        adjusted = _bca_quantiles(x, means, mean, quantiles)
        if adjusted is not None:
            low, high = np.quantile(means, adjusted)
            return Interval(mean, float(low), float(high), n, "bca")
        method = "percentile (BCa undefined)"
    low, high = np.quantile(means, quantiles)
    return Interval(mean, float(low), float(high), n, method)


@functools.lru_cache(maxsize=8)
def _seeded_resamples(n: int, n_resamples: int) -> np.ndarray:
    # The resampled positions a fresh generator of BOOTSTRAP_SEED draws for n values: the same
    # for every interval of n values, so drawn once (a comparison asks for hundreds).
    resamples = np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, size=(n_resamples, n))
    resamples.flags.writeable = False
    return resamples


def _bca_quantiles(x: np.ndarray, means: np.ndarray, mean: float,
                   quantiles: np.ndarray) -> np.ndarray | None:
    # Bias correction from the share of resampled means below the estimate; acceleration from
    # the jackknife (Efron & Tibshirani 1993, ch. 14). scipy.special is imported where it is used:
    # `report` reusing a comparison needs none of it (half a second of import).
    from scipy import special

    below = np.mean(means < mean) + 0.5 * np.mean(means == mean)
    if not 0.0 < below < 1.0:
        return None
    z0 = special.ndtri(below)  # the normal quantile (scipy.stats.norm.ppf), without scipy.stats' import
    jackknife = (x.sum() - x) / (len(x) - 1)
    d = jackknife.mean() - jackknife
    spread = np.sum(d**2)
    acceleration = np.sum(d**3) / (6.0 * spread**1.5) if spread > 0 else 0.0
    z = special.ndtri(quantiles)
    adjusted = special.ndtr(z0 + (z0 + z) / (1.0 - acceleration * (z0 + z)))
    return adjusted if np.all(np.isfinite(adjusted)) else None


def t_interval(frame: pd.DataFrame, by: Sequence[str], column: str,
               confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per group: mean, n, and the t-based confidence interval of the mean of `column`."""
    from scipy import special

    grouped = frame.groupby(list(by))[column]
    out = grouped.agg(mean="mean", sd="std", n="count")
    half = (special.stdtrit(np.maximum(out["n"] - 1, 1), 0.5 + confidence / 2.0)  # scipy.stats.t.ppf
            * out["sd"] / np.sqrt(out["n"]))
    half = half.where(out["n"] > 1)
    return out.assign(low=out["mean"] - half, high=out["mean"] + half)


def envelope(frame: pd.DataFrame, by: Sequence[str], column: str,
             coverage: float = CONFIDENCE) -> pd.DataFrame:
    """Per group: mean, n, and the central `coverage` percentile range of `column` over runs."""
    grouped = frame.groupby(list(by))[column]
    tail = (1.0 - coverage) / 2.0
    return pd.concat({"mean": grouped.mean(), "n": grouped.count(),
                      "low": grouped.quantile(tail), "high": grouped.quantile(1.0 - tail)}, axis=1)


@dataclass
class Pairing:
    """Run-by-run differences from the baseline, and the runs that could not be paired."""

    differences: pd.DataFrame
    """scenario, group keys, design_point, replicate and one column per metric (policy − baseline)."""
    unpaired: pd.DataFrame
    """scenario, group keys, design_point, replicate, side ('policy' or 'baseline': the one that ran)."""


def paired_differences(values: pd.DataFrame, baseline: str, metrics: Sequence[str],
                       groups: Sequence[str] = ()) -> Pairing:
    """Each policy's values minus the baseline's, matched on (design_point, replicate) and groups.

    `values` has one row per run (and group) that finished ok: scenario, design_point, replicate,
    the group columns and the metrics. A policy run without a baseline partner (its baseline run
    failed, or the group is missing there) and a baseline run without a policy partner are listed
    in ``unpaired``, never silently dropped.
    """
    keys = [*PAIR_KEYS, *groups]
    base = values[values["scenario"] == baseline].set_index(keys)[list(metrics)]
    if base.index.has_duplicates:
        raise ValueError(f"baseline {baseline!r} has more than one row per {', '.join(keys)}")
    differences, unpaired = [], []
    for scenario, runs in values[values["scenario"] != baseline].groupby("scenario", sort=False):
        runs = runs.set_index(keys)[list(metrics)]
        both = runs.index.intersection(base.index)
        diff = (runs.loc[both] - base.loc[both]).reset_index()
        differences.append(diff.assign(scenario=scenario))
        for side, index in (("policy", runs.index.difference(base.index)),
                            ("baseline", base.index.difference(runs.index))):
            if len(index):
                unpaired.append(index.to_frame(index=False).assign(scenario=scenario, side=side))
    columns = ["scenario", *keys]
    diffs = (pd.concat(differences, ignore_index=True)[[*columns, *metrics]] if differences
             else pd.DataFrame(columns=[*columns, *metrics]))
    lost = (pd.concat(unpaired, ignore_index=True)[[*columns, "side"]] if unpaired
            else pd.DataFrame(columns=[*columns, "side"]))
    return Pairing(diffs, lost)


def household_weighted(areas: pd.DataFrame, by: Sequence[str], metrics: Sequence[str],
                       weight: str = "households") -> pd.DataFrame:
    """Per run and group: the household-weighted mean of each metric over the areas, and households."""
    keys = ["scenario", *PAIR_KEYS, *by]
    weighted = areas[list(metrics)].mul(areas[weight], axis=0)
    frame = pd.concat([areas[keys + [weight]], weighted], axis=1)
    sums = frame.groupby(keys, sort=False, observed=True).sum(numeric_only=True)
    out = sums[list(metrics)].div(sums[weight], axis=0)
    return out.assign(households=sums[weight]).reset_index()


@dataclass(frozen=True)
class Band:
    """What the shaded band around a figure's mean line is: a CI of the mean, or a percentile envelope.

    Here, not with the figures: a comparison names its band before any figure module (matplotlib)
    is imported (analysis/drawing.py).
    """

    kind: str = "ci"
    level: float = 0.95

    def describe(self, over: str = "runs") -> str:
        """The band in words, for a figure's title; `over` says what the runs vary over."""
        percent = f"{100 * self.level:g}%"
        if self.kind == "ci":
            return f"{percent} CI of the mean (t interval over {over})"
        tail = 50 * (1 - self.level)
        return f"{percent} envelope of {over} ({tail:g}th-{100 - tail:g}th percentile)"

    def table(self, frame: pd.DataFrame, metric: str) -> pd.DataFrame:
        """Per scenario and time: mean, low, high of `metric`."""
        if self.kind == "ci":
            return t_interval(frame, ["scenario", "years"], metric, self.level)
        return envelope(frame, ["scenario", "years"], metric, self.level)

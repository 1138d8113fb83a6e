"""A sweep's factor design, not pooled: outcomes per design point and against each factor.

A sweep with ``factors:`` runs every scenario at every design point (sim/experiments/sweep.py).
``compare`` and ``report`` then show, besides the pooled comparison,

- ``design_point_table``: per design point and policy, the factors' values, the mean final value
  of each outcome over the replicates, and the mean paired difference from the baseline at that
  point (replicate r of a point has the same seed under every policy);
- ``factor_figure``: per outcome, one panel per factor — each policy's design-point means
  against the factor's value, and a line through their means in bins of the factor (up to
  ``BINS`` quantile bins, or each level of a grid factor), so a trend shows through the other
  factors' variation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.style import colour, dashes, figure_rc, metric_title, metric_unit

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

BINS = 8
"""Most bins of a factor's values the trend line averages over (fewer when it has fewer levels)."""


def design_point_table(final: pd.DataFrame, runs: pd.DataFrame, factors: Sequence[str],
                       differences: pd.DataFrame, metrics: Sequence[str],
                       order: Sequence[str]) -> pd.DataFrame:
    """Long table: design_point, each factor, scenario, metric, runs, mean, diff_mean, pairs.

    `final` has one row per ok run (keys and metrics); `differences` is the pairing's run-by-run
    differences from the baseline (no rows for the baseline itself, whose diff is empty).
    """
    points = runs.drop_duplicates("design_point").set_index("design_point")[list(factors)]
    means = (final.groupby(["design_point", "scenario"])[list(metrics)].agg(["mean", "count"])
             .stack(level=0, future_stack=True).rename_axis(["design_point", "scenario", "metric"])
             .rename(columns={"count": "runs"}))
    diffs = (differences.groupby(["design_point", "scenario"])[list(metrics)].agg(["mean", "count"])
             .stack(level=0, future_stack=True).rename_axis(["design_point", "scenario", "metric"])
             .rename(columns={"mean": "diff_mean", "count": "pairs"}))
    table = means.join(diffs).reset_index()
    table = table.join(points, on="design_point")
    rank = {name: i for i, name in enumerate(order)}
    table = table.assign(_p=table["scenario"].map(rank), _m=table["metric"].map(
        {m: i for i, m in enumerate(metrics)}))
    table = table.sort_values(["_m", "design_point", "_p"]).drop(columns=["_p", "_m"])
    columns = ["design_point", *factors, "scenario", "metric", "runs", "mean", "diff_mean", "pairs"]
    return table[columns].astype({"runs": "int64", "pairs": "Int64"}).reset_index(drop=True)


def _trend(x: pd.Series, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    # Means of y in quantile bins of x (each distinct value its own bin when there are few).
    levels = np.unique(x)
    if len(levels) <= BINS:
        grouped = y.groupby(x.to_numpy()).mean()
        return grouped.index.to_numpy(dtype=float), grouped.to_numpy()
    bins = pd.qcut(x, BINS, duplicates="drop")
    grouped = pd.DataFrame({"x": x, "y": y}).groupby(bins, observed=True).mean()
    return grouped["x"].to_numpy(), grouped["y"].to_numpy()


def factor_figure(table: pd.DataFrame, metric: str, factors: Sequence[str], order: Sequence[str],
                  *, labels: Mapping[str, str] | None = None, title: str,
                  caption: str | None = None) -> plt.Figure:
    """One panel per factor: each policy's design-point means of `metric` against the factor."""
    from analysis.plots import COLUMNS, _caption, _grid, _legend, plt  # matplotlib where a figure is drawn

    part = table[table["metric"] == metric]
    present = [name for name in order if name in set(part["scenario"])]
    with plt.rc_context(figure_rc()):
        fig, axes = _grid(len(factors), 3.6)
        for ax, factor in zip(axes, factors, strict=True):
            for name in present:
                rows = part[part["scenario"] == name]
                ax.scatter(rows[factor], rows["mean"], color=colour(name), s=16, alpha=0.55, lw=0)
                x, y = _trend(rows[factor], rows["mean"])
                ax.plot(x, y, color=colour(name), ls=dashes(name), lw=2.2)
            ax.set_xlabel(factor)
            ax.set_ylabel(metric_unit(metric))
        fig.suptitle(f"{metric_title(metric)}: {title}")
        fig.tight_layout()
        _legend(fig, present, labels=labels)
        _caption(fig, caption, math.ceil(len(present) / COLUMNS))
    return fig

"""Which policy beats which, and by how much, under seed noise AND parameter uncertainty.

A sweep whose design points are parameter sets — the accepted sets of a calibration
(``factors: {method: posterior, ...}``, sim/experiments/posterior.py), or any factor design — runs
every policy at every (design point, replicate) with the same seed (common random numbers). So
for two policies a and b and an outcome, each (parameter set, seed) gives one paired comparison:

- ``ranking``: per metric and ordered pair (a, b), ``p_a_better``, the share of the (design point,
  replicate) pairs where a's final value is better than b's (ties count half; ``BETTER`` says
  which direction is better), so ``p_a_better(a, b) + p_a_better(b, a) = 1``; and
  ``p_a_better_sets``, the share of design points where a's mean over the replicates is better
  — the probability over parameter uncertainty alone. Metrics without a better direction
  (``active_firms``: more firms is neither good nor bad) are not ranked.
- ``difference_bands``: per policy and metric, its paired differences from the baseline — their
  mean, a 90% interval over seeds with the parameters held (each design point's differences
  about their own mean, pooled), and a 90% interval over parameter sets × seeds (all of them).
  The gap between the two bands is what parameter uncertainty adds to seed noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.style import figure_rc, label, metric_title

if TYPE_CHECKING:
    import matplotlib.pyplot as plt
from analysis.uncertainty import PAIR_KEYS

BETTER: dict[str, int] = {
    "service_quality": 1,
    "fee_collection_rate": 1,
    "satisfaction": 1,
    "committee_coverage": 1,
    "fund_per_m2": 1,
    "cost_per_household": -1,
    "rc_workload": -1,
    "incidents_per_1000hh": -1,
}
"""Per headline measure, which way is better: +1 higher, -1 lower (others are not ranked)."""
INTERVAL = 0.90
"""Coverage of the difference bands (5th–95th percentile)."""
RANKING_COLUMNS = ["metric", "policy_a", "policy_b", "p_a_better", "pairs", "p_a_better_sets", "sets",
                   "better"]


def ranked_metrics(metrics: Sequence[str]) -> list[str]:
    """The metrics that have a better direction, in the given order."""
    return [m for m in metrics if m in BETTER]


def _wins(a: np.ndarray, b: np.ndarray, direction: int) -> float:
    # Share of a beating b (ties half); NaN without pairs.
    if len(a) == 0:
        return np.nan
    gain = direction * (a - b)
    return float(np.mean(gain > 0) + 0.5 * np.mean(gain == 0))


def ranking(final: pd.DataFrame, metrics: Sequence[str], order: Sequence[str]) -> pd.DataFrame:
    """Per ranked metric and ordered pair of policies: the probability that policy_a beats policy_b.

    `final` has one row per ok run: scenario, design_point, replicate and the metrics. Only runs
    whose partner also finished are compared (``pairs`` counts them; ``sets`` the design points).
    """
    rows = []
    for metric in ranked_metrics(metrics):
        direction = BETTER[metric]
        wide = final.pivot_table(index=list(PAIR_KEYS), columns="scenario", values=metric,
                                 aggfunc="first")
        # Every run paired (no failures): each pair's rows are all rows, its means these.
        complete = wide.groupby(level="design_point").mean() if wide.notna().all().all() else None
        for a in order:
            for b in order:
                if a == b or a not in wide or b not in wide:
                    continue
                if complete is not None:
                    both, means = wide, complete
                else:
                    both = wide[[a, b]].dropna()
                    means = both.groupby(level="design_point").mean()
                rows.append({"metric": metric, "better": "higher" if direction > 0 else "lower",
                             "policy_a": a, "policy_b": b,
                             "p_a_better": _wins(both[a].to_numpy(), both[b].to_numpy(), direction),
                             "pairs": len(both),
                             "p_a_better_sets": _wins(means[a].to_numpy(), means[b].to_numpy(),
                                                      direction),
                             "sets": len(means)})
    return pd.DataFrame(rows, columns=RANKING_COLUMNS)


def difference_bands(differences: pd.DataFrame, metrics: Sequence[str], order: Sequence[str],
                     interval: float = INTERVAL) -> pd.DataFrame:
    """Per policy and metric: the mean paired difference and its two bands (seeds; sets × seeds).

    `differences` is the pairing's run-by-run differences from the baseline (scenario,
    design_point, replicate, metrics). The seed band is the mean plus the percentiles of each
    difference's deviation from its design point's mean, scaled by sqrt(k / (k - 1)) for a point
    of k replicates (a deviation from a sample mean is that much narrower than from the true
    one); with one design point it is the percentiles of the differences themselves. The
    parameter band is the percentiles of all differences (NaN with one design point).
    """
    tail = (1.0 - interval) / 2.0
    quantiles = [tail, 1.0 - tail]
    rows = []
    columns = ["scenario", "metric", "pairs", "sets", "diff_mean", "diff_low", "diff_high",
               "param_low", "param_high"]
    for scenario, part in differences.groupby("scenario", sort=False):
        points = part["design_point"].nunique()
        for metric in metrics:
            values = part[metric].to_numpy(dtype=float)
            row = {"scenario": scenario, "metric": metric, "pairs": len(values), "sets": points,
                   "diff_mean": np.nan, "diff_low": np.nan, "diff_high": np.nan,
                   "param_low": np.nan, "param_high": np.nan}
            if len(values):
                mean = float(values.mean())
                row["diff_mean"] = mean
                if points > 1:
                    grouped = part.groupby("design_point")[metric]
                    k = grouped.transform("size").to_numpy()
                    deviation = values - grouped.transform("mean").to_numpy()
                    scale = np.sqrt(np.where(k > 1, k / np.maximum(k - 1, 1), np.nan))
                    deviation = (deviation * scale)[k > 1]
                    if len(deviation):
                        row["diff_low"], row["diff_high"] = mean + np.quantile(deviation, quantiles)
                    row["param_low"], row["param_high"] = np.quantile(values, quantiles)
                else:
                    row["diff_low"], row["diff_high"] = np.quantile(values, quantiles)
            rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    if not table.empty:
        rank = {name: i for i, name in enumerate(order)}
        table = table.sort_values(["metric", "scenario"], key=lambda s: s.map(
            rank if s.name == "scenario" else {m: i for i, m in enumerate(metrics)}))
    return table.reset_index(drop=True)


def ranking_figure(table: pd.DataFrame, order: Sequence[str], *, title: str,
                   caption: str | None = None,
                   labels: Mapping[str, str] | None = None) -> plt.Figure:
    """One matrix per metric: row policy a, column policy b, cell the probability a beats b."""
    metrics = list(dict.fromkeys(table["metric"]))
    present = [name for name in order if name in set(table["policy_a"])]
    n = len(present)
    from analysis.plots import _caption, _grid, _wrapped, plt  # matplotlib only where a figure is drawn

    with plt.rc_context(figure_rc()):
        fig, axes = _grid(len(metrics), 0.55 * n + 1.6)
        image = None
        for i, (ax, metric) in enumerate(zip(axes, metrics, strict=True)):
            part = table[table["metric"] == metric]
            matrix = (part.pivot(index="policy_a", columns="policy_b", values="p_a_better")
                      .reindex(index=present, columns=present))
            image = ax.imshow(matrix.to_numpy(dtype=float), cmap="RdBu", vmin=0.0, vmax=1.0)
            for r in range(n):
                for c in range(n):
                    value = matrix.iat[r, c]
                    if np.isfinite(value):
                        ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=11,
                                color="white" if abs(value - 0.5) > 0.3 else "black")
            better = part["better"].iloc[0]
            ax.set_title(f"{metric_title(metric)}\n({better} is better)")
            ax.set_xticks(range(n), [str(k + 1) for k in range(n)])
            ax.set_xlabel("policy b")
            ax.set_yticks(range(n), [f"{k + 1} {_wrapped(name, labels)}" if i % 3 == 0 else str(k + 1)
                                     for k, name in enumerate(present)])
            ax.grid(False)
        fig.suptitle(title)
        fig.tight_layout()
        if image is not None:
            bar = fig.colorbar(image, ax=axes, shrink=0.8, pad=0.02)
            bar.set_label("P(policy a better than policy b)")
        key = "; ".join(f"{k + 1} = {label(name, labels)}" for k, name in enumerate(present))
        _caption(fig, f"Policies: {key}. " + (caption or ""), 0)
    return fig


def bands_figure(bands: pd.DataFrame, metrics: Sequence[str], order: Sequence[str], baseline: str, *,
                 title: str, caption: str | None = None,
                 labels: Mapping[str, str] | None = None) -> plt.Figure:
    """Each policy's paired difference from the baseline: its seed band inside its parameter band."""
    outer = ("param_low", "param_high") if bands["param_low"].notna().any() else None
    from analysis.plots import difference_figure

    return difference_figure(bands, metrics, order, baseline, title=title, caption=caption,
                             labels=labels, outer=outer)


def versus_baseline(table: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """The ranking's rows of each policy against the baseline (policy_b is the baseline)."""
    return table[table["policy_b"] == baseline]


def summary_text(table: pd.DataFrame, baseline: str, scope: str, points: str = "design points",
                 labels: Mapping[str, str] | None = None) -> str:
    """For stdout: per metric, each policy's probability of beating the baseline over `scope`.

    In brackets: over `points` (design points, parameter sets) alone, their means over the seeds.
    """
    lines = []
    for metric, part in table.groupby("metric", sort=False):
        better = part["better"].iloc[0]
        lines.append(f"{metric_title(metric)} ({better} is better): P(policy beats "
                     f"{label(baseline, labels)}) over {scope} [over {points} alone]")
        for _, row in versus_baseline(part, baseline).iterrows():
            by_point = f"[{row['p_a_better_sets']:.2f}]" if row["sets"] > 1 else "[–]"
            lines.append(f"  {label(row['policy_a'], labels):<40}{row['p_a_better']:>6.2f}  {by_point:>6}  "
                         f"({row['pairs']} pairs, {row['sets']} {points})")
    return "\n".join(lines)

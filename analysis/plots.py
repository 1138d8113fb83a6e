"""Figures of policy comparisons: mean over replicates with a 90% band (5th-95th percentile)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.style import METRIC_LABELS, colour, label  # noqa: E402

DEMO_METRICS = ("service_quality", "fee_collection_rate", "satisfaction")


def policy_comparison_figure(timeseries: pd.DataFrame, path_without_suffix: Path, *,
                             metrics: Sequence[str] = DEMO_METRICS,
                             order: Sequence[str] | None = None) -> list[Path]:
    """One panel per metric, one line per scenario (mean over replicates) with its 90% band."""
    order = list(order or timeseries["scenario"].unique())
    years = timeseries["month"] / 12.0
    frame = timeseries.assign(years=years)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.6), sharex=True)
    axes = [axes] if len(metrics) == 1 else list(axes)
    replicates = frame.groupby("scenario")["run_id"].nunique()
    for ax, metric in zip(axes, metrics, strict=True):
        for name in order:
            runs = frame[frame["scenario"] == name]
            if runs.empty:
                continue
            stats = runs.groupby("years")[metric].agg(
                mean="mean", low=lambda s: s.quantile(0.05), high=lambda s: s.quantile(0.95))
            ax.plot(stats.index, stats["mean"], color=colour(name), lw=2, label=label(name))
            ax.fill_between(stats.index, stats["low"], stats["high"], color=colour(name), alpha=0.18,
                            lw=0)
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=11)
        ax.set_xlabel("Years since the programme began")
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    n = int(replicates.min()) if len(replicates) else 0
    fig.legend(handles, labels, loc="lower center", ncol=min(len(order), 5), frameon=False, fontsize=10)
    fig.suptitle(f"Ouyang Road: governance policies compared (line: mean; band: 5th-95th "
                 f"percentile over {n} seeds)", fontsize=12)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    paths = []
    for suffix in (".png", ".svg"):
        path = path_without_suffix.with_suffix(suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
        paths.append(path)
    plt.close(fig)
    return paths

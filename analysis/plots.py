"""Figures of policy comparisons, each 12 inches wide with slide-size fonts (analysis/style.py).

Every figure takes one colour per policy from ``analysis.style.colour`` and says in its title or
caption what its lines, bands, boxes and bars are. Figures are written as PNG and SVG.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.style import (  # noqa: E402
    FIGURE_WIDTH_IN,
    colour,
    dashes,
    district_title,
    figure_rc,
    group_label,
    label,
    metric_title,
    metric_unit,
    palette,
)
from analysis.uncertainty import Band  # noqa: E402  (the figures' band; importable from here as before)

DEMO_METRICS = ("service_quality", "fee_collection_rate", "satisfaction")
COLUMNS = 3
"""Panels per row of a multi-metric figure."""


def save_figure(fig: plt.Figure, path_without_suffix: Path) -> list[Path]:
    """Write the figure as PNG (150 dpi) and SVG; returns both paths and closes the figure.

    Both are cropped to the figure's tight box, measured once here (``bbox_inches="tight"`` would
    draw the figure once more for each file only to measure it), with savefig's usual padding.
    """
    paths = []
    tight = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    for suffix in (".png", ".svg"):
        path = path_without_suffix.with_suffix(suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150, bbox_inches=tight)
        paths.append(path)
    plt.close(fig)
    return paths


def _grid(panels: int, row_height_in: float, sharey: bool = False):
    rows = math.ceil(panels / COLUMNS)
    cols = min(panels, COLUMNS)
    fig, axes = plt.subplots(rows, cols, figsize=(FIGURE_WIDTH_IN, row_height_in * rows),
                             squeeze=False, sharey=sharey)
    flat = list(axes.flat)
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:panels]


LEGEND_ROW_IN = 0.3
"""Height of one row of the legend under a figure, in inches (for placing the caption below it)."""


def _legend(fig: plt.Figure, order: Sequence[str], counts: dict[str, str] | None = None,
            points: bool = False, labels: Mapping[str, str] | None = None) -> None:
    style = {"lw": 0, "marker": "o", "ms": 8} if points else {"lw": 3}
    handles = [plt.Line2D([], [], color=colour(name), ls=dashes(name), **style,
                          label=label(name, labels) + (f" ({counts[name]})" if counts else ""))
               for name in order]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(len(order), 3), frameon=False)


def _caption(fig: plt.Figure, text: str | None, legend_rows: int) -> None:
    if text:
        below_in = LEGEND_ROW_IN * legend_rows + 0.15
        fig.text(0.0, -below_in / fig.get_figheight(), "\n".join(textwrap.wrap(text, 140)),
                 ha="left", va="top", fontsize=11)


def timeseries_figure(timeseries: pd.DataFrame, metrics: Sequence[str], order: Sequence[str], *,
                      band: Band, title: str, caption: str | None = None,
                      counts: dict[str, str] | None = None,
                      labels: Mapping[str, str] | None = None) -> plt.Figure:
    """One panel per metric: per policy, the mean over runs by month and its band."""
    frame = timeseries.assign(years=timeseries["month"] / 12.0)
    with plt.rc_context(figure_rc()):
        fig, axes = _grid(len(metrics), 3.6)
        for ax, metric in zip(axes, metrics, strict=True):
            stats = band.table(frame, metric)
            for name in reversed(order):  # the first policies drawn last: on top, dashed
                if name not in stats.index.get_level_values("scenario"):
                    continue
                line = stats.loc[name]
                ax.plot(line.index, line["mean"], color=colour(name), ls=dashes(name), lw=2.2)
                ax.fill_between(line.index, line["low"], line["high"], color=colour(name),
                                alpha=0.2, lw=0)
            ax.set_title(metric_title(metric))
            ax.set_ylabel(metric_unit(metric))
            ax.set_xlabel("Years since the programme began")
        fig.suptitle(title)
        fig.tight_layout()
        _legend(fig, order, counts, labels=labels)
        _caption(fig, caption, math.ceil(len(order) / 3))
    return fig


def policy_comparison_figure(timeseries: pd.DataFrame, path_without_suffix: Path, *, district: str,
                             metrics: Sequence[str] = DEMO_METRICS,
                             order: Sequence[str] | None = None,
                             labels: Mapping[str, str] | None = None) -> list[Path]:
    """The demo's figure: one panel per metric, one line per scenario with its 90% envelope."""
    order = list(order or timeseries["scenario"].unique())
    replicates = timeseries.groupby("scenario")["run_id"].nunique()
    n = int(replicates.min()) if len(replicates) else 0
    band = Band("envelope", 0.90)
    fig = timeseries_figure(timeseries, metrics, order, band=band, labels=labels,
                            title=f"{district_title(district)}: governance policies compared (line: "
                                  f"mean; band: {band.describe(f'{n} seeds')})")
    return save_figure(fig, path_without_suffix)


def _wrapped(name: str, labels: Mapping[str, str] | None) -> str:
    return "\n".join(textwrap.wrap(label(name, labels), 24))


def distribution_figure(final: pd.DataFrame, metrics: Sequence[str], order: Sequence[str], *,
                        title: str, caption: str | None = None,
                        labels: Mapping[str, str] | None = None) -> plt.Figure:
    """One panel per metric: each policy's final values over runs, as a box and the points."""
    present = [name for name in order if name in set(final["scenario"])]
    colours = palette(present)
    with plt.rc_context(figure_rc()):
        fig, axes = _grid(len(metrics), 0.55 * len(present) + 1.6, sharey=True)
        for ax, metric in zip(axes, metrics, strict=True):
            _boxes_and_points(ax, final, metric, present, colours)
            ax.set_title(metric_title(metric))
            ax.set_xlabel(metric_unit(metric))
            ax.set_ylabel("")
            ax.set_yticks(range(len(present)), [_wrapped(name, labels) for name in present])
        fig.suptitle(title)
        fig.tight_layout()
        _caption(fig, caption, 0)
    return fig


def _boxes_and_points(ax, final: pd.DataFrame, metric: str, present: Sequence[str],
                      colours: Mapping[str, str]) -> None:
    """Each policy's values of `metric` as a horizontal box (no fliers) and its jittered points, first on top.

    Plain matplotlib (seaborn's boxplot and stripplot drew the same, at seconds of import); the
    jitter comes from a generator of fixed seed, so a figure is the same every time.
    """
    jitter = np.random.default_rng(0)
    values = final.groupby("scenario", sort=False)[metric]
    for row, name in enumerate(present):
        x = values.get_group(name).dropna().to_numpy()
        line = {"color": "0.25", "linewidth": 1.2}
        ax.boxplot([x], positions=[row], orientation="horizontal", widths=0.6, showfliers=False,
                   patch_artist=True, medianprops=line, whiskerprops=line, capprops=line,
                   boxprops={"facecolor": colours[name], "alpha": 0.45, "edgecolor": "0.25",
                             "linewidth": 1.2})
        ax.scatter(x, row + jitter.uniform(-0.18, 0.18, len(x)), s=16, color=colours[name], alpha=0.8,
                   edgecolors="white", linewidths=0.4, zorder=3)
    ax.set_ylim(len(present) - 0.5, -0.5)


def difference_figure(summary: pd.DataFrame, metrics: Sequence[str], order: Sequence[str],
                      baseline: str, *, title: str, caption: str | None = None,
                      group_column: str | None = None,
                      labels: Mapping[str, str] | None = None,
                      outer: tuple[str, str] | None = None) -> plt.Figure:
    """One panel per metric: each policy's mean paired difference from the baseline and its CI.

    `summary` has scenario, metric, diff_mean, diff_low, diff_high (and `group_column` when the
    differences are split by group: one row of points per group, policies side by side). With
    `outer` (two columns: low, high), a second, wider band is drawn as a pale bar behind each
    interval.
    """
    policies = [name for name in order if name != baseline and name in set(summary["scenario"])]
    groups = list(dict.fromkeys(summary[group_column])) if group_column else [None]
    rows = len(groups) * len(policies)
    with plt.rc_context(figure_rc()):
        fig, axes = _grid(len(metrics), 0.32 * rows + 1.8, sharey=True)
        for ax, metric in zip(axes, metrics, strict=True):
            part = summary[summary["metric"] == metric]
            for g, group in enumerate(groups):
                for p, name in enumerate(policies):
                    row = part[part["scenario"] == name]
                    if group_column:
                        row = row[row[group_column] == group]
                    if row.empty or not np.isfinite(row["diff_mean"].iloc[0]):
                        continue
                    y = g * (len(policies) + 1) + p
                    mean, low, high = row[["diff_mean", "diff_low", "diff_high"]].iloc[0]
                    err = np.array([[mean - low], [high - mean]]) if np.isfinite(low) else None
                    if outer is not None and np.isfinite(row[outer[0]].iloc[0]):
                        ax.hlines(y, row[outer[0]].iloc[0], row[outer[1]].iloc[0], color=colour(name),
                                  lw=9, alpha=0.25)
                    ax.errorbar(mean, y, xerr=err, fmt="o", color=colour(name), ms=7, capsize=3,
                                lw=2)
            ax.axvline(0.0, color="black", lw=1)
            ax.xaxis.set_major_locator(plt.MaxNLocator(5))
            ax.set_title(metric_title(metric))
            ax.set_xlabel(f"Δ ({metric_unit(metric)})")
            if group_column:
                ax.grid(False, axis="y")
                for g in range(1, len(groups)):
                    ax.axhline(g * (len(policies) + 1) - 1, color="0.8", lw=1)
        axes[0].invert_yaxis()
        if group_column:
            centres = [g * (len(policies) + 1) + (len(policies) - 1) / 2 for g in range(len(groups))]
            axes[0].set_yticks(centres, ["\n".join(textwrap.wrap(group_label(group), 18))
                                         for group in groups])
        else:
            axes[0].set_yticks(range(len(policies)), [_wrapped(name, labels) for name in policies])
        fig.suptitle(title)
        fig.tight_layout()
        if group_column:
            _legend(fig, policies, points=True, labels=labels)
        _caption(fig, caption, math.ceil(len(policies) / 3) if group_column else 0)
    return fig



def by_group_figure(series: pd.DataFrame, metric: str, by: str, *, title: str | None = None,
                    band: Band | None = None) -> plt.Figure:
    """One panel per scenario: a line per group (its mean over runs by month) and its band.

    `series` is analysis.results.load_series(folder, by, metric): any measure, any grouping.
    """
    band = band or Band()
    frame = series.assign(years=series["month"] / 12.0)
    scenarios = list(dict.fromkeys(frame["scenario"]))
    groups = sorted(frame[by].astype(str).unique())
    cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "hsv")
    colours = {g: cmap(i if len(groups) <= 10 else i / len(groups)) for i, g in enumerate(groups)}
    with plt.rc_context(figure_rc()):
        fig, axes = _grid(len(scenarios), 3.6, sharey=True)
        for ax, name in zip(axes, scenarios, strict=True):
            mine = frame[frame["scenario"] == name].assign(scenario=frame[by].astype(str))
            stats = band.table(mine, metric)
            for group in groups:
                if group not in stats.index.get_level_values("scenario"):
                    continue
                line = stats.loc[group]
                ax.plot(line.index, line["mean"], color=colours[group], lw=2)
                ax.fill_between(line.index, line["low"], line["high"], color=colours[group], alpha=0.15, lw=0)
            ax.set_title(label(name))
            ax.set_ylabel(metric_unit(metric))
            ax.set_xlabel("Years since the programme began")
        fig.suptitle(title or f"{metric_title(metric)} by {by.replace('_', ' ')}")
        fig.tight_layout()
        handles = [plt.Line2D([], [], color=colours[g], lw=3, label=group_label(g)) for g in groups[:30]]
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(len(handles), 4), frameon=False)
    return fig

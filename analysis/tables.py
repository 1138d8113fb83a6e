"""Tables of final outcomes per scenario (mean of the last 12 months): mean and 90% interval over runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.style import label
from sim.outputs import final_values

TABLE_METRICS = {
    "service_quality": "quality",
    "fee_collection_rate": "collection",
    "satisfaction": "satisfaction",
    "management_areas": "areas",
    "firm_exits": "firms exited",
    "cost_per_household": "cost/hh",
    "rc_workload": "RC workload",
}


def final_year_summary(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and metric: mean, 5th and 95th percentile of the runs' final values.

    A run's final value is its mean over its last FINAL_MONTHS months (sim/outputs.py).
    """
    final = final_values(timeseries, list(TABLE_METRICS), ["run_id", "scenario"])
    grouped = final.groupby("scenario")[list(TABLE_METRICS)]
    return pd.concat({"mean": grouped.mean(), "p05": grouped.quantile(0.05),
                      "p95": grouped.quantile(0.95)}, axis=1)


def final_year_table(timeseries: pd.DataFrame, order: Sequence[str] | None = None,
                     labels: Mapping[str, str] | None = None) -> str:
    """A plain-text table for the terminal: 'mean [p05, p95]' per scenario and metric."""
    summary = final_year_summary(timeseries)
    order = [s for s in (order or summary.index) if s in summary.index]
    years = int(timeseries["month"].max()) // 12
    first = f"year {years} (last 12 months)"
    width = max([len(first), *(len(label(s, labels)) for s in order)]) + 2  # users' labels vary
    header = f"{first:<{width}}" + "".join(f"{h:>22}" for h in TABLE_METRICS.values())
    lines = [header, "-" * len(header)]
    for scenario in order:
        cells = []
        for metric in TABLE_METRICS:
            mean, low, high = (summary.loc[scenario, (k, metric)] for k in ("mean", "p05", "p95"))
            digits = 2 if abs(mean) < 10 else 0
            cells.append(f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]".rjust(22))
        lines.append(f"{label(scenario, labels):<{width}}" + "".join(cells))
    return "\n".join(lines)

"""The outputs' contract (MODEL.md): column names, the monthly record, and the file writers."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import rules


@dataclass(frozen=True)
class MonthRecord:
    """District-wide measures of one month (rates, quality and coverage in [0, 1])."""

    month: int
    service_quality: float
    fee_collection_rate: float
    satisfaction: float
    management_areas: int
    areas_lt100: int
    areas_lt200: int
    active_firms: int
    firm_exits: int  # cumulative
    incidents_per_1000hh: float
    fund_per_m2: float  # yuan/m2
    cost_per_household: float  # yuan/household/month: cost of full service plus block subsidy
    firm_margin: float
    committee_coverage: float
    rc_workload: float  # complaints per 1000 households per month
    volunteer_rate: float
    merges_done: int  # cumulative
    merge_votes_failed: int  # cumulative


def month_record(month: int, areas: dict[str, np.ndarray], *, households: int, cost_yuan: float,
                 firm_revenue_yuan: float, firm_cost_yuan: float, active_firms: int, office) -> MonthRecord:
    """The month's district-wide measures from per-area arrays (the measures' one definition).

    `areas` holds, per area: households, quality, paid_yuan, due_yuan, satisfaction_sum, incidents,
    fund_yuan, floor_area_m2, committee_active, volunteers. `office` is the street office (its
    workload and its running counts).
    """
    hh = areas["households"].astype(float)
    total = float(households)
    due = float(areas["due_yuan"].sum())
    return MonthRecord(
        month=month,
        service_quality=float(np.dot(hh, areas["quality"]) / total),
        fee_collection_rate=float(areas["paid_yuan"].sum()) / due if due > 0 else 0.0,
        satisfaction=float(areas["satisfaction_sum"].sum()) / total,
        management_areas=len(hh),
        areas_lt100=int((hh < 100).sum()),
        areas_lt200=int((hh < 200).sum()),
        active_firms=active_firms,
        firm_exits=office.firm_exits,
        incidents_per_1000hh=1000.0 * float(areas["incidents"].sum()) / total,
        fund_per_m2=float(areas["fund_yuan"].sum()) / float(areas["floor_area_m2"].sum()),
        cost_per_household=cost_yuan / total,
        firm_margin=float(rules.firm_margin(firm_revenue_yuan, firm_cost_yuan)),
        committee_coverage=float(np.dot(hh, areas["committee_active"]) / total),
        rc_workload=1000.0 * office.workload / total,
        volunteer_rate=float(areas["volunteers"].sum()) / total,
        merges_done=office.merges_done,
        merge_votes_failed=office.merge_votes_failed,
    )


RECORD_AREA_FIELDS = ("households", "quality", "paid_yuan", "due_yuan", "satisfaction_sum", "incidents",
                      "fund_yuan", "floor_area_m2", "committee_active", "volunteers")
"""The per-area arrays month_record reads."""


TIMESERIES_COLUMNS: tuple[str, ...] = ("run_id", "month", "year") + tuple(
    f.name for f in fields(MonthRecord) if f.name != "month")
AREA_COLUMNS: tuple[str, ...] = (
    "area_id", "estates", "households", "floor_area_m2", "housing_type", "mode", "firm_id",
    "service_quality", "fee_collection_rate", "satisfaction", "fund_per_m2")
FORMATS = ("parquet", "csv")


def timeseries_frame(run_id: str, records: list[MonthRecord]) -> pd.DataFrame:
    """The `timeseries` table of one run, columns in the contract's order."""
    frame = pd.DataFrame([astuple(r) for r in records], columns=[f.name for f in fields(MonthRecord)])
    frame.insert(0, "run_id", run_id)
    frame.insert(2, "year", (frame["month"] - 1) // 12 + 1)
    return frame[list(TIMESERIES_COLUMNS)]


def atomic_write(path: Path, write) -> None:
    """Write a file through a temporary name in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_table(frame: pd.DataFrame, path_without_suffix: Path, fmt: str) -> Path:
    """Write a table as Parquet or CSV (atomically); returns the path written."""
    path = path_without_suffix.with_suffix(f".{fmt}")
    if fmt == "parquet":
        atomic_write(path, lambda p: frame.to_parquet(p, index=False, engine="pyarrow"))
    else:
        atomic_write(path, lambda p: frame.to_csv(p, index=False, float_format="%.10g"))
    return path


def write_run(out_dir: Path, timeseries: pd.DataFrame, areas: pd.DataFrame, meta: dict[str, Any],
              fmt: str = "parquet") -> list[Path]:
    """Write a run's `timeseries`, `areas` and `run.json` into out_dir."""
    written = [write_table(timeseries, out_dir / "timeseries", fmt),
               write_table(areas, out_dir / "areas", fmt)]
    run_json = out_dir / "run.json"
    atomic_write(run_json, lambda p: p.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str)))
    return written + [run_json]


# --- per-estate and per-firm tables ----------------------------------------------------------

ESTATE_COLUMNS: tuple[str, ...] = (
    "estate_id", "area_id", "households", "housing_type", "block", "how", "joined_month", "mode",
    "firm_id", "service_quality", "satisfaction", "fee_collection_rate")
FIRM_COLUMNS: tuple[str, ...] = (
    "firm_id", "strong", "capability", "entered_month", "exited_month", "exit_reason", "contracts", "margin")


def estates_frame(outcomes: pd.DataFrame, district_estates: pd.DataFrame,
                  reforms: dict[int, tuple[str, int]]) -> pd.DataFrame:
    """The `estates` table: each estate's area now, and how (and when) a policy reformed it.

    `outcomes` is the engine's estate_outcomes(); `reforms` the street office's record. `how` is
    "none" and `joined_month` 0 for an estate no policy reformed.
    """
    frame = outcomes.copy()
    frame["block"] = district_estates["block"].to_numpy()
    frame["how"] = [reforms.get(e, ("none", 0))[0] for e in range(len(frame))]
    frame["joined_month"] = [reforms.get(e, ("none", 0))[1] for e in range(len(frame))]
    return frame[list(ESTATE_COLUMNS)]


def firms_frame(firms, events: list) -> pd.DataFrame:
    """The `firms` table from a FirmView and the event log: each firm's contracts and last margin.

    Every firm is in the market from month 0 (firms do not enter yet); a firm that left has the
    month and the reason of its exit.
    """
    exits = {e.firm_id: e for e in events if e.kind == "firm_exit"}
    return pd.DataFrame({
        "firm_id": np.arange(len(firms.active)),
        "strong": firms.strong,
        "capability": firms.capability,
        "entered_month": 0,
        "exited_month": [exits[f].month if f in exits else -1 for f in range(len(firms.active))],
        "exit_reason": [exits[f].reason if f in exits else "" for f in range(len(firms.active))],
        "contracts": np.where(firms.active, firms.sites, 0),
        "margin": rules.firm_margin(np.asarray(firms.revenue_yuan, dtype=float),
                                    np.asarray(firms.cost_yuan, dtype=float)),
    }, columns=list(FIRM_COLUMNS))


class RunTables:
    """The per-run tables every engine offers (mixed into both model classes).

    It needs the engine's `estate_outcomes()`, `estates` (the district), `street_office`,
    `firm_view()` and `event_log`.
    """

    def estates_table(self) -> pd.DataFrame:
        """One row per estate (ESTATE_COLUMNS)."""
        return estates_frame(self.estate_outcomes(), self.estates, self.street_office.reforms)

    def events_table(self) -> pd.DataFrame:
        """One row per event (sim.events.EVENT_COLUMNS)."""
        from sim.events import events_frame

        return events_frame(self.event_log)

    def firms_table(self) -> pd.DataFrame:
        """One row per firm (FIRM_COLUMNS)."""
        return firms_frame(self.firm_view(), self.event_log)

"""The outputs' contract (docs/ODD.md, section 8): columns, the monthly record, the file writers.

It also holds the one definition of a run's *final* value (``FINAL_MONTHS``, ``final_values``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
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
    cost_per_household: float  # yuan/household/month actually spent (sim.rules.spending_yuan)
    firm_margin: float
    committee_coverage: float
    rc_workload: float  # the residents' committee's hours in cases (rc_hours / hours_per_case) per 1000 hh
    volunteer_rate: float
    merges_done: int  # cumulative
    merge_votes_failed: int  # cumulative
    volunteer_hours_per_household: float  # hours/household/month
    blocks_integrated: int
    reform_cases_open: int
    reception_cases_handled: float  # cases/month
    tenders_held: int  # cumulative
    tenders_awarded: int  # cumulative
    fee_votes_held: int  # cumulative
    fee_votes_passed: int  # cumulative
    firm_entries: int  # cumulative
    fallback_areas: int
    unmanaged_areas: int
    mean_fee_yuan_per_m2: float  # floor-area weighted
    cases_brought: int  # cases/month: households that brought a new case this month
    cases_heard: int  # cases/month heard at any desk (reception point, owners' or residents' committee)
    cases_resolved: int  # cases/month heard and resolved
    rc_hours: float  # staff-hours/month of the residents' committee: its desk's cases, its staff at points
    reception_hours: float  # staff-hours/month of the joint reception points (all their staff)
    estates_with_firm_share: float  # estates served by a firm (the fallback's contracted one included)
    reform_hours: float  # staff-hours/month the street office gave its open reform cases


def month_record(month: int, areas: dict[str, np.ndarray], *, households: int, firm_revenue_yuan: float,
                 firm_cost_yuan: float, active_firms: int, office, p) -> MonthRecord:
    """The month's district-wide measures from per-area arrays (the measures' one definition).

    `areas` holds, per area, the fields of RECORD_AREA_FIELDS. `office` is the street office (its
    workload and its running counts). Weighted sums are numpy sums, not np.dot: BLAS's own threads
    (OpenBLAS threads a dot product of city size) fight the engine's threads on a small machine.
    """
    hh = areas["households"].astype(float)
    total = float(households)
    due = float(areas["due_yuan"].sum())
    mode = areas["mode"]
    fallback = mode == rules.FALLBACK
    volunteer_hours = float(rules.volunteer_hours(float(areas["volunteers"].sum()), p))
    # committees' casework is volunteers' time, costed with the volunteers' hours
    staff_hours = rules.paid_staff_hours(office.rc_hours, office.reception_hours, office.reform_hours, p)
    spent = rules.spending_yuan(firm_revenue_yuan, float(areas["spend_yuan"][fallback].sum()), staff_hours,
                                volunteer_hours + office.committee_case_hours, p)
    spent += float(areas["upkeep_paid_yuan"].sum())  # owners' fund top-ups, the district's renovations
    floor = areas["floor_area_m2"]
    return MonthRecord(
        month=month,
        service_quality=float((hh * areas["quality"]).sum() / total),
        fee_collection_rate=float(areas["paid_yuan"].sum()) / due if due > 0 else 0.0,
        satisfaction=float(areas["satisfaction_sum"].sum()) / total,
        management_areas=len(hh),
        areas_lt100=int((hh < 100).sum()),
        areas_lt200=int((hh < 200).sum()),
        active_firms=active_firms,
        firm_exits=office.firm_exits,
        incidents_per_1000hh=1000.0 * float(areas["incidents"].sum()) / total,
        fund_per_m2=float(areas["fund_yuan"].sum()) / float(floor.sum()),
        cost_per_household=spent / total,
        firm_margin=float(rules.firm_margin(firm_revenue_yuan, firm_cost_yuan)),
        committee_coverage=float((hh * areas["committee_active"]).sum() / total),
        rc_workload=1000.0 * office.workload / total,
        volunteer_rate=float(areas["volunteers"].sum()) / total,
        merges_done=office.merges_done,
        merge_votes_failed=office.merge_votes_failed,
        volunteer_hours_per_household=volunteer_hours / total,
        blocks_integrated=len(office.integrated_blocks),
        reform_cases_open=len(office.cases),
        reception_cases_handled=office.reception_cases_handled,
        tenders_held=office.tenders_held,
        tenders_awarded=office.tenders_awarded,
        fee_votes_held=office.fee_votes_held,
        fee_votes_passed=office.fee_votes_passed,
        firm_entries=office.firm_entries,
        fallback_areas=int(fallback.sum()),
        unmanaged_areas=int((mode == rules.UNMANAGED).sum()),
        mean_fee_yuan_per_m2=float((areas["fee_yuan_per_m2"] * floor).sum() / floor.sum()),
        cases_brought=office.cases_brought,
        cases_heard=office.cases_heard,
        cases_resolved=office.cases_resolved,
        rc_hours=office.rc_hours,
        reception_hours=office.reception_hours,
        estates_with_firm_share=float(areas["n_estates"][rules.served_by_firm(mode)].sum()
                                      / areas["n_estates"].sum()),
        reform_hours=office.reform_hours,
    )


RECORD_AREA_FIELDS = ("households", "quality", "paid_yuan", "due_yuan", "satisfaction_sum", "incidents",
                      "fund_yuan", "floor_area_m2", "committee_active", "volunteers", "mode", "spend_yuan",
                      "fee_yuan_per_m2", "upkeep_paid_yuan", "n_estates")
"""The per-area arrays month_record reads."""


TIMESERIES_COLUMNS: tuple[str, ...] = ("run_id", "month", "year") + tuple(
    f.name for f in fields(MonthRecord) if f.name != "month")
AREA_COLUMNS: tuple[str, ...] = (
    "area_id", "estates", "households", "floor_area_m2", "housing_type", "mode", "firm_id",
    "service_quality", "fee_collection_rate", "satisfaction", "fund_per_m2", "fee_yuan_per_m2")
FORMATS = ("parquet", "csv")
OUTPUT_TABLES: tuple[str, ...] = ("timeseries", "areas", "estates", "events", "firms")
"""The tables a run writes (each as NAME.parquet or NAME.csv), in this order."""
OPTIONAL_TABLES: tuple[str, ...] = ("transfers", "estate_series", "area_series")
"""Tables a run writes only when it has them, after OUTPUT_TABLES: `transfers` when a policy paid
one (sim.transfers), `estate_series` and `area_series` when the scenario's `record:` asks."""
RUN_TABLES: tuple[str, ...] = OUTPUT_TABLES + OPTIONAL_TABLES
"""Every table a run may write, in order."""
RECORD_CHOICES: tuple[str, ...] = ("estates", "areas", "groups")
"""The further monthly series a scenario's, sweep's or `sim.run`'s `record:` may ask for."""
FINAL_MONTHS = 12
"""A run's *final* value of a measure is its mean over the run's last FINAL_MONTHS months (the
final year), everywhere: `run`'s summary, `compare`, `report`, `sensitivity`, `load_final`."""


def final_values(timeseries: pd.DataFrame, columns: Sequence[str],
                 keys: Sequence[str] = ("run_id",)) -> pd.DataFrame:
    """One row per run (`keys`): the mean of each column over the run's last FINAL_MONTHS months."""
    last = timeseries.groupby(list(keys), sort=False)["month"].transform("max")
    final = timeseries[timeseries["month"] > last - FINAL_MONTHS]
    return final.groupby(list(keys), sort=False)[list(columns)].mean().reset_index()


_RECORD_ROW = attrgetter(*(f.name for f in fields(MonthRecord)))
"""A MonthRecord's values in field order (dataclasses.astuple, without its deep copies of scalars)."""


def timeseries_frame(run_id: str, records: list[MonthRecord]) -> pd.DataFrame:
    """The `timeseries` table of one run, columns in the contract's order."""
    frame = pd.DataFrame([_RECORD_ROW(r) for r in records], columns=[f.name for f in fields(MonthRecord)])
    frame.insert(0, "run_id", run_id)
    frame.insert(2, "year", (frame["month"] - 1) // 12 + 1)
    return frame[list(TIMESERIES_COLUMNS)]


def atomic_write(path: Path, write, prefix: str = ".") -> None:
    """Write a file through a temporary `prefix`+name+random in its folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{path.name}.", dir=path.parent)
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


def write_run(out_dir: Path, tables: Mapping[str, pd.DataFrame], meta: dict[str, Any],
              fmt: str = "parquet") -> list[Path]:
    """Write a run's tables (each as NAME.parquet or NAME.csv) and `run.json` into out_dir.

    Whatever tables and columns the run has are written, in OUTPUT_TABLES' order first.
    """
    order = [name for name in OUTPUT_TABLES if name in tables] + [
        name for name in tables if name not in OUTPUT_TABLES]
    written = [write_table(tables[name], out_dir / name, fmt) for name in order]
    run_json = out_dir / "run.json"
    atomic_write(run_json, lambda p: p.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str)))
    return written + [run_json]


# --- per-estate and per-firm tables ----------------------------------------------------------

ESTATE_COLUMNS: tuple[str, ...] = (
    "estate_id", "area_id", "households", "housing_type", "block", "how", "joined_month", "mode",
    "firm_id", "service_quality", "satisfaction", "fee_collection_rate", "case_id", "routes")
FIRM_COLUMNS: tuple[str, ...] = (
    "firm_id", "strong", "capability", "entered_month", "exited_month", "exit_reason", "contracts", "margin",
    "exit_cause")


def estates_frame(outcomes: pd.DataFrame, district_estates: pd.DataFrame,
                  reforms: dict[int, list[tuple[str, int, int]]]) -> pd.DataFrame:
    """The `estates` table: each estate's area now, and the route by which (and when) it joined.

    `outcomes` is the engine's estate_outcomes(); `reforms` the street office's record of each
    estate's routes in order. `how`, `joined_month` and `case_id` are the first route's (merged,
    management_merged, entrusted, self_governed; "none", 0 and 0 for an estate no policy moved);
    `routes` lists every route as `how@month#case`, joined by ";".
    """
    frame = outcomes.copy()
    frame["block"] = district_estates["block"].to_numpy()
    first = [reforms[e][0] if e in reforms else ("none", 0, 0) for e in range(len(frame))]
    frame["how"] = [route[0] for route in first]
    frame["joined_month"] = [route[1] for route in first]
    frame["case_id"] = [route[2] for route in first]
    frame["routes"] = [";".join(f"{how}@{month}#{case}" for how, month, case in reforms.get(e, []))
                       for e in range(len(frame))]
    return frame[list(ESTATE_COLUMNS)]


def firms_frame(firms, entered: dict[int, int], exited: dict[int, tuple[int, str]],
                start_month: int, causes: dict[int, str] | None = None) -> pd.DataFrame:
    """The `firms` table from a FirmView and the street office's record of entries and exits.

    A firm present at the start entered in month 0 (before the burn-in, a negative month); one
    that never left has exited_month -1. `exit_cause` says why it left (rules.exit_cause):
    "performance", "outbid", "withdrawal", "reform", "losses" or "no contract won"; "" if it did not.
    """
    causes = causes or {}
    n = len(firms.active)
    return pd.DataFrame({
        "firm_id": np.arange(n),
        "strong": firms.strong,
        "capability": firms.capability,
        "entered_month": [entered.get(f, start_month) for f in range(n)],
        "exited_month": [exited[f][0] if f in exited else -1 for f in range(n)],
        "exit_reason": [exited[f][1] if f in exited else "" for f in range(n)],
        "contracts": np.where(firms.active, firms.sites, 0),
        "margin": rules.firm_margin(np.asarray(firms.revenue_yuan, dtype=float),
                                    np.asarray(firms.cost_yuan, dtype=float)),
        "exit_cause": [causes.get(f, "") if f in exited else "" for f in range(n)],
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
        office = self.street_office
        return firms_frame(self.firm_view(), office.firm_entered, office.firm_exited,
                           -12 * int(self.p.burn_in_years), office.exit_cause)


# --- series by group (a scenario's `record:`) -------------------------------------------------

SIZE_CLASSES: tuple[tuple[str, int], ...] = (("lt100", 100), ("100_199", 200), ("200_plus", 2**62))
"""An estate's size class by its households at the start: below 100, 100–199, 200 and more (the
thresholds of the timeseries' `areas_lt100` and `areas_lt200`)."""
GROUP_METRICS: tuple[str, ...] = ("satisfaction", "service_quality", "fee_collection_rate", "volunteer_rate")
"""The measures the series by group carry (each estate's, household-weighted over a group)."""
ESTATE_SERIES_COLUMNS: tuple[str, ...] = (
    "run_id", "month", "estate_id", "area_id", "housing_type", "size_class", "households", "mode", "firm_id",
    *GROUP_METRICS)
AREA_SERIES_COLUMNS: tuple[str, ...] = ("run_id", "month", *AREA_COLUMNS)


def size_class(households) -> np.ndarray:
    """Each estate's size class (SIZE_CLASSES) from its households."""
    households = np.asarray(households)
    names = np.array([name for name, _ in SIZE_CLASSES], dtype=object)
    return names[np.searchsorted([limit for _, limit in SIZE_CLASSES], households, side="right")]


def group_columns() -> tuple[str, ...]:
    """The timeseries' columns by group (`record: [groups]`): METRIC_TYPE and METRIC_size_CLASS."""
    groups = [*rules.HOUSING_NAMES, *(f"size_{name}" for name, _ in SIZE_CLASSES)]
    return tuple(f"{metric}_{group}" for metric in GROUP_METRICS for group in groups)


class SeriesRecorder:
    """Keeps the monthly series a scenario's `record:` asks for, from any engine, month by month.

    It reads each month's `estate_outcomes()` (estates, groups) and `areas_table()` (areas): the
    same tables every engine offers at a run's end, so the series need nothing of an engine.
    """

    def __init__(self, record: Sequence[str]):
        self.record = tuple(record)
        self._estates: list[pd.DataFrame] = []
        self._areas: list[pd.DataFrame] = []

    def add(self, model) -> None:
        """Keep the month just stepped."""
        if "estates" in self.record or "groups" in self.record:
            frame = model.estate_outcomes()
            frame.insert(0, "month", model.month)
            self._estates.append(frame)
        if "areas" in self.record:
            frame = model.areas_table()
            frame.insert(0, "month", model.month)
            self._areas.append(frame)

    def estate_series(self, run_id: str) -> pd.DataFrame | None:
        """One row per month and estate (ESTATE_SERIES_COLUMNS), if `estates` was asked for."""
        if "estates" not in self.record:
            return None
        return self._estate_frame(run_id)[list(ESTATE_SERIES_COLUMNS)]

    def _estate_frame(self, run_id: str) -> pd.DataFrame:
        frame = pd.concat(self._estates, ignore_index=True)
        frame.insert(0, "run_id", run_id)
        frame["size_class"] = size_class(frame["households"])
        return frame

    def area_series(self, run_id: str) -> pd.DataFrame | None:
        """One row per month and management area (AREA_SERIES_COLUMNS), if `areas` was asked for."""
        if "areas" not in self.record:
            return None
        frame = pd.concat(self._areas, ignore_index=True)
        frame.insert(0, "run_id", run_id)
        return frame[list(AREA_SERIES_COLUMNS)]

    def with_groups(self, timeseries: pd.DataFrame) -> pd.DataFrame:
        """The timeseries with its columns by group (group_columns) if `groups` was asked for."""
        if "groups" not in self.record:
            return timeseries
        by_group = by_group_means(self._estate_frame(""), "housing_type", GROUP_METRICS)
        sized = by_group_means(self._estate_frame(""), "size_class", GROUP_METRICS)
        sized["size_class"] = "size_" + sized["size_class"]
        wide = {}
        for frame, key in ((by_group, "housing_type"), (sized, "size_class")):
            table = frame.pivot(index="month", columns=key, values=list(GROUP_METRICS))
            for metric, group in table.columns:
                wide[f"{metric}_{group}"] = table[(metric, group)]
        wide = pd.DataFrame(wide).reindex(columns=list(group_columns()))
        return timeseries.join(wide, on="month")


def by_group_means(series: pd.DataFrame, by: str, metrics: Sequence[str],
                   keys: Sequence[str] = ("month",)) -> pd.DataFrame:
    """Household-weighted means of per-estate (or per-area) measures by group, per `keys` (a month).

    `series` is an estate_series (or area_series) table; `by` one of its columns (housing_type,
    size_class, area_id, ...). One row per keys and group.
    """
    weights = series["households"].astype(float)
    weighted = series[list(metrics)].mul(weights, axis=0).assign(_w=weights)
    groups = [*keys, by]
    sums = weighted.groupby([series[k] for k in groups], sort=True).sum()
    return sums[list(metrics)].div(sums["_w"], axis=0).reset_index()

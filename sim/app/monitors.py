"""What the app reads off the runs for the worksheet: number tiles, the events panel and exports.

Pure functions of the runs (no Solara), so the tests check them without a browser.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
import pandas as pd

from sim.app.model import estate_arrays, month_label

SMALL_ESTATE_HOUSEHOLDS = 100
"""The worksheet's "smallest estates": estates with fewer households than this at the start."""


def small_estates_quality(run) -> float:
    """Service quality of the estates under SMALL_ESTATE_HOUSEHOLDS households (household-weighted)."""
    households = run.estates["households"].to_numpy()
    small = households < SMALL_ESTATE_HOUSEHOLDS
    if not small.any():
        return float("nan")
    return float(np.average(estate_arrays(run)["quality"][small], weights=households[small]))


TILES: tuple[tuple[str, str, str], ...] = (
    ("service_quality", "Service quality", "{:.2f}"),
    ("fee_collection_rate", "Fee collection", "{:.0%}"),
    ("satisfaction", "Satisfaction", "{:.2f}"),
    ("small_estates_quality", f"Quality, estates < {SMALL_ESTATE_HOUSEHOLDS} households", "{:.2f}"),
    ("management_areas", "Management areas", "{:.0f}"),
    ("active_firms", "Firms in the market", "{:.0f}"),
    ("rc_workload", "Residents' committee workload (per 1000 households)", "{:.2f}"),
    ("volunteer_rate", "Volunteers (share of households)", "{:.1%}"),
    ("fund_per_m2", "Maintenance fund (yuan/m²)", "{:.1f}"),
    ("merges_done", "Mergers passed", "{:.0f}"),
    ("merge_votes_failed", "Merger votes failed", "{:.0f}"),
    ("reform_cases_open", "Reform cases open", "{:.0f}"),
    ("firm_entries", "Firms entered", "{:.0f}"),
    ("fallback_areas", "Areas on the fallback service", "{:.0f}"),
)
"""The worksheet's measures: key, label, format (keys are MonthRecord fields but one)."""


def tile_values(run, start=None) -> dict[str, float]:
    """The tiles' values for a run now: the latest month's record, or `start` (its record at the start)."""
    latest = run.records[-1] if run.records else start
    record = asdict(latest) if latest is not None else {}
    values = {key: float(record.get(key, float("nan"))) for key, _, _ in TILES}
    values["small_estates_quality"] = small_estates_quality(run)
    return values


def format_tile(key: str, value: float) -> str:
    """A tile's value as shown ("–" when there is none yet)."""
    if value != value:  # NaN
        return "–"
    return next(fmt for k, _, fmt in TILES if k == key).format(value)


def format_difference(key: str, first: float, second: float) -> str:
    """The side-by-side difference (first run minus second), signed, in the tile's format."""
    if first != first or second != second:
        return ""
    fmt = next(fmt for k, _, fmt in TILES if k == key)
    text = fmt.format(first - second)
    return text if text.startswith("-") else "+" + text


EVENT_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("merger passed", re.compile(r"^Merger of .* passed")),
    ("vote failed", re.compile(r"failed its owners' vote")),
    ("reform step", re.compile(r"^Merger of .* proposed|voted for the merger|^Maintenance funds of "
                               r"|voted on (?:strong leads weak|specialised service)|^Hand-over of ")),
    ("entrusted", re.compile(r" entrusted to firm ")),
    ("self-governance", re.compile(r"turned to specialised service")),
    ("evaluation", re.compile(r"^Yearly evaluation")),
    ("tender", re.compile(r"replaced their firm by tender|^Tender for ")),
    ("fee vote", re.compile(r"^Fee vote in |would need .* to cover its cost")),
    ("fallback", re.compile(r"fallback service took over")),
    ("firm entered", re.compile(r"entered the market")),
    ("block integration", re.compile(r"joined block integration")),
    ("firm left", re.compile(r"left the market|withdrew from")),
)
"""Kinds of event for the panel's filters, recognised by their wording in the engines' logs."""
OTHER_KIND = "other"


def event_kind(text: str) -> str:
    """The kind of one event (EVENT_KINDS), or "other"."""
    return next((kind for kind, pattern in EVENT_KINDS if pattern.search(text)), OTHER_KIND)


_VOTED_AREAS = re.compile(r"^(?:Merger of (?:\d+ areas \()?(.*?)\)? (?:passed|failed)"
                          r"|Owners of (.*?) voted for the merger)")


def vote_detail(run, index: int, lang: str = "en") -> str:
    """For the merger vote's event run.event_log[index], each area's turnout, support and outcome.

    A merger's owners vote months after it is proposed (briefings first); the event logged just
    after the votes is "Owners of ... voted for the merger" or "Merger of ... failed its owners'
    vote". The merger's completion ("Merger of ... passed"), months later again, was voted earlier.
    Each area's line says which rule decided it ("turnout 52% < 2/3 of owners: no vote").
    """
    from sim.app.event_text import vote_line

    found = _VOTED_AREAS.search(run.event_log[index].text)
    if not found:
        return ""
    names = (found.group(1) or found.group(2)).split(", ")
    votes = {vote.area: vote for vote in getattr(run, "votes", ()) if vote.before == index}
    return "; ".join(vote_line(votes[name], run.p, lang) for name in names if name in votes)


def events_frame(run, lang: str = "en") -> pd.DataFrame:
    """The run's events as a table: month, label, kind, text and vote lines (in the page's language)."""
    from sim.app.event_text import event_line

    rows = [(e.month, month_label(e.month), event_kind(e.text), event_line(e, lang),
             vote_detail(run, i, lang) if e.text.startswith(("Merger of", "Owners of")) else "")
            for i, e in enumerate(run.event_log)]
    return pd.DataFrame(rows, columns=["month", "when", "kind", "text", "votes"])


NOTABLE_KINDS = ("merger passed", "vote failed", "firm left", "fallback")
"""Kinds of event listed on their own beside the yearly counts: mergers, failed votes, exits."""


def notable_events(table: pd.DataFrame, most: int = 12) -> pd.DataFrame:
    """The latest `most` notable events (NOTABLE_KINDS) of an events_frame, newest first."""
    return table[table["kind"].isin(NOTABLE_KINDS)].iloc[::-1].head(most)


ROUTINE_KINDS = ("fee vote", "tender")
"""Kinds of event that come by the dozen each year: counted in the yearly summary, hidden from the
list until a filter shows them."""


def round_summary(run, lang: str = "en") -> list[tuple[int, str]]:
    """One line per year with events: how many of each kind, most frequent first (in the page's language)."""
    from sim.app.i18n import tr

    counts: dict[int, Counter] = {}
    for month, text in run.events:
        counts.setdefault((month - 1) // 12 + 1 if month > 0 else 0, Counter())[event_kind(text)] += 1
    return [(year, ", ".join(f"{n} {tr(kind, lang)}" for kind, n in sorted(c.items(), key=lambda kv: -kv[1])))
            for year, c in sorted(counts.items())]


def csv_header(settings: dict | None, names: Sequence[str]) -> str:
    """Comment lines that open every CSV export: the lesson, the runs, the seed, the changed settings.

    `pandas.read_csv(path, comment="#")` skips them.
    """
    if settings is None:
        return ""
    from sim.app.controls import setup_caption, setup_link

    lines = [*setup_caption(settings, list(names), "en"), f"Link: {setup_link(settings)}"]
    return "".join(f"# {line}\n" for line in lines)


def timeseries_csv(runs: Sequence, settings: dict | None = None) -> str:
    """The runs' monthly records as CSV, one row per run and month (column `run`: its policy set).

    Values are rounded to what the model can tell (sim.app.views.CSV_DIGITS); the header comment
    says how the runs were set up.
    """
    header = csv_header(settings, [run.spec.name for run in runs])
    frames = [pd.DataFrame([asdict(r) for r in run.records]).assign(run=run.spec.name) for run in runs]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return header + "run,month\n"
    table = pd.concat(frames, ignore_index=True)
    floats = table.select_dtypes("float").columns
    table[floats] = table[floats].round(CSV_DIGITS)
    return header + table[["run", *[c for c in table.columns if c != "run"]]].to_csv(index=False)


CSV_DIGITS = 4
"""Decimals of the CSV's measures: a run of the app's districts tells shares to about 1e-3, so a
fourth decimal keeps what the model can tell and drops the floating-point noise."""


def events_csv(runs: Sequence, settings: dict | None = None) -> str:
    """The runs' events as CSV (run, month, when, kind, text, votes), after the setup's comment lines."""
    table = pd.concat([events_frame(run).assign(run=run.spec.name) for run in runs], ignore_index=True)
    return (csv_header(settings, [run.spec.name for run in runs])
            + table[["run", "month", "when", "kind", "text", "votes"]].to_csv(index=False))

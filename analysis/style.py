"""One look for every figure: a fixed colour per policy, labels from the scenarios, units on axes."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

from sim.fonts import font_family
from sim.params import HOUSING_TYPES
from sim.text import default_label

POLICY_COLOURS = {
    "status_quo": "#6b6b6b",
    "n_in_1": "#1f77b4",
    "strong_leads_weak": "#ff7f0e",
    "self_governance": "#2ca02c",
    "integrated": "#d62728",
}
POLICY_DASHES = {
    "status_quo": "-",
    "n_in_1": (0, (6, 2)),
    "strong_leads_weak": (0, (2, 1.5)),
    "self_governance": (0, (7, 2, 1.5, 2)),
    "integrated": "-",
}
"""Line style per policy, so that coinciding lines stay visible and print in grey."""
METRICS: dict[str, tuple[str, str]] = {
    # name: (what it is, its unit), for axis labels and table headers
    "service_quality": ("Service quality", "0–1 scale"),
    "fee_collection_rate": ("Fee collection rate", "share of fees due"),
    "satisfaction": ("Residents' satisfaction", "0–1 scale"),
    "active_firms": ("Property firms active", "firms"),
    "cost_per_household": ("Cost of service", "yuan/household/month"),
    "rc_workload": ("Residents' committee workload", "complaints/1000 hh/month"),
    "management_areas": ("Management areas", "areas"),
    "areas_lt100": ("Areas under 100 households", "areas"),
    "areas_lt200": ("Areas under 200 households", "areas"),
    "firm_exits": ("Firms exited (cumulative)", "firms"),
    "incidents_per_1000hh": ("Thefts and safety incidents", "per 1000 hh/month"),
    "fund_per_m2": ("Maintenance fund", "yuan/m²"),
    "firm_margin": ("Firms' operating margin", "share of revenue"),
    "committee_coverage": ("Households with an owners' committee", "share"),
    "volunteer_rate": ("Volunteers", "share of households"),
    "merges_done": ("Mergers done (cumulative)", "mergers"),
    "merge_votes_failed": ("Merger votes lost (cumulative)", "votes"),
}
METRIC_LABELS = {name: f"{title} ({unit})" for name, (title, unit) in METRICS.items()}
_EXTRA = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

FIGURE_WIDTH_IN = 12.0
"""Every comparison figure is this wide, so that its fonts (RC below) read at slide size."""
RC = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.titlesize": 14,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",
}
"""matplotlib settings of every figure: no text under 11 pt on a 12-inch-wide figure."""


def figure_rc() -> dict:
    """RC plus the fonts: DejaVu Sans, then a CJK font for Chinese labels when one is installed.

    The family is the list itself, not "sans-serif": a figure saved after its rc_context has
    ended still draws with the fonts its text was made with.
    """
    return {**RC, "font.family": list(figure_fonts())}


@functools.cache
def figure_fonts() -> tuple[str, ...]:
    """sim.fonts.font_family without the fonts in a file an earlier one is already in.

    Noto's "CJK SC" and "CJK JP" are two faces of one file with the same glyphs (in regional
    forms): the second, only a fallback, would never be drawn from, but matplotlib looks every
    piece of text up in each font of the list (about 8% of a figure's drawing time).
    """
    from matplotlib import font_manager

    kept, files = [], set()
    for name in font_family():
        try:
            found = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
        except ValueError:  # not installed after all: matplotlib would skip it too
            continue
        path = str(found)  # the file, whichever face of a collection (.ttc) the name is
        if path not in files:
            files.add(path)
            kept.append(name)
    return tuple(kept)


def colour(policy: str) -> str:
    """The policy's colour (other names get a stable colour of their own)."""
    if policy in POLICY_COLOURS:
        return POLICY_COLOURS[policy]
    return _EXTRA[sum(map(ord, policy)) % len(_EXTRA)]


def dashes(policy: str):
    """The policy's line style (other names: solid)."""
    return POLICY_DASHES.get(policy, "-")


def group_label(value: str) -> str:
    """A readable name for a subgroup value (housing types in English)."""
    if value in HOUSING_TYPES:
        return HOUSING_TYPES[value].split(" ", 1)[1].capitalize()
    return str(value)


DISTRICT_TITLES = {"ouyang_road": "Ouyang Road", "shanghai": "Shanghai (whole city)"}
"""Readable names of the built-in districts; any other district is called by its own name."""


def district_title(name: str) -> str:
    """A district's readable name (a CSV district's name is its file's stem)."""
    return DISTRICT_TITLES.get(name, name)


def label(policy: str, labels: Mapping[str, str] | None = None) -> str:
    """The policy's readable name: its label in `labels`, else one made from its name.

    Labels come from the scenario files' ``label:``, recorded in a results folder's manifest.
    """
    return (labels or {}).get(policy) or default_label(policy)


def palette(policies: Iterable[str]) -> dict[str, str]:
    """Policy name to colour."""
    return {name: colour(name) for name in policies}


def metric_label(metric: str) -> str:
    """'What it is (unit)' for an axis."""
    return METRIC_LABELS.get(metric, metric)


def metric_unit(metric: str) -> str:
    """The metric's unit ('' when unknown)."""
    return METRICS.get(metric, ("", ""))[1]


def metric_title(metric: str) -> str:
    """The metric's name without its unit."""
    return METRICS.get(metric, (metric, ""))[0]


def policy_order(policies: Iterable[str], first: str | None = None,
                 preferred: Sequence[str] = tuple(POLICY_COLOURS)) -> list[str]:
    """Policies in a stable order: `first` (the baseline), the shipped ones, then the rest as given."""
    given = list(dict.fromkeys(policies))
    ordered = [p for p in preferred if p in given] + [p for p in given if p not in preferred]
    if first in ordered:
        ordered.remove(first)
        ordered.insert(0, first)
    return ordered

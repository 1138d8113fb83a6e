"""What the browser draws: the district map and the outcome charts as Vega-Lite specs and data.

The server steps the models and sends data; the browser draws (sim/app/vega_view.vue). A spec is
built once per measure, language and set of runs (`map_spec`, `charts_spec`); each month only
`map_data` and `charts_data` go to the page: a few kilobytes of rounded numbers, as tables of
columns and rows. Hovering an estate or a chart's line shows its values (Vega's tooltips).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.app.i18n import tr
from sim.app.model import active_firms, estate_arrays
from sim.params import HOUSING_TYPES, MODES
from sim.rules import ENTRUSTED

MEASURES: dict[str, str] = {
    "service quality": "quality",
    "satisfaction": "satisfaction",
    "fee collection": "collection",
    "management mode": "mode",
}
"""What the map can colour estates by: label -> array of sim.app.model.estate_arrays."""

MODE_COLOURS: dict[str, str] = {
    "full_service": "#2b8cbe",
    "entrusted": "#7b3294",
    "self_governance": "#f1a340",
    "self_managed": "#d9d94a",
    "unmanaged": "#d7301f",
    "fallback": "#555555",
}
MODE_LABELS: dict[str, str] = {
    "full_service": "full service by a firm",
    "entrusted": "entrusted to a strong firm",
    "self_governance": "specialised service + self-governance",
    "self_managed": "owners manage it themselves",
    "unmanaged": "nobody manages it",
    "fallback": "fallback service (托底)",
}


def housing_label(code: str, lang: str) -> str:
    """A housing type's plain name (sim.params.HOUSING_TYPES holds "中文 English") in the page's language."""
    chinese, _, english = HOUSING_TYPES.get(code, f"{code} {code}").partition(" ")
    return chinese if lang == "zh" else english


RUN_COLOURS = ("#1f5fa8", "#d95f02")
"""Line colour of the first and (side-by-side) second run in the charts."""

FIRM_PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    "#469990", "#800000", "#808000", "#000075", "#bfef45", "#fabed4", "#dcbeff", "#aaffc3",
    "#ffd8b1", "#ffe119", "#a9a9a9", "#2f4f4f", "#1f78b4", "#b15928", "#6a3d9a", "#fb9a99",
    "#33a02c", "#17becf", "#bcbd22", "#e377c2", "#8c564b", "#7f7f7f", "#ff7f00", "#cab2d6",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3", "#8ca252", "#bd9e39",
    "#ad494a", "#a55194", "#6b6ecf", "#b5cf6b", "#e7ba52", "#d6616b", "#ce6dbd", "#9c9ede",
)
"""48 distinct firm colours (a district of the app has up to about 45 firms; Ouyang Road 34 at the
start with the calibrated starting market)."""
NO_FIRM_EDGE = "#bbbbbb"
MAP_PAD_M = 60.0
"""Margin around the outermost estates (metres)."""
LARGEST_DOT_PX2 = 900
"""Area of the largest estate's circle (px²) on a map about 600 px wide."""


def firm_colour(index: int) -> str:
    """The colour that marks one firm's estates on the map (distinct for the first 48 firms)."""
    return FIRM_PALETTE[index % len(FIRM_PALETTE)]


_ID_TOKEN = re.compile(r"[^\s,+()]+")


def estates_named(events: Sequence[tuple[int, str]], month: int, estate_ids: Sequence[str]) -> np.ndarray:
    """Which estates this month's events name (an event names areas by their estates' ids)."""
    named = {token for m, text in events if m == month for token in _ID_TOKEN.findall(text)}
    return np.array([e in named for e in estate_ids], dtype=bool)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """One dataset for the page: column names and rows of values (compact JSON)."""
    return {"columns": list(columns), "rows": [list(r) for r in rows]}


# --- the map --------------------------------------------------------------------------------------
CARD_FIELDS = ("estate", "households", "housing type", "firm", "mode", "management area",
               "fund per m²", "owners' committee", "service quality", "satisfaction", "fee collection")
"""The hover card's lines (labels of the translation table; the data's columns carry them)."""
ESTATE_COLUMNS = ("id", "x", "y", "households", "value", "mode", "edge", "edge_width", "cx", "cy",
                  "merged", "entrusted", "named", *(f"card_{i}" for i in range(len(CARD_FIELDS))))


def map_spec(estates, measure: str, names: Sequence[str], lang: str) -> dict[str, Any]:
    """The map of one run, or two side by side with one key: blocks, estates, spokes, firms' offices.

    Colour is the measure (or the mode); circle area the households; the edge the firm.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r} (known: {', '.join(MEASURES)})")
    xy = estates[["x_m", "y_m"]].to_numpy(dtype=float)
    x_domain = [float(xy[:, 0].min() - MAP_PAD_M), float(xy[:, 0].max() + MAP_PAD_M)]
    y_domain = [float(xy[:, 1].min() - MAP_PAD_M), float(xy[:, 1].max() + MAP_PAD_M)]
    blocks = [{"block": str(b), "x0": float(r["x_m"].min() - 35), "x1": float(r["x_m"].max() + 35),
               "y0": float(r["y_m"].min() - 35), "y1": float(r["y_m"].max() + 35)}
              for b, r in estates.groupby("block", sort=False)]
    x = {"field": "x", "type": "quantitative", "axis": None,
         "scale": {"domain": x_domain, "nice": False, "zero": False}}
    y = {"field": "y", "type": "quantitative", "axis": None,
         "scale": {"domain": y_domain, "nice": False, "zero": False}}
    side = len(names) > 1
    legend_at = {"orient": "bottom", "direction": "horizontal"} if side else {"orient": "right"}
    if MEASURES[measure] == "mode":
        colour = {"field": "mode", "type": "nominal", "title": tr("management mode", lang),
                  "scale": {"domain": [tr(MODE_LABELS[m], lang) for m in MODES],
                            "range": [MODE_COLOURS[m] for m in MODES]},
                  "legend": {**legend_at, "columns": 3 if side else 1, "labelLimit": 260}}
    else:
        colour = {"field": "value", "type": "quantitative",
                  "title": [tr(measure, lang), tr("(0 = worst, 1 = best)", lang)],
                  "scale": {"scheme": "redyellowgreen", "domain": [0, 1]}, "legend": {**legend_at}}
    largest = float(estates["households"].max())
    size = {"field": "households", "type": "quantitative", "title": tr("households", lang),
            "scale": {"domain": [0, largest], "range": [0, LARGEST_DOT_PX2]},
            "legend": {**legend_at, "values": [50, 200, 500], "symbolFillColor": "#cccccc"}}
    # data columns have plain keys (card_0, ...): Vega reads quotes and dots in a field name as a path
    tooltip = [{"field": f"card_{i}", "type": "nominal", "title": tr(f, lang)}
               for i, f in enumerate(CARD_FIELDS)]

    def one_map(i: int, name: str) -> dict[str, Any]:
        data = {"name": f"estates_{i}"}
        return {
            "title": {"text": name, "fontSize": 13} if side else None,
            "layer": [
                {"data": {"values": blocks}, "mark": {"type": "rect", "fill": "#f2f2f2", "stroke": "#c8c8c8",
                                                      "strokeDash": [4, 3]},
                 "encoding": {"x": {**x, "field": "x0"}, "x2": {"field": "x1"},
                              "y": {**y, "field": "y0"}, "y2": {"field": "y1"}}},
                {"data": {"values": blocks}, "mark": {"type": "text", "align": "left", "baseline": "bottom",
                                                      "fontSize": 10, "color": "#777777", "dy": -2},
                 "encoding": {"x": {**x, "field": "x0"}, "y": {**y, "field": "y1"},
                              "text": {"field": "block"}}},
                {"data": data, "transform": [{"filter": "datum.merged"}],
                 "mark": {"type": "rule", "color": "#444444", "opacity": 0.5, "strokeWidth": 3},
                 "encoding": {"x": x, "y": y, "x2": {"field": "cx"}, "y2": {"field": "cy"}}},
                # the ring under the estate's dot: the dot, not the ring, takes the pointer
                {"data": data, "transform": [{"filter": "datum.named"}, {
                    "calculate": f"{LARGEST_DOT_PX2 / largest} * datum.households * 1.9 + 60", "as": "ring"}],
                 "mark": {"type": "point", "filled": False, "stroke": "black", "strokeWidth": 2.5,
                          "aria": False},
                 "encoding": {"x": x, "y": y,
                              "size": {"field": "ring", "type": "quantitative", "scale": None}}},
                {"data": data, "mark": {"type": "circle", "opacity": 1},
                 "encoding": {"x": x, "y": y, "color": colour, "size": size, "tooltip": tooltip,
                              "stroke": {"field": "edge", "type": "nominal", "scale": None},
                              "strokeWidth": {"field": "edge_width", "type": "quantitative", "scale": None},
                              "description": {"field": "card_0"}}},
                {"data": data, "transform": [{"filter": "datum.entrusted"}],
                 "mark": {"type": "point", "shape": "diamond", "filled": True, "color": "black", "size": 30,
                          "aria": False},
                 "encoding": {"x": x, "y": y, "tooltip": tooltip}},
                {"data": {"name": f"firms_{i}"},
                 "mark": {"type": "square", "filled": True, "fill": "white", "size": 60, "strokeWidth": 2},
                 "encoding": {"x": x, "y": y, "stroke": {"field": "edge", "type": "nominal", "scale": None},
                              "tooltip": [{"field": "firm", "title": tr("firm", lang)}]}},
                {"data": {"name": f"firms_{i}"},
                 "mark": {"type": "text", "dx": 9, "dy": -9, "fontWeight": "bold", "fontSize": 10},
                 "encoding": {"x": x, "y": y, "text": {"field": "firm"},
                              "color": {"field": "edge", "type": "nominal", "scale": None}}},
            ],
        }

    views = [one_map(i, name) for i, name in enumerate(names)]
    aspect = (x_domain[1] - x_domain[0]) / (y_domain[1] - y_domain[0])
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "config": {"view": {"stroke": None}, "legend": {"labelFontSize": 11, "titleFontSize": 11}},
        "usermeta": {"aspect": aspect, "renderer": "canvas", "min_height": 260,
                     "side": 0 if side else 190, "below": 110 if side else 40},
        "padding": 4,
    }
    if side:
        spec.update({"hconcat": views, "spacing": 8,
                     "resolve": {"scale": {"color": "shared", "size": "shared"},
                                 "legend": {"color": "shared", "size": "shared"}}})
    else:
        spec.update(views[0])
    return spec


def _plain(value: float, fmt: str) -> str:
    return "–" if value != value else fmt.format(value)


def _estate_columns(run, lang: str) -> dict[str, list]:
    """What the map shows of each estate that never changes (its id, place, size, type), as lists.

    Kept on the run by language: a frame only reads them.
    """
    kept = run.__dict__.setdefault("_app_map_static", {})
    if lang not in kept:
        e = run.estates
        ids = e["estate_id"].astype(str).tolist()
        labels = getattr(run, "estate_labels", {})  # the district file's names (make_run)
        kept[lang] = {
            "id": ids, "x": np.round(e["x_m"].to_numpy(float), 1).tolist(),
            "y": np.round(e["y_m"].to_numpy(float), 1).tolist(),
            "households": e["households"].to_numpy(int).tolist(),
            "card_0": [f"{labels[i]} · {i} ({b})" if i in labels else f"{i} ({b})"
                       for i, b in zip(ids, e["block"].astype(str).tolist(), strict=True)],
            "card_2": [housing_label(h, lang) for h in e["housing_type"].astype(str).tolist()],
            "mode_label": [tr(MODE_LABELS[m], lang) for m in MODES],
        }
    return kept[lang]


def map_rows(run, lang: str, measure: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run's estates and firms this month, as the map's two datasets (from numpy: a frame's cost)."""
    static = _estate_columns(run, lang)
    a = estate_arrays(run)
    named = estates_named(run.events, run.month, static["id"]).tolist()
    attribute = MEASURES[measure]
    values = [None] * len(named) if attribute == "mode" else np.round(a[attribute].astype(float), 3).tolist()
    modes = [static["mode_label"][m] for m in a["mode"].tolist()]
    firms = a["firm"].tolist()
    sizes = a["area_size"].tolist()
    yes, no, estates_word = tr("yes", lang), tr("no", lang), tr("estates", lang)
    firm_word, none, yuan = tr("firm", lang), tr("none", lang), tr("yuan", lang)
    area_names = [a["area_ids"][r] + (f" ({k} {estates_word})" if k > 1 else "")
                  for r, k in zip(a["area"].tolist(), sizes, strict=True)]
    columns = zip(
        static["id"], static["x"], static["y"], static["households"], values, modes,
        [firm_colour(f) if f >= 0 else NO_FIRM_EDGE for f in firms], [2.4 if f >= 0 else 0.8 for f in firms],
        np.round(a["area_x_m"], 1).tolist(), np.round(a["area_y_m"], 1).tolist(), [k > 1 for k in sizes],
        (a["mode"] == ENTRUSTED).tolist(), named,
        # the hover card
        static["card_0"], static["households"], static["card_2"],
        [f"{firm_word} {f}" if f >= 0 else none for f in firms], modes, area_names,
        [f"{v:.1f} {yuan}" for v in a["fund_per_m2"].tolist()],
        [yes if c else no for c in a["committee"].tolist()],
        [_plain(v, "{:.2f}") for v in a["quality"].tolist()],
        [_plain(v, "{:.2f}") for v in a["satisfaction"].tolist()],
        [_plain(v, "{:.0%}") for v in a["collection"].tolist()], strict=True)
    firm_rows = [(f"{i}", x, y, firm_colour(i)) for i, x, y in active_firms(run)]
    return table(ESTATE_COLUMNS, columns), table(("firm", "x", "y", "edge"), firm_rows)


def map_data(runs: Sequence, measure: str, lang: str, frame: int) -> dict[str, Any]:
    """Every run's map datasets this month (what the page receives each frame), with the frame and month."""
    tables = {}
    for i, run in enumerate(runs):
        tables[f"estates_{i}"], tables[f"firms_{i}"] = map_rows(run, lang, measure)
    return {"frame": frame, "month": int(runs[0].month), "tables": tables}


# --- the charts -----------------------------------------------------------------------------------
CHARTS: tuple[tuple[str, str, int], ...] = (
    ("service_quality", "Service quality", 2),
    ("fee_collection_rate", "Fee collection rate", 3),
    ("satisfaction", "Residents' satisfaction", 2),
    ("volunteer_rate", "Volunteers (share of households)", 4),
    ("management_areas", "Management areas", 0),
    ("active_firms", "Firms in the market", 0),
    ("firm_margin", "Firms' margin (firms in the market)", 3),
    ("rc_workload", "Residents' committee workload (cases per 1000 households)", 2),
    ("reform_cases_open", "Reform cases open (street office)", 0),
    ("firm_entries", "Firms entered (since month 1)", 0),
    ("fallback_areas", "Areas on the fallback service (托底)", 0),
    ("reception_cases_handled", "Reception point (cases handled a month)", 1),
)
"""The charted outcomes: timeseries column, title, decimals the model can tell (data and CSV)."""
CHART_COLUMNS = 4
CHART_KEYS = [column for column, _, _ in CHARTS]


def charts_spec(names: Sequence[str], lang: str) -> dict[str, Any]:
    """Small multiples of the outcomes by year, one line per run; hovering a line shows its value."""
    titles = [tr(title, lang) for _, title, _ in CHARTS]
    year = tr("year", lang)
    run = tr("run", lang)
    colour = {"field": "run", "type": "nominal", "title": None,
              "scale": {"domain": list(names), "range": list(RUN_COLOURS[:len(names)])},
              "legend": {"orient": "top"} if len(names) > 1 else None}
    x = {"field": "year", "type": "quantitative", "title": year, "axis": {"tickMinStep": 1}}
    y = {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"name": "series"},
        # columns have plain keys (Vega reads a quote in a field name as a path): the titles come back here
        "transform": [{"fold": CHART_KEYS, "as": ["key", "value"]},
                      {"calculate": f"{json.dumps(titles)}[indexof({json.dumps(CHART_KEYS)}, datum.key)]",
                       "as": "measure"}],
        "facet": {"field": "measure", "type": "nominal", "sort": titles, "title": None,
                  "header": {"labelFontSize": 11, "labelLimit": 240}},
        "columns": CHART_COLUMNS,
        "spec": {"height": 95, "layer": [
            {"mark": {"type": "line", "strokeWidth": 1.8},
             "encoding": {"x": x, "y": y, "color": colour,
                          "strokeDash": {"field": "run", "type": "nominal", "legend": None,
                                         "scale": {"domain": list(names), "range": [[1, 0], [5, 3]]}}}},
            {"mark": {"type": "point", "size": 40, "opacity": 0.01, "filled": True},
             "encoding": {"x": x, "y": y, "color": colour,
                          "tooltip": [{"field": "measure", "title": tr("measure", lang)},
                                      {"field": "run", "title": run}, {"field": "when", "title": year},
                                      {"field": "value", "title": tr("value", lang)}]}},
        ]},
        "resolve": {"scale": {"y": "independent"}},
        "config": {"view": {"stroke": "#dddddd"}, "axis": {"labelFontSize": 9, "titleFontSize": 9}},
        "usermeta": {"columns": CHART_COLUMNS, "renderer": "canvas"},
        "padding": 4,
    }


def charts_months(runs: Sequence) -> int:
    """Months the charts hold now: the start and every month since (the runs step together)."""
    return 1 + len(runs[0].records)


def charts_data(runs: Sequence, names: Sequence[str], lang: str, frame: int,
                starts: Sequence | None = None, since: int | None = None) -> dict[str, Any]:
    """Every run's monthly outcomes from its start (`starts`: each run's record at month 0), month by month.

    Values are rounded to what the model can tell; one row a run and month, the months in order
    (each month's runs together). With `since` (months the page already holds), only the months
    from there on are sent, with `from`: the row the page's own rows are replaced from
    (sim/app/vega_view.vue keeps the rest), so a frame's data stays small at year 20 too.
    """
    from sim.app.model import month_label

    starts = starts or [None] * len(runs)
    first = since or 0

    def months_of(run, start) -> list:
        head = [start] if start is not None else []
        if first <= len(head):
            return head[first:] + list(run.records)
        return list(run.records[first - len(head):])

    series = [months_of(run, start) for run, start in zip(runs, starts, strict=True)]
    rows = [(name, round(r.month / 12.0, 3), tr_month(month_label(r.month), lang),
             *(round(float(getattr(r, column)), digits) for column, _, digits in CHARTS))
            for records in zip(*series, strict=True) for name, r in zip(names, records, strict=True)]
    data = table(("run", "year", "when", *CHART_KEYS), rows)
    if first:
        data["from"] = first * len(runs)
    return {"frame": frame, "tables": {"series": data}}


_MONTH = re.compile(r"Year (\d+), month (\d+)")


def tr_month(label: str, lang: str) -> str:
    """A month's label ("Year 2, month 3", "Start") in the page's language."""
    if lang != "zh":
        return label
    found = _MONTH.fullmatch(label)
    return f"第{found.group(1)}年第{found.group(2)}月" if found else tr(label, lang)

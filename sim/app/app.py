"""The teaching app: a Solara page built on Mesa's SolaraViz (`estate-sim app` serves it).

SolaraViz gives the left panel: Reset, play/pause and Step, and the model's controls (district,
policy blocks with their main parameters, fees, votes, seed, a second policy to compare with).
The main area is drawn here rather than through SolaraViz's draggable grid, which loads its
JavaScript from a CDN and so stays blank in a classroom without internet: the district map, the
outcome charts and the events feed, and an "About this model" tab.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim.app.about import ABOUT
from sim.app.drawing import MEASURES, DistrictMap, OutcomeCharts
from sim.app.model import (
    DISTRICTS,
    NO_COMPARISON,
    POLICY_SETS,
    UPLOADED_CSV,
    TeachingModel,
    build_scenario,
    month_label,
)
from sim.errors import InputError
from sim.params import HOUSING_TYPES

ODD_PATH = Path(__file__).resolve().parents[2] / "docs" / "ODD.md"
EVENTS_SHOWN = 300


def _slider(label: str, low: float, high: float, step: float) -> dict[str, Any]:
    kind = "SliderInt" if all(float(v).is_integer() for v in (low, high, step)) else "SliderFloat"
    return {"type": kind, "label": label, "min": low, "max": high, "step": step}


CONTROLS: dict[str, dict[str, Any]] = {
    "district": {"type": "Select", "label": "District"},
    "compare_with": {"type": "Select", "label": "Compare with (side by side)",
                     "values": [NO_COMPARISON, *POLICY_SETS]},
    "merge": {"type": "Checkbox", "label": "N-in-1 merger"},
    "merge_max_households": _slider("… largest estate that may merge (households)", 50, 600, 10),
    "merge_max_group": _slider("… most estates in one merger", 2, 6, 1),
    "merge_max_distance_m": _slider("… farthest apart (m)", 50, 1000, 1),
    "entrust": {"type": "Checkbox", "label": "Strong leads weak (entrust)"},
    "entrust_max_households": _slider("… largest estate entrusted (households)", 50, 600, 10),
    "entrust_reach_m": _slider("… lead firm's reach (m)", 100, 2000, 1),
    "self_governance": {"type": "Checkbox", "label": "Specialised service + self-governance"},
    "organising_join_rate": _slider("… organising: monthly chance to join", 0.0, 0.03, 0.001),
    "volunteer_fatigue": _slider("Volunteer fatigue (monthly chance to stop)", 0.0, 0.2, 0.005),
    "block_integration": {"type": "Checkbox", "label": "Block integration"},
    "block_subsidy_yuan_per_household": _slider("… subsidy (yuan/household/month)", 0, 30, 1),
    "evaluation_threshold": _slider("… evaluation score a firm must reach", 0.0, 0.8, 0.05),
    "fee_after_sale_public": _slider("Fee, after-sale public housing (yuan/m²/month)", 0.3, 2.0, 0.05),
    "fee_commodity": _slider("Fee, commodity housing (yuan/m²/month)", 1.0, 5.0, 0.1),
    "approval_area_share": _slider("Votes: approval share of floor area needed", 0.3, 0.9, 0.05),
    "fund_dispute_weight": _slider("Votes: strength of the fund dispute", 0.0, 3.0, 0.05),
    "rng": _slider("Random seed (replicate)", 1, 100, 1),
}
"""The left panel's controls: TeachingModel keyword -> SolaraViz input (label, range)."""


def model_params(settings: dict[str, Any], uploaded: str | None) -> dict[str, Any]:
    """SolaraViz's model_params, each control showing the value the current model was built with."""
    params: dict[str, Any] = {"csv_path": uploaded}
    for name, control in CONTROLS.items():
        params[name] = {**control, "value": settings[name]}
    params["district"]["values"] = [*DISTRICTS, *([UPLOADED_CSV] if uploaded else [])]
    return params


@solara.component
def Readout(model: TeachingModel):
    """One line per run: the month and the district's averages (the browser test reads it)."""
    update_counter.get()  # each component that shows the model subscribes to Mesa's step signal
    for run in model.runs:
        last = run.records[-1] if run.records else None
        figures = (f"quality {last.service_quality:.2f} · fee collection "
                   f"{last.fee_collection_rate:.0%} · satisfaction {last.satisfaction:.2f} · "
                   if last else "")
        solara.Text(f"{month_label(run.month)} · {run.spec.name}: {figures}"
                    f"{len(run.areas)} management areas · {sum(1 for _ in run.active_firms())} firms",
                    classes=["estate-readout"], style={"display": "block", "font-weight": "500"})


def events_html(events: list[tuple[int, str]]) -> str:
    """The events, newest first, as one HTML table (one element renders much faster than many)."""
    shown = events[-EVENTS_SHOWN:]
    rows = "".join(
        f'<tr><td style="color:#777;white-space:nowrap;padding-right:10px;vertical-align:top">'
        f"{html.escape(month_label(month))}</td><td>{html.escape(text)}</td></tr>"
        for month, text in reversed(shown))
    if len(events) > len(shown):
        rows += (f'<tr><td></td><td style="color:#777">… and {len(events) - len(shown)} '
                 "earlier events</td></tr>")
    return f'<table style="font-size:0.85em;border-spacing:0 3px">{rows}</table>'


@solara.component
def EventsFeed(run, title: str):
    """The run's events in plain words, newest first."""
    update_counter.get()
    with solara.Card(title, classes=["estate-events"], style={"height": "100%"}):
        if run.events:
            solara.HTML(unsafe_innerHTML=events_html(run.events),
                        style="max-height: 470px; overflow-y: auto")
        else:
            solara.Text("Nothing has happened yet. Press Step or ▶.", style={"color": "#777"})


@solara.component
def DistrictView(model: TeachingModel):
    """Map(s), charts and events of the current month; redrawn after every step or reset."""
    update_counter.get()
    measure, set_measure = solara.use_state("service quality")
    runs = model.runs
    maps = solara.use_memo(lambda: [DistrictMap(run, measure, size_in=(6.4, 6.4) if len(runs) == 1
                                                else (5.6, 5.8)) for run in runs],
                           [model, measure])
    charts = solara.use_memo(lambda: OutcomeCharts([run.spec.name for run in runs]), [model])
    pictures = solara.use_memo(lambda: ([m.png(run) for m, run in zip(maps, runs, strict=True)],
                                        charts.png(runs)),
                               [maps, charts, model.month])
    Readout(model)
    solara.ToggleButtonsSingle(value=measure, values=list(MEASURES), on_value=set_measure,
                               classes=["estate-measure"])
    map_pngs, charts_png = pictures
    if len(runs) == 1:
        with solara.Columns([3, 2]):
            solara.Image(map_pngs[0], width="100%", classes=["estate-map"])
            EventsFeed(model, "What happened")
    else:
        with solara.Columns([1, 1]):
            for png in map_pngs:
                solara.Image(png, width="100%", classes=["estate-map"])
    solara.Image(charts_png, width="100%", classes=["estate-charts"])
    if len(runs) > 1:
        with solara.Columns([1, 1]):
            for run in runs:
                EventsFeed(run, f"What happened: {run.spec.name}")


@solara.component
def About():
    """The Info tab: what the model is, how it works, how to use it, things to notice and try."""
    show_odd, set_show_odd = solara.use_state(False)
    with solara.Column(classes=["estate-about"], style={"max-width": "60em"}):
        solara.Markdown(ABOUT)
        if ODD_PATH.is_file():
            solara.Button("Hide docs/ODD.md" if show_odd else "Show the full model description "
                          "(docs/ODD.md)", on_click=lambda: set_show_odd(not show_odd), text=True)
            if show_odd:
                solara.Markdown(ODD_PATH.read_text(encoding="utf-8"))


UPLOAD_HELP = f"""
Run the model on your own district: a CSV file with **one row per estate**.

| column | meaning |
| --- | --- |
| `estate_id` | a name, unique in the file |
| `households` | households living there |
| `floor_area_m2` | total floor area (m²) |
| `housing_type` | one of {", ".join(f"`{t}`" for t in HOUSING_TYPES)} |
| `x_m`, `y_m` | position in metres (any origin) |
| `block` *(optional)* | the street block it belongs to |
| `gates`, `fee_yuan_per_m2`, `fund_yuan`, `condition` *(optional)* | entrances, fee standard \
(yuan/m²/month), maintenance fund (yuan), building condition (0–1); missing values take the \
housing type's defaults |

A valid file becomes the district at once, run with the settings on the left; it stays the
district (*uploaded CSV*) when you press Reset. Download the Ouyang Road district below to see
the format, or to edit it.
"""


def save_district_csv(name: str, data: bytes, folder: Path) -> Path:
    """Keep an uploaded district CSV in folder and check it; InputError says what is wrong."""
    path = folder / (Path(name).name or "district.csv")
    path.write_bytes(data)
    build_scenario(UPLOADED_CSV, csv_path=str(path))
    return path


@solara.component
def DistrictUpload(model: solara.Reactive, uploaded: solara.Reactive):
    """Upload a district CSV; a valid one becomes the district of a new model at once."""
    folder = solara.use_memo(lambda: Path(tempfile.mkdtemp(prefix="estate-sim-app-")), [])
    sample = solara.use_memo(
        lambda: build_scenario("ouyang_road").load_district().estates.to_csv(index=False), [])
    error, set_error = solara.use_state("")

    def on_file(info) -> None:
        try:
            path = save_district_csv(info["name"], info["data"], folder)
        except InputError as exc:
            set_error(f"{info['name']}: {exc.message}" + (f" (column or key: {exc.key})"
                                                           if exc.key else ""))
            return
        set_error("")
        uploaded.set(str(path))
        model.set(TeachingModel(**{**model.value.settings, "district": UPLOADED_CSV,
                                   "csv_path": str(path)}))

    with solara.Column(style={"max-width": "60em"}, classes=["estate-upload"]):
        solara.Markdown(UPLOAD_HELP)
        solara.FileDrop(label="Drop a district CSV file here", on_file=on_file, lazy=False)
        if error:
            solara.Error(error)
        elif uploaded.value:
            solara.Success(f"Running on {Path(uploaded.value).name}: "
                           f"{len(model.value.estates)} estates, {model.value.n_households:,} "
                           "households.")
        solara.FileDownload(sample, filename="ouyang_road.csv",
                            label="Download the Ouyang Road district (CSV)")


SIDEBAR_CSS = """
.v-input.v-slider.v-input--horizontal {
    grid-template-areas: "prepend" "control"; grid-template-columns: 1fr; margin-bottom: 12px;
}
.v-slider .v-input__prepend { margin-inline-end: 0; margin-bottom: 0; padding-top: 0; }
.v-slider .v-slider__label { white-space: normal; font-size: 0.85rem; }
.v-slider .v-slider__container { margin-bottom: 14px; }
.estate-upload th, .estate-upload td { text-align: left !important; }
.v-slider-thumb::after {
    content: attr(aria-valuenow); position: absolute; top: 17px; left: 50%;
    transform: translateX(-50%); font-size: 11px; color: #444; white-space: nowrap;
}
"""
"""Slider labels above their sliders, each slider's value shown under its knob; tables left-aligned."""

VIEWS = ("District", "Your own district", "About this model")


@solara.component
def Page():
    """The whole app: SolaraViz's controls on the left, the district and the Info tab in the middle."""
    first = solara.use_memo(TeachingModel, [])
    model = solara.use_reactive(first)
    uploaded = solara.use_reactive(None)
    view, set_view = solara.use_state(0)
    solara.Title("Small estates: a governance model")
    solara.Style(SIDEBAR_CSS)
    # keyed by the upload: SolaraViz reads its fixed parameters (the CSV's path) when it mounts
    SolaraViz(model, components=[], model_params=model_params(model.value.settings, uploaded.value),
              name="Governing small estates: the Ouyang Road reforms", play_interval=150,
              ).key(f"viz-{uploaded.value}")
    solara.v.Tabs(v_model=view, on_v_model=set_view,
                  children=[solara.v.Tab(children=[name]) for name in VIEWS])
    if view == 0:
        DistrictView(model.value)
    elif view == 1:
        DistrictUpload(model, uploaded)
    else:
        About()

"""The teaching app: a Solara page (`estate-sim app` serves it).

The left panel holds the lesson presets (one click sets up each part of docs/TEACHING.md),
Reset / ▶ / Step, and the controls; a hint shows when the controls differ from the running
model. The main area shows number tiles for the worksheet's measures, the district map (hover
over an estate to inspect it), the outcome charts, the events panel and the exports; tabs hold
"Your own district" and "About this model".

Play runs in one thread per session (`play_loop`): it steps the model at the chosen speed and
draws a picture at most every FRAME_SECONDS, so a busy server draws fewer pictures rather than
falling behind; it stops at the scenario's horizon, on pause, and when no page of the session
has been connected for RECONNECT_GRACE_SECONDS (a closed tab). Mesa's SolaraViz is not used: its
play loop kept stepping after the tab closed and its "Use Threads" option desynchronised the
readout.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
import solara.lab

from sim.app.about import ABOUT, ABOUT_ZH
from sim.app.controls import (
    ENGINES,
    LESSON_PRESETS,
    NO_COMPARISON,
    OTHER_SLIDERS,
    changed_settings,
    policy_controls,
    preset_of,
    preset_settings,
    settings_from_link,
    setup_caption,
    setup_link,
    slider_positions,
)
from sim.app.frames import TURNS, FrameGate, FrameTurns
from sim.app.i18n import LANGUAGES, error_text, tr
from sim.app.markdown import MathMarkdown
from sim.app.model import (
    DISTRICTS,
    POLICY_SETS,
    UPLOADED_CSV,
    TeachingModel,
    build_scenario,
    month_label,
    run_display_name,
)
from sim.app.monitors import (
    EVENT_KINDS,
    OTHER_KIND,
    ROUTINE_KINDS,
    TILES,
    events_csv,
    events_frame,
    format_difference,
    format_tile,
    notable_events,
    round_summary,
    tile_values,
    timeseries_csv,
)
from sim.app.seeds import SEED_YEARS, SEEDS, spread_rows, submit_seeds
from sim.app.views import MEASURES, charts_data, charts_months, charts_spec, map_data, map_spec, tr_month
from sim.errors import InputError
from sim.params import HOUSING_TYPES

ODD_PATH = Path(__file__).resolve().parents[2] / "docs" / "ODD.md"
EVENTS_SHOWN = 100
"""Events listed in the panel (newest first); the events CSV holds them all."""
FRAME_SECONDS = 0.4
"""Least time between two pictures while playing (the model steps on in between)."""
FRAME_SHARE = 0.25
"""At most this share of a playing session's time goes to drawing (its CPU time): when a frame
costs much, the next comes later, so the months keep their pace and the frames thin out."""
CATCH_UP_SECONDS = 2.0
"""A late play loop catches up at most this much time's worth of months (then it moves on)."""
RECONNECT_GRACE_SECONDS = 3.0
"""Play stops when no page of the session has been connected for this long (tab closed)."""
SPEEDS = (1, 3, 6, 12, 24)
"""Months per second while playing; 12 plays a year a second."""
DEFAULT_SPEED = 12


def page_connected(context) -> bool:
    """Whether a browser page of this session is connected (True outside a server, e.g. in tests)."""
    if context is None:
        return True
    from solara.server.kernel_context import PageStatus

    if context.closed_event.is_set():
        return False
    return PageStatus.CONNECTED in list(context.page_status.values())


def play_loop(model: TeachingModel, cancel: threading.Event, *, months_per_second: float,
              on_frame, connected=lambda: True, frame_seconds: float = FRAME_SECONDS,
              grace_seconds: float = RECONNECT_GRACE_SECONDS, page_ready=lambda: True,
              turns: FrameTurns | None = None) -> str:
    """Step the model until cancelled, at the horizon, or with no page connected; returns why it stopped.

    Months are due at `months_per_second`; a late loop catches up (at most CATCH_UP_SECONDS'
    worth). `on_frame()` (which redraws) runs at the end and otherwise at most every
    `frame_seconds`, no more often than keeps drawing to FRAME_SHARE of the time, only once
    `page_ready()` (the page drew the last frame: sim.app.frames.FrameGate) and in the session's
    turn among the server's (`turns`, sim.app.frames.FrameTurns).
    """
    turns = turns or FrameTurns(concurrent=1, share=1.0)
    next_month = time.monotonic()
    next_frame = time.monotonic() + frame_seconds
    gone_since = None
    reason = "paused"
    while not cancel.is_set():
        now = time.monotonic()
        if connected():
            gone_since = None
        elif gone_since is None:
            gone_since = now
        elif now - gone_since >= grace_seconds:
            reason = "page closed"
            break
        if model.at_horizon:
            reason = "horizon"
            break
        if now < next_month:
            cancel.wait(min(next_month - now, 0.25))
            continue
        with model.lock:
            model.step()
        next_month = max(next_month + 1.0 / months_per_second, now - CATCH_UP_SECONDS)
        if time.monotonic() >= next_frame and page_ready():
            with turns.turn(cancel) as mine:
                if not mine:
                    continue
                # the drawing's own CPU time, not its wall time: on a crowded machine a frame waits
                # for the CPU, and backing off by that wait left pages standing still for tens of seconds
                drawing = time.thread_time()
                on_frame()
                took = time.thread_time() - drawing
            next_frame = time.monotonic() + max(frame_seconds, took * (1 - FRAME_SHARE) / FRAME_SHARE)
    else:  # cancelled: by the pause button, or because the session closed with its page
        if not connected():
            return "page closed"
    if reason != "page closed":
        with turns.turn():
            on_frame()
    return reason


def _current_context():
    try:
        from solara.server import kernel_context

        return kernel_context.get_current_context() if kernel_context.has_current_context() else None
    except Exception:  # outside a Solara server (unit tests) there is no kernel context
        return None


# --- the left panel -----------------------------------------------------------------------------
@solara.component
def SliderControl(name: str, spec: dict[str, Any], settings: solara.Reactive, lang: str):
    """One parameter's slider: its label and value above the bar, a help text under it.

    The bar stops at `slider_positions` (a readable grid, the model's default, the presets' values).
    """
    positions = slider_positions(name)
    value = settings.value[name]
    index = min(range(len(positions)), key=lambda i: abs(positions[i] - value))

    def on_index(i) -> None:
        settings.set({**settings.value, name: positions[int(i)]})

    with solara.Div(classes=["estate-slider", f"estate-slider-{name}"]):
        label = html.escape(tr(spec["label"], lang))
        solara.HTML(unsafe_innerHTML=f'<span class="estate-slider-label">{label}'
                    f'</span> <b class="estate-slider-value">{value:g}</b>')
        solara.v.Slider(v_model=index, on_v_model=on_index, min=0, max=len(positions) - 1, step=1,
                        hide_details=True, density="compact", color="primary")
        solara.Text(tr(spec["help"], lang), classes=["estate-help"])


def choice(label: str, value: str, values: list[str], on_value, lang: str, classes: list[str]) -> None:
    """A drop-down whose items show in the page's language (the value stays the setting's)."""
    solara.v.Select(label=label, v_model=value, on_v_model=on_value, density="compact", hide_details=True,
                    items=[{"title": tr(v, lang), "value": v} for v in values], class_=" ".join(classes))


@solara.component
def Controls(pending: solara.Reactive, uploaded: str | None, lang: str):
    """The controls: district, comparison, policy blocks with their parameters, votes, fees, seed."""
    s = pending.value

    def put(name):
        return lambda v: pending.set({**pending.value, name: v})

    districts = [*DISTRICTS, *([UPLOADED_CSV] if uploaded else [])]
    choice(tr("District", lang), s["district"], districts, put("district"), lang, ["estate-district-choice"])
    choice(tr("Compare with (side by side)", lang), s["compare_with"], [NO_COMPARISON, *POLICY_SETS],
           put("compare_with"), lang, ["estate-compare-choice"])
    solara.Text(tr("Policies", lang), classes=["estate-heading"])
    for block, control in policy_controls().items():
        solara.Checkbox(label=tr(control["label"], lang), value=s[block], on_value=put(block))
        if s[block]:
            for name, spec in control["params"].items():
                SliderControl(name, spec, pending, lang)
    solara.Text(tr("Votes, fees and volunteers", lang), classes=["estate-heading"])
    if s["compare_with"] != NO_COMPARISON:
        solara.Text(tr("These settings apply to both runs of the comparison.", lang), classes=["estate-note"])
    for name, spec in OTHER_SLIDERS.items():
        SliderControl(name, spec, pending, lang)
    solara.Text(tr("Random seed (replicate)", lang), classes=["estate-heading"])
    solara.v.TextField(v_model=s["rng"],
                       on_v_model=lambda v: put("rng")(int(v)) if str(v).isdigit() else None,
                       type="number", density="compact", hide_details=True, class_="estate-seed")
    choice(tr("Engine", lang), s["engine"], list(ENGINES), put("engine"), lang, ["estate-engine-choice"])


# --- the main area ------------------------------------------------------------------------------
@solara.component
def Tiles(model: TeachingModel, frames: solara.Reactive, lang: str):
    """Number tiles for the worksheet's measures; in side-by-side mode both runs and the difference.

    It reads the frame counter itself: each frame re-renders the tiles (not the view around them).
    """
    frames.value  # noqa: B018 - read to follow the frames
    with model.lock:
        values = [tile_values(run, start) for run, start in zip(model.runs, model.start_records, strict=True)]
    names = run_names(model, lang)
    cells = []
    for key, label, _ in TILES:
        shown = " · ".join(format_tile(key, v[key]) for v in values)
        extra = ""
        if len(values) > 1:
            extra = (f'<div class="estate-tile-diff">{html.escape(names[0])} − {html.escape(names[1])}: '
                     f"{format_difference(key, values[0][key], values[1][key])}</div>")
        cells.append(f'<div class="estate-tile" data-key="{key}"><div class="estate-tile-label">'
                     f"{html.escape(tr(label, lang))}</div><div class=\"estate-tile-value\">"
                     f"{html.escape(shown)}</div>{extra}</div>")
    solara.HTML(unsafe_innerHTML="".join(cells), classes=["estate-tiles"])


def events_html(events_table, kinds: list[str], lang: str = "en") -> str:
    """The events of the chosen kinds, newest first, as one HTML table (one element renders fast)."""
    shown = events_table[events_table["kind"].isin(kinds)]
    hidden = len(shown) - EVENTS_SHOWN
    rows = "".join(
        f'<tr class="estate-event-{html.escape(r.kind.replace(" ", "-"))}"><td class="estate-when">'
        f"{html.escape(tr_month(r.when, lang))}</td><td>{html.escape(r.text)}"
        + (f'<div class="estate-votes">{html.escape(r.votes)}</div>' if r.votes else "")
        + "</td></tr>"
        for r in shown.iloc[::-1].head(EVENTS_SHOWN).itertuples(index=False))
    if hidden > 0:
        rows += (f'<tr><td></td><td class="estate-when">{html.escape(tr("… and {} earlier events", lang))}'
                 .format(hidden) + "</td></tr>")
    return f'<table class="estate-events-table">{rows}</table>'


def notable_html(table, lang: str) -> str:
    """The latest notable events (mergers, failed votes, exits, fallbacks), one line each."""
    rows = notable_events(table)
    if rows.empty:
        return ""
    items = "".join(f"<li><span class=\"estate-when\">{html.escape(tr_month(r.when, lang))}</span> "
                    f"{html.escape(r.text)}</li>" for r in rows.itertuples(index=False))
    return f"<b>{html.escape(tr('Notable', lang))}</b><ul class=\"estate-notable\">{items}</ul>"


def events_parts(run, kinds: tuple[str, ...], lang: str) -> tuple[str, list[str], str] | None:
    """The events panel's HTML: the yearly summary with the notable events, the kinds present, the list.

    None before the first event.
    """
    table = events_frame(run, lang)
    if table.empty:
        return None
    summary = "".join(f"<li>{html.escape(tr('Year {}', lang).format(year))}: {html.escape(text)}</li>"
                      for year, text in round_summary(run, lang))
    all_kinds = [kind for kind, _ in EVENT_KINDS] + [OTHER_KIND]
    present = [k for k in all_kinds if k in set(table["kind"])]
    return (f"<b>{tr('Per year', lang)}</b><ul>{summary}</ul>" + notable_html(table, lang), present,
            events_html(table, list(kinds), lang))


EVENTS_REFRESH_S = 2.0
"""While playing, the events panel is built again at most this often (the map and tiles every frame)."""
SLOW_PARTS_EVERY = 3
"""While playing, the charts and the events panel change at most every this many map frames (and
every CHARTS_REFRESH_S, EVENTS_REFRESH_S): a crowded browser drew a page's frame every few seconds,
and the charts and the events then came with every frame, costing it more than the map."""


def slow_part_due(last_frame: int, last_at: float, frame: int, live: bool, every_s: float) -> bool:
    """Whether a part that changes less often than the map (charts, events) takes this frame."""
    if not live:
        return True
    return time.monotonic() - last_at >= every_s and frame - last_frame >= SLOW_PARTS_EVERY


@solara.component
def EventsPanel(model: TeachingModel, index: int, frames: solara.Reactive, title: str, lang: str,
                live: bool = False):
    """A run's events: a count per kind for each year, the notable ones, filters by kind.

    Routine kinds (fee votes, tenders) start hidden from the list; every line is in the page's
    language (sim.app.event_text). It follows the frames itself, and builds its HTML again only
    when the run has logged new events, and while playing (`live`) at most every EVENTS_REFRESH_S
    and SLOW_PARTS_EVERY frames (a frame then sends the page nothing from here; paused, the panel
    is current).
    """
    frame = frames.value
    run = model.runs[index]
    all_kinds = [kind for kind, _ in EVENT_KINDS] + [OTHER_KIND]
    kinds, set_kinds = solara.use_state([k for k in all_kinds if k not in ROUTINE_KINDS])
    shown = solara.use_ref({"events": -1, "at": 0.0, "frame": -SLOW_PARTS_EVERY})
    if slow_part_due(shown.current["frame"], shown.current["at"], frame, live, EVENTS_REFRESH_S):
        shown.current = {"events": len(run.event_log), "at": time.monotonic(), "frame": frame}

    def build():
        with model.lock:
            return events_parts(run, tuple(kinds), lang)

    parts = solara.use_memo(build, [run, shown.current["events"], tuple(kinds), lang])
    with solara.Card(title, classes=["estate-events"]):
        if parts is None:
            solara.Text(tr("Nothing has happened yet. Press Step or ▶.", lang), classes=["estate-muted"])
            return
        rounds, present, listed = parts
        solara.HTML(unsafe_innerHTML=rounds, classes=["estate-rounds"])
        solara.ToggleButtonsMultiple(value=[k for k in kinds if k in present],
                                     on_value=lambda v: set_kinds(v + [k for k in kinds if k not in present]),
                                     dense=True, classes=["estate-event-filter"],
                                     children=[solara.Button(tr(k, lang), value=k) for k in present])
        solara.HTML(unsafe_innerHTML=listed, classes=["estate-events-list"])


def spread_html(rows: list[dict[str, str]], names: list[str], lang: str) -> str:
    """The seeds' spread as one table: a row per measure, a column per run (and the difference)."""
    heads = [*names, *([tr("difference", lang), tr("first ahead", lang)] if len(names) == 2 else [])]
    keys = [*names, *(["difference", "first ahead"] if len(names) == 2 else [])]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["", *heads])
    body = "".join("<tr><td>" + html.escape(tr(row["measure"], lang)) + "</td>"
                   + "".join(f"<td>{html.escape(row[k])}</td>" for k in keys) + "</tr>" for row in rows)
    return f'<table class="estate-spread"><tr>{head}</tr>{body}</table>'


@solara.component
def SeedSpread(model: TeachingModel, names: list[str], lang: str):
    """The "run 10 seeds" button and the spread it finds (sim/app/seeds.py), in the background.

    The seeds run in the server's one worker process; this session's thread only waits for them,
    and stops waiting (cancelling the seeds not started) when the setup changes or the page goes.
    """
    requested, set_requested = solara.use_state(False)
    results = solara.use_reactive([])
    failed = solara.use_reactive("")
    context = solara.use_memo(_current_context, [])

    def work(cancel: threading.Event) -> None:
        if not requested:
            return
        futures = submit_seeds(model.settings)
        try:
            done = []
            for future in futures:
                while not future.done():
                    if cancel.is_set() or not page_connected(context):
                        return
                    cancel.wait(0.25)
                done.append(future.result())
                results.set(list(done))
        except Exception as exc:  # a worker that died (the server stopping): say so, do not crash
            failed.set(f"{type(exc).__name__}: {exc}")
        finally:
            for future in futures:
                future.cancel()

    solara.use_thread(work, dependencies=[requested], intrusive_cancel=False)
    with solara.Card(tr("Several seeds", lang), classes=["estate-seeds"]):
        solara.Text(tr("The same setup with this seed and the next {}: each run's value in year {} (median "
                       "[lowest, highest]).", lang).format(SEEDS - 1, SEED_YEARS), classes=["estate-help"])
        solara.Button(tr("Run {} seeds", lang).format(SEEDS), on_click=lambda: set_requested(True),
                      disabled=requested, outlined=True, classes=["estate-seeds-run"])
        if failed.value:
            solara.Error(failed.value)
        elif requested:
            solara.Text(tr("{} of {} seeds done", lang).format(len(results.value), SEEDS),
                        classes=["estate-seeds-progress"])
        if results.value:
            solara.HTML(unsafe_innerHTML=spread_html(spread_rows(results.value, names), names, lang))


@solara.component_vue("vega_view.vue")
def VegaView(spec: dict, frame_data: dict, kind: str = "", export_label: str = "", export_name: str = "",
             export_title: list | None = None, ack: bool = False, event_drawn: Callable | None = None):
    """A Vega-Lite view drawn in the browser; each frame only `frame_data` changes (sim/app/vega_view.vue).

    With `ack`, the browser calls `event_drawn(frame)` when it has drawn a frame.
    """


MARKS_KEY = (
    ('<svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="white" stroke="#e6194b" '
     'stroke-width="2.5"/></svg>', "edge colour: its firm"),
    ('<svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="white" stroke="#bbbbbb" '
     'stroke-width="1"/></svg>', "thin grey edge: no firm"),
    ('<svg width="14" height="14"><rect x="2" y="2" width="10" height="10" fill="white" stroke="#4363d8" '
     'stroke-width="2"/></svg>', "firm's office (number)"),
    ('<svg width="18" height="14"><line x1="1" y1="7" x2="17" y2="7" stroke="#444" stroke-opacity="0.5" '
     'stroke-width="3"/></svg>', "spokes: merged area"),
    ('<svg width="14" height="14"><path d="M7 1 L13 7 L7 13 L1 7 Z" fill="black"/></svg>',
     "entrusted to a strong firm"),
    ('<svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="none" stroke="black" '
     'stroke-width="2.5"/></svg>', "in this month's events"),
    ('<svg width="18" height="14"><rect x="1" y="2" width="16" height="10" fill="#f2f2f2" stroke="#c8c8c8" '
     'stroke-dasharray="3 2"/></svg>', "street block"),
)
"""The map's marks beyond colour and size (those have Vega's own legends)."""


def marks_key_html(lang: str) -> str:
    """One line under the map that explains its marks."""
    return "".join(f'<span class="estate-mark">{svg} {html.escape(tr(text, lang))}</span>'
                   for svg, text in MARKS_KEY)


@solara.component
def Readouts(model: TeachingModel, frames: solara.Reactive, lang: str):
    """Each run's month and management areas; follows the frames itself (one HTML element)."""
    frames.value  # noqa: B018 - read to follow the frames
    with model.lock:
        texts = [f"{tr_month(month_label(run.month), lang)} · {name}: "
                 f"{len(set(run.area_view().area_id))} {tr('management areas', lang)}"
                 for run, name in zip(model.runs, run_names(model, lang), strict=True)]
    spans = "".join(f'<span class="estate-readout">{html.escape(t)}</span>' for t in texts)
    solara.HTML(unsafe_innerHTML=spans, classes=["estate-readouts"])


@solara.component
def MapFrame(model: TeachingModel, frames: solara.Reactive, measure: str, lang: str, gate: FrameGate | None):
    """The map(s) of the current month: the spec once per measure and language, the data each frame.

    The browser says when it has drawn a frame (`gate`, sim/app/frames.py): the session sends the
    next only then.
    """
    frame = frames.value
    names = run_names(model, lang)
    spec = solara.use_memo(lambda: map_spec(model.estates, measure, names, lang), [model, measure, lang])

    def read():
        with model.lock:
            return map_data(model.runs, measure, lang, frame)

    data = solara.use_memo(read, [model, measure, lang, frame, model.month])
    VegaView(spec=spec, frame_data=data, kind="map", export_label=tr("Map (PNG)", lang),
             export_name="estate-sim-map.png", export_title=setup_caption(model.settings, names, lang),
             ack=gate is not None, event_drawn=gate.on_drawn if gate is not None else None)


CHARTS_REFRESH_S = 2.0
"""While playing, the charts get new months at most this often (the map every frame): a page's
drawing of the twelve charts cost it more than its map."""


@solara.component
def ChartsFrame(model: TeachingModel, frames: solara.Reactive, lang: str, live: bool = False):
    """The outcome charts: each update sends the months since the last the page drew (views.charts_data).

    While playing (`live`) they are updated at most every CHARTS_REFRESH_S and SLOW_PARTS_EVERY
    frames; paused, at every frame.
    """
    frame = frames.value
    names = run_names(model, lang)
    spec = solara.use_memo(lambda: charts_spec(names, lang), [model, lang])
    # months the page holds: frames sent (frame -> months) and the latest it drew, for this model
    # and language (a new one starts again from the start)
    held = solara.use_ref({"key": None, "sent": {}, "drawn": None, "frame": 0, "month": 0, "at": 0.0})
    key = (model, lang)  # the model itself, not its id: a new model may take a freed one's id
    if held.current["key"] != key:
        held.current = {"key": key, "sent": {}, "drawn": None, "frame": frame - SLOW_PARTS_EVERY, "month": 0,
                        "at": 0.0}
    if slow_part_due(held.current["frame"], held.current["at"], frame, live, CHARTS_REFRESH_S):
        held.current.update(frame=frame, month=model.month, at=time.monotonic())
    shown = held.current["frame"]

    def drawn(number) -> None:
        state = held.current
        months = state["sent"].get(number)
        if months is not None and state["key"] == key:
            state["drawn"] = months
            state["sent"] = {f: m for f, m in state["sent"].items() if f > number}

    def read():
        with model.lock:
            state = held.current
            data = charts_data(model.runs, names, lang, shown, model.start_records, since=state["drawn"])
            state["sent"][shown] = charts_months(model.runs)
            return data

    data = solara.use_memo(read, [model, lang, shown, held.current["month"]])
    VegaView(spec=spec, frame_data=data, kind="charts", export_label=tr("Charts (PNG)", lang),
             export_name="estate-sim-charts.png", export_title=setup_caption(model.settings, names, lang),
             ack=True, event_drawn=drawn)


@solara.component
def DistrictView(model: TeachingModel, frames: solara.Reactive, lang: str, gate: FrameGate | None = None,
                 live: bool = False):
    """Tiles, map(s), charts, events and exports of the current month.

    It does not read the frame counter: the parts that change each month (readouts, map, tiles,
    charts, events) read it themselves, so a frame re-renders those only; the measure buttons, the
    key, the seeds and the exports stay as they are. `live`: the model is playing.
    """
    measure, set_measure = solara.use_state("service quality")
    runs = model.runs
    names = run_names(model, lang)
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "4px 12px"}):
        Readouts(model, frames, lang)
        solara.ToggleButtonsSingle(value=measure, on_value=set_measure, dense=True,
                                   classes=["estate-measure"],
                                   children=[solara.Button(tr(m, lang), value=m) for m in MEASURES])
    with solara.Div(classes=["estate-district"]):
        with solara.Div(classes=["estate-map-column"]):
            MapFrame(model, frames, measure, lang, gate)
            solara.HTML(unsafe_innerHTML=marks_key_html(lang), classes=["estate-marks"])
        Tiles(model, frames, lang)
    ChartsFrame(model, frames, lang, live)
    # a grid, not solara.Columns: a Vuetify row's negative margins made the page 4 px too wide
    with solara.Div(classes=["estate-events-columns"],
                    style={"grid-template-columns": f"repeat({len(runs)}, minmax(0, 1fr))"}):
        for index, name in enumerate(names):
            EventsPanel(model, index, frames, f"{tr('What happened', lang)}: {name}", lang, live)
    SeedSpread(model, names, lang).key(f"seeds-{id(model)}")
    with solara.Card(tr("Export", lang), classes=["estate-export"]):
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.FileDownload(lambda: timeseries_csv(runs, model.settings),
                                filename="estate-sim-timeseries.csv", label=tr("Time series (CSV)", lang))
            solara.FileDownload(lambda: events_csv(runs, model.settings), filename="estate-sim-events.csv",
                                label=tr("Events (CSV)", lang))


@solara.component
def About(lang: str):
    """The Info tab: what the model is, how it works, how to use it; the full ODD on request."""
    show_odd, set_show_odd = solara.use_state(False)
    with solara.Column(classes=["estate-about"], style={"max-width": "60em"}):
        MathMarkdown(ABOUT_ZH if lang == "zh" else ABOUT)
        if ODD_PATH.is_file():
            label = "Hide docs/ODD.md" if show_odd else "Show the full model description (docs/ODD.md)"
            solara.Button(tr(label, lang), on_click=lambda: set_show_odd(not show_odd), text=True)
            if show_odd:
                MathMarkdown(ODD_PATH.read_text(encoding="utf-8"))


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

A valid file becomes the district at once, run with the settings in the controls; it stays the
district (*uploaded CSV*) when you press Reset. Download the Ouyang Road district below to see
the format, or to edit it.
"""

UPLOAD_HELP_ZH = f"""
在你自己的街区上运行模型：一个 CSV 文件，**每个小区一行**。

| 列 | 含义 |
| --- | --- |
| `estate_id` | 小区名称，在文件中唯一 |
| `households` | 居住户数 |
| `floor_area_m2` | 总建筑面积（平方米） |
| `housing_type` | 以下之一：{"、".join(f"`{t}`" for t in HOUSING_TYPES)} |
| `x_m`、`y_m` | 位置（米，原点任意） |
| `block` *（可选）* | 所属街区 |
| `gates`、`fee_yuan_per_m2`、`fund_yuan`、`condition` *（可选）* | 出入口数、物业费标准\
（元/平方米/月）、维修资金（元）、房屋状况（0–1）；缺少的值取该房屋类型的默认值 |

有效的文件立即成为当前街区，并使用控制项中的设置运行；按“重置”后它仍是当前街区（*上传的CSV街区*）。
可以在下方下载欧阳路街区，查看格式或加以修改。
"""
"""UPLOAD_HELP in Chinese (the columns keep their names: they are the file's)."""

UPLOADS_ENV = "ESTATE_SIM_UPLOADS"
"""Folder under which each session keeps its uploads (`estate-sim app` removes it when it stops)."""


def save_district_csv(name: str, data: bytes, folder: Path) -> Path:
    """Keep an uploaded district CSV in folder and check it; InputError says what is wrong."""
    path = folder / (Path(name).name or "district.csv")
    path.write_bytes(data)
    build_scenario(UPLOADED_CSV, csv_path=str(path))
    return path


RELEASE_DELAY_S = 2.0
"""A closed session's memory is handed back this long after it closed (its objects gone by then)."""


def release_memory() -> None:
    """Collect garbage and hand the freed heap back to the system (glibc's malloc_trim, where there is one).

    A class's closed sessions freed their models, but the server's resident memory stayed where 30
    sessions had put it: the C heap kept the freed pages.
    """
    import ctypes
    import ctypes.util
    import gc
    import sys

    gc.collect()
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:  # pandas' string columns live in Arrow's own pool, which keeps freed pages
        arrow.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except OSError:  # no C library to ask (not Linux): the collection is all
        pass


def release_memory_later() -> None:
    """release_memory after RELEASE_DELAY_S, in a daemon timer (a closing session must not wait)."""
    timer = threading.Timer(RELEASE_DELAY_S, release_memory)
    timer.daemon = True
    timer.start()


def session_folder() -> Path:
    """A new upload folder for this session, under the server's uploads folder if it has one."""
    import os

    parent = os.environ.get(UPLOADS_ENV)
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="estate-sim-app-", dir=parent or None))
    context = _current_context()
    if context is not None:  # a closed session's uploads go with it
        context.on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return folder


@solara.component
def DistrictUpload(apply, uploaded: solara.Reactive, model: TeachingModel, lang: str):
    """Upload a district CSV; a valid one becomes the district of a new model at once."""
    folder = solara.use_memo(session_folder, [])
    sample = solara.use_memo(
        lambda: build_scenario("ouyang_road").load_district().estates.to_csv(index=False), [])
    error, set_error = solara.use_state(None)

    def on_file(info) -> None:
        try:
            path = save_district_csv(info["name"], info["data"], folder)
        except InputError as exc:
            set_error((info["name"], exc.message, exc.key))  # shown in the page's language of the moment
            return
        set_error(None)
        uploaded.set(str(path))
        apply({"district": UPLOADED_CSV, "csv_path": str(path)})

    with solara.Column(style={"max-width": "60em"}, classes=["estate-upload"]):
        MathMarkdown(UPLOAD_HELP_ZH if lang == "zh" else UPLOAD_HELP)
        solara.FileDrop(label=tr("Drop a district CSV file here", lang), on_file=on_file, lazy=False)
        if error:
            solara.Error(error_text(*error, lang), classes=["estate-upload-error"])
        elif uploaded.value:
            solara.Success(tr("Running on {}: {} estates, {} households.", lang).format(
                Path(uploaded.value).name, len(model.estates), f"{model.main.n_households:,}"))
        solara.FileDownload(sample, filename="ouyang_road.csv",
                            label=tr("Download the Ouyang Road district (CSV)", lang))


PAGE_CSS = """
.estate-top { display: flex; flex-wrap: wrap; align-items: center; gap: 2px 8px; }
.estate-top .v-btn { text-transform: none; letter-spacing: 0; }
.estate-title { font-size: 1.05rem; font-weight: 500; }
.estate-top > .v-btn { height: 30px !important; }
.estate-presets { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; margin: 2px 0; }
.estate-presets .v-btn { text-transform: none; letter-spacing: 0; height: 24px !important;
  padding: 0 6px !important; font-size: 0.78rem; }
.estate-link { font-size: 0.8rem; margin-left: 6px; }
.estate-shell { display: flex; align-items: flex-start; gap: 12px; max-width: 100%; }
.estate-side { flex: 0 0 300px; max-width: 300px; }
.estate-main { flex: 1 1 auto; min-width: 0; }
.estate-slider { margin: 6px 0 2px 0; }
.estate-slider-label { font-size: 0.85rem; }
.estate-help, .estate-note { display: block; font-size: 0.75rem; opacity: 0.75; line-height: 1.2; }
.estate-note { font-style: italic; margin-bottom: 4px; }
.estate-hint { background: #fff3cd; color: #664d03; border-radius: 4px; padding: 2px 8px; font-weight: 500; }
.estate-status { font-weight: 500; color: #1f5fa8; }
.estate-readout { display: inline-block; font-weight: 500; }
.estate-readouts { display: flex; flex-wrap: wrap; gap: 4px 12px; }
.estate-heading { display: block; font-weight: 600; margin-top: 8px; }
.estate-main .v-tabs { height: 34px; }
.estate-main .v-tab { text-transform: none; letter-spacing: 0; }
.estate-district { display: grid; grid-template-columns: minmax(0, 1fr) 260px; gap: 8px; align-items: start; }
@media (max-width: 1100px) { .estate-district { grid-template-columns: minmax(0, 1fr); } }
.estate-marks { font-size: 0.75rem; display: flex; flex-wrap: wrap; gap: 2px 10px; }
.estate-mark svg { vertical-align: middle; }
.estate-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr));
  gap: 4px; margin: 0; }
.estate-tile { border: 1px solid rgba(128,128,128,0.4); border-radius: 6px; padding: 2px 6px; }
.estate-tile-label { font-size: 0.72rem; opacity: 0.8; line-height: 1.2; }
.estate-tile-value { font-size: 1.05rem; font-weight: 600; }
.estate-tile-diff { font-size: 0.75rem; }
.estate-spread { font-size: 0.85em; border-spacing: 8px 2px; }
.estate-spread th { text-align: left; }
.estate-events-columns { display: grid; gap: 8px; margin-top: 8px; }
.estate-events-list { max-height: 420px; overflow-y: auto; }
.estate-events-table { font-size: 0.85em; border-spacing: 0 3px; }
.estate-when, .estate-muted { opacity: 0.7; white-space: nowrap; padding-right: 10px; vertical-align: top; }
.estate-votes { font-size: 0.9em; opacity: 0.85; }
.estate-rounds ul { margin: 0 0 6px 0; }
.estate-notable { font-size: 0.85em; max-height: 9em; overflow-y: auto; }
.estate-event-filter { flex-wrap: wrap; height: auto !important; max-width: 100%; }
.estate-event-filter .v-btn { text-transform: none; letter-spacing: 0; }
.estate-measure .v-btn, .estate-speed .v-btn, .estate-language .v-btn { text-transform: none;
  letter-spacing: 0; min-width: 32px !important; padding: 0 8px !important; height: 28px !important; }
.estate-measure, .estate-speed, .estate-language { height: 28px !important; }
.estate-upload th, .estate-upload td { text-align: left !important; }
#vg-tooltip-element { font-size: 12px; }
.v-theme--dark .estate-hint { background: #665c1e; color: #fff8d8; }
.v-theme--dark .estate-status { color: #8cc4ff; }
.v-theme--dark .v-label { color: #f0f0f0 !important; opacity: 1; }
.v-theme--dark .v-btn-group, .v-theme--dark .v-tabs, .v-theme--dark .v-slide-group {
  background: transparent !important; }
.v-theme--dark .v-btn-group .v-btn, .v-theme--dark .v-tab {
  background-color: #303030 !important; color: #f0f0f0 !important; }
.v-theme--dark .v-btn-group .v-btn--active, .v-theme--dark .v-tab--selected {
  background-color: #5a5a5a !important; }
.v-theme--dark .estate-markdown, .v-theme--dark .estate-events { color: #f0f0f0; }
.v-theme--dark .estate-vega canvas, .v-theme--dark .estate-vega svg { background: white; }
.estate-math svg { vertical-align: middle; }
.v-theme--dark .estate-math svg { filter: invert(1); }
"""
"""Layout (controls beside the main area, the map beside the tiles), sliders, tiles, dark-mode colours."""

VIEWS = ("District", "Your own district", "About this model")


@solara.component
def Layout(children=()):
    """No app bar or drawer: the page lays itself out (a drawer covered the map below 1280 px)."""
    solara.Column(children=list(children), style={"padding": "8px", "box-sizing": "border-box",
                                                  "max-width": "100%", "margin": "0"})


def opening_model(query: str) -> TeachingModel:
    """The model a page opens on: the setup its link names, or the status quo if the link is bad."""
    try:
        return TeachingModel(**settings_from_link(query))
    except InputError:
        return TeachingModel(**settings_from_link(""))


def run_names(model: TeachingModel, lang: str) -> list[str]:
    """The runs' plain names in the page's language."""
    return [run_display_name(run.spec.name, lang) for run in model.runs]


def opening_gate(turns: FrameTurns = TURNS) -> FrameGate:
    """A new page's FrameGate: other sessions start no frame until this page has drawn its first map."""
    token = turns.opening()
    return FrameGate(first_drawn=lambda: turns.opened(token))


@solara.component
def Page():
    """The whole app: the toolbar and lessons on top, the controls on the left, the district on the right."""
    router = solara.use_router()
    first = solara.use_memo(lambda: opening_model(router.search or ""), [])
    model = solara.use_reactive(first)
    pending = solara.use_reactive(first.settings)
    playing = solara.use_reactive(False)
    frame = solara.use_reactive(0)
    status = solara.use_reactive("")
    speed = solara.use_reactive(DEFAULT_SPEED)
    lang = solara.use_reactive("en")
    show_side = solara.use_reactive(False)  # the map takes the width; ☰ opens the controls
    uploaded = solara.use_reactive(None)
    error = solara.use_reactive(None)  # (what, message, key) of a refused setup
    view, set_view = solara.use_state(0)
    context = solara.use_memo(_current_context, [])
    solara.use_memo(lambda: context.on_close(release_memory_later) if context is not None else None, [])
    gate = solara.use_memo(opening_gate, [])
    m = model.value

    def apply(changes: dict[str, Any] | None = None) -> None:
        settings = {**pending.value, **(changes or {})}
        playing.set(False)
        try:
            new = TeachingModel(**settings)
        except InputError as exc:
            error.set(("Settings", exc.message, exc.key))
            return
        error.set(None)
        status.set("")
        pending.set(new.settings)
        model.set(new)

    def play(cancel: threading.Event) -> None:
        if not playing.value:
            return
        started, first_month = time.monotonic(), m.month
        def next_frame() -> None:
            number = frame.peek() + 1
            gate.sending(number)
            frame.set(number)

        reason = play_loop(m, cancel, months_per_second=speed.value, on_frame=next_frame,
                           connected=lambda: page_connected(context), page_ready=gate.ready, turns=TURNS)
        # one line per stop in the server's log (how a teacher, the browser test and
        # benchmarks/bench_app_sessions.py see it)
        print(f"estate-sim app: a session stopped playing at {month_label(m.month)} ({reason}) after "
              f"{m.month - first_month} months in {time.monotonic() - started:.2f} s", flush=True)
        if reason == "horizon":
            when = tr_month(month_label(m.month), lang.value)
            status.set(tr("Stopped at the horizon", lang.value) + f" ({when})")
            playing.set(False)
        elif reason == "page closed" and context is not None and not context.closed_event.is_set():
            playing.set(False)  # a page that comes back (a network blip) finds the model paused

    # a new speed restarts the loop at that speed
    solara.use_thread(play, dependencies=[playing.value, m, speed.value], intrusive_cancel=False)

    def step() -> None:
        with m.lock:
            m.step()
        frame.set(frame.peek() + 1)

    def toggle_play() -> None:
        status.set("")
        playing.set(not playing.value)

    solara.Title("Small estates: a governance model")
    solara.Style(PAGE_CSS)
    lg = lang.value
    with solara.Div(classes=["estate-top"]):
        solara.Button("✕ " + tr("Hide controls", lg) if show_side.value else "☰ " + tr("Controls", lg),
                      on_click=lambda: show_side.set(not show_side.value), text=True,
                      classes=["estate-side-toggle"])
        solara.Text(tr("Governing small estates: the Ouyang Road reforms", lg), classes=["estate-title"])
        solara.Button(tr("Reset", lg), color="primary", on_click=lambda: apply(), classes=["estate-reset"])
        solara.Button("❚❚" if playing.value else "▶", color="primary", on_click=toggle_play,
                      disabled=m.at_horizon, classes=["estate-play"])
        solara.Button(tr("Step", lg), color="primary", on_click=step, disabled=playing.value or m.at_horizon,
                      classes=["estate-step"])
        solara.Text(tr("Months a second", lg) + ":")
        solara.ToggleButtonsSingle(value=str(speed.value), values=[str(s) for s in SPEEDS],
                                   on_value=lambda v: speed.set(int(v)), dense=True,
                                   classes=["estate-speed"])
        solara.ToggleButtonsSingle(value=[k for k, v in LANGUAGES.items() if v == lg][0],
                                   values=list(LANGUAGES), on_value=lambda k: lang.set(LANGUAGES[k]),
                                   dense=True, classes=["estate-language"])
        solara.lab.ThemeToggle()
        if changed_settings(pending.value, m.settings):
            solara.Text(tr("Changes not applied — press Reset", lg), classes=["estate-hint"])
        if status.value:
            solara.Text(status.value, classes=["estate-status"])
    with solara.Div(classes=["estate-presets"]):
        solara.Text(tr("Lesson", lg) + ":", classes=["estate-heading"], style={"margin": "0 4px 0 0"})
        running_preset = preset_of(m.settings)
        for name in LESSON_PRESETS:
            solara.Button(tr(name, lg), small=True, outlined=name != running_preset, color="primary",
                          on_click=lambda name=name: apply(preset_settings(name, pending.value)))
        link = setup_link(m.settings)
        solara.HTML(tag="a", unsafe_innerHTML=html.escape(tr("Link to this setup", lg)),
                    attributes={"href": link, "class": "estate-link"})
    if error.value:
        what, message, key = error.value
        solara.Error(error_text(tr(what, lg), message, key, lg))
    with solara.Div(classes=["estate-shell"]):
        if show_side.value:
            with solara.Div(classes=["estate-side"]):
                with solara.Card(tr("Controls", lg)):
                    Controls(pending, uploaded.value, lg)
        with solara.Div(classes=["estate-main"]):
            # each tab has its index as value: without one, Vuetify 3 reported the first as none
            solara.v.Tabs(v_model=view, on_v_model=lambda v: set_view(int(v or 0)), density="compact",
                          children=[solara.v.Tab(value=i, children=[tr(name, lg)])
                                    for i, name in enumerate(VIEWS)])
            if view == 0:
                DistrictView(m, frame, lg, gate, playing.value)
            elif view == 1:
                DistrictUpload(apply, uploaded, m, lg)
            else:
                About(lg)


def warm_up() -> None:
    """Load what every first page needs: the compiled month, the status quo's burn-in, a frame's data.

    The app's server (sim.app.server sets WARM_UP_ENV) runs it once in a background thread when it
    imports the app, so that the first student's page does not wait for it.
    """
    model = TeachingModel()
    model.step()
    names = run_names(model, "en")
    for lang in LANGUAGES.values():
        map_data(model.runs, "service quality", lang, 0)
        charts_data(model.runs, names, lang, 0, model.start_records)
        events_parts(model.main, ("fee vote",), lang)
        tile_values(model.main, model.start_records[0])
    release_memory()


WARM_UP_ENV = "ESTATE_SIM_APP_WARM_UP"


def _warm_up_in_background() -> None:
    import os

    if os.environ.get(WARM_UP_ENV) == "1":
        threading.Thread(target=warm_up, name="estate-sim-warm-up", daemon=True).start()


_warm_up_in_background()

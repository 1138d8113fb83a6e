"""The app's pictures: the district map and the outcome charts, as PNG bytes.

Each picture keeps one matplotlib Figure (no pyplot, so it is safe in the server's threads).
What does not change from month to month (street blocks, axes, ticks, titles, colour key) is
drawn once and kept as a bitmap; each month only the changing artists (estate colours, merged
groups, firms, lines) are drawn over it (matplotlib "blitting"), which keeps a redraw to a few
tens of milliseconds.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from PIL import Image

from sim.app.i18n import tr
from sim.app.model import active_firms, estate_table, month_label
from sim.fonts import font_family
from sim.params import MODES
from sim.rules import ENTRUSTED

MEASURES: dict[str, str] = {
    "service quality": "quality",
    "satisfaction": "satisfaction",
    "fee collection": "collection",
    "management mode": "mode",
}
"""What the map can colour estates by: label -> column of sim.app.model.estate_table."""

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
RUN_STYLES = ({"color": "#1f5fa8", "linestyle": "-"}, {"color": "#d95f02", "linestyle": "--"})
"""Line style of the first and (side-by-side) second run in the charts."""

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
_NO_FIRM_EDGE = to_rgba("#bbbbbb")
_HIGHLIGHT = "#000000"
_DPI = 100


def firm_colour(index: int) -> str:
    """The colour that marks one firm's estates on the map (distinct for the first 48 firms)."""
    return FIRM_PALETTE[index % len(FIRM_PALETTE)]


_ID_TOKEN = re.compile(r"[^\s,+()]+")


def estates_named(events: Sequence[tuple[int, str]], month: int, estate_ids: Sequence[str]) -> np.ndarray:
    """Which estates this month's events name (an event names areas by their estates' ids)."""
    named = {token for m, text in events if m == month for token in _ID_TOKEN.findall(text)}
    return np.array([e in named for e in estate_ids], dtype=bool)


class _Picture:
    """A figure whose static part is drawn once; changing artists are drawn over it each time."""

    def __init__(self, figure: Figure):
        self.figure = figure
        self.fonts = font_family()
        self.canvas = FigureCanvasAgg(figure)
        self._dynamic: list[Artist] = []
        self._background = None

    def _changing(self, artist: Artist) -> Artist:
        """Mark an artist as one that changes every month (left out of the kept background)."""
        artist.set_animated(True)
        self._dynamic.append(artist)
        return artist

    def _forget(self, artist: Artist) -> None:
        self._dynamic.remove(artist)
        artist.remove()

    def _encode(self, *, redraw_background: bool = False) -> bytes:
        if redraw_background or self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self._dynamic:
            self.figure.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


class DistrictMap(_Picture):
    """The district seen from above: one circle per estate, coloured by a chosen measure.

    Circle area follows households; the circle's edge colour is the firm managing the estate
    (numbered squares are the firms' offices); grey spokes join the estates merged into one
    management area; a black diamond marks an estate entrusted to a strong firm; a black ring
    marks an estate named in this month's events. The key on the right explains every mark.
    """

    def __init__(self, run, measure: str = "service quality",
                 size_in: tuple[float, float] | None = None, lang: str = "en", with_key: bool = True):
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure!r} (known: {', '.join(MEASURES)})")
        # with its key on the right, or alone (side by side, one MapKey serves both maps)
        size_in = size_in or ((9.0, 6.4) if with_key else (6.4, 6.4))
        map_width = 0.70 if with_key else 0.98
        super().__init__(Figure(figsize=size_in, dpi=_DPI))
        self.measure = measure
        self.lang = lang
        estates = run.estates
        self.estate_ids = list(estates["estate_id"].astype(str))
        self.xy = estates[["x_m", "y_m"]].to_numpy(dtype=float)
        households = estates["households"].to_numpy(dtype=float)
        ax = self.ax = self.figure.add_axes((0.01, 0.02, map_width, 0.86))
        ax.set_aspect("equal")
        ax.set_axis_off()
        self._draw_blocks(estates)
        pad = 60.0
        ax.set_xlim(self.xy[:, 0].min() - pad, self.xy[:, 0].max() + pad)
        ax.set_ylim(self.xy[:, 1].min() - pad, self.xy[:, 1].max() + pad)
        # circle area follows households; a median estate spans a third of the typical
        # spacing between estates, and no circle more than the spacing (sizes in points^2)
        width_pt = map_width * size_in[0] * 72
        spacing_pt = width_pt / np.sqrt(len(households))
        self.size_per_household = (spacing_pt / 3) ** 2 / max(float(np.median(households)), 1.0)
        self.sizes = np.clip(self.size_per_household * households, 10, spacing_pt ** 2)
        self.spokes = self._changing(ax.add_collection(LineCollection(
            [], colors="#444444", linewidths=3.0, alpha=0.5, zorder=1)))
        self.estate_dots = self._changing(ax.scatter(
            self.xy[:, 0], self.xy[:, 1], s=self.sizes,
            c=np.zeros(len(households)), cmap="RdYlGn", norm=Normalize(0.0, 1.0),
            linewidths=2.0, zorder=2))
        self.highlights = self._changing(ax.scatter(
            [], [], s=[], facecolors="none", edgecolors=_HIGHLIGHT, linewidths=2.5, zorder=3))
        self.entrusted_marks = self._changing(ax.scatter(
            [], [], marker="D", s=22, color="black", zorder=3))
        self.firm_offices = self._changing(ax.scatter(
            [], [], marker="s", s=50, color="white", edgecolors="black", linewidths=1.5, zorder=4))
        self.firm_labels: list[Artist] = []
        self.title = self._changing(self.figure.text(0.01 + map_width / 2, 0.985, "", ha="center",
                                                     va="top", fontsize=12, fontfamily=self.fonts))
        if with_key:
            draw_key(self.figure, self.fonts, lang, measure, self.size_per_household, beside=True)

    def _draw_blocks(self, estates) -> None:
        """Street blocks as light boxes with their names (they do not change)."""
        for block, rows in estates.groupby("block", sort=False):
            x0, x1 = rows["x_m"].min() - 35, rows["x_m"].max() + 35
            y0, y1 = rows["y_m"].min() - 35, rows["y_m"].max() + 35
            self.ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#f2f2f2",
                                        edgecolor="#c8c8c8", linestyle="--", zorder=0))
            self.ax.text(x0 + 4, y1 + 4, str(block), fontsize=9, color="#666666", va="bottom")

    def update(self, run, table: pd.DataFrame | None = None) -> None:
        """Bring colours, groupings, marks, firm offices and highlights up to this month."""
        table = estate_table(run) if table is None else table
        attribute = MEASURES[self.measure]
        has_firm = table["firm"].to_numpy() >= 0
        edges = np.tile(_NO_FIRM_EDGE, (len(table), 1))
        edges[has_firm] = [to_rgba(firm_colour(f)) for f in table["firm"].to_numpy()[has_firm]]
        if attribute == "mode":
            self.estate_dots.set_array(None)
            self.estate_dots.set_facecolors([MODE_COLOURS[m] for m in table["mode_name"]])
        else:
            self.estate_dots.set_array(table[attribute].to_numpy(dtype=float))
        self.estate_dots.set_edgecolors(edges)
        self.estate_dots.set_linewidths(np.where(has_firm, 2.4, 0.8))
        merged = table["area_size"].to_numpy() > 1
        centres = table[["area_x_m", "area_y_m"]].to_numpy(dtype=float)
        self.spokes.set_segments([(tuple(self.xy[e]), tuple(centres[e])) for e in np.flatnonzero(merged)])
        entrusted = table["mode"].to_numpy() == ENTRUSTED
        self.entrusted_marks.set_offsets(self.xy[entrusted].reshape(-1, 2))
        named = estates_named(run.events, run.month, self.estate_ids)
        self.highlights.set_offsets(self.xy[named].reshape(-1, 2))
        self.highlights.set_sizes(self.sizes[named] * 1.9 + 60)
        firms = active_firms(run)
        self.firm_offices.set_offsets(np.array([(x, y) for _, x, y in firms]).reshape(-1, 2))
        self.firm_offices.set_edgecolors([firm_colour(i) for i, _, _ in firms] or ["black"])
        for label in self.firm_labels:
            self._forget(label)
        self.firm_labels = [self._changing(self.ax.text(
            x + 14, y + 14, str(i), fontsize=10, color=firm_colour(i), weight="bold", zorder=5))
            for i, x, y in firms]
        areas = table.drop_duplicates("area_id")
        self.title.set_text(f"{run.spec.name} — {month_label(run.month)}\n" + tr(
            "{} management areas ({} merged), {} firms", self.lang).format(
            len(areas), int((areas["area_size"] > 1).sum()), len(firms)))

    def spots(self) -> list[tuple[float, float, float]]:
        """Each estate's circle as (left %, top %, diameter %) of the picture (for hover boxes)."""
        width, height = self.canvas.get_width_height()
        pixels = self.ax.transData.transform(self.xy)
        diameter = np.sqrt(self.sizes) * self.figure.dpi / 72.0
        return [(100 * x / width, 100 * (1 - y / height), 100 * max(d, 12.0) / width)
                for (x, y), d in zip(pixels, diameter, strict=True)]

    def png(self, run, table: pd.DataFrame | None = None) -> bytes:
        """The map of this month as PNG bytes."""
        self.update(run, table)
        return self._encode()


def draw_key(figure: Figure, fonts: list[str], lang: str, measure: str, size_per_household: float, *,
             beside: bool) -> None:
    """The map's key: the colour scale or the modes, then every mark of the map.

    `beside`: in a column right of the map; otherwise in rows across a figure of its own.
    """

    def say(text: str) -> str:
        return tr(text, lang)

    if MEASURES[measure] == "mode":
        colour_handles = [Line2D([], [], marker="o", linestyle="", markersize=10,
                                 markerfacecolor=MODE_COLOURS[m], markeredgecolor="none",
                                 label=say(MODE_LABELS[m])) for m in MODES]
    else:
        key = figure.add_axes((0.74, 0.80, 0.23, 0.03) if beside else (0.01, 0.55, 0.18, 0.12))
        figure.colorbar(ScalarMappable(Normalize(0.0, 1.0), "RdYlGn"), cax=key, orientation="horizontal")
        key.set_title(f"{say('colour')}: {say(measure)}\n{say('(0 = worst, 1 = best)')}", fontsize=10,
                      fontfamily=fonts)
        key.tick_params(labelsize=9)
        colour_handles = []
    ms = np.sqrt  # legend marker sizes are diameters in points; scatter sizes are areas
    marks = [
        *[Line2D([], [], marker="o", linestyle="", markersize=ms(size_per_household * h),
                 markerfacecolor="#cccccc", markeredgecolor="#888888",
                 label=say("estate of {} households").format(h)) for h in (50, 200, 500)],
        Line2D([], [], marker="o", linestyle="", markersize=12, markerfacecolor="white",
               markeredgecolor=FIRM_PALETTE[0], markeredgewidth=2.5, label=say("edge colour: its firm")),
        Line2D([], [], marker="o", linestyle="", markersize=12, markerfacecolor="white",
               markeredgecolor=_NO_FIRM_EDGE, markeredgewidth=1, label=say("thin grey edge: no firm")),
        Line2D([], [], marker="s", linestyle="", markersize=8, markerfacecolor="white",
               markeredgecolor="black", markeredgewidth=1.5, label=say("firm's office (number)")),
        Line2D([], [], color="#444444", alpha=0.5, linewidth=3, label=say("spokes: merged area")),
        Line2D([], [], marker="D", linestyle="", markersize=5, color="black",
               label=say("entrusted to a strong firm")),
        Line2D([], [], marker="o", linestyle="", markersize=12, markerfacecolor="none",
               markeredgecolor=_HIGHLIGHT, markeredgewidth=2.5, label=say("in this month's events")),
        Rectangle((0, 0), 1, 1, facecolor="#f2f2f2", edgecolor="#c8c8c8", linestyle="--",
                  label=say("street block")),
    ]
    prop = {"family": fonts, "size": 9.5}
    if beside:
        figure.legend(handles=[*colour_handles, *marks], loc="upper left", prop=prop, frameon=False,
                      bbox_to_anchor=(0.72, 0.74 if not colour_handles else 0.92), labelspacing=0.9,
                      borderaxespad=0)
    else:
        figure.legend(handles=[*colour_handles, *marks], loc="center left", prop=prop, frameon=False,
                      bbox_to_anchor=(0.01 if colour_handles else 0.22, 0.5), ncols=4, labelspacing=0.9,
                      borderaxespad=0)


class MapKey(_Picture):
    """The maps' key as a picture of its own, under two maps side by side."""

    def __init__(self, district_map: DistrictMap, size_in: tuple[float, float] = (12.8, 1.9)):
        super().__init__(Figure(figsize=size_in, dpi=_DPI))
        draw_key(self.figure, self.fonts, district_map.lang, district_map.measure,
                 district_map.size_per_household, beside=False)

    def png(self) -> bytes:
        """The key as PNG bytes (it does not change with the month)."""
        return self._encode()


CHARTS: tuple[tuple[str, str, tuple[float, float], bool], ...] = (
    ("service_quality", "Service quality", (0.0, 1.0), False),
    ("fee_collection_rate", "Fee collection rate", (0.0, 1.0), False),
    ("satisfaction", "Residents' satisfaction", (0.0, 1.0), False),
    ("volunteer_rate", "Volunteers\n(share of households)", (0.0, 0.05), True),
    ("management_areas", "Management areas", (0.0, 1.0), True),
    ("active_firms", "Firms in the market", (0.0, 1.0), True),
    ("firm_margin", "Firms' margin\n(firms in the market)", (-0.1, 0.3), True),
    ("rc_workload", "Residents' committee workload\n(cases per 1000 households)", (0.0, 1.0), True),
    ("reform_cases_open", "Reform cases open\n(street office)", (0.0, 1.0), True),
    ("firm_entries", "Firms entered\n(since month 1)", (0.0, 1.0), True),
    ("fallback_areas", "Areas on the fallback\nservice (托底)", (0.0, 1.0), True),
    ("reception_cases_handled", "Reception point\n(cases handled a month)", (0.0, 1.0), True),
)
"""The charted outcomes: timeseries column, title, starting y-range, whether the range grows to
fit the data (shares stay on [0, 1])."""

COUNT_CHARTS = frozenset({"management_areas", "active_firms", "reform_cases_open", "firm_entries",
                          "fallback_areas"})
"""Charts of whole numbers (their axes tick at integers)."""

_HORIZON_STEP_YEARS = 5


class OutcomeCharts(_Picture):
    """Line charts of the main outcomes by year, one line per run (two in side-by-side mode)."""

    def __init__(self, names: Sequence[str], size_in: tuple[float, float] = (12.0, 7.8),
                 lang: str = "en"):
        super().__init__(Figure(figsize=size_in, dpi=_DPI))
        top = 0.90 if len(names) > 1 else 0.94
        self.figure.subplots_adjust(left=0.05, right=0.98, bottom=0.07, top=top, wspace=0.28,
                                    hspace=0.42)
        self.axes = list(self.figure.subplots(3, 4, sharex=True).flat)
        self.horizon_years = _HORIZON_STEP_YEARS
        self.lines: list[list[Line2D]] = []
        for ax, (column, title, y_range, _) in zip(self.axes, CHARTS, strict=True):
            ax.set_title(tr(title, lang), fontsize=9, fontfamily=self.fonts)
            if column in COUNT_CHARTS:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            ax.set_xlim(0, self.horizon_years)
            ax.set_ylim(*y_range)
            self.lines.append([self._changing(ax.plot([], [], linewidth=1.8, label=name, **style)[0])
                               for name, style in zip(names, RUN_STYLES, strict=False)])
        for ax in self.axes[-4:]:
            ax.set_xlabel(tr("year", lang), fontsize=8, fontfamily=self.fonts)
        if len(names) > 1:
            self.figure.legend(handles=[Line2D([], [], linewidth=1.8, label=name, **style)
                                        for name, style in zip(names, RUN_STYLES, strict=False)],
                               loc="upper center", ncols=2, fontsize=9, frameon=False)

    def update(self, runs: Sequence) -> bool:
        """Set every line from the runs' monthly records; True if the axes had to grow."""
        grew = False
        months = max(run.month for run in runs)
        while months / 12.0 > self.horizon_years:
            self.horizon_years += _HORIZON_STEP_YEARS
            grew = True
        for ax, lines, (column, _, _, grows) in zip(self.axes, self.lines, CHARTS, strict=True):
            low, high = ax.get_ylim()
            lowest, highest = low, high
            for line, run in zip(lines, runs, strict=False):
                values = [getattr(r, column) for r in run.records]
                line.set_data(np.array([r.month for r in run.records]) / 12.0, values)
                lowest, highest = min([lowest, *values]), max([highest, *values])
            if grew:
                ax.set_xlim(0, self.horizon_years)
            if grows and (lowest < low or highest > high):
                span = highest - lowest
                ax.set_ylim(lowest - 0.15 * span if lowest < low else low,
                            highest + 0.15 * span if highest > high else high)
                grew = True
        return grew

    def png(self, runs: Sequence) -> bytes:
        """The charts of this month as PNG bytes."""
        return self._encode(redraw_background=self.update(runs))

"""The app's pictures: the district map and the outcome charts, as PNG bytes.

Each picture keeps one matplotlib Figure (no pyplot, so it is safe in the server's threads).
What does not change from month to month (street blocks, axes, ticks, titles, colour key) is
drawn once and kept as a bitmap; each month only the changing artists (estate colours, merged
groups, firms, lines) are drawn over it (matplotlib "blitting"), which keeps a redraw to a few
tens of milliseconds.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from PIL import Image

from sim.app.model import month_label
from sim.params import MODES
from sim.rules import ENTRUSTED

if TYPE_CHECKING:
    from sim.mesa_engine.model import EstateGovernanceModel

MEASURES: dict[str, str] = {
    "service quality": "quality",
    "satisfaction": "mean_satisfaction",
    "fee collection": "collection_rate",
    "management mode": "mode",
}
"""What the map can colour estates by: label -> ManagementArea attribute."""

MODE_COLOURS: dict[str, str] = {
    "full_service": "#2b8cbe",
    "entrusted": "#7b3294",
    "self_governance": "#f1a340",
    "self_managed": "#d9d94a",
    "unmanaged": "#d7301f",
}
MODE_LABELS: dict[str, str] = {
    "full_service": "full service by a firm",
    "entrusted": "entrusted to a strong firm",
    "self_governance": "specialised service + self-governance",
    "self_managed": "owners manage it themselves",
    "unmanaged": "nobody manages it",
}
RUN_STYLES = ({"color": "#1f5fa8", "linestyle": "-"}, {"color": "#d95f02", "linestyle": "--"})
"""Line style of the first and (side-by-side) second run in the charts."""

_FIRM_PALETTE = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4",
    "#b15928", "#6a3d9a", "#33a02c", "#fb9a99", "#999933", "#ff7f00", "#17becf", "#bc80bd",
]
_NO_FIRM_EDGE = to_rgba("#bbbbbb")
_DPI = 80


def firm_colour(index: int) -> str:
    """The colour that marks one firm's estates on the map (it repeats after 16 firms)."""
    return _FIRM_PALETTE[index % len(_FIRM_PALETTE)]


class _Picture:
    """A figure whose static part is drawn once; changing artists are drawn over it each time."""

    def __init__(self, figure: Figure):
        self.figure = figure
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
    management area; a black diamond marks an estate entrusted to a strong firm.
    """

    def __init__(self, run: EstateGovernanceModel, measure: str = "service quality",
                 size_in: tuple[float, float] = (6.4, 6.4)):
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure!r} (known: {', '.join(MEASURES)})")
        super().__init__(Figure(figsize=size_in, dpi=_DPI))
        self.measure = measure
        estates = run.estates
        self.xy = estates[["x_m", "y_m"]].to_numpy(dtype=float)
        households = estates["households"].to_numpy(dtype=float)
        ax = self.ax = self.figure.add_axes((0.01, 0.15, 0.98, 0.75))
        ax.set_aspect("equal")
        ax.set_axis_off()
        self._draw_blocks(estates)
        pad = 60.0
        ax.set_xlim(self.xy[:, 0].min() - pad, self.xy[:, 0].max() + pad)
        ax.set_ylim(self.xy[:, 1].min() - pad, self.xy[:, 1].max() + pad)
        # circle area follows households; a median estate spans a third of the typical
        # spacing between estates, and no circle more than the spacing (sizes in points^2)
        spacing_pt = 0.98 * size_in[0] * 72 / np.sqrt(len(households))
        sizes = (spacing_pt / 3) ** 2 * households / max(np.median(households), 1.0)
        self.spokes = self._changing(ax.add_collection(LineCollection(
            [], colors="#444444", linewidths=3.0, alpha=0.5, zorder=1)))
        self.estate_dots = self._changing(ax.scatter(
            self.xy[:, 0], self.xy[:, 1], s=np.clip(sizes, 10, spacing_pt ** 2),
            c=np.zeros(len(households)), cmap="RdYlGn", norm=Normalize(0.0, 1.0),
            linewidths=2.0, zorder=2))
        self.entrusted_marks = self._changing(ax.scatter(
            [], [], marker="D", s=16, color="black", zorder=3))
        self.firm_offices = self._changing(ax.scatter(
            [], [], marker="s", s=36, color="white", edgecolors="black", linewidths=1.2, zorder=4))
        self.firm_labels: list[Artist] = []
        self.title = self._changing(self.figure.text(0.5, 0.985, "", ha="center", va="top",
                                                     fontsize=11))
        self._draw_key()

    def _draw_blocks(self, estates) -> None:
        """Street blocks as light boxes with their names (they do not change)."""
        for block, rows in estates.groupby("block", sort=False):
            x0, x1 = rows["x_m"].min() - 35, rows["x_m"].max() + 35
            y0, y1 = rows["y_m"].min() - 35, rows["y_m"].max() + 35
            self.ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#f2f2f2",
                                        edgecolor="#c8c8c8", linestyle="--", zorder=0))
            self.ax.text(x0 + 4, y1 + 4, str(block), fontsize=7, color="#777777", va="bottom")

    def _draw_key(self) -> None:
        if MEASURES[self.measure] == "mode":
            handles = [Line2D([], [], marker="o", linestyle="", markersize=8,
                              markerfacecolor=MODE_COLOURS[m], markeredgecolor="none",
                              label=MODE_LABELS[m]) for m in MODES]
            self.figure.legend(handles=handles, loc="lower center", ncols=2, fontsize=8,
                               frameon=False, bbox_to_anchor=(0.5, 0.0))
        else:
            key = self.figure.add_axes((0.2, 0.07, 0.6, 0.025))
            self.figure.colorbar(self.estate_dots, cax=key, orientation="horizontal")
            key.set_xlabel(f"{self.measure} (0 = worst, 1 = best)", fontsize=8)
            key.tick_params(labelsize=7)

    def update(self, run: EstateGovernanceModel) -> None:
        """Bring colours, groupings, entrusted marks and firm offices up to this month."""
        n = len(self.xy)
        values = np.zeros(n)
        modes = np.zeros(n, dtype=int)
        edges = np.tile(_NO_FIRM_EDGE, (n, 1))
        widths = np.full(n, 0.8)
        spokes = []
        attribute = MEASURES[self.measure]
        for area in run.areas:
            members = area.estates
            modes[members] = area.mode
            if attribute != "mode":
                values[members] = getattr(area, attribute)
            if area.firm is not None:
                edges[members] = to_rgba(firm_colour(area.firm.index))
                widths[members] = 2.2
            if len(members) > 1:
                centre = (area.x_m, area.y_m)
                spokes.extend([(tuple(self.xy[e]), centre) for e in members])
        if attribute == "mode":
            self.estate_dots.set_array(None)
            self.estate_dots.set_facecolors([MODE_COLOURS[MODES[m]] for m in modes])
        else:
            self.estate_dots.set_array(values)
        self.estate_dots.set_edgecolors(edges)
        self.estate_dots.set_linewidths(widths)
        self.spokes.set_segments(spokes)
        self.entrusted_marks.set_offsets(self.xy[modes == ENTRUSTED].reshape(-1, 2))
        firms = list(run.active_firms())
        self.firm_offices.set_offsets(np.array([(f.x_m, f.y_m) for f in firms]).reshape(-1, 2))
        self.firm_offices.set_edgecolors([firm_colour(f.index) for f in firms] or ["black"])
        for label in self.firm_labels:
            self._forget(label)
        self.firm_labels = [self._changing(self.ax.text(
            f.x_m + 16, f.y_m + 16, str(f.index), fontsize=7, color=firm_colour(f.index),
            weight="bold", zorder=5)) for f in firms]
        merged = sum(len(a.estates) > 1 for a in run.areas)
        self.title.set_text(f"{run.spec.name} — {month_label(run.month)}\n"
                            f"{len(run.areas)} management areas ({merged} merged), "
                            f"{len(firms)} firms")

    def png(self, run: EstateGovernanceModel) -> bytes:
        """The map of this month as PNG bytes."""
        self.update(run)
        return self._encode()


CHARTS: tuple[tuple[str, str, tuple[float, float], bool], ...] = (
    ("service_quality", "Service quality", (0.0, 1.0), False),
    ("fee_collection_rate", "Fee collection rate", (0.0, 1.0), False),
    ("satisfaction", "Residents' satisfaction", (0.0, 1.0), False),
    ("volunteer_rate", "Volunteers\n(share of households)", (0.0, 0.05), True),
    ("management_areas", "Management areas", (0.0, 1.0), True),
    ("active_firms", "Firms in the market", (0.0, 1.0), True),
    ("firm_margin", "Firms' margin\n(firms in the market)", (-0.1, 0.3), True),
    ("rc_workload", "Residents' committee workload\n(complaints per 1000 households)", (0.0, 1.0), True),
)
"""The charted outcomes: timeseries column, title, starting y-range, whether the range grows to
fit the data (shares stay on [0, 1])."""

_HORIZON_STEP_YEARS = 5


class OutcomeCharts(_Picture):
    """Line charts of the main outcomes by year, one line per run (two in side-by-side mode)."""

    def __init__(self, names: Sequence[str], size_in: tuple[float, float] = (12.0, 5.4)):
        super().__init__(Figure(figsize=size_in, dpi=_DPI))
        top = 0.86 if len(names) > 1 else 0.92
        self.figure.subplots_adjust(left=0.05, right=0.98, bottom=0.09, top=top, wspace=0.28,
                                    hspace=0.38)
        self.axes = list(self.figure.subplots(2, 4, sharex=True).flat)
        self.horizon_years = _HORIZON_STEP_YEARS
        self.lines: list[list[Line2D]] = []
        for ax, (_, title, y_range, _) in zip(self.axes, CHARTS, strict=True):
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            ax.set_xlim(0, self.horizon_years)
            ax.set_ylim(*y_range)
            self.lines.append([self._changing(ax.plot([], [], linewidth=1.8, label=name, **style)[0])
                               for name, style in zip(names, RUN_STYLES, strict=False)])
        for ax in self.axes[len(self.axes) // 2:]:
            ax.set_xlabel("year", fontsize=8)
        if len(names) > 1:
            self.figure.legend(handles=[Line2D([], [], linewidth=1.8, label=name, **style)
                                        for name, style in zip(names, RUN_STYLES, strict=False)],
                               loc="upper center", ncols=2, fontsize=9, frameon=False)

    def update(self, runs: Sequence[EstateGovernanceModel]) -> bool:
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

    def png(self, runs: Sequence[EstateGovernanceModel]) -> bytes:
        """The charts of this month as PNG bytes."""
        return self._encode(redraw_background=self.update(runs))

"""Decisions the policies share, as pure functions over the street office's views.

Who may be reformed, who bids in a tender, how firms are rated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from sim import events, rules
from sim.jit import njit
from sim.params import Params
from sim.policies.base import AreaView, FirmView, Policy, ReformCase
from sim.rules import FALLBACK, FULL_SERVICE, SELF_MANAGED, UNMANAGED

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


def small_open(areas: AreaView, max_households: int) -> np.ndarray:
    """Areas below a size whose arrangement is open to reform.

    Open: full service, self-managed, unmanaged, or the fallback service.
    """
    return (areas.households < max_households) & _OPEN_MODE[areas.mode]


_OPEN_MODE = np.isin(np.arange(FALLBACK + 1), (FULL_SERVICE, SELF_MANAGED, UNMANAGED, FALLBACK))
"""Whether each service mode (by its code) is open to reform: a lookup, called every month."""


def rows_by_block(block: np.ndarray) -> dict[int, np.ndarray]:
    """Each block's rows (in row order), by block code."""
    by_block = np.argsort(block, kind="stable")
    return {int(block[rows[0]]): rows
            for rows in np.split(by_block, np.flatnonzero(np.diff(block[by_block])) + 1) if len(rows)}


def struggling(areas: AreaView, p: Params) -> np.ndarray:
    """Areas without a firm, or with service below the struggling threshold."""
    return (areas.firm < 0) | (areas.quality < p.struggling_quality)


STRIPS = 32
"""A tender's position index cuts the district's extent in x into this many strips."""


class StripIndex:
    """Positions (of areas, or firm bases) by strip of x, sorted by y within each strip.

    A tender looks at those in the strips its reach spans, and within each only at the run of y
    within reach: a few percent of a city's areas. Kept while the positions stay the same: the
    street office's views are rebuilt far more often than positions change (areas move only when
    they merge, firms never; a new firm makes new, longer arrays), so the positions are compared
    only when the arrays handed in are other ones.
    """

    def __init__(self):
        self._source: tuple[np.ndarray, np.ndarray] | None = None  # the arrays last handed in
        self._xy: tuple[np.ndarray, np.ndarray] | None = None  # a copy of the positions indexed

    def of(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple:
        """(x0, strip width, each strip's first position, x and y in index order, their rows)."""
        if self._source is None or x_m is not self._source[0] or y_m is not self._source[1]:
            if (self._xy is None or not np.array_equal(self._xy[0], x_m)
                    or not np.array_equal(self._xy[1], y_m)):
                self._xy = (x_m.copy(), y_m.copy())
                self._index = _strip_index(x_m, y_m)
            self._source = (x_m, y_m)
        return self._index


def _strip_index(x_m: np.ndarray, y_m: np.ndarray) -> tuple:
    x0 = float(x_m.min(initial=0.0))
    width = max(float(x_m.max(initial=0.0)) - x0, 1.0) / STRIPS
    strip = np.minimum(((x_m - x0) / width).astype(np.int64), STRIPS - 1)
    rows = np.lexsort((y_m, strip))
    start = np.searchsorted(strip[rows], np.arange(STRIPS + 1))
    return x0, width, start, x_m[rows], y_m[rows], rows


_NO_AREAS = np.empty(0, dtype=np.int64)  # the area firm column _best_near needs not when it scans bases


def best_bidder(area: int, areas: AreaView, firms: FirmView, *, reach_m: float, min_capability: float = 0.0,
                exclude: tuple[int, ...] = (), index: tuple[StripIndex, StripIndex] | None = None,
                room: int = 1) -> int:
    """The firm that wins a tender for an area, among those able to bid, or -1 if none can.

    Able to bid: active firms with a site (or their base) within reach, spare capacity for `room`
    more sites (a management-only group asks room for all its members) and the capability asked
    for. (Whether the money covers the cost is the street office's first check: rules.covers_cost.)
    The best score (mean of capability and reputation) wins; ties go to the
    lower index. Only the areas and bases near the area are looked at: `index` holds the position
    indexes of areas and firms that a caller keeps between tenders (the street office; by default
    they are built for this tender).
    """
    area_index, firm_index = (StripIndex(), StripIndex()) if index is None else index
    return int(_best_firm(float(areas.x_m[area]), float(areas.y_m[area]), float(reach_m),
                          firm_index.of(firms.x_m, firms.y_m), area_index.of(areas.x_m, areas.y_m),
                          areas.firm, firms.active, firms.sites, firms.max_sites, firms.capability,
                          firms.reputation, float(min_capability), np.asarray(exclude, dtype=np.int64),
                          int(room)))


@njit()
def _best_firm(x_m, y_m, reach_m, bases, sites_of_areas, area_firm, active, sites, max_sites, capability,
               reputation, min_capability, exclude, room):  # pragma: no cover - compiled
    """best_bidder's scan: firm bases, then the areas' sites (StripIndex.of tuples), in one call."""
    best, score = _best_near(x_m, y_m, reach_m, *bases, _NO_AREAS, False, active, sites, max_sites,
                             capability, reputation, min_capability, exclude, room, -1, -np.inf)
    best, score = _best_near(x_m, y_m, reach_m, *sites_of_areas, area_firm, True, active, sites, max_sites,
                             capability, reputation, min_capability, exclude, room, best, score)
    return best


@njit()
def _within(dx, dy, reach_m):  # pragma: no cover - compiled
    """Whether hypot(dx, dy) <= reach_m, calling hypot only where the squares leave it in doubt."""
    squares, reach2 = dx * dx + dy * dy, reach_m * reach_m
    if squares < reach2 * (1.0 - 1e-9):
        return True
    if squares > reach2 * (1.0 + 1e-9):
        return False
    return np.hypot(dx, dy) <= reach_m


@njit()
def _best_near(x_m, y_m, reach_m, x0, width, start, xs, ys, rows, area_firm, sites_of_areas, active, sites,
               max_sites, capability, reputation, min_capability, exclude, room, best,
               best_score):  # pragma: no cover - compiled
    """best_bidder's scan of one kind of position: firm bases, or (`sites_of_areas`) the areas' sites.

    Goes through the positions of a StripIndex within reach of (x_m, y_m) (the strips the reach
    spans, one more each side, and in each the run of y within reach, a little wider: a superset
    whatever the rounding) and returns the best-scoring able firm so far and its score, starting
    from `best`, `best_score` (ties go to the lower firm index, so the order does not matter).
    The tender of every engine, compiled with numba where it is installed (a city-size district
    holds thousands of firms and thousands of tenders a year).
    """
    slack = reach_m * (1.0 + 1e-9) + 1e-6
    n_strips = len(start) - 1
    first = max(int(np.floor((x_m - slack - x0) / width)) - 1, 0)
    last = min(int(np.floor((x_m + slack - x0) / width)) + 1, n_strips - 1)
    for strip in range(first, last + 1):
        lo, hi = start[strip], start[strip + 1]
        i_lo = lo + np.searchsorted(ys[lo:hi], y_m - slack, side="left")
        i_hi = lo + np.searchsorted(ys[lo:hi], y_m + slack, side="right")
        for i in range(i_lo, i_hi):
            dx, dy = xs[i] - x_m, ys[i] - y_m
            if abs(dx) > slack or not _within(dx, dy, reach_m):
                continue
            f = area_firm[rows[i]] if sites_of_areas else rows[i]
            if f < 0:
                continue
            if not (active[f] and sites[f] + room <= max_sites[f] and capability[f] >= min_capability):
                continue
            score = 0.5 * (capability[f] + reputation[f])
            if score > best_score or (score == best_score and f < best):
                excluded = False
                for other in exclude:
                    excluded |= other == f
                if not excluded:
                    best, best_score = f, score
    return best, best_score


def evaluation_scores(satisfaction_sum: np.ndarray, households: np.ndarray, firm: np.ndarray,
                      n_firms: int) -> np.ndarray:
    """Yearly evaluation score of each firm: household-weighted mean satisfaction of its areas."""
    served = firm >= 0
    total = np.bincount(firm[served], weights=satisfaction_sum[served], minlength=n_firms)
    count = np.bincount(firm[served], weights=households[served], minlength=n_firms)
    return np.divide(total, count, out=np.full(n_firms, np.nan), where=count > 0)


class HandOverPolicy(Policy):
    """A policy that moves one area to a new arrangement (entrustment, specialised service).

    A firm is found, the owners decide, and after `handover_months` the new arrangement starts.

    Subclasses say which firm (`find_firm`), the new mode (`mode`), and what else starts with it
    (`start`).
    """

    mode: int
    how: str  # the estates table's word for it

    def find_firm(self, office: StreetOffice, state: AreaState, area: int) -> int:
        """The firm that would take the area on, or -1 (then no case opens)."""
        raise NotImplementedError

    def start(self, state: AreaState, area: int) -> None:
        """What else begins with the hand-over (nothing by default)."""

    def loss_cause(self, state: AreaState, area: int) -> str:
        """Why the area's old firm loses it at the hand-over (StreetOffice.reassign): a reform."""
        return "reform"

    def propose(self, office: StreetOffice, state: AreaState) -> None:
        """Eligible areas in order, while there is room: find a firm, then the owners decide."""
        p = state.p
        # rows stay put while cases open (only a merger moves them, and none completes here)
        for area in np.flatnonzero(self.eligible(office, state)).tolist():
            if office.room() == 0:
                return
            area_id = state.area_view().area_id[area]
            firm = self.find_firm(office, state, area)
            if firm < 0:
                office.wait(area_id)  # no firm now: a new look after the waiting period
                continue
            v = state.area_view()
            case = office.open_case(self.name, [area], "handover", p.handover_months)
            case.firm = firm
            passed, case.support = office.hold_vote(
                area, rules.change_support(float(v.mean_satisfaction[area]), True, p), briefed=True)
            state.log(events.case_stage(state.month, self.name, case.area_ids, "vote",
                                        f"Owners of {area_id} voted on {self.label.lower()} with firm {firm} "
                                        f"({case.support:.0%} support): {'passed' if passed else 'failed'}",
                                        support=case.support, passed=passed, firm=firm, case_id=case.case_id))
            if not passed:
                office.close_case(case, failed=True)

    def advance(self, case: ReformCase, office: StreetOffice, state: AreaState) -> None:
        """The hand-over: the firm (if still in the market with room) takes the area in the new mode."""
        office.close_case(case)
        area = office.row_of(case.area_ids[0])
        if area is None:
            return  # merged into another area meanwhile (only outside the street office's own cases)
        firms = state.firm_view()
        firm = case.firm
        moving = firm != state.area_view().firm[area]
        if not firms.active[firm] or (moving and firms.sites[firm] >= firms.max_sites[firm]):
            state.log(events.case_stage(state.month, self.name, case.area_ids, "handover",
                                        f"Hand-over of {case.area_ids[0]} fell through: "
                                        f"firm {firm} cannot take it",
                                        passed=False, firm=firm, case_id=case.case_id))
            return
        office.reassign(area, firm, self.mode, self.loss_cause(state, area))
        self.start(state, area)
        office.record_reform(area, self.how, case)
        state.log(replace(self.done_event(state.month, case.area_ids[0], firm, case.support),
                          case_id=case.case_id))

    def done_event(self, month: int, area_id: str, firm: int, support: float) -> events.Event:
        """The event that says the new arrangement started."""
        raise NotImplementedError

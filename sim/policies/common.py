"""Decisions the policies share, as pure functions over the street office's views.

Who may be reformed, who bids in a tender, how firms are rated.
"""

from __future__ import annotations

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


class XIndex:
    """Positions sorted by x (of areas, or firm bases), for a tender's look at those in a band of x.

    Kept while the positions stay the same: the street office's views are rebuilt far more often
    than positions change (areas move only when they merge, firms never; a new firm makes new,
    longer arrays), so the positions are compared only when the arrays handed in are other ones.
    """

    def __init__(self):
        self._source: tuple[np.ndarray, np.ndarray] | None = None  # the arrays last handed in
        self._xy: tuple[np.ndarray, np.ndarray] | None = None  # a copy of the positions indexed

    def of(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x sorted, y in that order, the rows in that order) of the positions `x_m`, `y_m`."""
        if self._source is None or x_m is not self._source[0] or y_m is not self._source[1]:
            if (self._xy is None or not np.array_equal(self._xy[0], x_m)
                    or not np.array_equal(self._xy[1], y_m)):
                self._xy = (x_m.copy(), y_m.copy())
                self._by_x = np.argsort(x_m, kind="stable")
                self._sorted = (x_m[self._by_x], y_m[self._by_x])
            self._source = (x_m, y_m)
        return (*self._sorted, self._by_x)


def best_bidder(area: int, areas: AreaView, firms: FirmView, *, reach_m: float, min_capability: float = 0.0,
                exclude: tuple[int, ...] = (), index: tuple[XIndex, XIndex] | None = None) -> int:
    """The firm that wins a tender for an area, among those able to bid, or -1 if none can.

    Able to bid: active firms with a site (or their base) within reach, spare capacity and the
    capability asked for. (Whether the money covers the cost is the street office's first check:
    rules.covers_cost.) The best score (mean of capability and reputation) wins; ties go to the
    lower index. Only the areas and bases in the band of x within reach are looked at: `index`
    holds the x-sorted indexes of areas and firms that a caller keeps between tenders (the street
    office; by default they are sorted for this tender).
    """
    area_index, firm_index = (XIndex(), XIndex()) if index is None else index
    excluded = np.asarray(exclude, dtype=np.int64)
    bases, sites = firm_index.of(firms.x_m, firms.y_m), area_index.of(areas.x_m, areas.y_m)
    return int(_best_firm(float(areas.x_m[area]), float(areas.y_m[area]), *bases, *sites, areas.firm,
                          firms.active, firms.sites, firms.max_sites, firms.capability, firms.reputation,
                          float(reach_m), float(min_capability), excluded))


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
def _best_firm(x_m, y_m, firm_x, firm_y, firm_rows, area_x, area_y, area_rows, area_firm, active, sites,
               max_sites, capability, reputation, reach_m, min_capability, exclude):  # pragma: no cover
    """best_bidder's scan: the best-scoring able firm with a base or site in reach (first on ties), or -1.

    The firm bases and the areas' sites come sorted by x (XIndex.of: positions, and the row of
    each); one loop looks at those in the band of x within reach. The tender of every engine,
    compiled with numba where it is installed (a city-size district holds thousands of firms and
    holds thousands of tenders a year).
    """
    firm_lo = np.searchsorted(firm_x, x_m - reach_m, side="left")
    n_bases = np.searchsorted(firm_x, x_m + reach_m, side="right") - firm_lo
    area_lo = np.searchsorted(area_x, x_m - reach_m, side="left")
    n_sites = np.searchsorted(area_x, x_m + reach_m, side="right") - area_lo
    best, best_score = -1, -np.inf
    for k in range(n_bases + n_sites):
        if k < n_bases:  # a firm's base
            i = firm_lo + k
            dx, dy = firm_x[i] - x_m, firm_y[i] - y_m
        else:  # a site: the area a firm serves
            i = area_lo + k - n_bases
            dx, dy = area_x[i] - x_m, area_y[i] - y_m
        if abs(dy) > reach_m or not _within(dx, dy, reach_m):
            continue
        f = firm_rows[i] if k < n_bases else area_firm[area_rows[i]]
        if f < 0 or not (active[f] and sites[f] < max_sites[f] and capability[f] >= min_capability):
            continue
        score = 0.5 * (capability[f] + reputation[f])
        if score > best_score or (score == best_score and f < best):
            excluded = False
            for other in exclude:
                excluded |= other == f
            if not excluded:
                best, best_score = f, score
    return best


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
                                        support=case.support, passed=passed, firm=firm))
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
                                        passed=False, firm=firm))
            return
        state.assign_firm(area, firm, self.mode)
        self.start(state, area)
        office.record_reform(area, self.how)
        state.log(self.done_event(state.month, case.area_ids[0], firm, case.support))

    def done_event(self, month: int, area_id: str, firm: int, support: float) -> events.Event:
        """The event that says the new arrangement started."""
        raise NotImplementedError

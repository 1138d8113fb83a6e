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


def site_distances(x_m: float, y_m: float, areas: AreaView, n_firms: int) -> np.ndarray:
    """Distance (m) from a point to each firm's nearest current site (inf for firms with none)."""
    out = np.full(n_firms, np.inf)
    served = areas.firm >= 0
    d = np.hypot(areas.x_m[served] - x_m, areas.y_m[served] - y_m)
    np.minimum.at(out, areas.firm[served], d)
    return out


def best_bidder(area: int, areas: AreaView, firms: FirmView, *, reach_m: float, min_capability: float = 0.0,
                exclude: tuple[int, ...] = (), candidates: np.ndarray | None = None) -> int:
    """The firm that wins a tender for an area, among those able to bid, or -1 if none can.

    Able to bid: active firms with a site (or their base) within reach, spare capacity and the
    capability asked for. (Whether the money covers the cost is the street office's first check:
    rules.covers_cost.) The best score (mean of capability and reputation) wins; ties go to the
    lower index. `candidates`, if given, are the rows of the areas whose sites may be in reach (a
    superset of them, in any order; by default all areas): a large district's tender passes those
    near the area (StreetOffice.bidder).
    """
    if len(firms.active) == 0:
        return -1
    rows = np.arange(len(areas.x_m)) if candidates is None else candidates
    return int(_best_firm(float(areas.x_m[area]), float(areas.y_m[area]), rows, areas.x_m, areas.y_m,
                          areas.firm, firms.active, firms.sites, firms.max_sites, firms.capability,
                          firms.reputation, firms.x_m, firms.y_m, float(reach_m), float(min_capability),
                          np.asarray(exclude, dtype=np.int64)))


@njit()
def _best_firm(x_m, y_m, rows, area_x, area_y, area_firm, active, sites, max_sites, capability, reputation,
               firm_x, firm_y, reach_m, min_capability, exclude):  # pragma: no cover - compiled
    """best_bidder's scan: the best-scoring able firm with a base or site in reach (first on ties), or -1.

    Sites are those of the areas `rows`. One loop over the firms and one over those areas: the
    tender of every engine, compiled with numba where it is installed (a city-size district holds
    thousands of firms and thousands of tenders a year).
    """
    n = len(active)
    able = np.zeros(n, dtype=np.bool_)
    near = np.zeros(n, dtype=np.bool_)
    for f in range(n):
        able[f] = active[f] and sites[f] < max_sites[f] and capability[f] >= min_capability
    for f in exclude:
        able[f] = False
    for f in range(n):
        dx, dy = firm_x[f] - x_m, firm_y[f] - y_m
        near[f] = able[f] and abs(dx) <= reach_m and abs(dy) <= reach_m and np.hypot(dx, dy) <= reach_m
    for a in rows:
        f = area_firm[a]
        if f >= 0 and able[f] and not near[f]:
            dx, dy = area_x[a] - x_m, area_y[a] - y_m
            near[f] = abs(dx) <= reach_m and abs(dy) <= reach_m and np.hypot(dx, dy) <= reach_m
    best = -1
    best_score = -np.inf
    for f in range(n):
        if near[f]:
            score = 0.5 * (capability[f] + reputation[f])
            if score > best_score:
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

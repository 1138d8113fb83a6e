"""The street office with the residents' committee (街道/居委会), written once for both engines.

Each month it takes the complaints that reach the residents' committee (its workload) and runs
the re-tenders owners' committees called; at the start of each year it runs the round of the
policies a scenario enabled, in the registry's order (sim.policies.REGISTRY). It holds the
owners' votes (Civil Code Art. 278, rules.vote_passes) and the tenders (policies.best_bidder),
and acts on the district only through the area-state interface (sim.area_state.AreaState).
"""

from __future__ import annotations

import numpy as np

from sim import events, rules
from sim.area_state import AreaState
from sim.policies import REGISTRY, AreaView, best_bidder
from sim.rules import FULL_SERVICE

NEARBY_MIN_AREAS = 1_000
"""From this many areas on, a tender looks only at the areas within reach (see _view_near)."""


class StreetOffice:
    """Complaints, re-tenders, owners' votes, tenders and the yearly policy round."""

    def __init__(self, state: AreaState):
        self.state = state
        self.workload = 0.0
        self.merges_done = 0
        self.merge_votes_failed = 0
        self.merge_votes_passed = 0
        self.firm_exits = 0
        self.reforms: dict[int, tuple[str, int]] = {}
        """How each reformed estate (index) came to its arrangement, and in which month."""
        self._sorted_for: AreaView | None = None  # the view the x-sorted index below belongs to

    # --- monthly -------------------------------------------------------------------------
    def step(self, retender_requests: list[int]) -> None:
        """Handle complaints and the re-tenders committees called this month."""
        s = self.state
        v = s.area_view()
        self.workload = float(np.sum(rules.complaints(v.households, v.mean_satisfaction, v.mode,
                                                      v.committee_active, v.block_integrated, s.p)))
        for area in retender_requests:
            self.retender(area)

    def retender(self, area: int) -> None:
        """Owners replace their firm (or find one) by tender and vote."""
        s = self.state
        v = s.area_view()
        exclude = (int(v.firm[area]),) if v.firm[area] >= 0 else ()
        winner = self.tender(area, FULL_SERVICE, exclude=exclude)
        if winner < 0:
            return
        support = rules.change_support(float(v.mean_satisfaction[area]), False, s.p)
        passed, share = self.hold_vote(area, support, briefed=False)
        if passed:
            s.assign_firm(area, winner, FULL_SERVICE)
            s.log(events.retendered(s.month, v.area_id[area], winner, share))

    def firm_withdraws(self, area: int) -> None:
        """A firm in loss walks out of a losing contract; the area falls back (rules.fallback_mode)."""
        s = self.state
        v = s.area_view()
        firm = int(v.firm[area])
        s.assign_firm(area, -1, int(rules.fallback_mode(bool(v.committee_active[area]))))
        s.log(events.withdrew(s.month, v.area_id[area], firm, s.p.firm_withdraw_months))

    def firm_leaves(self, firm: int, reason: str) -> None:
        """A firm exits the market; each of its areas falls back (rules.fallback_mode)."""
        s = self.state
        v = s.area_view()
        for area in np.flatnonzero(v.firm == firm).tolist():
            s.assign_firm(area, -1, int(rules.fallback_mode(bool(v.committee_active[area]))))
        s.deactivate_firm(firm)
        self.firm_exits += 1
        s.log(events.firm_left(s.month, firm, reason))

    def record_reform(self, area: int, how: str) -> None:
        """Note that an area's estates were just reformed (merged, entrusted, self_governed)."""
        for estate in self.state.estates_of(area):
            self.reforms[estate] = (how, self.state.month)

    # --- yearly --------------------------------------------------------------------------
    def run_policies(self) -> None:
        """The yearly round: each enabled policy in the registry's order, each area handled at most once."""
        s = self.state
        s.set_area_flags(np.ones(len(s.area_view().firm), dtype=bool), handled=False)
        for policy in REGISTRY.enabled(s.policies):
            policy.run(self, s)

    # --- votes and tenders ---------------------------------------------------------------
    def hold_vote(self, area: int, support: float, *, briefed: bool) -> tuple[bool, float]:
        """An owners' decision in one area (Civil Code quorum and double majority).

        Each owner, in member order, draws (takes part, votes yes). Returns whether it passed and
        the share of participating owners who supported it.
        """
        s = self.state
        floor = s.owner_floor_areas(area)
        draws = s.rng.random((len(floor), 2))
        takes_part = draws[:, 0] < rules.participation(briefed, s.p)
        yes = takes_part & (draws[:, 1] < support)
        part_n = int(takes_part.sum())
        yes_n = int(yes.sum())
        passed = bool(rules.vote_passes(float(floor[takes_part].sum()), part_n, float(floor[yes].sum()),
                                        yes_n, float(floor.sum()), len(floor), s.p))
        return passed, (yes_n / part_n if part_n else 0.0)

    def tender(self, area: int, mode: int, *, reach_m: float | None = None, min_capability: float = 0.0,
               exclude: tuple[int, ...] = (), require_cover: bool = True) -> int:
        """The firm that wins a tender for an area (policies.best_bidder), or -1 if nobody bids."""
        s = self.state
        p = s.p
        v = s.area_view()
        extra = rules.bid_extra_money_yuan(float(v.households[area]), bool(v.block_integrated[area]), p)
        reach_m = p.firm_reach_m if reach_m is None else reach_m
        view, row = self._view_near(v, area, reach_m)
        return best_bidder(row, int(mode), view, s.firm_view(), p, reach_m=reach_m,
                           min_capability=min_capability, exclude=exclude, extra_money_yuan=extra,
                           require_cover=require_cover)

    def _view_near(self, v: AreaView, area: int, reach_m: float) -> tuple[AreaView, int]:
        """The areas a tender must see, and the area's row among them.

        A firm bids only if one of its sites (or its base) is within reach, so in a large district
        the tender needs only the areas in the square around the area: same winner, far less work.
        """
        if len(v.x_m) < NEARBY_MIN_AREAS:
            return v, area
        if self._sorted_for is not v:
            self._sorted_for = v
            self._by_x = np.argsort(v.x_m, kind="stable")
            self._x_sorted = v.x_m[self._by_x]
        x, y = v.x_m[area], v.y_m[area]
        lo = np.searchsorted(self._x_sorted, x - reach_m, side="left")
        hi = np.searchsorted(self._x_sorted, x + reach_m, side="right")
        rows = self._by_x[lo:hi]
        rows = np.sort(rows[np.abs(v.y_m[rows] - y) <= reach_m])
        return v.take(rows), int(np.searchsorted(rows, area))

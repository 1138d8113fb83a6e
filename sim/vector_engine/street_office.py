"""The street office of the vectorized engine: complaints, re-tenders, votes and the yearly round.

It follows sim.mesa_engine.agents.StreetOffice decision by decision (same order, same random
draws, same rules and sim.policies functions), over the model's area and firm arrays. Loops here
run over areas or firms that a policy considers, never over households.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np

from sim import policies, rules
from sim.policies import AreaView
from sim.rules import ENTRUSTED, FULL_SERVICE, SELF_GOVERNANCE, SELF_MANAGED, UNMANAGED
from sim.vector_engine.state import F8

if TYPE_CHECKING:
    from sim.vector_engine.model import VectorModel

_AREA_VIEW_FIELDS = [f.name for f in fields(AreaView)]
NEARBY_MIN_AREAS = 1_000
"""From this many areas on, a tender looks only at the areas within reach (see _view_near)."""


class VectorStreetOffice:
    """The street office with the residents' committee, acting on the model's arrays."""

    def __init__(self, model: VectorModel):
        self.model = model
        self.workload = 0.0
        self.merges_done = 0
        self.merge_votes_failed = 0
        self.merge_votes_passed = 0
        self._view: AreaView | None = None  # the areas as tenders see them, until they change

    def invalidate_view(self) -> None:
        """Areas were added or removed, or money changed: the next tender rebuilds its view."""
        self._view = None

    # --- monthly -------------------------------------------------------------------------
    def step(self, retender_requests: list[int]) -> None:
        """Handle complaints and the re-tenders committees called this month."""
        m = self.model
        a = m.areas
        self.invalidate_view()
        self.workload = float(np.sum(rules.complaints(a.households, a.mean_satisfaction, a.mode,
                                                      a.committee_active, a.block_integrated, m.p)))
        for area in retender_requests:
            self.retender(area)

    def retender(self, area: int) -> None:
        """Owners replace their firm (or find one) by tender and vote."""
        m = self.model
        a = m.areas
        exclude = (int(a.firm[area]),) if a.firm[area] >= 0 else ()
        winner = self.tender(area, FULL_SERVICE, exclude=exclude)
        if winner < 0:
            return
        support = rules.change_support(float(a.mean_satisfaction[area]), False, m.p)
        passed, share = self.hold_vote(area, support, briefed=False)
        if passed:
            m.assign_firm(area, winner, FULL_SERVICE)
            m.log(f"Owners of {a.area_id[area]} replaced their firm by tender "
                  f"({share:.0%} support); firm {winner} took over")

    # --- votes and tenders ---------------------------------------------------------------
    def hold_vote(self, area: int, support: float, *, briefed: bool) -> tuple[bool, float]:
        """An owners' decision in one area (Civil Code quorum and double majority).

        Owners draw (takes part, votes yes) pairs in the Mesa engine's member order.
        Returns whether it passed and the share of participating owners who supported it.
        """
        m = self.model
        p = m.p
        owners = m.households.owners_of(m.areas.estates[area])
        draws = m.rng.random((len(owners), 2))
        floor = m.households.floor_m2[owners].astype(F8)
        takes_part = draws[:, 0] < rules.participation(briefed, p)
        yes = takes_part & (draws[:, 1] < support)
        part_n = int(takes_part.sum())
        yes_n = int(yes.sum())
        passed = bool(rules.vote_passes(float(floor[takes_part].sum()), part_n, float(floor[yes].sum()),
                                        yes_n, float(floor.sum()), len(owners), p))
        return passed, (yes_n / part_n if part_n else 0.0)

    def tender(self, area: int, mode: int, *, reach_m: float | None = None, min_capability: float = 0.0,
               exclude: tuple[int, ...] = (), require_cover: bool = True) -> int:
        """The firm that wins a tender for an area (sim.policies.best_bidder), or -1."""
        m = self.model
        p = m.p
        a = m.areas
        extra = (p.block_subsidy_yuan_per_household * float(a.households[area])
                 if a.block_integrated[area] else 0.0)
        reach_m = p.firm_reach_m if reach_m is None else reach_m
        view, row = self._view_near(area, reach_m)
        return policies.best_bidder(
            row, int(mode), view, m.firm_view(), p, reach_m=reach_m, min_capability=min_capability,
            exclude=exclude, extra_money_yuan=extra, require_cover=require_cover)

    def _view_near(self, area: int, reach_m: float) -> tuple[AreaView, int]:
        """The areas a tender must see, and the area's row among them.

        A firm bids only if one of its sites (or its base) is within reach, so in a large district
        the tender needs only the areas in the square around the area: same winner, far less work.
        """
        m = self.model
        a = m.areas
        if self._view is None:
            self._view = m.area_view()
            self._by_x = np.argsort(a.x_m, kind="stable")
            self._x_sorted = a.x_m[self._by_x]
        if len(a) < NEARBY_MIN_AREAS:
            return self._view, area
        x, y = a.x_m[area], a.y_m[area]
        lo = np.searchsorted(self._x_sorted, x - reach_m, side="left")
        hi = np.searchsorted(self._x_sorted, x + reach_m, side="right")
        rows = self._by_x[lo:hi]
        rows = np.sort(rows[np.abs(a.y_m[rows] - y) <= reach_m])
        view = AreaView(**{name: getattr(self._view, name)[rows] for name in _AREA_VIEW_FIELDS})
        return view, int(np.searchsorted(rows, area))

    # --- yearly --------------------------------------------------------------------------
    def run_policies(self) -> None:
        """The yearly policy round: each enabled block in turn, each area arranged at most once."""
        policy = self.model.policies
        self.model.areas.arranged[:] = False
        self.invalidate_view()
        if policy["block_integration"]:
            self.integrate_blocks()
        if policy["merge"]:
            self.merge()
        if policy["entrust"]:
            self.entrust()
        if policy["self_governance"]:
            self.organise_self_governance()

    def _small_open(self, limit: int) -> np.ndarray:
        a = self.model.areas
        return (a.households < limit) & np.isin(a.mode, (FULL_SERVICE, SELF_MANAGED, UNMANAGED))

    def _struggling(self) -> np.ndarray:
        a = self.model.areas
        return (a.firm < 0) | (a.quality < self.model.p.struggling_quality)

    def merge_groups(self, eligible: np.ndarray) -> list[list[int]]:
        """sim.policies.merge_groups, block by block (groups never cross a block), in its order."""
        m = self.model
        a = m.areas
        if np.count_nonzero(eligible) < 2:
            return []
        view = m.area_view()
        by_block = np.argsort(a.block, kind="stable")
        groups = []
        for rows in np.split(by_block, np.flatnonzero(np.diff(a.block[by_block])) + 1):
            if eligible[rows].sum() < 2:
                continue
            sub = AreaView(**{name: getattr(view, name)[rows] for name in _AREA_VIEW_FIELDS})
            groups += [[int(rows[i]) for i in g] for g in policies.merge_groups(sub, eligible[rows], m.p)]
        # the whole-district function takes seeds smallest first, ties by row
        groups.sort(key=lambda g: (int(a.households[g[0]]), g[0]))
        return groups

    def merge(self) -> None:
        """N-in-1: briefings, a vote in every area of each candidate group, then one area."""
        m = self.model
        p = m.p
        a = m.areas
        groups = self.merge_groups(self._small_open(p.merge_max_households))
        if not groups:
            return
        first_new = a.grow(len(groups))
        self.invalidate_view()
        for k, members in enumerate(groups):
            pooled = a.fund_yuan[members].sum() / a.floor_area_m2[members].sum()
            results = [self.hold_vote(x, rules.merge_support(float(a.mean_satisfaction[x]),
                                                             float(a.fund_yuan[x] / a.floor_area_m2[x]),
                                                             float(pooled), True, p), briefed=True)
                       for x in members]
            names = ", ".join(a.area_id[x] for x in members)
            if all(passed for passed, _ in results):
                self.merge_areas(members, first_new + k)
                self.merges_done += 1
                self.merge_votes_passed += 1
                support = min(share for _, share in results)
                m.log(f"Merger of {len(members)} areas ({names}) passed with at least "
                      f"{support:.0%} support in each")
            else:
                self.merge_votes_failed += 1
                m.log(f"Merger of {names} failed its owners' vote")
        self._drop_merged_rows()

    def apply_merges(self, groups: list[list[int]]) -> None:
        """Merge groups of areas (rows) at once, without votes (for tests and what-if tools)."""
        first_new = self.model.areas.grow(len(groups))
        self.invalidate_view()
        for k, members in enumerate(groups):
            self.merge_areas(members, first_new + k)
        self._drop_merged_rows()

    def _drop_merged_rows(self) -> None:
        m = self.model
        new_row = m.areas.compact()
        m.estate_area = new_row[m.estate_area]
        m.rearranged()
        self.invalidate_view()

    def merge_areas(self, members: list[int], row: int) -> None:
        """One area from several (EstateGovernanceModel.merge_areas), written into `row`."""
        m = self.model
        p = m.p
        a = m.areas
        f = m.firms
        first = min(members)
        homes = a.households[members].astype(F8)
        floors = a.floor_area_m2[members]
        volunteers = int(a.volunteers[members].sum())
        estates = [e for x in members for e in a.estates[x]]
        a.set_row(
            row, "+".join(a.area_id[x] for x in members), estates,
            key=a.key[first], households=int(a.households[members].sum()), n_estates=len(estates),
            housing_type=a.housing_type[first], block=a.block[first],
            x_m=np.average(a.x_m[members], weights=homes), y_m=np.average(a.y_m[members], weights=homes),
            gates=max(1.0, sum(a.gates[members].tolist()) * (1.0 - p.merge_gate_reduction)),
            estate_gates=sum(a.estate_gates[members].tolist()),
            floor_area_m2=floors.sum(),
            fee_yuan_per_m2=np.average(a.fee_yuan_per_m2[members], weights=floors),
            fund_yuan=a.fund_yuan[members].sum(), fund_initial_yuan=a.fund_initial_yuan[members].sum(),
            condition=np.average(a.condition[members], weights=floors),
            quality=np.average(a.quality[members], weights=homes),
            collection_rate=np.average(a.collection_rate[members], weights=homes),
            felt_incident_rate=np.average(a.felt_incident_rate[members], weights=homes),
            mean_satisfaction=np.average(a.mean_satisfaction[members], weights=homes),
            revenue_yuan=a.revenue_yuan[members].sum(), subsidy_yuan=a.subsidy_yuan[members].sum(),
            volunteers=volunteers, block_integrated=a.block_integrated[members].any(),
            friction=p.merge_friction, committee_active=a.committee_active[members].any(),
            committee_capacity=rules.committee_capacity(volunteers, p), arranged=True)
        old_firms = a.firm[members].tolist()
        for x in members:
            m.assign_firm(x, -1, UNMANAGED)
            a.alive[x] = False
        m.estate_area[estates] = row
        self.invalidate_view()
        winner = self.tender(row, FULL_SERVICE, require_cover=False)
        if winner < 0:
            incumbents = [x for x in old_firms if x >= 0 and f.active[x]]
            winner = max(incumbents, key=lambda x: (f.capability[x], -x)) if incumbents else -1
        m.assign_firm(row, winner, FULL_SERVICE if winner >= 0 else UNMANAGED)

    def entrust(self) -> None:
        """Strong leads weak: struggling small areas go to the best strong firm nearby."""
        m = self.model
        p = m.p
        a = m.areas
        f = m.firms
        capable = np.zeros(len(a), dtype=bool)
        has = a.firm >= 0
        capable[has] = f.capability[a.firm[has]] >= p.entrust_min_capability
        # deciding one area changes only that area, so the candidates can be chosen up front
        candidates = ~a.arranged & self._small_open(p.entrust_max_households) & self._struggling() & ~capable
        for area in np.flatnonzero(candidates).tolist():
            lead = self.tender(area, ENTRUSTED, reach_m=p.entrust_reach_m,
                               min_capability=p.entrust_min_capability, require_cover=False)
            if lead < 0:
                continue
            passed, share = self.hold_vote(
                area, rules.change_support(float(a.mean_satisfaction[area]), True, p), briefed=True)
            a.arranged[area] = True
            if passed:
                m.assign_firm(area, lead, ENTRUSTED)
                m.log(f"{a.area_id[area]} entrusted to firm {lead} ({share:.0%} support)")

    def organise_self_governance(self) -> None:
        """Specialised service plus self-governance for small areas nothing else reached."""
        m = self.model
        p = m.p
        a = m.areas
        candidates = ~a.arranged & self._small_open(p.merge_max_households) & self._struggling()
        for area in np.flatnonzero(candidates).tolist():
            # the area's own firm, if it has one, takes on the specialised (repair) service
            firm = int(a.firm[area])
            if firm < 0:
                firm = self.tender(area, SELF_GOVERNANCE, require_cover=False)
            passed, share = self.hold_vote(
                area, rules.change_support(float(a.mean_satisfaction[area]), True, p), briefed=True)
            a.arranged[area] = True
            if passed:
                m.assign_firm(area, firm, SELF_GOVERNANCE)
                a.organising[area] = True
                m.log(f"{a.area_id[area]} turned to specialised service plus self-governance "
                      f"({share:.0%} support)")

    def integrate_blocks(self) -> None:
        """Block integration: supplementary services and reception point; yearly firm evaluation."""
        m = self.model
        p = m.p
        a = m.areas
        f = m.firms
        a.block_integrated[:] = True
        m.rearranged()
        scores = policies.evaluation_scores(a.mean_satisfaction * a.households, a.households, a.firm, len(f))
        for firm in np.flatnonzero(f.active).tolist():
            score = scores[firm]
            if np.isnan(score):
                continue
            f.reputation[firm] = p.reputation_memory * f.reputation[firm] + (1 - p.reputation_memory) * score
            if m.month <= 1 or score >= p.evaluation_threshold:
                continue
            contracts = np.flatnonzero(a.firm == firm)
            if len(contracts) == 0:
                continue
            worst = int(contracts[np.lexsort((contracts, a.mean_satisfaction[contracts]))[0]])
            mode = int(a.mode[worst])
            winner = self.tender(worst, mode if mode <= ENTRUSTED else FULL_SERVICE, exclude=(firm,))
            if winner >= 0:
                m.assign_firm(worst, winner, mode)
                m.log(f"Yearly evaluation: firm {firm} scored {score:.2f} and lost "
                      f"{a.area_id[worst]} to firm {winner}")

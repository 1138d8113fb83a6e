"""N-in-1 merger (N合一): adjacent small estates of one type become one management area.

Each candidate group is a reform case of the street office: a proposal and briefings
(`merge_briefing_months`), an owners' vote in every member area, merging the maintenance-fund
accounts (`fund_merge_months`) and reorganising the committee (`committee_reorganise_months`);
then the members become one area (one fund, one fee standard adopted with the merger plan, one
committee: rules.combine_areas), which tenders for one firm (else keeps the most capable
incumbent, else the fallback service). A failed vote lets the areas wait `vote_retry_months`.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from sim import events, rules
from sim.params import Params
from sim.policies.base import AreaView, Policy, ReformCase
from sim.policies.common import small_open
from sim.rules import FULL_SERVICE

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


PAIRWISE_MAX = 256
"""merge_groups computes all pairwise distances of a seed's candidates up to this many, else row by row."""


def merge_groups(areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
    """Candidate N-in-1 groups of adjacent eligible areas.

    Members share a block and a housing type, have similar fees and quality, lie within
    `merge_max_distance_m` of each other, and hold at most `merge_max_group` estates together.
    Greedy and deterministic: the smallest area seeds a group and takes its nearest compatible
    neighbours in turn.
    """
    groups: list[list[int]] = []
    taken = ~eligible.copy()
    order = np.lexsort((np.arange(len(eligible)), areas.households))
    max_group, max_distance = p.merge_max_group, p.merge_max_distance_m
    fee_tolerance, quality_tolerance = p.merge_fee_tolerance, p.merge_quality_tolerance
    for seed in order.tolist():
        if taken[seed]:
            continue
        candidates = np.flatnonzero(
            ~taken & (areas.block == areas.block[seed]) & (areas.housing_type == areas.housing_type[seed])
        )
        candidates = candidates[candidates != seed]
        if len(candidates) == 0:
            continue
        distance = np.hypot(areas.x_m[candidates] - areas.x_m[seed], areas.y_m[candidates] - areas.y_m[seed])
        candidates = candidates[np.lexsort((candidates, distance))]
        # the seed, then its candidates nearest first: their pairwise distances, fees, quality, sizes
        pool = np.concatenate(([seed], candidates))
        x, y = areas.x_m[pool], areas.y_m[pool]
        apart = (np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]).tolist()
                 if len(pool) <= PAIRWISE_MAX else None)  # a whole city's candidates: one row at a time
        fees, quality = areas.fee_yuan_per_m2[pool].tolist(), areas.quality[pool].tolist()
        sizes = areas.estates[pool].tolist()
        taken_at = [0]
        estates = int(sizes[0])
        spread, fee_low, fee_high, quality_low, quality_high = 0.0, fees[0], fees[0], quality[0], quality[0]
        for k in range(1, len(pool)):
            if estates + sizes[k] > max_group:
                continue
            # the group with this candidate: its widest distance and its fee and quality ranges
            to_members = (np.hypot(x[taken_at] - x[k], y[taken_at] - y[k]).tolist() if apart is None
                          else [apart[k][j] for j in taken_at])
            wider = max(spread, *to_members)
            fee_range = max(fee_high, fees[k]) - min(fee_low, fees[k])
            quality_range = max(quality_high, quality[k]) - min(quality_low, quality[k])
            if wider <= max_distance and fee_range <= fee_tolerance and quality_range <= quality_tolerance:
                taken_at.append(k)
                estates += int(sizes[k])
                spread = wider
                fee_low, fee_high = min(fee_low, fees[k]), max(fee_high, fees[k])
                quality_low, quality_high = min(quality_low, quality[k]), max(quality_high, quality[k])
        if len(taken_at) >= 2:
            group = [int(pool[k]) for k in taken_at]
            groups.append(group)
            taken[group] = True
    return groups


GROUP_FIELDS = ("households", "block", "housing_type", "x_m", "y_m", "estates", "fee_yuan_per_m2", "quality")
"""The columns of the area view that merge_groups reads."""


def merge_groups_by_block(areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
    """merge_groups, block by block (groups never cross a block), in the whole district's order.

    The same groups as merge_groups on the whole district, at a fraction of the work in a city.
    """
    if np.count_nonzero(eligible) < 2:
        return []
    by_block = np.argsort(areas.block, kind="stable")
    groups = []
    # merge_groups reads these columns only: each block gets them, not a whole view
    columns = {name: getattr(areas, name) for name in GROUP_FIELDS}
    for rows in np.split(by_block, np.flatnonzero(np.diff(areas.block[by_block])) + 1):
        if eligible[rows].sum() < 2:
            continue
        block = SimpleNamespace(**{name: values[rows] for name, values in columns.items()})
        groups += [[int(rows[i]) for i in g] for g in merge_groups(block, eligible[rows], p)]
    # the whole-district function takes seeds smallest first, ties by row
    groups.sort(key=lambda g: (int(areas.households[g[0]]), g[0]))
    return groups


class Merge(Policy):
    """N-in-1 as a reform case.

    Proposal and briefings, a vote in every area, merging the funds, reorganising the committee,
    then one area and its tender.
    """

    name = "merge"
    label = "N-in-1 merger"
    keys = {
        "max_households": "merge_max_households",
        "max_group": "merge_max_group",
        "max_distance_m": "merge_max_distance_m",
        "fee_tolerance": "merge_fee_tolerance",
        "quality_tolerance": "merge_quality_tolerance",
    }

    def eligible(self, office: StreetOffice, state: AreaState) -> np.ndarray:
        """Small areas whose arrangement is open and that no case holds."""
        return small_open(state.area_view(), state.p.merge_max_households) & office.available()

    def propose(self, office: StreetOffice, state: AreaState) -> None:
        """Open a case for each candidate group, smallest first, while there is room."""
        p = state.p
        for members in merge_groups_by_block(state.area_view(), self.eligible(office, state), p):
            if office.room() == 0:
                return
            v = state.area_view()
            names = [v.area_id[x] for x in members]
            office.open_case(self.name, members, "vote", p.merge_briefing_months)
            state.log(events.case_stage(state.month, self.name, names, "proposal",
                                        f"Merger of {', '.join(names)} proposed; briefings begin"))

    def advance(self, case: ReformCase, office: StreetOffice, state: AreaState) -> None:
        """Votes, then the fund merger, then the committee, then the merger itself."""
        p = state.p
        members = [office.row_of(x) for x in case.area_ids]
        if any(x is None for x in members):
            office.close_case(case)  # cannot happen while the case holds its areas; kept safe
            return
        if case.stage == "vote":
            if self.vote(office, state, members, case):
                case.stage, case.due_month = "fund", state.month + int(p.fund_merge_months)
            return
        if case.stage == "fund":
            state.log(events.case_stage(state.month, self.name, case.area_ids, "fund",
                                        f"Maintenance funds of {', '.join(case.area_ids)} merged "
                                        "into one account"))
            case.stage, case.due_month = "committee", state.month + int(p.committee_reorganise_months)
            return
        office.close_case(case)
        self.merge(office, state, members, case.support)

    @staticmethod
    def vote(office: StreetOffice, state: AreaState, members: list[int], case: ReformCase) -> bool:
        """The owners of every member vote (the fund dispute weighs on it); all must say yes."""
        p = state.p
        v = state.area_view()
        pooled = float(v.fund_yuan[members].sum() / v.floor_area_m2[members].sum())
        results = [office.hold_vote(x, rules.merge_support(float(v.mean_satisfaction[x]),
                                                           float(v.fund_yuan[x] / v.floor_area_m2[x]),
                                                           pooled, True, p), briefed=True)
                   for x in members]
        names = [v.area_id[x] for x in members]
        case.support = min(share for _, share in results)
        if all(passed for passed, _ in results):
            office.merge_votes_passed += 1
            state.log(events.case_stage(state.month, "merge", names, "vote",
                                        f"Owners of {', '.join(names)} voted for the merger "
                                        f"(at least {case.support:.0%} support in each)",
                                        support=case.support, passed=True))
            return True
        office.merge_votes_failed += 1
        office.close_case(case, failed=True)
        state.log(events.merge_failed(state.month, names, case.support))
        return False

    @staticmethod
    def merge(office: StreetOffice, state: AreaState, members: list[int], support: float) -> None:
        """One area from the members; a tender for its firm (else the most capable incumbent)."""
        v = state.area_view()
        names = [v.area_id[x] for x in members]
        incumbents = [int(v.firm[x]) for x in members if v.firm[x] >= 0]
        area = state.merge_areas(members)
        winner = office.procure(area, FULL_SERVICE)
        if winner < 0:
            firms = state.firm_view()
            incumbents = [x for x in incumbents if firms.active[x]]
            winner = max(incumbents, key=lambda x: (firms.capability[x], -x)) if incumbents else -1
        if winner >= 0:
            state.assign_firm(area, winner, FULL_SERVICE)
        else:
            office.fall_back(area)
        office.record_reform(area, "merged")
        office.merges_done += 1
        state.drop_merged_areas()
        state.log(events.merged(state.month, names, winner, support))

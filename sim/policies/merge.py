"""N-in-1 merger (N合一): adjacent small estates of one type become one management area.

Each candidate group is briefed and put to an owners' vote in every member area; if all pass,
the members become one area (one fund, one fee standard, one committee: rules.combine_areas),
which tenders for one firm (falling back to the most capable incumbent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import events, rules
from sim.params import Params
from sim.policies.base import AreaView, Policy
from sim.policies.common import small_open
from sim.rules import FULL_SERVICE, UNMANAGED

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


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
    for seed in order:
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
        group = [int(seed)]
        estates = int(areas.estates[seed])
        for c in candidates:
            if estates + areas.estates[c] > p.merge_max_group:
                continue
            members = np.array(group + [int(c)])
            spread = np.hypot(areas.x_m[members][:, None] - areas.x_m[members][None, :],
                              areas.y_m[members][:, None] - areas.y_m[members][None, :]).max()
            if (spread <= p.merge_max_distance_m
                    and np.ptp(areas.fee_yuan_per_m2[members]) <= p.merge_fee_tolerance
                    and np.ptp(areas.quality[members]) <= p.merge_quality_tolerance):
                group.append(int(c))
                estates += int(areas.estates[c])
        if len(group) >= 2:
            groups.append(group)
            taken[group] = True
    return groups


def merge_groups_by_block(areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
    """merge_groups, block by block (groups never cross a block), in the whole district's order.

    The same groups as merge_groups on the whole district, at a fraction of the work in a city.
    """
    if np.count_nonzero(eligible) < 2:
        return []
    by_block = np.argsort(areas.block, kind="stable")
    groups = []
    for rows in np.split(by_block, np.flatnonzero(np.diff(areas.block[by_block])) + 1):
        if eligible[rows].sum() < 2:
            continue
        groups += [[int(rows[i]) for i in g] for g in merge_groups(areas.take(rows), eligible[rows], p)]
    # the whole-district function takes seeds smallest first, ties by row
    groups.sort(key=lambda g: (int(areas.households[g[0]]), g[0]))
    return groups


class Merge(Policy):
    """N-in-1: briefings, a vote in every area of each candidate group, then one area."""

    name = "merge"
    label = "N-in-1 merger"
    keys = {
        "max_households": "merge_max_households",
        "max_group": "merge_max_group",
        "max_distance_m": "merge_max_distance_m",
        "fee_tolerance": "merge_fee_tolerance",
        "quality_tolerance": "merge_quality_tolerance",
    }

    def eligible(self, state: AreaState) -> np.ndarray:
        """Small areas whose arrangement is open."""
        return small_open(state.area_view(), state.p.merge_max_households)

    def run(self, office: StreetOffice, state: AreaState) -> None:
        """Vote on every candidate group; merge those whose members all said yes."""
        p = state.p
        groups = merge_groups_by_block(state.area_view(), self.eligible(state), p)
        for members in groups:
            self.vote_and_merge(office, state, members)
        if groups:
            state.drop_merged_areas()

    @staticmethod
    def vote_and_merge(office: StreetOffice, state: AreaState, members: list[int]) -> None:
        """One group: the owners of every member vote (the fund dispute weighs on it); all yes merges."""
        p = state.p
        v = state.area_view()
        pooled = float(v.fund_yuan[members].sum() / v.floor_area_m2[members].sum())
        results = [office.hold_vote(x, rules.merge_support(float(v.mean_satisfaction[x]),
                                                           float(v.fund_yuan[x] / v.floor_area_m2[x]),
                                                           pooled, True, p), briefed=True)
                   for x in members]
        names = [v.area_id[x] for x in members]
        support = min(share for _, share in results)
        if not all(passed for passed, _ in results):
            office.merge_votes_failed += 1
            state.log(events.merge_failed(state.month, names, support))
            return
        incumbents = [int(v.firm[x]) for x in members if v.firm[x] >= 0]
        area = state.merge_areas(members)
        state.set_area_flags(area, handled=True)
        winner = office.tender(area, FULL_SERVICE, require_cover=False)
        if winner < 0:
            firms = state.firm_view()
            incumbents = [x for x in incumbents if firms.active[x]]
            winner = max(incumbents, key=lambda x: (firms.capability[x], -x)) if incumbents else -1
        state.assign_firm(area, winner, FULL_SERVICE if winner >= 0 else UNMANAGED)
        office.record_reform(area, "merged")
        office.merges_done += 1
        office.merge_votes_passed += 1
        state.log(events.merged(state.month, names, winner, support))

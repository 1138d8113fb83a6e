"""N-in-1 merger (N合一): adjacent small estates of one type become one management area.

Each candidate group is a reform case of the street office: a proposal and briefings
(`merge_briefing_months`), an owners' vote in every member area, merging the maintenance-fund
accounts (`fund_merge_months`) and reorganising the committee (`committee_reorganise_months`);
then the members become one area (one fund, one fee standard adopted with the merger plan, one
committee: rules.combine_areas), which tenders for one firm (else keeps the most capable
incumbent, else the fallback service). A failed vote lets the areas wait `vote_retry_months`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from sim import events, rules
from sim.params import Params
from sim.policies.base import AreaView, Policy, ReformCase
from sim.policies.common import rows_by_block, small_open
from sim.rules import FULL_SERVICE

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


PAIRWISE_MAX = 256
"""merge_groups computes all pairwise distances of the areas up to this many at once, else seed by seed."""


def merge_groups(areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
    """Candidate N-in-1 groups of adjacent eligible areas.

    Members share a block and a housing type, have similar fees and quality, lie within
    `merge_max_distance_m` of each other, and hold at most `merge_max_group` estates together.
    Greedy and deterministic: the smallest area seeds a group and takes its nearest compatible
    neighbours in turn.
    """
    n = len(eligible)
    taken = (~eligible).tolist()
    # a block's few areas: every distance in one call, then plain lists (numpy costs more per call)
    x, y = areas.x_m, areas.y_m
    apart = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]).tolist() if n <= PAIRWISE_MAX else None
    kind = list(zip(areas.block.tolist(), areas.housing_type.tolist(), strict=True))
    traits = (areas.estates.tolist(), areas.fee_yuan_per_m2.tolist(), areas.quality.tolist())
    groups: list[list[int]] = []
    seed_key = np.asarray(rules.merge_seed_key(areas, p)).tolist()
    for seed in sorted(range(n), key=lambda i: (seed_key[i], i)):
        if taken[seed]:
            continue
        if apart is not None:
            to_seed = apart[seed]
            pool = sorted((c for c in range(n) if not taken[c] and c != seed and kind[c] == kind[seed]),
                          key=lambda c: (to_seed[c], c))
        else:
            pool = _nearest_pool(areas, np.array(taken), seed)
        group = _grow_group(areas, traits, seed, pool, apart, p) if pool else [seed]
        if len(group) >= 2:
            groups.append(group)
            for member in group:
                taken[member] = True
    return groups


def _nearest_pool(areas: AreaView, taken: np.ndarray, seed: int) -> list[int]:
    """A seed's candidates (untaken, same block and housing type), nearest first, ties by row."""
    candidates = np.flatnonzero(
        ~taken & (areas.block == areas.block[seed]) & (areas.housing_type == areas.housing_type[seed])
    )
    candidates = candidates[candidates != seed]
    distance = np.hypot(areas.x_m[candidates] - areas.x_m[seed], areas.y_m[candidates] - areas.y_m[seed])
    return candidates[np.lexsort((candidates, distance))].tolist()


def _grow_group(areas: AreaView, traits: tuple[list, list, list], seed: int, pool: list[int],
                apart: list[list[float]] | None, p: Params) -> list[int]:
    """The seed and the candidates it takes in turn (nearest first) while the group stays compatible.

    `traits` are the areas' estates, fees and quality as lists; `apart` holds every pairwise
    distance, or None to compute a candidate's distances to the group.
    """
    sizes, fees, quality = traits
    group = [seed]
    estates = int(sizes[seed])
    spread, fee_low, fee_high = 0.0, fees[seed], fees[seed]
    quality_low, quality_high = quality[seed], quality[seed]
    for k in pool:
        if estates + sizes[k] > p.merge_max_group:
            continue
        # the group with this candidate: its widest distance and its fee and quality ranges
        to_members = ([apart[k][j] for j in group] if apart is not None else
                      np.hypot(areas.x_m[group] - areas.x_m[k], areas.y_m[group] - areas.y_m[k]).tolist())
        wider = max(spread, *to_members)
        fee_range = max(fee_high, fees[k]) - min(fee_low, fees[k])
        quality_range = max(quality_high, quality[k]) - min(quality_low, quality[k])
        if (wider <= p.merge_max_distance_m and fee_range <= p.merge_fee_tolerance
                and quality_range <= p.merge_quality_tolerance):
            group.append(k)
            estates += int(sizes[k])
            spread = wider
            fee_low, fee_high = min(fee_low, fees[k]), max(fee_high, fees[k])
            quality_low, quality_high = min(quality_low, quality[k]), max(quality_high, quality[k])
    return group


GROUP_FIELDS = ("households", "block", "housing_type", "x_m", "y_m", "estates", "fee_yuan_per_m2", "quality")
"""The columns of the area view that merge_groups reads."""


def merge_groups_by_block(areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
    """merge_groups, block by block (groups never cross a block), in the whole district's order.

    The same groups as merge_groups on the whole district, at a fraction of the work in a city.
    """
    if np.count_nonzero(eligible) < 2:
        return []
    groups = groups_of_blocks(areas, eligible, p, rows_by_block(areas.block).values())
    return in_district_order(areas, [g for gs in groups.values() for g in gs], p)


def groups_of_blocks(areas: AreaView, eligible: np.ndarray, p: Params,
                     blocks: Iterable[np.ndarray]) -> dict[int, list[list[int]]]:
    """merge_groups in each block (given by its rows) with two eligible areas: groups by block code."""
    groups = {}
    # merge_groups reads these columns only: each block gets them, not a whole view
    columns = {name: getattr(areas, name) for name in GROUP_FIELDS}
    for rows in blocks:
        if np.count_nonzero(eligible[rows]) < 2:
            continue
        block = SimpleNamespace(**{name: values[rows] for name, values in columns.items()})
        groups[int(areas.block[rows[0]])] = [[int(rows[i]) for i in g]
                                             for g in merge_groups(block, eligible[rows], p)]
    return groups


def in_district_order(areas: AreaView, groups: list[list[int]], p: Params) -> list[list[int]]:
    """Groups in the order the whole-district merge_groups finds them: by seed, ties by row.

    Seeds come in rules.merge_seed_key's order: smallest first by default.
    """
    key = rules.merge_seed_key(areas, p)
    return sorted(groups, key=lambda g: (key[g[0]].item(), g[0]))


PLACE_FIELDS = ("block", "housing_type", "x_m", "y_m")
"""The columns that fix which areas may ever group (a block's pool, and who lies within reach)."""

ROW_FIELDS = ("households", "estates")
"""The other columns merge_groups reads row by row (seed order, group size)."""


class MergeGroupMemory:
    """merge_groups_by_block, remembering each block's groups: only blocks whose inputs changed are regrouped.

    merge_groups reads fees and quality only through whether each pair of areas within
    `merge_max_distance_m` lies within the tolerances (a group's range is its widest pair's
    difference), so a block's groups stay what they were while its eligibility, households,
    estates and those pair tests do: the same groups as merge_groups_by_block, without the work.
    Areas are followed by id from one call to the next (a merger moves rows); a change of
    settings regroups every block.
    """

    def __init__(self) -> None:
        self._settings: tuple = ()  # the merger's parameters the groups belong to
        self._ids: list[str] = []  # the last call's area ids, one per row
        self._last: dict[str, np.ndarray] = {}  # the last call's eligibility and GROUP_FIELDS
        self._pairs = np.empty((0, 2), dtype=np.intp)  # the pairs of areas that can ever group
        self._fits = np.empty(0, dtype=bool)  # each pair's fee and quality test in the last call
        self._blocks: dict[int, np.ndarray] = {}  # block code -> its rows
        self._groups: dict[int, list[list[int]]] = {}  # block code -> its groups (district rows)
        self._answer: list[list[int]] = []  # the groups in district order, as last worked out
        self._eligible_pairs = (np.empty((0, 2), dtype=np.intp), np.empty(0, dtype=bool))  # and their tests

    def groups(self, areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
        """The candidate groups, as merge_groups_by_block finds them."""
        if np.count_nonzero(eligible) < 2:
            return []
        if getattr(p, "merge_grouping", rules.SMALLEST_FIRST) != rules.SMALLEST_FIRST:  # by quality: monthly
            return merge_groups_by_block(areas, eligible, p)
        now = {"eligible": eligible, **{name: getattr(areas, name) for name in GROUP_FIELDS}}
        settings = (p.merge_max_group, p.merge_max_distance_m, p.merge_fee_tolerance,
                    p.merge_quality_tolerance)
        if settings == self._settings and self._holds(areas, now, p):
            return [list(g) for g in self._answer]
        if settings != self._settings:
            self._settings = settings
            self._pairs = _pairs_in_reach(areas, p.merge_max_distance_m)
            self._fits = _pairs_fit(now, self._pairs, p)
            self._blocks = rows_by_block(areas.block)
            self._groups = groups_of_blocks(areas, eligible, p, self._blocks.values())
            self._ids = list(areas.area_id)
        elif not self._update(areas, now, p):  # rows moved
            self._ids = list(areas.area_id)
        self._last = {name: values.copy() for name, values in now.items()}
        self._answer = in_district_order(areas, [g for gs in self._groups.values() for g in gs], p)
        both = self._pairs[eligible[self._pairs[:, 0]] & eligible[self._pairs[:, 1]]]
        self._eligible_pairs = (both, _pairs_fit(now, both, p))
        return [list(g) for g in self._answer]

    def _holds(self, areas: AreaView, now: dict[str, np.ndarray], p: Params) -> bool:
        """Whether the last answer holds as it is: the month's usual call, when no case opened or closed.

        It does while the rows, the eligibility and the places and sizes are those it was worked out
        from, and each pair of eligible areas within reach passes the fee and quality tests as it
        did then: the greedy pass reads nothing else (the areas not eligible are only passed over).
        Then nothing is copied, so the next change is measured against what the answer was worked
        out from.
        """
        last = self._last
        if areas.area_id != self._ids or not np.array_equal(now["eligible"], last["eligible"]):
            return False
        if any(_key(now[name]) != _key(last[name]) for name in (*ROW_FIELDS, *PLACE_FIELDS)):
            return False
        pairs, fits = self._eligible_pairs
        return bool(np.array_equal(_pairs_fit(now, pairs, p), fits))

    def _update(self, areas: AreaView, now: dict[str, np.ndarray], p: Params) -> bool:
        """Keep the groups of blocks whose inputs stayed; group the others again; whether rows stayed.

        A block is grouped again when one of its areas changed, came or went, except where the
        changed areas are just whole groups that stopped being eligible (cases opened on them):
        the greedy pass had rejected those areas from every other group it formed, and without
        them it forms the same ones.
        """
        eligible = now["eligible"]
        same_rows = areas.area_id == self._ids
        if same_rows:
            match = None
            was = self._last
        else:  # a merger moved rows: each area's row in the last call, -1 for the new one
            old_row = {area_id: row for row, area_id in enumerate(self._ids)}
            match = np.array([old_row.get(area_id, -1) for area_id in areas.area_id], dtype=np.intp)
            was = {name: values[match] for name, values in self._last.items()}  # -1's rows: marked below
        changed = np.zeros(len(eligible), dtype=bool) if match is None else match < 0
        placed = same_rows
        for name in (*ROW_FIELDS, *PLACE_FIELDS):
            if _key(now[name]) != _key(was[name]):
                changed |= now[name] != was[name]
                placed = placed and name not in PLACE_FIELDS
        if placed:  # the same areas in the same places: the same pairs within reach
            pairs, fitted = self._pairs, self._fits
        else:
            pairs = _pairs_in_reach(areas, p.merge_max_distance_m)
            fitted = _pairs_fit(was, pairs, p)
            self._blocks = rows_by_block(areas.block)
        fits = _pairs_fit(now, pairs, p)
        # a pair's test matters only where both areas may group (else `changed` marks them already)
        flipped = (fits != fitted) & eligible[pairs[:, 0]] & eligible[pairs[:, 1]]
        changed[pairs[flipped].ravel()] = True
        self._pairs, self._fits = pairs, fits
        closed = was["eligible"] & ~eligible & ~changed  # rows that only stopped being eligible
        changed |= eligible != was["eligible"]

        regroup: set[int] = set()
        if match is None:
            groups = self._groups
        else:  # the last call's groups in this call's rows; blocks that lost an area are grouped again
            known = np.flatnonzero(match >= 0)
            new_row = np.full(len(self._ids), -1, dtype=np.intp)
            new_row[match[known]] = known
            regroup.update(self._last["block"][new_row < 0].tolist())
            if np.any(np.diff(match[known]) <= 0):  # areas changed order: every block
                regroup.update(self._groups, areas.block.tolist())
            groups = {block: [new_row[g].tolist() for g in block_groups]
                      for block, block_groups in self._groups.items() if block not in regroup}
        # an area that left its block: the block it left is grouped again
        left = changed & (was["block"] != now["block"])
        if match is not None:
            left &= match >= 0  # (the new area's `was` row is another area's)
        regroup.update(was["block"][left].tolist())
        for block in np.unique(areas.block[changed]).tolist() if changed.any() else ():
            rows = self._blocks[block]
            gone = set(rows[changed[rows]].tolist())
            block_groups = groups.pop(block, [])
            dropped = {row for g in block_groups if not gone.isdisjoint(g) for row in g}
            if block not in regroup and dropped == gone and closed[rows].sum() == len(gone):
                if others := [g for g in block_groups if gone.isdisjoint(g)]:
                    groups[block] = others
            else:
                regroup.add(block)
        for block in regroup:
            groups.pop(block, None)
        if regroup:
            groups.update(groups_of_blocks(areas, eligible, p,
                                           [self._blocks[b] for b in regroup if b in self._blocks]))
        self._groups = groups
        return same_rows


def _key(values: np.ndarray) -> tuple[str, bytes]:
    """A column's values as a hashable, comparable key (one call, not an elementwise comparison)."""
    return values.dtype.str, values.tobytes()


def _pairs_in_reach(areas: AreaView, max_distance_m: float) -> np.ndarray:
    """Pairs of rows (i < j) of one block and housing type within about `max_distance_m`.

    A little wider than the distance (a pair more is only a test more), never narrower.
    """
    points = np.column_stack((areas.x_m, areas.y_m))
    pairs = cKDTree(points).query_pairs(max_distance_m * (1.0 + 1e-6) + 1e-6, output_type="ndarray")
    first, second = pairs[:, 0], pairs[:, 1]
    alike = ((areas.block[first] == areas.block[second])
             & (areas.housing_type[first] == areas.housing_type[second]))
    return pairs[alike].astype(np.intp)


def _pairs_fit(columns: dict[str, np.ndarray], pairs: np.ndarray, p: Params) -> np.ndarray:
    """Whether each pair's fees and quality lie within the merger's tolerances (merge_groups' range tests)."""
    fee, quality = columns["fee_yuan_per_m2"], columns["quality"]
    first, second = pairs[:, 0], pairs[:, 1]
    return ((np.abs(fee[first] - fee[second]) <= p.merge_fee_tolerance)
            & (np.abs(quality[first] - quality[second]) <= p.merge_quality_tolerance))


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
        """Small areas whose arrangement is open, that no case holds, not of an exhausted group.

        A group is exhausted when its merger failed `merge_max_attempts` votes.
        """
        v = state.area_view()
        eligible = small_open(v, state.p.merge_max_households) & office.available()
        if office.merge_exhausted:
            eligible &= ~office.exhausted()
        return eligible

    def propose(self, office: StreetOffice, state: AreaState) -> None:
        """Open a case for each candidate group, smallest first, while there is room."""
        p = state.p
        memory = office.memory.setdefault(self.name, MergeGroupMemory())
        for members in memory.groups(state.area_view(), self.eligible(office, state), p):
            if office.room() == 0:
                return
            v = state.area_view()
            names = [v.area_id[x] for x in members]
            case = office.open_case(self.name, members, "vote", p.merge_briefing_months)
            tried = office.merge_attempts.get(frozenset(names), 0)
            again = f" (attempt {tried + 1} of {p.merge_max_attempts})" if tried else ""
            state.log(events.case_stage(state.month, self.name, names, "proposal",
                                        f"Merger of {', '.join(names)} proposed{again}; briefings begin",
                                        case_id=case.case_id))

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
                                        "into one account", case_id=case.case_id))
            case.stage, case.due_month = "committee", state.month + int(p.committee_reorganise_months)
            return
        office.close_case(case)
        self.merge(office, state, members, case)

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
                                        support=case.support, passed=True, case_id=case.case_id))
            return True
        office.merge_votes_failed += 1
        office.close_case(case, failed=True)
        attempts = office.merge_failed(case.area_ids)
        offered = "management_merge" if state.policies.get("management_merge", False) else ""
        state.log(events.merge_failed(state.month, names, case.support, attempts, p.merge_max_attempts,
                                      offered, case.case_id))
        return False

    @staticmethod
    def merge(office: StreetOffice, state: AreaState, members: list[int], case: ReformCase) -> None:
        """One area from the members; a tender for its firm (else the most capable incumbent)."""
        v = state.area_view()
        names = [v.area_id[x] for x in members]
        incumbents = [int(v.firm[x]) for x in members if v.firm[x] >= 0]
        area = state.merge_areas(members)
        winner = office.procure(area, FULL_SERVICE, reform=True)
        if winner < 0:
            firms = state.firm_view()
            active = [x for x in incumbents if firms.active[x]]
            winner = max(active, key=lambda x: (firms.capability[x], -x)) if active else -1
        for firm in incumbents:  # the members' contracts end with the merger
            if firm != winner:  # outbid if it could bid in the merged area's tender, else lost to the reform
                cause = "outbid" if office.could_bid(area, FULL_SERVICE, firm) else "reform"
                office.lost_contracts.setdefault(firm, Counter())[cause] += 1
        if winner >= 0:
            state.assign_firm(area, winner, FULL_SERVICE)
        else:
            office.fall_back(area)
        office.record_reform(area, "merged", case)
        office.merges_done += 1
        state.drop_merged_areas()
        state.log(events.merged(state.month, names, winner, case.support, case.case_id))

"""Management-only merger (管理合并): neighbouring small estates hire one firm and share its site staff.

Shanghai's record has two kinds of merger: of the 414 estates that completed one in 2019-2023,
149 merged into one property-management area and 265 merged in management only (docs/SOURCES.md,
Article). Here a group of neighbouring small areas of one block — of any housing type, fee or
fund, which is what keeps them from merging fully — hires one firm together: the largest member
takes full service and the others share its site staff and patrols (the entrusted mode's cost
shares, rules.cost_shares: the existing scale savings). Each keeps its own management area,
maintenance fund, fee standard and owners' committee, and decides by its own change-of-firm vote
(Civil Code Art. 278; no fund is pooled, so no fund dispute). The group goes ahead with the
members whose owners said yes, if at least two did.

The street office offers it to small areas that no full merger can take (no candidate N-in-1
group holds them, or merging is not enabled) and to the areas of groups whose merger vote failed
`merge_max_attempts` times. A reform case: briefings (`merge_briefing_months`), the votes and a
tender among the firms in reach (brokered by the office), then the hand-over (`handover_months`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import events, rules
from sim.params import Params
from sim.policies.base import AreaView, Policy, ReformCase
from sim.policies.common import rows_by_block, small_open
from sim.policies.merge import MergeGroupMemory
from sim.rules import ENTRUSTED, FULL_SERVICE

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


def management_groups(areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
    """Groups of neighbouring eligible areas of one block, at most `management_merge_max_group` each.

    Greedy and deterministic: the smallest area seeds a group and takes its nearest eligible
    neighbours within `management_merge_max_distance_m` of every member, whatever their housing
    type, fee or fund. Groups of one are not groups.
    """
    key = rules.merge_seed_key(areas, p)
    groups = [g for rows in rows_by_block(areas.block).values()
              for g in _groups_in_block(areas, rows[eligible[rows]], key, p)]
    return sorted(groups, key=lambda g: (key[g[0]].item(), g[0]))


def _groups_in_block(areas: AreaView, rows: np.ndarray, seed_key: np.ndarray, p: Params) -> list[list[int]]:
    """management_groups among one block's eligible areas (`rows`, in row order; `seed_key` of every row)."""
    if len(rows) < 2:
        return []
    x, y = areas.x_m[rows], areas.y_m[rows]
    apart = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    taken = np.zeros(len(rows), dtype=bool)
    groups = []
    for seed in np.lexsort((rows, seed_key[rows])).tolist():
        if taken[seed]:
            continue
        group = [seed]
        for k in np.lexsort((rows, apart[seed])).tolist():
            if len(group) >= p.management_merge_max_group:
                break
            if k != seed and not taken[k] and apart[k, group].max() <= p.management_merge_max_distance_m:
                group.append(k)
        if len(group) >= 2:
            taken[group] = True
            groups.append([int(rows[i]) for i in group])
    return groups


class ManagementGroupMemory:
    """management_groups, remembering each block's groups: only blocks whose inputs changed are grouped again.

    A block's groups are a function of its eligible areas (their rows, positions and seed keys)
    and the settings, so they are kept while none of these changed; an area that is not eligible
    now and was not then changes nothing, whatever its values. Any change of rows or blocks (a
    merger), or of settings, groups every block afresh. The same groups as management_groups.
    """

    def __init__(self) -> None:
        self._settings: tuple = ()
        self._ids: list[str] = []
        self._last: dict[str, np.ndarray] = {}  # the last call's eligibility, block, positions, seed keys
        self._blocks: dict[int, np.ndarray] = {}  # block code -> its rows
        self._groups: dict[int, list[list[int]]] = {}  # block code -> its groups (district rows)

    def groups(self, areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
        """The groups, as management_groups finds them."""
        key = rules.merge_seed_key(areas, p)
        now = {"eligible": eligible, "block": areas.block, "x_m": areas.x_m, "y_m": areas.y_m, "key": key}
        settings = (p.management_merge_max_group, p.management_merge_max_distance_m,
                    getattr(p, "merge_grouping", rules.SMALLEST_FIRST))
        last = self._last
        if (settings != self._settings or areas.area_id != self._ids
                or not np.array_equal(areas.block, last["block"])):
            self._settings, self._ids = settings, list(areas.area_id)
            self._blocks = rows_by_block(areas.block)
            changed_blocks = list(self._blocks)
            self._groups = {}
        else:
            was = last["eligible"]
            moved = (areas.x_m != last["x_m"]) | (areas.y_m != last["y_m"]) | (key != last["key"])
            changed = (eligible != was) | (eligible & moved)
            changed_blocks = np.unique(areas.block[changed]).tolist() if changed.any() else []
        for block in changed_blocks:
            rows = self._blocks[block]
            self._groups[block] = _groups_in_block(areas, rows[eligible[rows]], key, p)
        self._last = {name: values.copy() for name, values in now.items()}
        groups = [g for block_groups in self._groups.values() for g in block_groups]
        return sorted(groups, key=lambda g: (key[g[0]].item(), g[0]))


class ManagementMerge(Policy):
    """Management-only merger as a reform case: briefings, each member's vote and a tender, the hand-over."""

    name = "management_merge"
    label = "Management-only merger"
    keys = {
        "max_group": "management_merge_max_group",
        "max_distance_m": "management_merge_max_distance_m",
    }

    def eligible(self, office: StreetOffice, state: AreaState) -> np.ndarray:
        """Small, open, free areas that no full merger can take and that share no firm already.

        In no N-in-1 candidate group, or of a group whose merger failed `merge_max_attempts` votes.
        An area stays in its management-only group while it has the group's firm.
        """
        p = state.p
        v = state.area_view()
        grouped = office.memory.setdefault(self.name, {})  # area id -> the firm its group shares
        sharing = np.zeros(len(v.area_id), dtype=bool)
        if grouped:
            sharing[:] = [grouped.get(x, -2) == f for x, f in zip(v.area_id, v.firm.tolist(), strict=True)]
        free = small_open(v, p.merge_max_households) & office.available() & ~sharing
        if not state.policies.get("merge", False):
            return free
        merging = free & ~office.exhausted()
        # its own memory: the merger's, asked with the merger's own eligibility, would regroup each time
        memory = office.memory.setdefault(f"{self.name}:merge_groups", MergeGroupMemory())
        in_group = np.zeros(len(v.area_id), dtype=bool)
        for group in memory.groups(v, merging, p):
            in_group[group] = True
        return free & ~in_group

    def propose(self, office: StreetOffice, state: AreaState) -> None:
        """Open a case for each group, smallest first, while the street office has room."""
        p = state.p
        memory = office.memory.setdefault(f"{self.name}:groups", ManagementGroupMemory())
        for members in memory.groups(state.area_view(), self.eligible(office, state), p):
            if office.room() == 0:
                return
            v = state.area_view()
            names = [v.area_id[x] for x in members]
            case = office.open_case(self.name, members, "vote", p.merge_briefing_months)
            state.log(events.case_stage(state.month, self.name, names, "proposal",
                                        f"Management-only merger of {', '.join(names)} proposed (one firm, "
                                        "shared site staff, separate areas); briefings begin",
                                        case_id=case.case_id))

    def advance(self, case: ReformCase, office: StreetOffice, state: AreaState) -> None:
        """The votes and the tender; then the hand-over."""
        members = [office.row_of(x) for x in case.area_ids]
        if any(x is None for x in members):
            office.close_case(case)  # cannot happen while the case holds its areas; kept safe
            return
        if case.stage == "vote":
            self.decide(case, office, state, members)
        else:
            self.hand_over(case, office, state, members)

    def decide(self, case: ReformCase, office: StreetOffice, state: AreaState, members: list[int]) -> None:
        """Each member's owners vote on changing to the group's firm; at least two must say yes."""
        p = state.p
        v = state.area_view()
        results = [office.hold_vote(x, rules.change_support(float(v.mean_satisfaction[x]), True, p),
                                    briefed=True) for x in members]
        joining = [x for x, (passed, _) in zip(members, results, strict=True) if passed]
        names = [v.area_id[x] for x in members]
        firm = -1
        if len(joining) >= 2:
            lead = max(joining, key=lambda x: (int(v.households[x]), -x))
            firm = office.procure(lead, FULL_SERVICE, reform=True, room=len(joining))
        if firm < 0:
            office.close_case(case, failed=True)
            why = ("fewer than two members' owners voted for it" if len(joining) < 2
                   else "no firm in reach can take it")
            state.log(events.case_stage(state.month, self.name, names, "vote",
                                        f"Management-only merger of {', '.join(names)} did not go ahead: "
                                        f"{why}", passed=False, case_id=case.case_id))
            return
        case.firm = firm
        case.notes["outbid"] = sorted({int(v.firm[x]) for x in joining if 0 <= v.firm[x] != firm
                                       and office.could_bid(lead, FULL_SERVICE, int(v.firm[x]),
                                                            room=len(joining))})
        case.support = min(share for passed, share in results if passed)
        case.area_ids = [v.area_id[x] for x in joining]
        case.notes["lead"] = v.area_id[max(joining, key=lambda x: (int(v.households[x]), -x))]
        for area_id in set(names) - set(case.area_ids):
            office.wait(area_id)  # said no: not asked again before vote_retry_months
        case.stage, case.due_month = "handover", state.month + int(p.handover_months)
        state.log(events.case_stage(state.month, self.name, case.area_ids, "vote",
                                    f"Owners of {', '.join(case.area_ids)} voted to share firm {firm} "
                                    f"(at least {case.support:.0%} support in each)", support=case.support,
                                    passed=True, firm=firm, case_id=case.case_id))

    def hand_over(self, case: ReformCase, office: StreetOffice, state: AreaState, members: list[int]) -> None:
        """The firm takes the lead area in full service and the others sharing its site staff."""
        office.close_case(case)
        firms = state.firm_view()
        v = state.area_view()
        firm = case.firm
        new_sites = sum(1 for x in members if v.firm[x] != firm)
        if not firms.active[firm] or firms.sites[firm] + new_sites > firms.max_sites[firm]:
            state.log(events.case_stage(state.month, self.name, case.area_ids, "handover",
                                        f"Management-only merger of {', '.join(case.area_ids)} fell through: "
                                        f"firm {firm} cannot take them", passed=False, firm=firm,
                                        case_id=case.case_id))
            return
        grouped = office.memory.setdefault(self.name, {})
        for x in members:
            mode = FULL_SERVICE if v.area_id[x] == case.notes["lead"] else ENTRUSTED
            outbid = int(v.firm[x]) in case.notes.get("outbid", ())  # it could bid in the group's tender
            office.reassign(x, firm, mode, "outbid" if outbid else "reform")
            office.record_reform(x, "management_merged", case)
            grouped[v.area_id[x]] = firm
        state.log(events.management_merged(state.month, case.area_ids, firm, case.support, case.case_id))

"""The street office with the residents' committee (街道/居委会), written once for both engines.

Every month its desks hear the cases residents bring, one household's case at a time, within their
staff-hours (hear_cases: the joint reception point of an integrated block, then the area's owners'
committee, then the residents' committee's own desk), moves its reform cases on and opens new ones
while its staff-hours allow, and runs the tenders owners' committees call. Once a year it renews
contracts, seeks a manager for areas without one, and runs the yearly part of the enabled policies,
in the registry's order (sim.policies.REGISTRY).

It procures managers for areas: a tender among the firms in reach that the area's money can pay
(rules.covers_cost); if the money cannot cover the cost, a fee revision put to the owners (Civil
Code Art. 278; the government-guided cap for after-sale public housing); if it can but no firm in
reach can take it, perhaps a new local firm entering the market. Where nothing works, an area
without a committee gets the office's own fallback service (托底).

It holds the owners' votes (rules.vote_passes) and acts on the district only through the area-state
interface (sim.area_state.AreaState).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from sim import events, rules
from sim.area_state import AreaState
from sim.params import AFTER_SALE_CODE, Params
from sim.policies import REGISTRY, AreaView, ReformCase, best_bidder
from sim.policies.common import StripIndex, rows_by_block
from sim.rules import FALLBACK, FULL_SERVICE, SELF_MANAGED


class StreetOffice:
    """Residents' cases at the desks, reform cases, procurement, votes, the yearly round."""

    def __init__(self, state: AreaState):
        self.state = state
        self.cases: list[ReformCase] = []
        self.retry_after: dict[str, int] = {}  # area id -> first month a new proposal may come
        self.firm_entered: dict[int, int] = {}  # firm -> month it entered
        self.firm_exited: dict[int, tuple[int, str]] = {}  # firm -> (month, reason)
        self.reforms: dict[int, list[tuple[str, int, int]]] = {}
        """Each reformed estate's routes, in order: (how, month, reform case id)."""
        self.merge_attempts: dict[frozenset[str], int] = {}  # a merger group (area ids) -> votes it failed
        self.merge_exhausted: set[str] = set()  # areas of groups that failed merge_max_attempts votes
        self.lost_contracts: dict[int, Counter] = {}  # firm -> contracts lost, by cause
        self.exit_cause: dict[int, str] = {}  # firm -> why it left: performance, reform, withdrawal, losses
        self._next_case = 1
        self.integrated_blocks: list[int] = []  # block codes, in the order they joined
        self.fallback_income_yuan = 0.0  # fees paid to the office for its fallback service last month
        self._ids: list[str] = []  # the area ids the index below belongs to (one per row)
        self._row: dict[str, int] = {}
        self._ids_view: AreaView | None = None  # the view whose ids were last compared with them
        self._params: Params | None = None  # the parameters _vote_parameters holds (for owners_vote)
        from sim.vector_engine import compiled  # here: the engine's package imports this module

        self._kernels = compiled
        self.desk_hours: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        """Last month's desks, by kind (point, committee, rc): each desk's staff-hours and the hours used."""
        self.memory: dict[str, object] = {}
        """What a policy keeps between months to skip work whose inputs did not change (by its name)."""
        self._near = (StripIndex(), StripIndex())  # areas' and firm bases' positions (best_bidder)
        self._free = FreeAreas()  # available()'s last answer and what it was computed from
        self._exhausted: tuple[dict, set[str], np.ndarray] | None = None  # exhausted()'s, likewise
        self.reset_counts()

    def reset_counts(self) -> None:
        """Start the running counts at zero (month 0, and again after the burn-in)."""
        self.workload = 0.0  # cases' worth of the residents' committee's hours this month
        self.reception_cases_handled = 0.0
        self.cases_brought = self.cases_heard = self.cases_resolved = 0
        self.rc_hours = self.reception_hours = self.committee_case_hours = 0.0
        self.reform_hours = 0.0  # the street office's staff-hours on reform cases this month
        self.merges_done = self.merge_votes_failed = self.merge_votes_passed = 0
        self.firm_exits = self.firm_entries = 0
        self.tenders_held = self.tenders_awarded = 0
        self.fee_votes_held = self.fee_votes_passed = 0

    # --- monthly -------------------------------------------------------------------------
    def step(self, retender_requests: list[int]) -> None:
        """Residents' cases heard; reform cases moved on and opened; committees' re-tenders."""
        v = self.state.area_view()
        calling = [v.area_id[a] for a in retender_requests]  # by id: reforms below may move rows
        self.hear_cases()
        self.advance_cases()
        self.propose_reforms()
        self.advance_cases()  # cases with no lag move on in the month they open
        for area_id in calling:
            area = self.row_of(area_id)
            if area is not None and not self.busy(area_id):
                self.retender(area)
        self.reform_hours = self.hours_in_use()

    def hear_cases(self) -> None:
        """The desks hear the open cases, oldest first (then in a drawn order), within their hours.

        A case goes first to the joint reception point of an integrated block, then to its area's
        owners' committee where one is active, then to the residents' committee's desk of its block;
        each desk hears whole cases while its staff-hours last (rules.desk_cases). A heard case is
        resolved with the chance the area's manager allows (rules.resolution_chance); an unheard one
        waits, or is dropped after `case_wait_months` (rules.case_outcome). Each household learns its
        own case's outcome (AreaState.settle_cases).
        """
        s = self.state
        p = s.p
        v = s.area_view()
        n_blocks = len(s.block_names())
        point_hours = p.reception_staff_hours_per_month
        staffed = np.zeros(n_blocks, dtype=bool)
        staffed[self.integrated_blocks] = point_hours > 0
        households, rows, ages = s.open_cases()
        n = len(households)
        self.cases_brought = int(np.count_nonzero(ages == 0))
        self.reception_hours = point_hours * float(np.count_nonzero(staffed))
        heard_at = {"point": 0, "committee": 0, "rc": 0}
        self.desk_hours = {  # each desk's staff-hours this month, and the hours its cases used
            "point": (point_hours * staffed, np.zeros(n_blocks)),
            "committee": (rules.committee_case_hours(v.committee_active, v.committee_capacity, p),
                          np.zeros(len(v.area_id))),
            "rc": (np.full(n_blocks, p.rc_case_hours_per_month), np.zeros(n_blocks)),
        }
        resolved = np.zeros(n, dtype=bool)
        if n:
            order = np.lexsort((s.rng.random(n), -ages))
            block = v.block[rows]
            heard = np.zeros(n, dtype=bool)
            desks = (  # (name, each case's desk or -1)
                ("point", np.where(staffed[block], block, -1)),
                ("committee", np.where(v.committee_active[rows], rows, -1)),
                ("rc", block),
            )
            for name, desk in desks:
                hours, used = self.desk_hours[name]
                here = rules.hear_in_turn(np.where(heard, -1, desk), rules.desk_cases(hours, p), order)
                used[:] = np.bincount(desk[here], minlength=len(used)) * p.hours_per_case
                heard_at[name] = int(np.count_nonzero(here))
                heard |= here
            resolved = heard & (s.rng.random(n) < rules.resolution_chance(v.quality[rows], p))
            s.settle_cases(households, rules.case_outcome(heard, resolved, ages, p))
        self.cases_heard = sum(heard_at.values())
        self.cases_resolved = int(np.count_nonzero(resolved))
        self.reception_cases_handled = float(heard_at["point"])
        self.committee_case_hours = heard_at["committee"] * p.hours_per_case
        self.rc_hours = heard_at["rc"] * p.hours_per_case + p.reception_rc_share * self.reception_hours
        self.workload = self.rc_hours / p.hours_per_case

    def retender(self, area: int) -> None:
        """Owners replace their firm (or find one) by tender and vote."""
        s = self.state
        v = s.area_view()
        exclude = (int(v.firm[area]),) if v.firm[area] >= 0 else ()
        winner = self.procure(area, FULL_SERVICE, exclude=exclude)
        if winner < 0:
            return
        support = rules.change_support(float(v.mean_satisfaction[area]), False, s.p)
        passed, share = self.hold_vote(area, support, briefed=False)
        if passed:
            self.reassign(area, winner, FULL_SERVICE, "performance")
            s.log(events.retendered(s.month, v.area_id[area], winner, share))

    def reassign(self, area: int, firm: int, mode: int, cause: str) -> None:
        """Give an area a firm and mode (AreaState.assign_firm), noting why its old firm lost it.

        `cause`: "performance" (owners replaced the firm: a re-tender, a renewal, an evaluation),
        "outbid" (a reform's tender for the area, which the firm could bid in, went to a better
        firm), "reform" (a policy moved the area), "withdrawal" (the firm withdrew from a losing
        contract).
        """
        old = int(self.state.area_view().firm[area])
        if old >= 0 and old != firm:
            self.lost_contracts.setdefault(old, Counter())[cause] += 1
        self.state.assign_firm(area, firm, mode)

    def contract_in_loss(self, area: int) -> None:
        """A firm in loss on a contract proposes a fee revision; refused, it withdraws."""
        s = self.state
        v = s.area_view()
        firm = int(v.firm[area])
        proposal = rules.proposed_fee(float(v.fee_yuan_per_m2[area]), s.p)
        if self.fee_vote(area, int(v.mode[area]), new_fee=proposal):
            s.assign_firm(area, firm, int(v.mode[area]))  # the contract goes on, its losses reset
            return
        self.reassign(area, -1, SELF_MANAGED, "withdrawal")
        s.log(events.withdrew(s.month, v.area_id[area], firm, s.p.firm_withdraw_months))
        self.replace_manager(area, exclude=(firm,))

    def firm_leaves(self, firm: int, reason: str) -> None:
        """A firm exits the market; each of its areas seeks a new manager."""
        s = self.state
        areas = np.flatnonzero(s.area_view().firm == firm).tolist()
        for area in areas:
            s.assign_firm(area, -1, SELF_MANAGED)
        s.deactivate_firm(firm)
        self.firm_exits += 1
        self.firm_exited[firm] = (s.month, reason)
        self.exit_cause[firm] = rules.exit_cause(reason, self.lost_contracts.get(firm, Counter()), s.p)
        s.log(events.firm_left(s.month, firm, reason))
        for area in areas:
            self.replace_manager(area, exclude=(firm,))

    def replace_manager(self, area: int, *, exclude: tuple[int, ...] = ()) -> None:
        """An area that lost its firm: a tender; failing that, self-management or the fallback."""
        s = self.state
        winner = self.procure(area, FULL_SERVICE, exclude=exclude, fee_vote=False)
        if winner >= 0:
            s.assign_firm(area, winner, FULL_SERVICE)
            return
        self.fall_back(area)

    def fall_back(self, area: int) -> None:
        """Self-management where a committee is active, else the street office's fallback service."""
        s = self.state
        v = s.area_view()
        mode = int(rules.fallback_mode(bool(v.committee_active[area]), s.p))
        s.assign_firm(area, -1, mode)
        if mode == FALLBACK:
            s.log(events.fell_back(s.month, v.area_id[area]))

    # --- reform cases --------------------------------------------------------------------
    def busy(self, area_id: str) -> bool:
        """Whether an open reform case holds the area."""
        return any(area_id in case.area_ids for case in self.cases)

    def available(self) -> np.ndarray:
        """Areas (bool per row) free for a new reform case: none open, no failed vote waiting.

        Worked out again only when its inputs changed since the last call (FreeAreas): the rows,
        the open cases' areas, the waits, or the month reached the end of a wait. A new array each
        call (callers may change it).
        """
        return self._free.mask(self.cases, self.retry_after, self.state.month, self._rows_by_id()).copy()

    def exhausted(self) -> np.ndarray:
        """Areas (bool per row) of merger groups that failed `merge_max_attempts` votes (merge_exhausted).

        Kept until the rows or the set change (a set of area ids, compared whole: cheaper than
        matching every row's id against it each month).
        """
        rows = self._rows_by_id()
        last = self._exhausted
        if last is None or last[0] is not rows or last[1] != self.merge_exhausted:
            exhausted = self.merge_exhausted
            mask = np.fromiter((x in exhausted for x in self._ids), dtype=bool, count=len(self._ids))
            self._exhausted = last = (rows, set(exhausted), mask)
        return last[2].copy()

    def hours_in_use(self) -> float:
        """Staff-hours a month the open reform cases take, each by its stage (rules.reform_stage_hours)."""
        return float(sum(rules.reform_stage_hours(case.stage, self.state.p) for case in self.cases))

    def room(self) -> int:
        """How many more reform cases the street office can open now.

        Its staff-hours left over what the open cases take, in new cases' first stage (briefings and
        votes).
        """
        p = self.state.p
        left = p.reform_staff_hours_per_month - self.hours_in_use()
        return max(0, int(left / rules.reform_stage_hours("vote", p) + 1e-9))

    def open_case(self, kind: str, areas: list[int], stage: str, delay_months: int, **notes) -> ReformCase:
        """Open a reform case on some areas (rows), due `delay_months` from now."""
        s = self.state
        v = s.area_view()
        case = ReformCase(kind, [v.area_id[a] for a in areas], stage, s.month + int(delay_months),
                          notes=notes, case_id=self._next_case)
        self._next_case += 1
        self.cases.append(case)
        return case

    def close_case(self, case: ReformCase, *, failed: bool = False) -> None:
        """A case ends; after a failed vote its areas wait before a new proposal."""
        self.cases.remove(case)
        if failed:
            for area_id in case.area_ids:
                self.wait(area_id)

    def wait(self, area_id: str) -> None:
        """No new proposal for an area for `vote_retry_months` (a failed vote, or no firm found)."""
        self.retry_after[area_id] = self.state.month + int(self.state.p.vote_retry_months)

    def row_of(self, area_id: str) -> int | None:
        """The row of an area by id, or None if it is gone (merged into another)."""
        return self._rows_by_id().get(area_id)

    def _rows_by_id(self) -> dict[str, int]:
        """Each area's row by id (kept until the ids change: views are rebuilt far more often).

        The ids are compared only when the view is a new one: an engine rebuilds its view whenever
        rows change.
        """
        v = self.state.area_view()
        if v is not self._ids_view:
            if v.area_id != self._ids:
                self._ids = list(v.area_id)
                # the first row of an id wins (built from the last row up)
                self._row = dict(zip(reversed(self._ids), range(len(self._ids) - 1, -1, -1), strict=True))
            self._ids_view = v
        return self._row

    def advance_cases(self) -> None:
        """Move every due case on, stage by stage (several stages in a month if their lags are 0)."""
        for case in list(self.cases):
            while case in self.cases and case.due_month <= self.state.month:
                stage = case.stage
                REGISTRY.get(case.kind).advance(case, self, self.state)
                if case in self.cases and case.stage == stage and case.due_month <= self.state.month:
                    raise RuntimeError(f"{case.kind} case did not move on from {stage}")

    def propose_reforms(self) -> None:
        """Each enabled policy, in the registry's order, opens cases while there is room."""
        for policy in REGISTRY.enabled(self.state.policies):
            if self.room() == 0:
                return
            policy.propose(self, self.state)

    def record_reform(self, area: int, how: str, case: ReformCase | None = None) -> None:
        """Note that an area's estates just took a route, and by which reform case.

        Routes: merged, management_merged, entrusted, self_governed; each estate keeps every route it
        took, in order.
        """
        case_id = case.case_id if case is not None else 0
        for estate in self.state.estates_of(area):
            self.reforms.setdefault(estate, []).append((how, self.state.month, case_id))

    def merge_failed(self, area_ids: list[str]) -> int:
        """A merger group's vote failed: count it; returns the group's failed votes.

        After `merge_max_attempts` the group is not proposed again (its areas may take the
        management-only route).
        """
        group = frozenset(area_ids)
        failed = self.merge_attempts.get(group, 0) + 1
        self.merge_attempts[group] = failed
        if failed >= self.state.p.merge_max_attempts:
            self.merge_exhausted.update(area_ids)
        return failed

    # --- yearly --------------------------------------------------------------------------
    def run_policies(self) -> None:
        """The yearly round: entry, renewals, tenders for areas without a manager, then policies.

        Each enabled policy's yearly part runs in the registry's order.
        """
        self.firms_enter()
        self.renew_contracts()
        self.seek_managers()
        for policy in REGISTRY.enabled(self.state.policies):
            policy.run(self, self.state)

    def firms_enter(self) -> None:
        """New firms enter where contracts pay.

        In each block, with a chance that grows with the share of its areas whose money covers
        full service at the going fees.
        """
        s = self.state
        v = s.area_view()
        blocks = rows_by_block(v.block)
        draws = s.rng.random((len(blocks), 2))
        # an entry changes no area's money: whether each area pays is known before the first
        pays = self.covers(np.arange(len(v.block)), FULL_SERVICE, service=1.0)
        for rows, (chance, capability) in zip(blocks.values(), draws.tolist(), strict=True):
            paying = np.count_nonzero(pays[rows]) / len(rows)
            if chance < s.p.firm_entry_probability * paying:
                self.enter_market(int(rows[np.argmax(v.households[rows])]), capability)

    def renew_contracts(self) -> None:
        """Contracts reaching their term (chance 1/term a year) are re-tendered by the committee.

        The best bidder in reach (the incumbent among them) takes the contract, a newcomer only if
        the owners vote for the change; where the fee is above what pays full service, it falls to
        that level if the owners vote for it: competition passes lump-sum surpluses back to owners.
        """
        s = self.state
        v = s.area_view()
        draws = s.rng.random(len(v.area_id))
        due = np.flatnonzero((v.firm >= 0) & v.committee_active & (draws < 1.0 / s.p.contract_term_years))
        # an area's money and full-service fee change only when its own turn changes its fee: all at once
        modes = v.mode[due]
        pays = self.covers(due, modes)
        full_service_fees = self.break_even_fee(due, modes, service=1.0)
        for area, paying, fee in zip(due.tolist(), pays.tolist(), full_service_fees.tolist(), strict=True):
            if not paying:
                continue
            v = s.area_view()
            incumbent, mode = int(v.firm[area]), int(v.mode[area])
            self.tenders_held += 1
            self.tenders_awarded += 1
            winner = self.bidder(area, mode)
            if winner not in (-1, incumbent):
                support = rules.change_support(float(v.mean_satisfaction[area]), False, s.p)
                passed, share = self.hold_vote(area, support, briefed=False)
                if passed:
                    self.reassign(area, winner, mode, "performance")
                    s.log(events.retendered(s.month, v.area_id[area], winner, share))
            if fee < 0.99 * v.fee_yuan_per_m2[area]:
                self.fee_vote(area, mode, new_fee=fee)

    def seek_managers(self) -> None:
        """Areas under the fallback service, or with no manager at all, are put out to tender."""
        s = self.state
        v = s.area_view()
        for area in np.flatnonzero(np.isin(v.mode, (FALLBACK, rules.UNMANAGED))).tolist():
            if self.busy(v.area_id[area]):
                continue
            winner = self.procure(area, FULL_SERVICE)
            if winner >= 0:
                s.assign_firm(area, winner, FULL_SERVICE)
            elif s.area_view().mode[area] == rules.UNMANAGED:
                self.fall_back(area)

    # --- procurement, fees and votes -----------------------------------------------------
    def procure(self, area: int, mode: int, *, exclude: tuple[int, ...] = (), reach_m: float | None = None,
                min_capability: float = 0.0, fee_vote: bool = True, reform: bool = False,
                room: int = 1) -> int:
        """Find a firm for an area in a mode: a fee vote if needed, then a tender.

        If the money cannot pay the least service, a fee vote first (no tender is called that no
        firm could bid in); then a tender among firms in reach. In a `reform` the street office
        brokers the contract (a merged area's firm, an entrustment, a specialised service, an
        evaluation's replacement): strong firms bid whatever the area's money, as the article's
        "strong leads weak" has them; in the ordinary market they bid only where it pays their
        standard (bidder).

        `room`: the sites the winner must have spare (a management-only group's members).
        Returns the firm that takes the contract (not yet assigned), or -1.
        """
        s = self.state
        if not self.covered(area, mode):
            if not (fee_vote and self.fee_vote(area, mode)) or not self.covered(area, mode):
                s.log(events.no_bid(s.month, s.area_view().area_id[area],
                                    "no tender: the money cannot pay the least service"))
                return -1
        self.tenders_held += 1
        winner = self.bidder(area, mode, exclude=exclude, reach_m=reach_m, min_capability=min_capability,
                             reform=reform, room=room)
        if winner < 0:
            s.log(events.no_bid(s.month, s.area_view().area_id[area], "no firm in reach can take it"))
            return -1
        self.tenders_awarded += 1
        return winner

    def covered(self, area: int, mode: int, *, service: float | None = None) -> bool:
        """Whether the area's expected money pays its least service in a mode (rules.covers_cost).

        Given `service`, whether it pays that share of full service instead.
        """
        return bool(self.covers(area, mode, service=service))

    def covers(self, areas: int | np.ndarray, mode: int, *,
               service: float | None = None) -> bool | np.ndarray:
        """covered, for one area (a row) or several (rows, or a mask) at once."""
        s = self.state
        v = s.area_view()
        households = v.households[areas]
        needed = rules.money_needed(mode, v.gates[areas], v.floor_area_m2[areas], households, s.p)
        extra = rules.bid_extra_money_yuan(households, v.block_integrated[areas], s.p)
        money = v.expected_money_yuan[areas] + extra
        if service is None:
            return rules.covers_cost(money, needed, s.p)
        return rules.covers_share(money, needed, service, s.p)

    def break_even_fee(self, areas: int | np.ndarray, mode: int | np.ndarray, *,
                       service: float) -> float | np.ndarray:
        """The fee at which an area's money pays `service` (a share of full service) in a mode.

        For one area (a row) or several (rows, with a mode each) at once.
        """
        s = self.state
        v = s.area_view()
        floor_area = v.floor_area_m2[areas].astype(float)
        households = v.households[areas].astype(float)
        needed = rules.money_needed(mode, v.gates[areas], floor_area, households, s.p)
        subsidy = rules.subsidy(v.housing_type[areas] == AFTER_SALE_CODE, floor_area, mode, households,
                                v.block_integrated[areas], s.p)
        fee = rules.break_even_fee(service * needed, subsidy, floor_area, v.collection_rate[areas], s.p)
        return float(fee) if np.ndim(fee) == 0 else fee

    def fee_vote(self, area: int, mode: int, *, new_fee: float | None = None) -> bool:
        """Owners vote on a fee revision (by default to the break-even fee, within the cap).

        With `fee_revision_votes` 0 (the mechanism ablation) no revision is put to a vote.
        """
        s = self.state
        if not s.p.fee_revision_votes:
            return False
        v = s.area_view()
        old = float(v.fee_yuan_per_m2[area])
        target = self.break_even_fee(area, mode, service=s.p.min_effort) if new_fee is None else new_fee
        if new_fee is None and target <= old * (1.0 + rules.BREAK_EVEN_RTOL):
            return False  # the fee is not what keeps the money short (it is the break-even fee)
        cap = rules.fee_cap(int(v.housing_type[area]), s.p)
        if target > cap:  # a proposal stays within the guided price: at most the cap, if that is a rise
            s.log(events.fee_capped(s.month, v.area_id[area], old, target, cap))
            if cap <= 1.01 * old:
                return False
            target = cap
        self.fee_votes_held += 1
        support = rules.fee_change_support(float(v.mean_satisfaction[area]), old, target, s.p)
        passed, share = self.hold_vote(area, support, briefed=True)
        s.log(events.fee_voted(s.month, v.area_id[area], old, target, share, passed))
        if passed:
            self.fee_votes_passed += 1
            s.set_fee(area, target)
        return passed

    def enter_market(self, area: int, draw: float) -> int:
        """A new firm sets up near an area.

        Its capability is `draw` across the range from the weakest local firm to the strongest
        (a new local firm, or a city firm's branch).
        """
        s = self.state
        p = s.p
        v = s.area_view()
        low, high = p.weak_firm_capability_low, p.strong_firm_capability_high
        capability = low + draw * (high - low)
        overhead = p.firm_overhead_yuan * p.weak_firm_overhead_share
        firm = s.add_firm(capability=float(capability), overhead_yuan=overhead,
                          reserves_yuan=overhead * p.firm_initial_reserve_months,
                          max_sites=1 + int(p.weak_firm_spare_sites), x_m=float(v.x_m[area]),
                          y_m=float(v.y_m[area]), strong=False)
        self.firm_entries += 1
        self.firm_entered[firm] = s.month
        s.log(events.firm_entered(s.month, v.area_id[area], firm))
        return firm

    def hold_vote(self, area: int, support: float, *, briefed: bool) -> tuple[bool, float]:
        """An owners' decision in one area (Civil Code quorum and double majority).

        Each owner, in member order, draws (takes part, votes yes). Returns whether it passed and
        the share of participating owners who supported it.
        """
        s = self.state
        floor = s.owner_floor_areas(area)
        draws = s.rng.random((len(floor), 2))
        participation = float(rules.participation(briefed, s.p))
        if self._params is not s.p:
            self._params, self._vote_parameters = s.p, self._kernels.vote_parameters(s.p)
        passed, share = self._kernels.owners_vote(self._vote_parameters, floor, draws, participation,
                                                  float(support))
        return bool(passed), float(share)

    def could_bid(self, area: int, mode: int, firm: int, *, room: int = 1) -> bool:
        """Whether `firm` was able to bid in a reform's tender for an area: active, in reach, with room.

        The bidder with every other firm left out. A firm that could bid and lost was outbid.
        """
        others = tuple(x for x in range(len(self.state.firm_view().active)) if x != firm)
        return self.bidder(area, mode, exclude=others, reform=True, room=room) == firm

    def bidder(self, area: int, mode: int, *, exclude: tuple[int, ...] = (), reach_m: float | None = None,
               min_capability: float = 0.0, reform: bool = False, room: int = 1) -> int:
        """The best firm able to bid for an area in a mode (policies.best_bidder), or -1.

        Outside a reform, strong (brand) firms bid only where the area's money pays
        `strong_firm_min_service` of the mode's full service: below it they would put their name to
        a service they cannot give.
        """
        s = self.state
        reach_m = s.p.firm_reach_m if reach_m is None else reach_m
        firms = s.firm_view()
        if not reform and not self.covered(area, mode, service=s.p.strong_firm_min_service):
            exclude = (*exclude, *np.flatnonzero(firms.strong & firms.active).tolist())
        return best_bidder(area, s.area_view(), firms, reach_m=reach_m, min_capability=min_capability,
                           exclude=exclude, index=self._near, room=room)


class FreeAreas:
    """StreetOffice.available's answer, kept while its inputs stay the same.

    An area is not free while an open case holds it or a wait (`retry_after`) has not ended. The
    answer holds while the rows, the cases' areas and the waits are what they were and the month
    has not reached the end of a wait that was running (its wake-up month); all of these are
    compared whole, each call, which costs a few cases' and waits' worth of comparisons.
    """

    def __init__(self) -> None:
        self._rows: dict[str, int] | None = None  # the office's row index the answer belongs to
        self._cases: tuple[tuple[str, ...], ...] = ()
        self._waits: dict[str, int] = {}
        self._months = (0, 0)  # the answer holds from the first month to before the second
        self._free = np.zeros(0, dtype=bool)

    def mask(self, cases: list[ReformCase], waits: dict[str, int], month: int,
             rows: dict[str, int]) -> np.ndarray:
        """Areas (bool per row of `rows`) no case holds and no wait keeps (the kept array: not to change)."""
        held = tuple(tuple(case.area_ids) for case in cases)
        start, wake = self._months
        if rows is self._rows and start <= month < wake and held == self._cases and waits == self._waits:
            return self._free
        blocked = {area_id for ids in held for area_id in ids}
        blocked.update(x for x, until in waits.items() if until > month)
        free = np.ones(len(rows), dtype=bool)
        free[[rows[x] for x in blocked if x in rows]] = False
        ends = [until for until in waits.values() if until > month]
        self._rows, self._cases, self._waits = rows, held, dict(waits)
        self._months = (month, min(ends, default=np.iinfo(np.int64).max))
        self._free = free
        return free

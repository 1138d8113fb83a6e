"""The vectorized engine: the estate-governance model over numpy arrays, for large districts.

VectorModel takes the Mesa engine's month (sim.mesa_engine.model.EstateGovernanceModel.step) step
by step, in the same order, calling the same rules of sim.rules on arrays (one entry per
household, area or firm) and drawing the same random numbers from the run's generator in the same
order, so that for one seed the two engines agree up to float32 rounding of the household arrays.
The street office and the yearly policy round are sim.street_office's, shared with the Mesa
engine: VectorModel implements the area-state interface (sim.area_state.AreaState) over its arrays.

Households are processed in cache-sized chunks of whole estates: an area's value reaches its
households through their estate (`np.repeat` over the estate's slice) and household sums go back
per estate (`np.add.reduceat`) and then per area (`np.bincount` over estates).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import rules
from sim.area_state import AreaRows
from sim.district_model import DistrictModel
from sim.events import Event
from sim.initial import initial_state
from sim.outputs import AREA_COLUMNS, RECORD_AREA_FIELDS, MonthRecord, month_record
from sim.params import MODES
from sim.policies import AreaView, FirmView
from sim.rules import FALLBACK, FULL_SERVICE, SELF_MANAGED, UNMANAGED
from sim.scenario import Scenario
from sim.street_office import StreetOffice
from sim.vector_engine import compiled as kernels
from sim.vector_engine.state import F8, AreaArrays, FirmArrays, HouseholdArrays

_HOUSING_NAMES = list(rules.HOUSING_NAMES)
_AFTER_SALE = _HOUSING_NAMES.index("after_sale_public")
CHUNK_HOUSEHOLDS = 1 << 16
THREADED_HOUSEHOLDS = 1_000_000
"""Districts at least this large step their household chunks on a small thread pool."""
"""Households per chunk of the monthly household step (whole estates; sized for the CPU cache)."""


@dataclass(frozen=True)
class Arrangement:
    """What follows from who serves which area, in which mode, at what size: fixed between changes.

    The month reads these instead of recomputing them; any change of firm, mode, merger or block
    integration drops the cached arrangement (`VectorModel.rearranged`).
    """

    has_firm: np.ndarray  # bool per area
    firm: np.ndarray  # the area's firm, 0 where it has none (a safe index)
    served_by: np.ndarray  # firm of each served area (areas with a firm, in row order)
    capability: np.ndarray  # the firm's capability, 0 without a firm
    needed_yuan: np.ndarray  # money full service in the area's mode needs (rules.money_needed)
    stand_alone_yuan: np.ndarray  # ... with each estate its own site (rules.stand_alone_money_needed)
    overhead_share_yuan: np.ndarray
    fee_due: np.ndarray  # yuan/m2 owed (nothing without a firm)
    subsidy_yuan: np.ndarray
    owes: np.ndarray  # bool: the area's households owe a fee
    due_yuan: np.ndarray  # fees due in a month if everyone paid
    households: np.ndarray  # float64
    members: np.ndarray  # households, at least 1 (divisor of per-household rates)
    covered_yuan: np.ndarray | None = None  # fees the policies' transfers pay for households (sim.transfers)


class VectorModel(DistrictModel):
    """The model of one district as arrays; the same interface as EstateGovernanceModel.

    `dtype` is the float type of the household arrays (float32 halves memory traffic; float64
    reproduces the Mesa engine to rounding). `compiled` chooses the compiled month
    (sim.vector_engine.compiled: numba loops calling the compiled rules) or the numpy month; by
    default the compiled one wherever numba is installed (and ESTATE_SIM_COMPILED is not 0).
    """

    def __init__(self, scenario: Scenario, *, rng: int | None = None, dtype=np.float32,
                 chunk_households: int = CHUNK_HOUSEHOLDS, compiled: bool | None = None):
        self.spec = scenario
        self.p = scenario.params
        self.policies = scenario.policies
        self.policy_options = scenario.policy_options
        self.rng = np.random.default_rng(scenario.seed if rng is None else rng)
        self.dtype = np.dtype(dtype)
        self.compiled = kernels.AVAILABLE if compiled is None else bool(compiled)
        if self.compiled and kernels.numba is None:
            raise RuntimeError("the compiled month needs numba (pip install numba), or compiled=False")
        self.month = 0
        self.event_log: list[Event] = []
        self.records: list[MonthRecord] = []
        self._arrangement: Arrangement | None = None
        self._view: AreaView | None = None
        self._spare_rows: list[int] = []  # grown rows a merger round has not filled yet
        district = scenario.load_district()
        state = initial_state(district, self.p, self.rng)
        self.estates = state.estates
        self._build(state)
        self._plan_chunks(chunk_households)
        self.street_office = StreetOffice(self)
        self._start_areas(state)
        self.params_changed()
        self.burn_in()

    def params_changed(self) -> None:
        """The compiled month's parameter records, from `self.p`."""
        if self.compiled:
            self._params64 = kernels.params_record(self.p)
            self._params_households = kernels.params_record(self.p, self.dtype)

    # --- set-up ----------------------------------------------------------------------------
    def _build(self, state) -> None:
        p = self.p
        dt = self.dtype
        estates = state.estates
        n_estates = len(estates)
        self.firms = FirmArrays(
            capability=state.firm_capability.astype(F8), reputation=state.firm_capability.astype(F8),
            overhead_yuan=state.firm_overhead_yuan.astype(F8),
            reserves_yuan=state.firm_reserves_yuan.astype(F8),
            max_sites=state.firm_max_sites.astype(np.int64),
            x_m=state.firm_x_m.astype(F8), y_m=state.firm_y_m.astype(F8),
            strong=state.firm_strong.astype(bool), active=np.ones(state.n_firms, dtype=bool),
            loss_months=np.zeros(state.n_firms, dtype=np.int64),
            idle_months=np.zeros(state.n_firms, dtype=np.int64),
            revenue_yuan=np.zeros(state.n_firms), cost_yuan=np.zeros(state.n_firms))

        a = AreaArrays(n_estates)
        a.area_id = [str(x) for x in estates["estate_id"]]
        a.estates = [[e] for e in range(n_estates)]
        a.households[:] = estates["households"].to_numpy(dtype=np.int64)
        a.n_estates[:] = 1
        a.housing_type[:] = [_HOUSING_NAMES.index(t) for t in estates["housing_type"]]
        a.block[:], blocks = pd.factorize(estates["block"])
        self._block_names = [str(b) for b in blocks]
        a.x_m[:] = estates["x_m"].to_numpy(dtype=F8)
        a.y_m[:] = estates["y_m"].to_numpy(dtype=F8)
        a.gates[:] = a.estate_gates[:] = estates["gates"].to_numpy(dtype=F8)
        a.floor_area_m2[:] = estates["floor_area_m2"].to_numpy(dtype=F8)
        a.fee_yuan_per_m2[:] = estates["fee_yuan_per_m2"].to_numpy(dtype=F8)
        a.fund_yuan[:] = a.fund_initial_yuan[:] = estates["fund_yuan"].to_numpy(dtype=F8)
        a.condition[:] = estates["condition"].to_numpy(dtype=F8)
        a.committee_active[:] = state.estate_committee
        a.firm[:] = state.estate_firm
        a.mode[:] = np.where(state.estate_firm >= 0, FULL_SERVICE,
                             np.where(state.estate_committee, SELF_MANAGED, UNMANAGED))
        self.areas = a
        self.estate_area = np.arange(n_estates, dtype=np.int64)
        self.sites = np.bincount(a.firm[a.firm >= 0], minlength=state.n_firms)
        """Contracts each firm holds (kept up to date by assign_firm)."""

        estate_start = np.zeros(n_estates + 1, dtype=np.int64)
        np.cumsum(a.households, out=estate_start[1:])
        owner = state.household_owner.astype(bool)
        owner_index = np.flatnonzero(owner)
        self.type_terms = rules.cooperation_terms(np.arange(3), p)
        """(shift, neighbour weight, enforcement weight) of each cooperation type."""
        self.households = HouseholdArrays(
            estate=state.household_estate.astype(np.int32),
            floor_m2=state.household_floor_m2.astype(dt), owner=owner,
            coop=state.household_coop.astype(np.int8),
            taste=state.household_taste.astype(dt), habit=state.household_habit.astype(dt),
            satisfaction=np.full(len(owner), 0.5, dtype=dt),
            volunteer=state.household_volunteer.astype(bool),
            case_age=np.full(len(owner), -1, dtype=np.int8), voice=np.zeros(len(owner), dtype=dt),
            voice_months=np.zeros(len(owner), dtype=np.int16), estate_start=estate_start,
            owner_index=owner_index, owner_start=np.searchsorted(owner_index, estate_start),
            type_counts=np.bincount(3 * state.household_estate + state.household_coop,
                                    minlength=3 * n_estates))
        self.n_households = len(owner)
        # the compiled pass's scratch: a row per thread, as long as the longest run of one estate and type
        self._paid_floor_h = np.empty((kernels.threads(), int(self.households.type_counts.max(initial=0))),
                                      dtype=dt)
        self.estate_households = np.diff(estate_start)
        self.estate_floor_m2 = np.add.reduceat(self.households.floor_m2, estate_start[:-1], dtype=F8)
        self.initial_collection_guess = float(np.mean(state.household_habit))
        threads = min(2, os.cpu_count() or 1)
        self._threads = (ThreadPoolExecutor(threads) if self.n_households >= THREADED_HOUSEHOLDS
                         and threads > 1 else None)

    def __setstate__(self, state: dict) -> None:
        """A model read back from a burn-in (sim/snapshot.py), perhaps in another process.

        The compiled household pass asks numba for its thread id, which needs numba's threading
        layer started in this process (kernels.threads), and writes a scratch row per thread: the
        scratch gets as many rows as this process has threads.
        """
        self.__dict__.update(state)
        threads = kernels.threads()
        scratch = self._paid_floor_h
        if scratch.shape[0] < threads:
            self._paid_floor_h = np.empty((threads, scratch.shape[1]), dtype=scratch.dtype)

    def _plan_chunks(self, chunk_households: int) -> None:
        """Household chunks of whole estates, each about `chunk_households` long."""
        starts = self.households.estate_start
        n_estates = len(starts) - 1
        self.chunks = []
        e0 = 0
        while e0 < n_estates:
            e1 = int(np.searchsorted(starts, starts[e0] + chunk_households, side="right")) - 1
            e1 = min(max(e1, e0 + 1), n_estates)
            h0, h1 = int(starts[e0]), int(starts[e1])
            self.chunks.append((h0, h1, e0, e1, starts[e0:e1] - h0))
            e0 = e1

    def _start_areas(self, state) -> None:
        """Month-0 values, as EstateGovernanceModel._start_area: quality and satisfaction at target."""
        p = self.p
        a = self.areas
        hh = self.households
        a.volunteers[:] = self.sum_by_area(hh.volunteer, np.int64)
        a.committee_capacity[:] = rules.committee_capacity(a.volunteers, p)
        habit = self.sum_by_area(state.household_habit, F8) / a.households
        a.collection_rate[:] = habit
        arranged = self.arrangement()
        a.revenue_yuan[:] = np.where(arranged.has_firm, arranged.fee_due * a.floor_area_m2 * habit, 0.0)
        a.subsidy_yuan[:] = arranged.subsidy_yuan
        self.firms_serve()
        a.quality[:] = a.target
        a.felt_incident_rate[:] = rules.incident_rate(a.mode, a.quality, p)
        a.perceived[:] = rules.perceived_conditions(a.quality, a.condition, a.felt_incident_rate, p)
        no_case = rules.heard_part(rules.voice(0.0, 0, p), p)  # nobody has a case yet
        for h0, h1, e0, e1, _ in self.chunks:
            perceived = np.repeat(a.perceived[self.estate_area[e0:e1]].astype(self.dtype),
                                  self.estate_households[e0:e1])
            hh.satisfaction[h0:h1] = rules.clip01(perceived + no_case + hh.taste[h0:h1])
        a.mean_satisfaction[:] = self.sum_by_area(hh.satisfaction, F8) / a.households

    # --- households <-> areas --------------------------------------------------------------
    def sum_by_area(self, values: np.ndarray, dtype) -> np.ndarray:
        """Per-area sums of a household array (through the estates)."""
        per_estate = np.add.reduceat(values, self.households.estate_start[:-1], dtype=dtype)
        total = np.bincount(self.estate_area, weights=per_estate, minlength=len(self.areas))
        return total.astype(dtype) if dtype is not F8 else total

    def household_area(self) -> np.ndarray:
        """Each household's management area (row), for inspection and tests."""
        return np.repeat(self.estate_area, self.estate_households).astype(np.int32)

    # --- the month -------------------------------------------------------------------------
    def step(self) -> None:
        """One month, in EstateGovernanceModel.step's order."""
        self.month += 1
        self._view = None
        if (self.month - 1) % 12 == 0:
            self.street_office.run_policies()
        p = self.p
        a = self.areas
        if self.compiled:
            self._step_compiled()
            return
        # 1. service, from last month's money
        self.firms_serve()
        # 2. events: incidents (one draw per area), wear and repairs
        lam = rules.incident_rate(a.mode, a.quality, p) * a.households / 1000.0
        incidents = self.rng.poisson(np.maximum(lam, 0.0))
        self.update_quality_and_buildings(incidents)
        self.prepare_for_households()
        # 3-4. satisfaction, fees and volunteering: every household
        self.households_step(rules.draw_month_key(self.rng))
        self.close_month()
        self.book_transfers()
        # 5. firm accounts and exits
        self.settle_accounts()
        self._view = None
        self.firms_withdraw()
        self.firms_exit()
        # 6. committees
        committee_draws = self.rng.random(len(a))
        requests = self.committees_step(committee_draws)
        # 7. the street office: complaints, re-tenders
        self._view = None
        self.street_office.step(requests)
        # 8. record
        if self.recording:
            self.records.append(self.record())

    def _step_compiled(self) -> None:
        """Steps 1-8 of `step`, the area stages and household pass compiled (same draws, same order)."""
        a = self.areas
        f = self.firms
        hh = self.households
        pr = self._params64
        arranged = self.arrangement()
        n = len(a)
        # 1. service, from last month's money; 2. incidents (one draw per area), wear and repairs
        expected = np.empty(n)
        kernels.serve(pr, arranged.has_firm, arranged.firm, arranged.capability, arranged.needed_yuan,
                      arranged.stand_alone_yuan, arranged.overhead_share_yuan, f.reserves_yuan,
                      a.revenue_yuan, a.subsidy_yuan, a.mode, a.volunteers, a.gates, a.floor_area_m2,
                      a.committee_capacity, a.quality, a.households, a.needed_yuan, a.overhead_share_yuan,
                      a.effort, a.spend_yuan, a.target, expected)
        incidents = self.rng.poisson(expected)
        dt = self.dtype
        perceived_h, quit_h, neighbours_h, felt_h = (np.empty(n, dtype=dt) for _ in range(4))
        pay_base_h = np.empty((n, 3), dtype=dt)
        shift, neighbour_weight, enforcement_weight = self.type_terms
        kernels.buildings_and_terms(
            pr, incidents, a.target, a.households, a.fund_initial_yuan, a.floor_area_m2, a.committee_active,
            a.committee_capacity, a.friction,
            a.volunteers, a.gates, a.mode, a.collection_rate, arranged.fee_due, shift, neighbour_weight,
            enforcement_weight, a.quality, a.incidents, a.incident_rate, a.felt_incident_rate, a.condition,
            a.fund_yuan, a.upkeep_paid_yuan, a.perceived, a.fee_due, a.enforcement, a.quit_probability,
            perceived_h, pay_base_h,
            quit_h, neighbours_h, felt_h)
        # 3-4. satisfaction, fees and volunteering: every household, on the run's draws
        month_key = rules.draw_month_key(self.rng)
        n_estates = len(self.estate_area)
        paid_floor, satisfaction_sum = np.empty(n_estates), np.empty(n_estates)
        volunteer_count = np.empty(n_estates, dtype=np.int64)
        household_pass = (kernels.household_pass_parallel if self._threads is not None
                          else kernels.household_pass)
        household_pass(self._params_households, self.estate_area, hh.estate_start, hh.type_counts,
                       perceived_h, a.fee_due, pay_base_h, quit_h, a.organising, neighbours_h, felt_h,
                       hh.satisfaction, hh.taste, hh.habit, hh.floor_m2, hh.volunteer, hh.case_age, hh.voice,
                       hh.voice_months, month_key,
                       self._paid_floor_h, paid_floor, satisfaction_sum, volunteer_count)
        kernels.area_tallies(self.estate_area, a.fee_due, arranged.due_yuan, paid_floor, satisfaction_sum,
                             volunteer_count, a.due_yuan, a.paid_yuan, a.satisfaction_sum, a.volunteer_count)
        # 5. the month closes; firm accounts, withdrawals and exits
        self.street_office.fallback_income_yuan = float(a.paid_yuan[a.mode == FALLBACK].sum())
        withdrawals, exits = kernels.accounts(
            pr, arranged.has_firm, arranged.firm, arranged.subsidy_yuan, a.households, a.spend_yuan,
            a.overhead_share_yuan, a.due_yuan, a.paid_yuan, a.satisfaction_sum, a.volunteer_count,
            a.collection_rate, a.revenue_yuan, a.subsidy_yuan, a.mean_satisfaction, a.volunteers, a.friction,
            a.losing_months, f.active, f.overhead_yuan, self.sites, f.revenue_yuan, f.cost_yuan,
            f.reserves_yuan, f.loss_months, f.idle_months)
        self.book_transfers()
        self._view = None
        if withdrawals:
            self.firms_withdraw()
        if withdrawals or exits:  # a withdrawal may end a firm's last contract
            self.firms_exit()
        # 6. committees
        a = self.areas
        committee_draws = self.rng.random(len(a))
        calls = np.empty(len(a), dtype=bool)
        called = kernels.committees(pr, a.volunteers, a.mean_satisfaction, committee_draws,
                                    a.committee_capacity, a.committee_active, a.bad_months, calls)
        # 7. the street office: complaints, re-tenders
        self._view = None
        self.street_office.step(np.flatnonzero(calls).tolist() if called else [])
        # 8. record
        if self.recording:
            self.records.append(self.record())

    def rearranged(self) -> None:
        """A firm, mode, merger or block changed: the next month recomputes the arrangement."""
        self._arrangement = None

    def arrangement(self) -> Arrangement:
        """The current arrangement's fixed quantities (cached until `rearranged`)."""
        if self._arrangement is None:
            self._arrangement = self._arrange()
        return self._arrangement

    def _arrange(self) -> Arrangement:
        p = self.p
        a = self.areas
        f = self.firms
        has = a.firm >= 0
        firm = np.where(has, a.firm, 0)
        served_by = a.firm[has]
        served = np.bincount(served_by, weights=a.households[has], minlength=len(f))
        managed = has | (a.mode == FALLBACK)
        mode_cost = np.where(managed, a.mode, FULL_SERVICE)
        needed = rules.money_needed(mode_cost, a.gates, a.floor_area_m2, a.households, p)
        fee_due = np.where(managed, rules.fee_due_per_m2(a.mode, a.fee_yuan_per_m2, p), 0.0)
        subsidy = np.where(has, rules.subsidy(a.housing_type == _AFTER_SALE, a.floor_area_m2, a.mode,
                                              a.households.astype(F8), a.block_integrated, p), 0.0)
        covered = None
        if self.transfers:
            manager, per_m2 = self.transfers.amounts(a.area_id)
            fee_due, money = rules.transfer_terms(fee_due, manager, per_m2, a.floor_area_m2, has)
            subsidy = subsidy + money
            covered = money - np.where(has, manager, 0.0)
        owes = fee_due > 0.0
        floor = np.bincount(self.estate_area, weights=self.estate_floor_m2, minlength=len(a))
        households = a.households.astype(F8)
        return Arrangement(
            has_firm=has, firm=firm, served_by=served_by,
            capability=np.where(has, f.capability[firm], 0.0), needed_yuan=needed,
            stand_alone_yuan=rules.stand_alone_money_needed(mode_cost, needed, a.estate_gates, a.n_estates,
                                                            a.floor_area_m2, a.households, p),
            overhead_share_yuan=np.where(
                has, f.overhead_yuan[firm] * a.households / np.maximum(served[firm], 1), 0.0),
            fee_due=fee_due, subsidy_yuan=subsidy,
            owes=owes, due_yuan=np.where(owes, fee_due * floor, 0.0), households=households,
            members=np.maximum(1, a.households), covered_yuan=covered)

    def book_transfers(self) -> None:
        """Book what the policies' transfers paid this month (sim.transfers), once the month closed."""
        if self.transfers and self.recording:
            arranged = self.arrangement()
            self.transfers.book(self.month, self.areas.area_id, arranged.has_firm, arranged.covered_yuan,
                                self.n_households)

    def transfers_changed(self) -> None:
        """A transfer changed: the arrangement (fees owed, firms' money) and the view are stale."""
        self.rearranged()
        self._view = None

    def firms_serve(self) -> None:
        """Firms set effort and target quality of their areas; areas without a firm do without."""
        p = self.p
        a = self.areas
        arranged = self.arrangement()
        has = arranged.has_firm
        a.needed_yuan[:] = arranged.needed_yuan
        a.overhead_share_yuan[:] = arranged.overhead_share_yuan
        available = a.revenue_yuan + a.subsidy_yuan - arranged.overhead_share_yuan
        effort = rules.effort(available, arranged.needed_yuan, arranged.stand_alone_yuan,
                              self.firms.reserves_yuan[arranged.firm] < 0, p)
        np.multiply(effort, has, out=a.effort)
        a.spend_yuan[:] = np.where(a.mode == FALLBACK, arranged.needed_yuan,
                                   a.effort * arranged.needed_yuan * has)
        coverage = rules.volunteer_coverage(a.volunteers, a.gates, a.floor_area_m2, p)
        a.target[:] = rules.target_quality(a.mode, arranged.capability, a.effort, coverage,
                                           a.committee_capacity, a.gates, a.floor_area_m2, a.households, p)

    def update_quality_and_buildings(self, incidents: np.ndarray) -> None:
        """Quality moves to its target; incidents happen; buildings wear and get repaired."""
        p = self.p
        a = self.areas
        a.quality[:] = rules.adjust_quality(a.quality, a.target, p)
        a.incidents[:] = incidents
        a.incident_rate[:] = rules.incidents_per_1000(incidents, a.households)
        a.felt_incident_rate[:] = rules.remember_incidents(a.felt_incident_rate, a.incident_rate, p)
        a.condition[:] = rules.decay_condition(a.condition, a.quality, p)
        condition, fund, paid = rules.upkeep(a.condition, a.fund_yuan, a.fund_initial_yuan,
                                             a.committee_active, a.floor_area_m2, p)
        a.condition[:] = condition
        a.fund_yuan[:] = fund
        a.upkeep_paid_yuan[:] = paid

    def prepare_for_households(self) -> None:
        """What households read this month: perceived conditions, fees, enforcement, fatigue."""
        p = self.p
        a = self.areas
        a.perceived[:] = rules.perceived_conditions(a.quality, a.condition, a.felt_incident_rate, p)
        a.fee_due[:] = self.arrangement().fee_due
        a.enforcement[:] = rules.enforcement(a.committee_active, a.committee_capacity, a.friction)
        workload = rules.volunteer_workload(a.volunteers, a.gates, a.floor_area_m2, a.mode, p)
        a.quit_probability[:] = rules.volunteer_quit_probability(a.friction, workload, p)

    def households_step(self, month_key: np.uint64) -> None:
        """Every household: satisfaction, the fee paid or not, volunteering; tallies per area.

        The households' draws are rules.household_draws of `month_key`, computed chunk by chunk.

        What an area sets for its households (perceived conditions, payment terms per cooperation
        type, quit chance) reaches them by `np.repeat` over their estate (or estate and type) runs.
        """
        p = self.p
        a = self.areas
        hh = self.households
        dt = self.dtype
        by_estate = self.estate_area
        perceived = a.perceived.astype(dt)[by_estate]
        fee = a.fee_due[by_estate]
        # payment terms of each (estate, cooperation type), in the households' order
        shift, neighbour_weight, enforcement_weight = self.type_terms
        base = rules.payment_base(shift, neighbour_weight, a.collection_rate[:, None], enforcement_weight,
                                  a.enforcement[:, None], a.fee_due[:, None], p)
        pay_base = base.astype(dt)[by_estate].ravel()
        quit_probability = a.quit_probability.astype(dt)[by_estate]
        organising = a.organising[by_estate]
        neighbours = (a.volunteers / np.maximum(1, a.households)).astype(dt)[by_estate]
        felt = a.felt_incident_rate.astype(dt)[by_estate]
        n_estates = len(by_estate)
        paid_floor = np.empty(n_estates)
        satisfaction_sum = np.empty(n_estates)
        volunteers = np.empty(n_estates, dtype=np.int64)
        type_counts = hh.type_counts

        def one_chunk(chunk) -> None:
            h0, h1, e0, e1, starts = chunk
            counts = self.estate_households[e0:e1]
            sl = slice(h0, h1)
            pay_draws, draw, case_draw = rules.household_draws(month_key, np.arange(h0, h1, dtype=np.uint64))
            months = hh.voice_months[sl]
            heard = rules.heard_part(rules.voice(hh.voice[sl], months, p), p)
            sat = rules.update_satisfaction(hh.satisfaction[sl], np.repeat(perceived[e0:e1], counts) + heard,
                                            hh.taste[sl], p)
            hh.satisfaction[sl] = sat
            hh.voice_months[sl] = rules.voice_months_next(months)
            hh.case_age[sl] = rules.bring_case(
                hh.case_age[sl], case_draw, rules.case_probability(sat, np.repeat(felt[e0:e1], counts), p))
            habit = hh.habit[sl]
            chance = rules.payment_probability(
                sat, habit, np.repeat(pay_base[3 * e0:3 * e1], type_counts[3 * e0:3 * e1]), p)
            paid = pay_draws < chance
            if fee[e0:e1].min() > 0.0:  # everyone in the chunk owes a fee (the usual case)
                hh.habit[sl] = rules.update_habit(habit, paid, p)
            else:
                owes = np.repeat(fee[e0:e1] > 0.0, counts)
                paid &= owes
                hh.habit[sl] = np.where(owes, rules.update_habit(habit, paid, p), habit)
            paid_floor[e0:e1] = np.add.reduceat(hh.floor_m2[sl] * paid, starts, dtype=F8)
            was = hh.volunteer[sl]
            stays = was & (draw >= np.repeat(quit_probability[e0:e1], counts))
            chunk_organising = organising[e0:e1]
            join = rules.volunteer_join_probability(
                sat, np.repeat(chunk_organising, counts) if chunk_organising.any() else False,
                np.repeat(neighbours[e0:e1], counts), p)
            volunteer = stays | (~was & (draw < join))
            hh.volunteer[sl] = volunteer
            satisfaction_sum[e0:e1] = np.add.reduceat(sat, starts, dtype=F8)
            volunteers[e0:e1] = np.add.reduceat(volunteer.view(np.int8), starts, dtype=np.int32)

        # chunks are independent (disjoint households and estates): large districts use threads,
        # which numpy's ufuncs run in parallel; the result is the same in any order
        if self._threads is None:
            for chunk in self.chunks:
                one_chunk(chunk)
        else:
            list(self._threads.map(one_chunk, self.chunks))
        n_areas = len(a)
        arranged = self.arrangement()
        a.due_yuan[:] = arranged.due_yuan
        a.paid_yuan[:] = np.where(arranged.owes, a.fee_due * np.bincount(
            by_estate, weights=paid_floor, minlength=n_areas), 0.0)
        a.satisfaction_sum[:] = np.bincount(by_estate, weights=satisfaction_sum, minlength=n_areas)
        a.volunteer_count[:] = np.bincount(by_estate, weights=volunteers, minlength=n_areas)

    def close_month(self) -> None:
        """Turn the households' tallies into the areas' monthly measures."""
        a = self.areas
        owes = a.due_yuan > 0
        a.collection_rate[:] = np.where(owes, a.paid_yuan / np.where(owes, a.due_yuan, 1.0),
                                        a.collection_rate)
        a.revenue_yuan[:] = a.paid_yuan
        a.subsidy_yuan[:] = self.arrangement().subsidy_yuan
        a.mean_satisfaction[:] = a.satisfaction_sum / a.households
        a.volunteers[:] = a.volunteer_count
        a.friction[:] = rules.decay_friction(a.friction, self.p)

    def settle_accounts(self) -> None:
        """Active firms: fees and subsidies in, service spending and overhead out; loss/idle months."""
        a = self.areas
        f = self.firms
        self.street_office.fallback_income_yuan = float(a.paid_yuan[a.mode == FALLBACK].sum())
        n = len(f)
        arranged = self.arrangement()
        has = arranged.has_firm
        revenue = np.bincount(arranged.served_by, weights=(a.revenue_yuan + a.subsidy_yuan)[has], minlength=n)
        spend = np.bincount(arranged.served_by, weights=a.spend_yuan[has], minlength=n)
        act = f.active
        np.copyto(f.revenue_yuan, revenue, where=act)
        np.copyto(f.cost_yuan, spend + f.overhead_yuan, where=act)
        np.copyto(f.reserves_yuan, f.reserves_yuan + (f.revenue_yuan - f.cost_yuan), where=act)
        np.copyto(f.loss_months, rules.loss_months_next(f.loss_months, f.reserves_yuan), where=act)
        np.copyto(f.idle_months, rules.idle_months_next(f.idle_months, self.sites), where=act)
        result = rules.contract_result(a.revenue_yuan, a.subsidy_yuan, a.spend_yuan, a.overhead_share_yuan)
        a.losing_months[:] = rules.losing_months_next(a.losing_months, result) * has

    def firms_withdraw(self) -> None:
        """Firms in loss withdraw from contracts that have lost them money for too long."""
        a = self.areas
        f = self.firms
        arranged = self.arrangement()
        in_loss = arranged.has_firm & (f.reserves_yuan[arranged.firm] < 0)
        leaving = arranged.has_firm & rules.withdraws(a.losing_months, in_loss, self.p)
        for area in np.flatnonzero(leaving).tolist():  # rows stay put: no merger completes here
            self.street_office.contract_in_loss(area)

    def firms_exit(self) -> None:
        """Firms whose reserves stayed negative, or that held no contract, too long leave."""
        p = self.p
        f = self.firms
        for firm in np.flatnonzero(f.active & rules.firm_exits(f.loss_months, f.idle_months, p)).tolist():
            self.street_office.firm_leaves(firm, rules.firm_exit_reason(f.idle_months[firm], p))

    def committees_step(self, draws: np.ndarray) -> list[int]:
        """Committees form or lapse and count bad months; returns the areas calling a re-tender."""
        p = self.p
        a = self.areas
        a.committee_capacity[:] = rules.committee_capacity(a.volunteers, p)
        active = rules.committee_active_next(a.committee_active, a.committee_capacity, draws, p)
        a.committee_active[:] = active
        bad = rules.bad_months_next(a.bad_months, a.mean_satisfaction, p) * active
        calls = active & (bad >= p.retender_months)
        a.bad_months[:] = bad * ~calls
        return np.flatnonzero(calls).tolist() if calls.any() else []

    # --- the area-state interface (sim.area_state.AreaState) ------------------------------
    def assign_firm(self, area: int, firm: int, mode: int) -> None:
        """Give an area a (new) firm (-1 for none) and service mode."""
        a = self.areas
        old = a.firm[area]
        if old >= 0:
            self.sites[old] -= 1
        if firm >= 0:
            self.sites[firm] += 1
        a.firm[area] = firm
        a.mode[area] = mode
        a.losing_months[area] = 0
        self._arrangement = None
        if mode != rules.SELF_GOVERNANCE:
            a.organising[area] = False

    def deactivate_firm(self, firm: int) -> None:
        """A firm with no contract left leaves the market (its index stays, flagged inactive)."""
        self.firms.active[firm] = False

    def merge_areas(self, members: list[int]) -> int:
        """One area from several (rules.combine_areas) in a new row; the members' rows retire."""
        a = self.areas
        if not self._spare_rows:
            self._spare_rows = list(range(a.grow(max(1, len(a) // 32)), len(a)))
            self._view = None
        row = self._spare_rows.pop(0)
        estates = [e for x in members for e in a.estates[x]]
        values = rules.combine_areas({name: getattr(a, name)[members] for name in rules.MERGED_FIELDS},
                                     members.index(min(members)), self.p)
        a.set_row(row, "+".join(a.area_id[x] for x in members), estates, key=a.key[min(members)],
                  n_estates=len(estates), **values)
        if self.transfers:
            self.transfers.merged([a.area_id[x] for x in members], a.area_id[row], a.floor_area_m2[members])
        for x in members:
            self.assign_firm(x, -1, UNMANAGED)
            a.alive[x] = False
        self.estate_area[estates] = row
        self._view = None
        return row

    def drop_merged_areas(self) -> None:
        """Retired rows go; merged areas take their first member's place."""
        new_row = self.areas.compact()
        self.estate_area = new_row[self.estate_area]
        self._spare_rows = []
        self.rearranged()
        self._view = None

    def set_area_flags(self, areas: AreaRows, **flags: bool) -> None:
        """Set flags (block_integrated, organising) of some areas."""
        for name, value in flags.items():
            getattr(self.areas, name)[areas] = value
        if "block_integrated" in flags:
            self.rearranged()

    def set_fee(self, area: int, fee_yuan_per_m2: float) -> None:
        """An area's new fee standard."""
        a = self.areas
        a.fee_yuan_per_m2[area] = fee_yuan_per_m2
        self.rearranged()
        if self._view is not None:  # the view's one derived column, for this row
            self._view.expected_money_yuan[area] = self._expected_money(area)

    def add_firm(self, *, capability: float, overhead_yuan: float, reserves_yuan: float, max_sites: int,
                 x_m: float, y_m: float, strong: bool) -> int:
        """A firm entering the market; returns its index."""
        f = self.firms
        new = {"capability": capability, "reputation": capability, "overhead_yuan": overhead_yuan,
               "reserves_yuan": reserves_yuan, "max_sites": max_sites, "x_m": x_m, "y_m": y_m,
               "strong": strong, "active": True}
        for name in f.__dataclass_fields__:
            column = getattr(f, name)
            setattr(f, name, np.append(column, np.array(new.get(name, 0), dtype=column.dtype)))
        self.sites = np.append(self.sites, 0)
        self.rearranged()
        return len(f) - 1

    def block_names(self) -> list[str]:
        """The district's block names, in the order of their codes."""
        return list(self._block_names)

    def set_reputation(self, firm: int, reputation: float) -> None:
        """A firm's reputation after an evaluation."""
        self.firms.reputation[firm] = reputation

    def owner_floor_areas(self, area: int) -> np.ndarray:
        """Floor area of each owner of an area, in member order (estate by estate)."""
        return self.households.floor_m2[self.households.owners_of(self.areas.estates[area])].astype(F8)

    def estates_of(self, area: int) -> list[int]:
        """The estates an area holds, in member order."""
        return list(self.areas.estates[area])

    def open_cases(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Households with an open case (in household order), their areas (rows) and the months waited."""
        hh = self.households
        households = np.flatnonzero(hh.case_age >= 0)
        return households, self.estate_area[hh.estate[households]], hh.case_age[households].astype(np.int64)

    def settle_cases(self, households: np.ndarray, outcome: np.ndarray) -> None:
        """Each household learns its case's outcome this month (rules.settle_case)."""
        hh = self.households
        age, voice, months = rules.settle_case(outcome, hh.case_age[households].astype(np.int64),
                                               hh.voice[households], hh.voice_months[households], self.p)
        hh.case_age[households] = age
        hh.voice[households] = voice
        hh.voice_months[households] = months

    def log(self, event: Event) -> None:
        """Record an event."""
        self.event_log.append(event)

    def area_view(self) -> AreaView:
        """The street office's arrays over areas: the live arrays, plus expected money.

        Cached until the month moves on or rows change.
        """
        if self._view is None:
            a = self.areas
            self._view = AreaView(
                area_id=a.area_id, households=a.households, estates=a.n_estates, housing_type=a.housing_type,
                block=a.block, x_m=a.x_m, y_m=a.y_m, fee_yuan_per_m2=a.fee_yuan_per_m2, quality=a.quality,
                mode=a.mode, firm=a.firm, gates=a.gates, floor_area_m2=a.floor_area_m2, fund_yuan=a.fund_yuan,
                mean_satisfaction=a.mean_satisfaction, committee_active=a.committee_active,
                committee_capacity=a.committee_capacity,
                block_integrated=a.block_integrated, organising=a.organising,
                collection_rate=a.collection_rate,
                expected_money_yuan=self._expected_money(slice(None)),
                due_yuan=a.due_yuan, paid_yuan=a.paid_yuan, subsidy_yuan=a.subsidy_yuan)
        return self._view

    def _expected_money(self, rows: int | slice) -> float | np.ndarray:
        """The area view's expected money (rules.expected_money_yuan) of some rows.

        The collection rate is last month's where fees were due, else the initial guess.
        """
        a = self.areas
        rate = np.where(a.due_yuan[rows] > 0, a.collection_rate[rows], self.initial_collection_guess)
        fee, extra = a.fee_yuan_per_m2[rows], 0.0
        if self.transfers:  # a bidder counts on the transfers too (as a firm would be paid them)
            ids = a.area_id[rows] if isinstance(rows, slice) else [a.area_id[rows]]
            manager, per_m2 = self.transfers.amounts(ids)
            fee, extra = rules.transfer_terms(fee, manager if isinstance(rows, slice) else manager[0],
                                              per_m2 if isinstance(rows, slice) else per_m2[0],
                                              a.floor_area_m2[rows], True)
        return rules.expected_money_yuan(fee, a.floor_area_m2[rows], rate,
                                         a.housing_type[rows] == _AFTER_SALE, self.p) + extra

    def firm_view(self) -> FirmView:
        """The street office's arrays over firms (the live arrays)."""
        f = self.firms
        return FirmView(active=f.active, strong=f.strong, capability=f.capability, reputation=f.reputation,
                        sites=self.sites, max_sites=f.max_sites, x_m=f.x_m, y_m=f.y_m,
                        revenue_yuan=f.revenue_yuan, cost_yuan=f.cost_yuan)

    # --- measures ----------------------------------------------------------------------------
    def record(self) -> MonthRecord:
        """The month's district-wide measures (sim.outputs.month_record)."""
        a = self.areas
        f = self.firms
        active = f.active
        return month_record(self.month, {name: getattr(a, name) for name in RECORD_AREA_FIELDS},
                            households=self.n_households,
                            firm_revenue_yuan=float(f.revenue_yuan[active].sum()),
                            firm_cost_yuan=float(f.cost_yuan[active].sum()),
                            active_firms=int(np.count_nonzero(active)), office=self.street_office, p=self.p)

    def areas_table(self) -> pd.DataFrame:
        """One row per management area at the end (docs/ODD.md section 8, `areas`)."""
        a = self.areas
        return pd.DataFrame({
            "area_id": a.area_id,
            "estates": a.n_estates,
            "households": a.households,
            "floor_area_m2": a.floor_area_m2,
            "housing_type": np.array(_HOUSING_NAMES, dtype=object)[a.housing_type],
            "mode": np.array(MODES, dtype=object)[a.mode],
            "firm_id": a.firm.astype(np.int64),
            "service_quality": a.quality,
            "fee_collection_rate": a.collection_rate,
            "satisfaction": a.mean_satisfaction,
            "fund_per_m2": a.fund_yuan / a.floor_area_m2,
            "fee_yuan_per_m2": a.fee_yuan_per_m2,
        }, columns=list(AREA_COLUMNS))

    def estate_outcomes(self) -> pd.DataFrame:
        """One row per original estate: its area's quality and collection rate, its households' satisfaction.

        Type and households are the estate's at the start; the rest is now. Read-only.
        """
        a = self.areas
        area = self.estate_area
        satisfaction = np.add.reduceat(self.households.satisfaction, self.households.estate_start[:-1],
                                       dtype=F8)
        return pd.DataFrame({
            "estate_id": self.estates["estate_id"].to_numpy(),
            "housing_type": self.estates["housing_type"].to_numpy(),
            "households": self.estate_households,
            "area_id": [a.area_id[i] for i in area],
            "mode": np.array(MODES, dtype=object)[a.mode[area]],
            "firm_id": a.firm[area].astype(np.int64),
            "service_quality": a.quality[area],
            "fee_collection_rate": a.collection_rate[area],
            "satisfaction": satisfaction / self.estate_households,
            "volunteer_rate": np.add.reduceat(self.households.volunteer.view(np.int8),
                                              self.households.estate_start[:-1], dtype=np.int64)
            / self.estate_households,
        })

"""The Mesa engine: the estate-governance model with one Mesa agent per household.

EstateGovernanceModel.step() is one month of docs/ODD.md section 3: at the start of each year the street
office's policy round, then service, events, satisfaction, fees, firm accounts, committees, the
street office's monthly work, and the record. The month is staged: within a stage every agent
reads the state the previous stage left (docs/ODD.md lists what each stage reads), so the
vectorized engine takes the same stages over arrays and agrees with this one.
"""

from __future__ import annotations

from collections.abc import Iterator

import mesa
import numpy as np
import pandas as pd

from sim import rules
from sim.area_state import AreaRows
from sim.district_model import DistrictModel
from sim.events import Event
from sim.initial import initial_state
from sim.mesa_engine.agents import (
    Household,
    ManagementArea,
    OwnersCommittee,
    PropertyFirm,
    StreetOfficeAgent,
)
from sim.outputs import AREA_COLUMNS, RECORD_AREA_FIELDS, MonthRecord, month_record
from sim.params import HOUSING_TYPES, MODES
from sim.policies import AreaView, FirmView
from sim.rules import FALLBACK, FULL_SERVICE, SELF_MANAGED, UNMANAGED
from sim.scenario import Scenario

_HOUSING_CODES = {name: i for i, name in enumerate(HOUSING_TYPES)}


class EstateGovernanceModel(DistrictModel, mesa.Model):
    """Households, owners' committees, property firms and the street office of one district.

    It implements the area-state interface (sim.area_state.AreaState) over its agents: areas are
    positions in `self.areas`, firms their index in `self.firms`.
    """

    def __init__(self, scenario: Scenario, *, rng: int | None = None):
        super().__init__(rng=scenario.seed if rng is None else rng)
        self.spec = scenario
        self.p = scenario.params
        self.policies = scenario.policies
        self.policy_options = scenario.policy_options
        self.month = 0
        self.event_log: list[Event] = []
        self.retender_requests: list[int] = []
        self._views: tuple[AreaView, FirmView] | None = None
        district = scenario.load_district()
        state = initial_state(district, self.p, self.rng)
        self.estates = state.estates
        self.street_office = StreetOfficeAgent(self)
        self._build(state)
        self.records: list[MonthRecord] = []
        self.burn_in()

    # --- set-up ----------------------------------------------------------------------------
    def _build(self, state) -> None:
        estates = state.estates
        self.firms = [
            PropertyFirm(self, i, float(state.firm_capability[i]), float(state.firm_overhead_yuan[i]),
                         float(state.firm_reserves_yuan[i]), int(state.firm_max_sites[i]),
                         float(state.firm_x_m[i]), float(state.firm_y_m[i]), bool(state.firm_strong[i]))
            for i in range(state.n_firms)
        ]
        self.areas: list[ManagementArea] = []
        self._block_codes = {name: code for code, name in enumerate(pd.unique(estates["block"]))}
        for e, row in enumerate(estates.itertuples(index=False)):
            area = ManagementArea(self, str(row.estate_id), [e])
            area.households_at_start = int(row.households)
            area.floor_area_m2 = float(row.floor_area_m2)
            area.housing_type = row.housing_type
            area.x_m, area.y_m = float(row.x_m), float(row.y_m)
            area.block = row.block
            area.gates = area.estate_gates = float(row.gates)
            area.fee_yuan_per_m2 = float(row.fee_yuan_per_m2)
            area.fund_yuan = area.fund_initial_yuan = float(row.fund_yuan)
            area.condition = float(row.condition)
            area.committee = OwnersCommittee(self, area, bool(state.estate_committee[e]))
            area.key = area.order = e
            self.areas.append(area)
            firm = int(state.estate_firm[e])
            if firm >= 0:
                self.assign_firm(e, firm, FULL_SERVICE)
            elif area.committee.active:
                area.mode = SELF_MANAGED
        self.coop_terms = [rules.cooperation_terms(t, self.p) for t in range(3)]
        self.no_case_heard = rules.heard_part(rules.voice(0.0, 0, self.p), self.p)
        """The heard part of a household with no case in memory (rules.voice, rules.heard_part)."""
        """(shift, neighbour weight, enforcement weight) of each cooperation type."""
        floor = state.household_floor_m2.tolist()
        owner = state.household_owner.tolist()
        coop = state.household_coop.tolist()
        taste = state.household_taste.tolist()
        habit = state.household_habit.tolist()
        volunteer = state.household_volunteer.tolist()
        for i, e in enumerate(state.household_estate.tolist()):
            area = self.areas[e]
            area.members.append(Household(self, area, i, floor[i], owner[i], coop[i], taste[i],
                                          habit[i], volunteer[i]))
        self.households = self.agents_by_type[Household]
        self.household_list: list[Household] = sorted(self.households, key=lambda h: h.index)
        self.open_case_households: set[int] = set()  # households with an open case (kept by their steps)
        """The households by index (the order of their draws)."""
        self.n_households = len(floor)
        self.initial_collection_guess = float(np.mean(state.household_habit))
        for area in self.areas:
            self._start_area(area)

    def _start_area(self, area: ManagementArea) -> None:
        """Month-0 values: expected fees as last month's revenue; quality and satisfaction at target."""
        p = self.p
        area.volunteers = sum(h.volunteer for h in area.members)
        area.committee.refresh_capacity()
        habit = float(np.mean([h.habit for h in area.members]))
        area.collection_rate = habit
        if area.firm is not None:
            area.revenue_yuan = area.fee_due_per_m2 * area.floor_area_m2 * habit
            area.subsidy_yuan = rules.subsidy(area.housing_type == "after_sale_public",
                                              area.floor_area_m2, area.mode, len(area.members),
                                              area.block_integrated, p)
        self.firms_serve([area])
        area.quality = area.target
        area.felt_incident_rate = rules.incident_rate(area.mode, area.quality, p)
        area.perceived = rules.perceived_conditions(area.quality, area.condition, area.felt_incident_rate, p)
        for h in area.members:  # nobody has a case yet
            h.satisfaction = rules.clip01(area.perceived + self.no_case_heard + h.taste)
        area.mean_satisfaction = float(np.mean([h.satisfaction for h in area.members]))

    # --- the month -------------------------------------------------------------------------
    def step(self) -> None:
        """One month (see the module docstring for the order)."""
        self.month += 1
        self._views = None
        if (self.month - 1) % 12 == 0:
            self.street_office.run_policies()
        # 1. service, from last month's money
        self.firms_serve(self.areas)
        # 2. events: incidents (one draw per area), wear and repairs
        lam = [rules.incident_rate(a.mode, a.quality, self.p) * len(a.members) / 1000.0 for a in self.areas]
        incidents = self.rng.poisson(np.maximum(lam, 0.0)).tolist()
        for area, count in zip(self.areas, incidents, strict=True):
            area.update_quality_and_buildings(count)
            area.prepare_for_households()
        # 3-4. satisfaction, fees and volunteering: every household
        draws = rules.household_draws(rules.draw_month_key(self.rng),
                                      np.arange(self.n_households, dtype=np.uint64))
        self.pay_draws, self.volunteer_draws, self.case_draws = (d.tolist() for d in draws)
        self.households.do("step")
        for area in self.areas:
            area.close_month()
        if self.transfers and self.recording:
            self.transfers.book(self.month, [a.area_id for a in self.areas],
                                np.array([a.firm is not None for a in self.areas]),
                                np.array([a.covered_yuan for a in self.areas]), self.n_households)
        # 5. firm accounts, withdrawals from losing contracts, and exits
        for firm in self.active_firms():
            firm.settle_accounts()
        self._views = None
        office = self.street_office
        office.fallback_income_yuan = sum(a.paid_yuan for a in self.areas if a.mode == FALLBACK)
        for area in list(self.areas):
            firm = area.firm
            if firm is not None and rules.withdraws(area.losing_months, firm.reserves_yuan < 0, self.p):
                office.contract_in_loss(area.order)
        for firm in self.active_firms():
            if rules.firm_exits(firm.loss_months, firm.idle_months, self.p):
                office.firm_leaves(firm.index, rules.firm_exit_reason(firm.idle_months, self.p))
        # 6. committees
        self.committee_draws = self.rng.random(len(self.areas)).tolist()
        for area in self.areas:
            area.committee.step()
        # 7. the street office: complaints, re-tenders
        self._views = None
        requests, self.retender_requests = self.retender_requests, []
        self.street_office.step(requests)
        # 8. record
        if self.recording:
            self.records.append(self.record())

    def firms_serve(self, areas: list[ManagementArea]) -> None:
        """Each firm sets effort and target quality of its areas; areas without a firm do without."""
        firms_seen = []
        for area in areas:
            if area.firm is None:
                area.serve_without_firm()
            elif area.firm not in firms_seen:
                firms_seen.append(area.firm)
        for firm in firms_seen:
            firm.serve()

    # --- the area-state interface (sim.area_state.AreaState) ------------------------------
    def assign_firm(self, area: int, firm: int, mode: int) -> None:
        """Give an area a (new) firm (-1 for none) and service mode; the old firm loses the contract."""
        target = self.areas[area]
        if target.firm is not None:
            target.firm.contracts.remove(target)
        target.firm = self.firms[firm] if firm >= 0 else None
        target.mode = mode
        target.losing_months = 0
        if target.firm is not None:
            target.firm.contracts.append(target)
        if mode != rules.SELF_GOVERNANCE:
            target.organising = False
        self._views = None

    def deactivate_firm(self, firm: int) -> None:
        """A firm with no contract left leaves the market (and the model's agents)."""
        self.firms[firm].active = False
        self.firms[firm].remove()
        self._views = None

    def merge_areas(self, members: list[int]) -> int:
        """N-in-1: one area from several (rules.combine_areas), appended; members retire."""
        group = [self.areas[i] for i in members]
        values = rules.combine_areas(
            {name: np.array([self._area_value(a, name) for a in group]) for name in rules.MERGED_FIELDS},
            members.index(min(members)), self.p)
        merged = ManagementArea(self, "+".join(a.area_id for a in group),
                                [e for a in group for e in a.estates])
        for name, value in values.items():
            if name not in ("households", "committee_active", "committee_capacity"):
                setattr(merged, name, value)
        merged.key = group[members.index(min(members))].key
        merged.members = [h for a in group for h in a.members]
        for h in merged.members:
            h.area = merged
        merged.committee = OwnersCommittee(self, merged, values["committee_active"])
        merged.committee.capacity = values["committee_capacity"]
        for i, a in zip(members, group, strict=True):
            self.assign_firm(i, -1, UNMANAGED)
            a.committee.remove()
            a.alive = False
        merged.order = len(self.areas)
        self.areas.append(merged)
        if self.transfers:
            self.transfers.merged([a.area_id for a in group], merged.area_id,
                                  [a.floor_area_m2 for a in group])
        self._views = None
        return merged.order

    def transfers_changed(self) -> None:
        """A transfer changed: the views' expected money is stale."""
        self._views = None

    @staticmethod
    def _area_value(area: ManagementArea, name: str):
        """An area's value by its vector-engine field name (households, committee_active derived)."""
        if name == "households":
            return len(area.members)
        if name == "committee_active":
            return area.committee.active
        if name == "n_estates":
            return len(area.estates)
        return getattr(area, name)

    def drop_merged_areas(self) -> None:
        """Retired areas go; merged areas take their first member's place."""
        self.areas = sorted((a for a in self.areas if a.alive), key=lambda a: a.key)
        for i, area in enumerate(self.areas):
            area.order = area.key = i
        self._views = None

    def set_area_flags(self, areas: AreaRows, **flags: bool) -> None:
        """Set flags (block_integrated, organising) of some areas."""
        mask = isinstance(areas, np.ndarray) and areas.dtype == bool
        for row in (np.flatnonzero(areas) if mask else np.atleast_1d(areas)).tolist():
            for name, value in flags.items():
                setattr(self.areas[row], name, bool(value))
        self._views = None

    def set_fee(self, area: int, fee_yuan_per_m2: float) -> None:
        """An area's new fee standard."""
        self.areas[area].fee_yuan_per_m2 = fee_yuan_per_m2
        self._views = None

    def add_firm(self, *, capability: float, overhead_yuan: float, reserves_yuan: float, max_sites: int,
                 x_m: float, y_m: float, strong: bool) -> int:
        """A firm entering the market; returns its index."""
        self.firms.append(PropertyFirm(self, len(self.firms), capability, overhead_yuan, reserves_yuan,
                                       max_sites, x_m, y_m, strong))
        self._views = None
        return len(self.firms) - 1

    def block_names(self) -> list[str]:
        """The district's block names, in the order of their codes."""
        return list(self._block_codes)

    def set_reputation(self, firm: int, reputation: float) -> None:
        """A firm's reputation after an evaluation."""
        self.firms[firm].reputation = reputation
        self._views = None

    def owner_floor_areas(self, area: int) -> np.ndarray:
        """Floor area of each owner of an area, in member order."""
        return np.array([h.floor_area_m2 for h in self.areas[area].members if h.owner], dtype=float)

    def estates_of(self, area: int) -> list[int]:
        """The estates an area holds, in member order."""
        return list(self.areas[area].estates)

    def open_cases(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Households with an open case (in household order), their areas (rows) and the months waited."""
        open_ = [self.household_list[i] for i in sorted(self.open_case_households)]
        return (np.array([h.index for h in open_], dtype=np.int64),
                np.array([h.area.order for h in open_], dtype=np.int64),
                np.array([h.case_age for h in open_], dtype=np.int64))

    def settle_cases(self, households: np.ndarray, outcome: np.ndarray) -> None:
        """Each household learns its case's outcome this month (rules.settle_case)."""
        for i, result in zip(households.tolist(), outcome.tolist(), strict=True):
            h = self.household_list[i]
            age, voice, months = rules.settle_case(result, h.case_age, h.voice, h.voice_months, self.p)
            h.case_age, h.voice, h.voice_months = int(age), float(voice), int(months)
            if h.case_age < 0:
                self.open_case_households.discard(i)

    def log(self, event: Event) -> None:
        """Record an event."""
        self.event_log.append(event)

    def area_view(self) -> AreaView:
        """The street office's arrays over areas (rebuilt after any change)."""
        if self._views is None:
            self._views = (self._area_view(), self._firm_view())
        return self._views[0]

    def firm_view(self) -> FirmView:
        """The street office's arrays over firms (rebuilt after any change)."""
        self.area_view()
        return self._views[1]

    def _area_view(self) -> AreaView:
        a = self.areas
        return AreaView(
            area_id=[x.area_id for x in a],
            households=np.array([len(x.members) for x in a]),
            estates=np.array([len(x.estates) for x in a]),
            housing_type=np.array([_HOUSING_CODES[x.housing_type] for x in a]),
            block=np.array([self._block_codes[x.block] for x in a]),
            x_m=np.array([x.x_m for x in a]), y_m=np.array([x.y_m for x in a]),
            fee_yuan_per_m2=np.array([x.fee_yuan_per_m2 for x in a]),
            quality=np.array([x.quality for x in a]),
            mode=np.array([x.mode for x in a]),
            firm=np.array([x.firm.index if x.firm is not None else -1 for x in a]),
            gates=np.array([x.gates for x in a]),
            floor_area_m2=np.array([x.floor_area_m2 for x in a]),
            fund_yuan=np.array([x.fund_yuan for x in a]),
            mean_satisfaction=np.array([x.mean_satisfaction for x in a]),
            committee_active=np.array([x.committee.active for x in a], dtype=bool),
            committee_capacity=np.array([x.committee.capacity for x in a], dtype=float),
            block_integrated=np.array([x.block_integrated for x in a], dtype=bool),
            organising=np.array([x.organising for x in a], dtype=bool),
            collection_rate=np.array([x.collection_rate for x in a]),
            expected_money_yuan=np.array([x.expected_money_yuan() for x in a]),
            due_yuan=np.array([x.due_yuan for x in a]), paid_yuan=np.array([x.paid_yuan for x in a]),
            subsidy_yuan=np.array([x.subsidy_yuan for x in a]),
        )

    def _firm_view(self) -> FirmView:
        f = self.firms
        return FirmView(
            active=np.array([x.active for x in f], dtype=bool),
            strong=np.array([x.strong for x in f], dtype=bool),
            capability=np.array([x.capability for x in f]),
            reputation=np.array([x.reputation for x in f]),
            sites=np.array([len(x.contracts) for x in f]),
            max_sites=np.array([x.max_sites for x in f]),
            x_m=np.array([x.x_m for x in f]), y_m=np.array([x.y_m for x in f]),
            revenue_yuan=np.array([x.revenue_yuan for x in f]), cost_yuan=np.array([x.cost_yuan for x in f]),
        )

    # --- measures ----------------------------------------------------------------------------
    def active_firms(self) -> Iterator[PropertyFirm]:
        """Firms still in the market."""
        return (f for f in list(self.firms) if f.active)

    def record(self) -> MonthRecord:
        """District-wide measures of the month just simulated (sim.outputs.month_record)."""
        areas = self.areas
        values = {name: np.array([self._area_value(a, name) for a in areas]) for name in RECORD_AREA_FIELDS}
        firms = list(self.active_firms())
        return month_record(self.month, values, households=self.n_households,
                            firm_revenue_yuan=sum(f.revenue_yuan for f in firms),
                            firm_cost_yuan=sum(f.cost_yuan for f in firms), active_firms=len(firms),
                            office=self.street_office, p=self.p)

    def areas_table(self) -> pd.DataFrame:
        """One row per management area at the end (docs/ODD.md section 8, `areas`)."""
        rows = [(a.area_id, len(a.estates), len(a.members), a.floor_area_m2, a.housing_type,
                 MODES[a.mode], a.firm.index if a.firm is not None else -1, a.quality,
                 a.collection_rate, a.mean_satisfaction, a.fund_per_m2, a.fee_yuan_per_m2)
                for a in self.areas]
        return pd.DataFrame(rows, columns=list(AREA_COLUMNS))

    def estate_outcomes(self) -> pd.DataFrame:
        """One row per original estate: its area's quality and collection rate, its households' satisfaction.

        Type and households are the estate's at the start; the rest is now. Read-only.
        """
        start_households = self.estates["households"].to_numpy(dtype=np.int64)
        estate_of = np.repeat(np.arange(len(self.estates)), start_households)
        satisfaction_sum = np.zeros(len(self.estates))
        volunteers = np.zeros(len(self.estates))
        for h in self.households:
            satisfaction_sum[estate_of[h.index]] += h.satisfaction
            volunteers[estate_of[h.index]] += h.volunteer
        area_of = {e: area for area in self.areas for e in area.estates}
        return pd.DataFrame({
            "estate_id": self.estates["estate_id"].to_numpy(),
            "housing_type": self.estates["housing_type"].to_numpy(),
            "households": start_households,
            "area_id": [area_of[e].area_id for e in range(len(self.estates))],
            "mode": [MODES[area_of[e].mode] for e in range(len(self.estates))],
            "firm_id": [area_of[e].firm.index if area_of[e].firm is not None else -1
                        for e in range(len(self.estates))],
            "service_quality": [area_of[e].quality for e in range(len(self.estates))],
            "fee_collection_rate": [area_of[e].collection_rate for e in range(len(self.estates))],
            "satisfaction": satisfaction_sum / start_households,
            "volunteer_rate": volunteers / start_households,
        })

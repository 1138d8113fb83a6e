"""The Mesa engine: the estate-governance model with one Mesa agent per household.

EstateGovernanceModel.step() is one month of MODEL.md: at the start of each year the street
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
from sim.initial import initial_state
from sim.mesa_engine.agents import (
    Household,
    ManagementArea,
    OwnersCommittee,
    PropertyFirm,
    StreetOffice,
)
from sim.outputs import AREA_COLUMNS, MonthRecord
from sim.params import HOUSING_TYPES, MODES
from sim.policies import AreaView, FirmView
from sim.rules import ENTRUSTED, FULL_SERVICE, SELF_MANAGED, UNMANAGED
from sim.scenario import Scenario

_HOUSING_CODES = {name: i for i, name in enumerate(HOUSING_TYPES)}


class EstateGovernanceModel(mesa.Model):
    """Households, owners' committees, property firms and the street office of one district."""

    def __init__(self, scenario: Scenario, *, rng: int | None = None):
        super().__init__(rng=scenario.seed if rng is None else rng)
        self.spec = scenario
        self.p = scenario.params
        self.policies = scenario.policies
        self.month = 0
        self.events: list[tuple[int, str]] = []
        self.firm_exits = 0
        district = scenario.load_district()
        state = initial_state(district, self.p, self.rng)
        self.estates = state.estates
        self._build(state)
        self.street_office = StreetOffice(self)
        self.records: list[MonthRecord] = []

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
            firm = int(state.estate_firm[e])
            if firm >= 0:
                self.assign_firm(area, self.firms[firm], FULL_SERVICE, log=False)
            elif area.committee.active:
                area.mode = SELF_MANAGED
            self.areas.append(area)
        self._renumber_areas()
        self.coop_terms = [rules.cooperation_terms(t, self.p) for t in range(3)]
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
                                              area.floor_area_m2, area.mode, p)
        self.firms_serve([area])
        area.quality = area.target
        c = area.committee
        heard = rules.heard(c.active, c.capacity, area.reception_point, p)
        area.felt_incident_rate = rules.incident_rate(area.mode, area.quality, p)
        area.perceived = rules.perceived_conditions(area.quality, area.condition, area.felt_incident_rate,
                                                    heard, p)
        for h in area.members:
            h.satisfaction = rules.clip01(area.perceived + h.taste)
        area.mean_satisfaction = float(np.mean([h.satisfaction for h in area.members]))

    def _renumber_areas(self) -> None:
        for i, area in enumerate(self.areas):
            area.order = i

    # --- the month -------------------------------------------------------------------------
    def step(self) -> None:
        """One month (see the module docstring for the order)."""
        self.month += 1
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
        self.pay_draws = self.rng.random(self.n_households, dtype=np.float32).tolist()
        self.volunteer_draws = self.rng.random(self.n_households, dtype=np.float32).tolist()
        self.households.do("step")
        for area in self.areas:
            area.close_month()
        # 5. firm accounts, withdrawals from losing contracts, and exits
        for firm in self.active_firms():
            firm.settle_accounts()
        for area in list(self.areas):
            firm = area.firm
            if firm is not None and rules.withdraws(area.losing_months, firm.reserves_yuan < 0, self.p):
                self.assign_firm(area, None, SELF_MANAGED if area.committee.active else UNMANAGED)
                self.log(f"Firm {firm.index} withdrew from {area.area_id} (it lost money there for "
                         f"{self.p.firm_withdraw_months} months)")
        for firm in self.active_firms():
            if firm.should_exit:
                self.firm_leaves(firm)
        # 6. committees
        self.committee_draws = self.rng.random(len(self.areas)).tolist()
        for area in self.areas:
            area.committee.step()
        # 7. the street office: complaints, re-tenders
        self.street_office.step()
        # 8. record
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

    # --- changes of arrangement ------------------------------------------------------------
    def assign_firm(self, area: ManagementArea, firm: PropertyFirm | None, mode: int, *,
                    log: bool = True) -> None:
        """Give an area a (new) firm and service mode; the old firm loses the contract."""
        if area.firm is not None:
            area.firm.contracts.remove(area)
        area.firm = firm
        area.mode = mode
        area.losing_months = 0
        if firm is not None:
            firm.contracts.append(area)
        if mode != rules.SELF_GOVERNANCE:
            area.organising = False

    def firm_leaves(self, firm: PropertyFirm) -> None:
        """A firm exits the market; its areas fall back to self-management or nobody."""
        for area in list(firm.contracts):
            self.assign_firm(area, None, SELF_MANAGED if area.committee.active else UNMANAGED)
        firm.active = False
        self.firm_exits += 1
        reason = ("no contract for a year" if firm.idle_months >= self.p.firm_exit_idle_months
                  else "losses it could not cover")
        self.log(f"Firm {firm.index} left the market ({reason})")
        firm.remove()

    def merge_areas(self, members: list[ManagementArea]) -> ManagementArea:
        """N-in-1: one area, one fund (balances summed), one fee standard, one committee, one firm."""
        p = self.p
        first = min(members, key=lambda a: a.order)
        merged = ManagementArea(self, "+".join(a.area_id for a in members),
                                sorted(e for a in members for e in a.estates))
        floors = np.array([a.floor_area_m2 for a in members])
        homes = np.array([len(a.members) for a in members], dtype=float)
        merged.floor_area_m2 = float(floors.sum())
        merged.housing_type = first.housing_type
        merged.block = first.block
        merged.x_m = float(np.average([a.x_m for a in members], weights=homes))
        merged.y_m = float(np.average([a.y_m for a in members], weights=homes))
        merged.gates = max(1.0, sum(a.gates for a in members) * (1.0 - p.merge_gate_reduction))
        merged.estate_gates = sum(a.estate_gates for a in members)
        merged.fee_yuan_per_m2 = float(np.average([a.fee_yuan_per_m2 for a in members], weights=floors))
        merged.fund_yuan = sum(a.fund_yuan for a in members)
        merged.fund_initial_yuan = sum(a.fund_initial_yuan for a in members)
        merged.condition = float(np.average([a.condition for a in members], weights=floors))
        merged.quality = float(np.average([a.quality for a in members], weights=homes))
        merged.collection_rate = float(np.average([a.collection_rate for a in members], weights=homes))
        merged.felt_incident_rate = float(np.average([a.felt_incident_rate for a in members], weights=homes))
        merged.mean_satisfaction = float(np.average([a.mean_satisfaction for a in members], weights=homes))
        merged.revenue_yuan = sum(a.revenue_yuan for a in members)
        merged.subsidy_yuan = sum(a.subsidy_yuan for a in members)
        merged.volunteers = sum(a.volunteers for a in members)
        merged.block_integrated = any(a.block_integrated for a in members)
        merged.friction = p.merge_friction
        merged.members = [h for a in members for h in a.members]
        for h in merged.members:
            h.area = merged
        merged.committee = OwnersCommittee(self, merged, any(a.committee.active for a in members))
        merged.committee.refresh_capacity()
        old_firms = [a.firm for a in members]
        for a in members:
            self.assign_firm(a, None, UNMANAGED)
            a.committee.remove()
        index = self.areas.index(first)
        self.areas = [a for a in self.areas if a not in members]
        self.areas.insert(index, merged)
        self._renumber_areas()
        winner = self.street_office._tender(merged, FULL_SERVICE, require_cover=False)
        if winner is None:
            incumbents = [f for f in old_firms if f is not None and f.active]
            winner = max(incumbents, key=lambda f: (f.capability, -f.index)) if incumbents else None
        self.assign_firm(merged, winner, FULL_SERVICE if winner is not None else UNMANAGED)
        return merged

    # --- views and measures ----------------------------------------------------------------
    def active_firms(self) -> Iterator[PropertyFirm]:
        """Firms still in the market."""
        return (f for f in list(self.firms) if f.active)

    def area_view(self) -> AreaView:
        """The street office's arrays over areas (for sim.policies)."""
        a = self.areas
        return AreaView(
            households=np.array([len(x.members) for x in a]),
            estates=np.array([len(x.estates) for x in a]),
            housing_type=np.array([_HOUSING_CODES[x.housing_type] for x in a]),
            block=pd.factorize(pd.Series([x.block for x in a]))[0],
            x_m=np.array([x.x_m for x in a]), y_m=np.array([x.y_m for x in a]),
            fee_yuan_per_m2=np.array([x.fee_yuan_per_m2 for x in a]),
            quality=np.array([x.quality for x in a]),
            mode=np.array([x.mode for x in a]),
            firm=np.array([x.firm.index if x.firm is not None else -1 for x in a]),
            gates=np.array([x.gates for x in a]),
            floor_area_m2=np.array([x.floor_area_m2 for x in a]),
            expected_money_yuan=np.array([x.expected_money_yuan() for x in a]),
        )

    def firm_view(self) -> FirmView:
        """The street office's arrays over firms (for sim.policies)."""
        f = self.firms
        return FirmView(
            active=np.array([x.active for x in f], dtype=bool),
            capability=np.array([x.capability for x in f]),
            reputation=np.array([x.reputation for x in f]),
            sites=np.array([len(x.contracts) for x in f]),
            max_sites=np.array([x.max_sites for x in f]),
            x_m=np.array([x.x_m for x in f]), y_m=np.array([x.y_m for x in f]),
        )

    def log(self, text: str) -> None:
        """Note an event in plain words (the app's events feed)."""
        self.events.append((self.month, text))

    def record(self) -> MonthRecord:
        """District-wide measures of the month just simulated (MODEL.md's timeseries columns)."""
        p = self.p
        areas = self.areas
        households = float(self.n_households)
        hh = np.array([len(a.members) for a in areas], dtype=float)
        firm_cost_modes = [a.mode if a.mode <= ENTRUSTED else FULL_SERVICE for a in areas]
        needed = sum(rules.money_needed(m, a.gates, a.floor_area_m2, len(a.members), p)
                     for m, a in zip(firm_cost_modes, areas, strict=True))
        block_budget = sum(p.block_subsidy_yuan_per_household * len(a.members)
                           for a in areas if a.block_integrated)
        firms = list(self.active_firms())
        revenue = sum(f.revenue_yuan for f in firms)
        cost = sum(f.cost_yuan for f in firms)
        due = sum(a.due_yuan for a in areas)
        return MonthRecord(
            month=self.month,
            service_quality=float(np.dot(hh, [a.quality for a in areas]) / households),
            fee_collection_rate=sum(a.paid_yuan for a in areas) / due if due > 0 else 0.0,
            satisfaction=sum(a.satisfaction_sum for a in areas) / households,
            management_areas=len(areas),
            areas_lt100=int((hh < 100).sum()),
            areas_lt200=int((hh < 200).sum()),
            active_firms=len(firms),
            firm_exits=self.firm_exits,
            incidents_per_1000hh=1000.0 * sum(a.incidents for a in areas) / households,
            fund_per_m2=sum(a.fund_yuan for a in areas) / sum(a.floor_area_m2 for a in areas),
            cost_per_household=(needed + block_budget) / households,
            firm_margin=float(rules.firm_margin(revenue, cost)),
            committee_coverage=float(np.dot(hh, [a.committee.active for a in areas]) / households),
            rc_workload=1000.0 * self.street_office.workload / households,
            volunteer_rate=sum(a.volunteers for a in areas) / households,
            merges_done=self.street_office.merges_done,
            merge_votes_failed=self.street_office.merge_votes_failed,
        )

    def areas_table(self) -> pd.DataFrame:
        """One row per management area at the end (MODEL.md's `areas` columns)."""
        rows = [(a.area_id, len(a.estates), len(a.members), a.floor_area_m2, a.housing_type,
                 MODES[a.mode], a.firm.index if a.firm is not None else -1, a.quality,
                 a.collection_rate, a.mean_satisfaction, a.fund_per_m2) for a in self.areas]
        return pd.DataFrame(rows, columns=list(AREA_COLUMNS))

    def estate_outcomes(self) -> pd.DataFrame:
        """One row per original estate: its area's quality and collection rate, its households' satisfaction.

        Type and households are the estate's at the start; the rest is now. Read-only.
        """
        start_households = self.estates["households"].to_numpy()
        estate_of = np.repeat(np.arange(len(self.estates)), start_households)
        satisfaction_sum = np.zeros(len(self.estates))
        for h in self.households:
            satisfaction_sum[estate_of[h.index]] += h.satisfaction
        area_of = {e: area for area in self.areas for e in area.estates}
        return pd.DataFrame({
            "estate_id": self.estates["estate_id"].to_numpy(),
            "housing_type": self.estates["housing_type"].to_numpy(),
            "households": start_households,
            "area_id": [area_of[e].area_id for e in range(len(self.estates))],
            "mode": [MODES[area_of[e].mode] for e in range(len(self.estates))],
            "service_quality": [area_of[e].quality for e in range(len(self.estates))],
            "fee_collection_rate": [area_of[e].collection_rate for e in range(len(self.estates))],
            "satisfaction": satisfaction_sum / start_households,
        })

"""The agents of the Mesa engine: households, owners' committees, property firms, the street office.

Each agent's step reads last month's state and calls the rules of sim.rules; management areas
are plain objects the agents share. Random numbers come only from the model's generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim import rules
from sim.rules import FALLBACK, FULL_SERVICE, UNMANAGED
from sim.street_office import StreetOffice

if TYPE_CHECKING:
    from sim.mesa_engine.model import EstateGovernanceModel


class ManagementArea:
    """A management area (物业管理区域): one or more estates governed together."""

    def __init__(self, model: EstateGovernanceModel, area_id: str, estates: list[int]):
        self.model = model
        self.area_id = area_id
        self.estates = estates
        self.members: list[Household] = []
        self.firm: PropertyFirm | None = None
        self.committee: OwnersCommittee | None = None
        self.mode = UNMANAGED
        self.key = 0  # its place in the district's order (a merged area takes its first member's)
        self.alive = True  # False once merged into another area
        self.block_integrated = False
        self.organising = False
        self.friction = 0.0
        # monthly state
        self.quality = self.target = self.effort = 0.0
        self.needed_yuan = self.spend_yuan = self.overhead_share_yuan = 0.0
        self.losing_months = 0
        self.incidents = 0
        self.incident_rate = 0.0
        self.felt_incident_rate = 0.0
        self.perceived = 0.5
        self.collection_rate = 0.0
        self.revenue_yuan = self.subsidy_yuan = 0.0
        self.transfer_yuan = self.covered_yuan = 0.0  # the policies' transfers this month (sim.transfers)
        self.upkeep_paid_yuan = 0.0  # owners' fund top-ups and the district's renovation this month
        self.mean_satisfaction = 0.5
        self.volunteers = 0
        # tallies the households write during a month
        self.due_yuan = self.paid_yuan = self.satisfaction_sum = 0.0
        self.volunteer_count = 0

    # --- derived -----------------------------------------------------------------------
    @property
    def households(self) -> int:
        """Households living in the area."""
        return len(self.members)

    @property
    def volunteer_rate(self) -> float:
        """Share of the area's households that volunteer."""
        return self.volunteers / max(1, len(self.members))

    @property
    def fund_per_m2(self) -> float:
        """Maintenance-fund balance per m2 of floor area (yuan/m2)."""
        return self.fund_yuan / self.floor_area_m2

    @property
    def fee_due_per_m2(self) -> float:
        """The fee households owe this month (yuan/m2): nothing without a firm or the fallback to pay."""
        if self.firm is None and self.mode != FALLBACK:
            return 0.0
        return rules.fee_due_per_m2(self.mode, self.fee_yuan_per_m2, self.model.p)

    @property
    def volunteer_coverage(self) -> float:
        """Share of the patrols' and cleaning's staff-hours the volunteers cover."""
        return rules.volunteer_coverage(self.volunteers, self.gates, self.floor_area_m2, self.model.p)

    # --- the month ---------------------------------------------------------------------
    def serve_without_firm(self) -> None:
        """Service where no firm works: the fallback, self-management, volunteers, or nothing."""
        fallback = self.mode == FALLBACK
        self.effort = 0.0
        self.needed_yuan = rules.money_needed(FALLBACK if fallback else FULL_SERVICE, self.gates,
                                              self.floor_area_m2, len(self.members), self.model.p)
        self.spend_yuan = self.needed_yuan if fallback else 0.0
        self.target = rules.target_quality(self.mode, 0.0, 0.0, self.volunteer_coverage,
                                           self.committee.capacity, self.gates, self.floor_area_m2,
                                           len(self.members), self.model.p)

    def update_quality_and_buildings(self, incidents: int) -> None:
        """Quality moves to its target; incidents happen; buildings wear and get repaired."""
        p = self.model.p
        self.quality = rules.adjust_quality(self.quality, self.target, p)
        self.incidents = incidents
        self.incident_rate = rules.incidents_per_1000(incidents, len(self.members))
        self.felt_incident_rate = rules.remember_incidents(self.felt_incident_rate, self.incident_rate, p)
        self.condition = rules.decay_condition(self.condition, self.quality, p)
        self.condition, self.fund_yuan, self.upkeep_paid_yuan = rules.upkeep(
            self.condition, self.fund_yuan, self.fund_initial_yuan, self.committee.active,
            self.floor_area_m2, p)

    def prepare_for_households(self) -> None:
        """What households will read this month: perceived conditions, fees, enforcement."""
        p = self.model.p
        c = self.committee
        self.perceived = rules.perceived_conditions(self.quality, self.condition, self.felt_incident_rate, p)
        self.fee_due = self.fee_due_per_m2
        if self.model.transfers:
            manager, per_m2 = self.model.transfers.amounts([self.area_id])
            self.fee_due, self.transfer_yuan = rules.transfer_terms(
                self.fee_due, float(manager[0]), float(per_m2[0]), self.floor_area_m2, self.firm is not None)
            self.covered_yuan = self.transfer_yuan - (float(manager[0]) if self.firm is not None else 0.0)
        self.enforcement = rules.enforcement(c.active, c.capacity, self.friction)
        workload = rules.volunteer_workload(self.volunteers, self.gates, self.floor_area_m2, self.mode, p)
        self.quit_probability = rules.volunteer_quit_probability(self.friction, workload, p)
        self.neighbour_volunteer_rate = self.volunteer_rate  # last month's, read by every household
        # the payment terms this area sets for each cooperation type (households add their own)
        self.pay_base = [rules.payment_base(shift, neighbour_weight, self.collection_rate, enforcement_weight,
                                            self.enforcement, self.fee_due, p)
                         for shift, neighbour_weight, enforcement_weight in self.model.coop_terms]
        self.due_yuan = self.paid_yuan = self.satisfaction_sum = 0.0
        self.volunteer_count = 0

    def close_month(self) -> None:
        """Turn the households' tallies into the area's monthly measures."""
        p = self.model.p
        n = len(self.members)
        if self.due_yuan > 0:
            self.collection_rate = self.paid_yuan / self.due_yuan
        self.revenue_yuan = self.paid_yuan
        self.subsidy_yuan = (rules.subsidy(self.housing_type == "after_sale_public", self.floor_area_m2,
                                           self.mode, n, self.block_integrated, p)
                             if self.firm is not None else 0.0)
        if self.model.transfers:
            self.subsidy_yuan += self.transfer_yuan
        self.mean_satisfaction = self.satisfaction_sum / n
        self.volunteers = self.volunteer_count
        self.friction = rules.decay_friction(self.friction, p)

    def expected_money_yuan(self) -> float:
        """Fees at the area's current collection rate (at least its habit) plus the subsidy."""
        rate = self.collection_rate if self.due_yuan > 0 else self.model.initial_collection_guess
        fee, extra = self.fee_yuan_per_m2, 0.0
        if self.model.transfers:  # a bidder counts on the transfers too (as a firm would be paid them)
            manager, per_m2 = self.model.transfers.amounts([self.area_id])
            fee, extra = rules.transfer_terms(fee, float(manager[0]), float(per_m2[0]), self.floor_area_m2,
                                              True)
        return rules.expected_money_yuan(fee, self.floor_area_m2, rate,
                                         self.housing_type == "after_sale_public", self.model.p) + extra


class Household(mesa.Agent):
    """A household (resident): its satisfaction, fee payment, volunteering, its cases, and its vote."""

    def __init__(self, model, area: ManagementArea, index: int, floor_area_m2: float, owner: bool,
                 coop_type: int, taste: float, habit: float, volunteer: bool):
        super().__init__(model)
        self.area = area
        self.index = index
        self.floor_area_m2 = floor_area_m2
        self.owner = owner
        self.coop_type = coop_type
        self.taste = taste
        self.habit = habit
        self.volunteer = volunteer
        self.satisfaction = 0.5
        self.case_age = -1  # months its open case has waited, -1 for none
        self.voice = 0.0  # how heard its last case left it (rules.settle_case)
        self.voice_months = 0  # months it still remembers that

    def step(self) -> None:
        """One month: update satisfaction, pay the fee or not, volunteer or not, bring a case or not."""
        area = self.area
        model = self.model
        p = model.p
        if self.voice_months > 0:  # a case in memory; else the household feels no case (model.no_case_heard)
            heard = rules.heard_part(rules.voice(self.voice, self.voice_months, p), p)
            self.voice_months = rules.voice_months_next(self.voice_months)
        else:
            heard = model.no_case_heard
        self.satisfaction = rules.update_satisfaction(self.satisfaction, area.perceived + heard, self.taste,
                                                      p)
        if self.case_age < 0:  # an open case stays open (rules.bring_case)
            chance = rules.case_probability(self.satisfaction, area.felt_incident_rate, p)
            self.case_age = rules.bring_case(self.case_age, model.case_draws[self.index], chance)
            if self.case_age >= 0:
                model.open_case_households.add(self.index)
        if area.fee_due > 0.0:
            chance = rules.payment_probability(self.satisfaction, self.habit,
                                               area.pay_base[self.coop_type], p)
            paid = model.pay_draws[self.index] < chance
            self.habit = rules.update_habit(self.habit, 1.0 if paid else 0.0, p)
            due = area.fee_due * self.floor_area_m2
            area.due_yuan += due
            if paid:
                area.paid_yuan += due
        draw = model.volunteer_draws[self.index]
        if self.volunteer:
            self.volunteer = draw >= area.quit_probability
        else:
            self.volunteer = draw < rules.volunteer_join_probability(self.satisfaction, area.organising,
                                                                     area.neighbour_volunteer_rate, p)
        area.satisfaction_sum += self.satisfaction
        area.volunteer_count += self.volunteer


class OwnersCommittee(mesa.Agent):
    """An owners' committee (业主委员会): forms and lapses with volunteers, calls re-tenders."""

    def __init__(self, model, area: ManagementArea, active: bool):
        super().__init__(model)
        self.area = area
        self.active = active
        self.capacity = 0.0
        self.bad_months = 0

    def refresh_capacity(self) -> None:
        """Capacity from the volunteers the committee can draw on."""
        self.capacity = rules.committee_capacity(self.area.volunteers, self.model.p)

    def step(self) -> None:
        """Form or lapse; count months of low satisfaction; call a re-tender after too many."""
        p = self.model.p
        self.refresh_capacity()
        self.active = rules.committee_active_next(self.active, self.capacity,
                                                  self.model.committee_draws[self.area.order], p)
        if not self.active:
            self.bad_months = 0
            return
        self.bad_months = rules.bad_months_next(self.bad_months, self.area.mean_satisfaction, p)
        if self.bad_months >= p.retender_months:
            self.bad_months = 0
            self.model.retender_requests.append(self.area.order)


class PropertyFirm(mesa.Agent):
    """A property firm (物业服务企业): serves its areas with the money they bring, keeps accounts."""

    def __init__(self, model, index: int, capability: float, overhead_yuan: float, reserves_yuan: float,
                 max_sites: int, x_m: float, y_m: float, strong: bool):
        super().__init__(model)
        self.index = index
        self.capability = capability
        self.reputation = capability
        self.overhead_yuan = overhead_yuan
        self.reserves_yuan = reserves_yuan
        self.max_sites = max_sites
        self.x_m, self.y_m = x_m, y_m
        self.strong = strong
        self.contracts: list[ManagementArea] = []
        self.loss_months = self.idle_months = 0
        self.revenue_yuan = self.cost_yuan = 0.0
        self.active = True

    def serve(self) -> None:
        """Set effort and target quality of each contract area from last month's money."""
        p = self.model.p
        served = sum(len(a.members) for a in self.contracts)
        in_loss = self.reserves_yuan < 0
        for area in self.contracts:
            area.needed_yuan = rules.money_needed(area.mode, area.gates, area.floor_area_m2,
                                                  len(area.members), p)
            area.overhead_share_yuan = self.overhead_yuan * len(area.members) / served
            stand_alone = rules.stand_alone_money_needed(area.mode, area.needed_yuan, area.estate_gates,
                                                         len(area.estates), area.floor_area_m2,
                                                         len(area.members), p)
            available = area.revenue_yuan + area.subsidy_yuan - area.overhead_share_yuan
            area.effort = rules.effort(available, area.needed_yuan, stand_alone, in_loss, p)
            area.spend_yuan = area.effort * area.needed_yuan
            area.target = rules.target_quality(area.mode, self.capability, area.effort,
                                               area.volunteer_coverage, area.committee.capacity, area.gates,
                                               area.floor_area_m2, len(area.members), p)

    def settle_accounts(self) -> None:
        """Fees and subsidies in, service spending and overhead out; count loss and idle months."""
        self.revenue_yuan = sum(a.revenue_yuan + a.subsidy_yuan for a in self.contracts)
        self.cost_yuan = sum(a.spend_yuan for a in self.contracts) + self.overhead_yuan
        self.reserves_yuan += self.revenue_yuan - self.cost_yuan
        for area in self.contracts:
            result = rules.contract_result(area.revenue_yuan, area.subsidy_yuan, area.spend_yuan,
                                           area.overhead_share_yuan)
            area.losing_months = rules.losing_months_next(area.losing_months, result)
        self.loss_months = rules.loss_months_next(self.loss_months, self.reserves_yuan)
        self.idle_months = rules.idle_months_next(self.idle_months, len(self.contracts))


class StreetOfficeAgent(StreetOffice, mesa.Agent):
    """The street office (sim.street_office.StreetOffice) as a Mesa agent of the model."""

    def __init__(self, model: EstateGovernanceModel):
        mesa.Agent.__init__(self, model)
        StreetOffice.__init__(self, model)

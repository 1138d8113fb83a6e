"""The agents of the Mesa engine: households, owners' committees, property firms, the street office.

Each agent's step reads last month's state and calls the rules of sim.rules; management areas
are plain objects the agents share. Random numbers come only from the model's generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import policies, rules
from sim.rules import ENTRUSTED, FULL_SERVICE, SELF_GOVERNANCE, SELF_MANAGED, UNMANAGED

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
        """The fee households owe this month (yuan/m2): nothing without a firm to pay."""
        if self.firm is None:
            return 0.0
        return rules.fee_due_per_m2(self.mode, self.fee_yuan_per_m2, self.model.p)

    @property
    def reception_point(self) -> bool:
        """Whether a joint reception point hears the area's residents (block integration)."""
        return self.block_integrated

    # --- the month ---------------------------------------------------------------------
    def serve_without_firm(self) -> None:
        """Service where no firm works: self-management, volunteers, or nothing."""
        c = self.committee
        self.effort = self.spend_yuan = 0.0
        self.needed_yuan = rules.money_needed(FULL_SERVICE, self.gates, self.floor_area_m2,
                                              len(self.members), self.model.p)
        self.target = rules.target_quality(self.mode, 0.0, 0.0, self.volunteer_rate, c.capacity,
                                           self.block_integrated, self.model.p)

    def update_quality_and_buildings(self, incidents: int) -> None:
        """Quality moves to its target; incidents happen; buildings wear and get repaired."""
        p = self.model.p
        self.quality = rules.adjust_quality(self.quality, self.target, p)
        self.incidents = incidents
        self.incident_rate = 1000.0 * incidents / len(self.members)
        self.felt_incident_rate = rules.remember_incidents(self.felt_incident_rate, self.incident_rate, p)
        self.condition = rules.decay_condition(self.condition, self.quality, p)
        self.condition, self.fund_yuan = rules.repair(self.condition, self.fund_yuan,
                                                      self.floor_area_m2, p)
        self.fund_yuan = rules.top_up_fund(self.fund_yuan, self.fund_initial_yuan,
                                           self.committee.active, p)

    def prepare_for_households(self) -> None:
        """What households will read this month: perceived conditions, fees, enforcement."""
        p = self.model.p
        c = self.committee
        heard = rules.heard(c.active, c.capacity, self.reception_point, p)
        self.perceived = rules.perceived_conditions(self.quality, self.condition,
                                                    self.felt_incident_rate, heard, p)
        self.fee_due = self.fee_due_per_m2
        self.enforcement = rules.enforcement(c.active, c.capacity, self.friction)
        self.quit_probability = rules.volunteer_quit_probability(self.friction, p)
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
                                           self.mode, p) if self.firm is not None else 0.0)
        self.mean_satisfaction = self.satisfaction_sum / n
        self.volunteers = self.volunteer_count
        self.friction = rules.decay_friction(self.friction, p)

    def expected_money_yuan(self) -> float:
        """Fees at the area's current collection rate (at least its habit) plus the subsidy."""
        p = self.model.p
        rate = self.collection_rate if self.due_yuan > 0 else self.model.initial_collection_guess
        fees = self.fee_yuan_per_m2 * self.floor_area_m2 * rate
        return fees + p.subsidy_after_sale_yuan_per_m2 * self.floor_area_m2 * (
            self.housing_type == "after_sale_public")


class Household(mesa.Agent):
    """A household (resident): its satisfaction, fee payment, volunteering, and its vote."""

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

    def step(self) -> None:
        """One month: update satisfaction, pay the fee or not, volunteer or not."""
        area = self.area
        model = self.model
        p = model.p
        self.satisfaction = rules.update_satisfaction(self.satisfaction, area.perceived, self.taste, p)
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
            self.volunteer = draw < rules.volunteer_join_probability(self.satisfaction, area.organising, p)
        area.satisfaction_sum += self.satisfaction
        area.volunteer_count += self.volunteer

    def vote(self, participation: float, support: float, draws: tuple[float, float]) -> tuple[bool, bool]:
        """(takes part, votes yes) in an owners' decision, from two uniform draws."""
        takes_part = draws[0] < participation
        return takes_part, takes_part and draws[1] < support


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
            self.model.street_office.retender_requests.append(self.area)


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
                                               area.volunteer_rate, area.committee.capacity,
                                               area.block_integrated, p)

    def settle_accounts(self) -> None:
        """Fees and subsidies in, service spending and overhead out; count loss and idle months."""
        self.revenue_yuan = sum(a.revenue_yuan + a.subsidy_yuan for a in self.contracts)
        self.cost_yuan = sum(a.spend_yuan for a in self.contracts) + self.overhead_yuan
        self.reserves_yuan += self.revenue_yuan - self.cost_yuan
        for area in self.contracts:
            result = rules.contract_result(area.revenue_yuan, area.subsidy_yuan, area.spend_yuan,
                                           area.overhead_share_yuan)
            area.losing_months = rules.losing_months_next(area.losing_months, result)
        self.loss_months = self.loss_months + 1 if self.reserves_yuan < 0 else 0
        self.idle_months = 0 if self.contracts else self.idle_months + 1

    @property
    def should_exit(self) -> bool:
        """A firm leaves when reserves stay negative, or it holds no contract, for too long."""
        p = self.model.p
        return self.loss_months >= p.firm_exit_loss_months or self.idle_months >= p.firm_exit_idle_months


class StreetOffice(mesa.Agent):
    """The street office with the residents' committee (街道/居委会): runs the scenario's policy.

    It receives complaints (its workload), runs tenders and owners' votes, and at the start of each
    year carries out the enabled policies: block integration first (supplementary services, the
    reception point, and the evaluation of last year's firms), then each small area gets the first
    arrangement it is eligible for: merge, entrust, specialised service plus self-governance.
    """

    def __init__(self, model):
        super().__init__(model)
        self.retender_requests: list[ManagementArea] = []
        self.workload = 0.0
        self.merges_done = 0
        self.merge_votes_failed = 0
        self.merge_votes_passed = 0

    # --- monthly -------------------------------------------------------------------------
    def step(self) -> None:
        """Handle complaints and the re-tenders committees called this month."""
        p = self.model.p
        self.workload = sum(
            rules.complaints(len(a.members), a.mean_satisfaction, a.mode, a.committee.active,
                             a.reception_point, p)
            for a in self.model.areas
        )
        requests, self.retender_requests = self.retender_requests, []
        for area in requests:
            if area in self.model.areas:
                self.retender(area)

    def retender(self, area: ManagementArea) -> None:
        """Owners replace their firm (or find one) by tender and vote."""
        model = self.model
        exclude = (area.firm.index,) if area.firm is not None else ()
        winner = self._tender(area, FULL_SERVICE, exclude=exclude)
        if winner is None:
            return
        support = rules.change_support(area.mean_satisfaction, False, model.p)
        passed, share = self.hold_vote(area, support, briefed=False)
        if passed:
            model.assign_firm(area, winner, FULL_SERVICE)
            model.log(f"Owners of {area.area_id} replaced their firm by tender "
                      f"({share:.0%} support); firm {winner.index} took over")

    # --- votes and tenders ---------------------------------------------------------------
    def hold_vote(self, area: ManagementArea, support: float, *, briefed: bool) -> tuple[bool, float]:
        """An owners' decision in one area (Civil Code quorum and double majority).

        Returns whether it passed and the share of participating owners who supported it.
        """
        p = self.model.p
        owners = [h for h in area.members if h.owner]
        draws = self.model.rng.random((len(owners), 2)).tolist()
        chance = rules.participation(briefed, p)
        part_area = part_n = yes_area = yes_n = total_area = 0.0
        for household, pair in zip(owners, draws, strict=True):
            takes_part, yes = household.vote(chance, support, pair)
            total_area += household.floor_area_m2
            if takes_part:
                part_area += household.floor_area_m2
                part_n += 1
                if yes:
                    yes_area += household.floor_area_m2
                    yes_n += 1
        passed = bool(rules.vote_passes(part_area, part_n, yes_area, yes_n, total_area, len(owners), p))
        return passed, (yes_n / part_n if part_n else 0.0)

    def _tender(self, area: ManagementArea, mode: int, *, reach_m: float | None = None,
                min_capability: float = 0.0, exclude: tuple[int, ...] = (),
                require_cover: bool = True) -> PropertyFirm | None:
        model = self.model
        view, firms = model.area_view(), model.firm_view()
        extra = (model.p.block_subsidy_yuan_per_household * len(area.members)
                 if area.block_integrated else 0.0)
        winner = policies.best_bidder(
            area.order, mode, view, firms, model.p,
            reach_m=model.p.firm_reach_m if reach_m is None else reach_m,
            min_capability=min_capability, exclude=exclude, extra_money_yuan=extra,
            require_cover=require_cover)
        return model.firms[winner] if winner >= 0 else None

    # --- yearly --------------------------------------------------------------------------
    def run_policies(self) -> None:
        """The yearly policy round: each enabled block in turn, each area arranged at most once."""
        policy = self.model.policies
        arranged: set[int] = set()
        if policy["block_integration"]:
            self.integrate_blocks()
        if policy["merge"]:
            self.merge(arranged)
        if policy["entrust"]:
            self.entrust(arranged)
        if policy["self_governance"]:
            self.organise_self_governance(arranged)

    def _small_open(self, area: ManagementArea, limit: int) -> bool:
        return len(area.members) < limit and area.mode in (FULL_SERVICE, SELF_MANAGED, UNMANAGED)

    def _struggling(self, area: ManagementArea) -> bool:
        return area.firm is None or area.quality < self.model.p.struggling_quality

    def merge(self, arranged: set[int]) -> None:
        """N-in-1: briefings, a vote in every area of each candidate group, then one area."""
        model = self.model
        p = model.p
        view = model.area_view()
        eligible = np.array([self._small_open(a, p.merge_max_households) for a in model.areas])
        groups = [[model.areas[i] for i in group] for group in policies.merge_groups(view, eligible, p)]
        for members in groups:
            pooled = sum(a.fund_yuan for a in members) / sum(a.floor_area_m2 for a in members)
            results = [self.hold_vote(a, rules.merge_support(a.mean_satisfaction, a.fund_per_m2, pooled,
                                                             True, p), briefed=True)
                       for a in members]
            names = ", ".join(a.area_id for a in members)
            if all(passed for passed, _ in results):
                merged = model.merge_areas(members)
                arranged.add(id(merged))
                self.merges_done += 1
                self.merge_votes_passed += 1
                support = min(share for _, share in results)
                model.log(f"Merger of {len(members)} areas ({names}) passed with at least "
                          f"{support:.0%} support in each")
            else:
                self.merge_votes_failed += 1
                model.log(f"Merger of {names} failed its owners' vote")

    def entrust(self, arranged: set[int]) -> None:
        """Strong leads weak: struggling small areas go to the best strong firm nearby."""
        model = self.model
        p = model.p
        for area in list(model.areas):
            if id(area) in arranged or not self._small_open(area, p.entrust_max_households):
                continue
            if not self._struggling(area) or (area.firm is not None
                                              and area.firm.capability >= p.entrust_min_capability):
                continue
            lead = self._tender(area, ENTRUSTED, reach_m=p.entrust_reach_m,
                                min_capability=p.entrust_min_capability, require_cover=False)
            if lead is None:
                continue
            passed, share = self.hold_vote(area, rules.change_support(area.mean_satisfaction, True, p),
                                           briefed=True)
            arranged.add(id(area))
            if passed:
                model.assign_firm(area, lead, ENTRUSTED)
                model.log(f"{area.area_id} entrusted to firm {lead.index} ({share:.0%} support)")

    def organise_self_governance(self, arranged: set[int]) -> None:
        """Specialised service plus self-governance for small areas nothing else reached."""
        model = self.model
        p = model.p
        for area in list(model.areas):
            if id(area) in arranged or not self._small_open(area, p.merge_max_households):
                continue
            if not self._struggling(area):
                continue
            # the area's own firm, if it has one, takes on the specialised (repair) service
            firm = area.firm or self._tender(area, SELF_GOVERNANCE, require_cover=False)
            passed, share = self.hold_vote(area, rules.change_support(area.mean_satisfaction, True, p),
                                           briefed=True)
            arranged.add(id(area))
            if passed:
                model.assign_firm(area, firm, SELF_GOVERNANCE)
                area.organising = True
                model.log(f"{area.area_id} turned to specialised service plus self-governance "
                          f"({share:.0%} support)")

    def integrate_blocks(self) -> None:
        """Block integration: supplementary services and reception point; yearly firm evaluation."""
        model = self.model
        p = model.p
        for area in model.areas:
            area.block_integrated = True
        view = model.area_view()
        satisfaction_sum = np.array([a.mean_satisfaction * len(a.members) for a in model.areas])
        scores = policies.evaluation_scores(satisfaction_sum, view.households, view.firm, len(model.firms))
        for firm in model.active_firms():
            score = scores[firm.index]
            if np.isnan(score):
                continue
            firm.reputation = p.reputation_memory * firm.reputation + (1 - p.reputation_memory) * score
            if model.month > 1 and score < p.evaluation_threshold and firm.contracts:
                worst = min(firm.contracts, key=lambda a: (a.mean_satisfaction, a.order))
                winner = self._tender(worst, worst.mode if worst.mode <= ENTRUSTED else FULL_SERVICE,
                                      exclude=(firm.index,))
                if winner is not None:
                    model.assign_firm(worst, winner, worst.mode)
                    model.log(f"Yearly evaluation: firm {firm.index} scored {score:.2f} and lost "
                              f"{worst.area_id} to firm {winner.index}")

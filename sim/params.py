"""The parameter table: every model parameter with its name, default, unit and source.

This module is the single place where parameters are defined. docs/ODD.md is checked against it
(tests/test_docs.py), scenario files override entries by name (`params:` or a policy block), and
sweeps and sensitivity analyses vary them by name. Sources refer to the sections and
rows of docs/SOURCES.md; "assumption" marks a plausible value with no source.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sim.errors import InputError

HOUSING_TYPES: dict[str, str] = {
    "after_sale_public": "售后公房 after-sale public housing",
    "commodity": "商品房 commodity housing",
    "old_mixed": "混合老旧 old mixed housing",
    "old_lane": "二级旧里 second-class old lane houses",
    "new_lane": "新式里弄 new-style lane houses",
    "garden_house": "花园洋房 garden houses",
    "staff_housing": "职工住宅 staff housing",
    "high_rise": "高层公寓 high-rise apartments",
}
"""Housing types the district formats accept, with the article's Chinese names."""
AFTER_SALE_CODE = list(HOUSING_TYPES).index("after_sale_public")
"""The engines' integer code of after-sale public housing (the order of HOUSING_TYPES)."""

MODES: tuple[str, ...] = ("full_service", "entrusted", "self_governance", "self_managed", "unmanaged",
                          "fallback")
"""Service modes of a management area; the index of a mode is its code in the engines."""


@dataclass(frozen=True)
class Parameter:
    """One documented model parameter."""

    name: str
    default: float | int | bool
    unit: str
    source: str
    description: str
    low: float | None = None
    high: float | None = None
    group: str = "model"
    calibrated: str = ""
    """The calibration spec that set the default (empty if it was not calibrated)."""
    prior_low: float | None = None
    """Low end of the prior range an assumption is varied over (PRIORS; None: not varied)."""
    prior_high: float | None = None
    """High end of the prior range (PRIORS)."""
    prior_source: str = ""
    """The argument for the prior range (PRIORS)."""

    @property
    def kind(self) -> type:
        """The Python type values of this parameter take (bool, int or float)."""
        return type(self.default)


def _p(name, default, unit, source, description, low=None, high=None, group="model"):
    return Parameter(name, default, unit, source, description, low, high, group)


# Per-housing-type defaults: fee, maintenance fund, building condition, owner share, payment habit.
# These are used by districts (missing CSV columns) and by the payment rule.
_HOUSING_DEFAULTS = {
    #                    fee   fund/m2 cond  owners habit
    "after_sale_public": (0.65, 30.0, 0.55, 0.80, 0.70),
    "commodity": (2.50, 90.0, 0.80, 0.75, 0.88),
    "old_mixed": (0.90, 25.0, 0.50, 0.65, 0.68),
    "old_lane": (0.50, 10.0, 0.40, 0.50, 0.62),
    "new_lane": (1.20, 40.0, 0.60, 0.70, 0.75),
    "garden_house": (3.50, 120.0, 0.75, 0.85, 0.90),
    "staff_housing": (0.80, 25.0, 0.55, 0.75, 0.72),
    "high_rise": (2.20, 80.0, 0.75, 0.75, 0.86),
}

_FEE_SOURCE = {
    "after_sale_public": "SOURCES.md Fees: after-sale guided fee 0.4-1.0 (A)",
    "commodity": "SOURCES.md Fees: commodity 1.5-4.0 (M); national average 2.25 (M)",
    "garden_house": "SOURCES.md Fees: upper end of commodity range (M)",
    "high_rise": "SOURCES.md Fees: commodity range, 2005 top grade 2.3 (L)",
}


def _housing_parameters() -> list[Parameter]:
    out = []
    for htype, (fee, fund, cond, owners, habit) in _HOUSING_DEFAULTS.items():
        label = HOUSING_TYPES[htype]
        out += [
            _p(f"fee_{htype}", fee, "yuan/m2/month",
               _FEE_SOURCE.get(htype, "assumption, between after-sale and commodity fees (SOURCES.md Fees)"),
               f"Default fee standard of {label}", 0.0, 20.0, "housing"),
            _p(f"fund_per_m2_{htype}", fund, "yuan/m2",
               "SOURCES.md Maintenance fund: first deposit 2-3% of construction cost (M); "
               "after-sale from sale proceeds (A)",
               f"Default maintenance-fund balance per m2 of {label}", 0.0, 1000.0, "housing"),
            _p(f"condition_{htype}", cond, "0-1", "assumption",
               f"Default building condition of {label}", 0.0, 1.0, "housing"),
            _p(f"owner_share_{htype}", owners, "share", "assumption",
               f"Share of households that are owners (the rest rent) in {label}", 0.0, 1.0, "housing"),
            _p(f"payment_habit_{htype}", habit, "probability",
               "SOURCES.md Fees: old after-sale 60-85% vs new commodity 90-98% (A)",
               f"Mean initial payment habit of households in {label}", 0.0, 1.0, "housing"),
        ]
    return out


PARAMETERS: tuple[Parameter, ...] = tuple(
    [
        # --- service cost and quality ------------------------------------------------------
        _p("worker_cost_yuan", 5200.0, "yuan/month",
           "SOURCES.md Costs: all-in front-line worker 5,000-6,500 (A/M)",
           "All-in monthly cost of one front-line worker", 1000.0, 20000.0, "service"),
        _p("guard_staff_per_gate", 4.2, "staff", "SOURCES.md Costs: one 24-hour gate 4-4.2 staff (L)",
           "Guards needed to staff one gate round the clock", 0.0, 10.0, "service"),
        _p("cleaner_area_m2", 8500.0, "m2/staff", "SOURCES.md Costs: 1 cleaner per 7,000-10,000 m2 (L)",
           "Floor area one cleaner looks after", 1000.0, 50000.0, "service"),
        _p("households_per_service_staff", 300.0, "households/staff",
           "SOURCES.md Costs: customer service 1 per ~300 households (L)",
           "Households one customer-service worker serves", 50.0, 2000.0, "service"),
        _p("site_staff", 1.0, "staff/site",
           "SOURCES.md Costs: repair staff plus a manager, shared for small sites (L, scaled down: A)",
           "Repair and management staff a stand-alone site needs", 0.0, 10.0, "service"),
        _p("firm_overhead_yuan", 12000.0, "yuan/month", "assumption",
           "Head-office overhead of a firm, spread over its sites", 0.0, 200000.0, "service"),
        _p("quality_elasticity", 0.35, "-", "assumption",
           "Exponent of service quality in effort (diminishing returns)", 0.1, 2.0, "service"),
        _p("quality_adjust_rate", 0.3, "1/month", "assumption",
           "Share of the gap to target quality closed each month", 0.0, 1.0, "service"),
        _p("unmanaged_quality", 0.1, "0-1", "assumption",
           "Service quality of an area nobody manages (a 'blind spot')", 0.0, 1.0, "service"),
        _p("self_managed_quality", 0.3, "0-1", "assumption (Civil Code Art. 284 lets owners self-manage)",
           "Service quality of owners managing their area themselves, at full committee capacity",
           0.0, 1.0, "service"),
        _p("self_managed_volunteer_weight", 0.5, "share", "assumption",
           "Share of patrols and cleaning volunteers take on in a self-managed area", 0.0, 1.0, "service"),
        _p("loss_effort_cut", 0.7, "multiplier", "SOURCES.md Fees: low fee -> poor service spiral (M)",
           "Effort multiplier of a firm whose reserves are negative", 0.0, 1.0, "service"),
        _p("subsidy_after_sale_yuan_per_m2", 0.3, "yuan/m2/month",
           "SOURCES.md Fees: after-sale fees sometimes topped up by district subsidy (A)",
           "District subsidy paid to the firm of an after-sale public housing area", 0.0, 5.0, "service"),
        _p("merge_gate_reduction", 0.4, "share", "assumption (article: merged estates share a lane entrance)",
           "Share of gates closed or shared when areas merge", 0.0, 0.9, "service"),
        _p("entrust_site_staff_share", 0.35, "share", "assumption (article: 'larger scale, lower cost')",
           "Share of site staff an entrusted area still needs (the rest is shared)", 0.0, 1.0, "service"),
        _p("entrust_gate_share", 0.7, "share", "assumption",
           "Share of guard cost an entrusted area still needs (patrols shared with the lead estate)",
           0.0, 1.0, "service"),
        _p("min_effort", 0.05, "share", "assumption (contracts set a minimum service level)",
           "Least effort a contracted firm keeps up, even at a loss", 0.0, 1.0, "service"),
        _p("target_margin", 0.07, "share", "SOURCES.md Costs: net margin 5-7% (M)",
           "Share of an area's money a firm keeps as margin rather than spending on service",
           0.0, 0.5, "service"),
        _p("scale_savings_firm_share", 0.5, "share",
           "assumption (lump-sum fees, 包干制: the firm keeps what it saves; tenders and owners pass "
           "some on)",
           "Share of the savings of scale (gates and site staff a merged or entrusted area shares) "
           "a firm keeps as earnings; the rest buys more service", 0.0, 1.0, "service"),
        _p("fallback_patrol_share", 0.25, "share",
           "assumption (托底: cleaning and patrols, no staffed gate; SOURCES.md Costs: one 24-hour gate "
           "4-4.2 staff, so a quarter is one patrol person a gate)",
           "Guards of a staffed gate that the fallback service's roving patrol is worth (it cleans in "
           "full and staffs no gate, site or service desk)", 0.0, 1.0, "service"),
        _p("fallback_capability", 0.5, "0-1",
           "assumption (SOURCES.md Fallback: the street office contracts a (state-owned) property firm "
           "for 托底 service)",
           "Capability of the firm the street office contracts for its fallback service", 0.0, 1.0,
           "service"),
        _p("fallback_service", 1, "switch",
           "assumption (托底: the street office takes over an area nobody manages; 0 is the "
           "mechanism ablation, sim/ablation.py)",
           "1: an area without a firm or an active committee gets the street office's fallback "
           "service; 0: it stays unmanaged (a blind spot)", 0, 1, "service"),
        _p("after_sale_fee_cap_yuan_per_m2", 1.0, "yuan/m2/month",
           "SOURCES.md Fees: after-sale guided fee 0.4-1.0 (A), its upper end",
           "Highest fee owners of after-sale public housing may vote (government-guided price)",
           0.0, 20.0, "service"),
        _p("fee_cap_multiple", 2.0, "multiplier",
           "assumption (a guided band around the district's standard for the housing type)",
           "Highest fee a revision may ask owners of other housing types for, as a multiple of the "
           "type's default fee", 1.0, 20.0, "service"),
        _p("struggling_quality", 0.5, "0-1", "assumption",
           "Service quality below which a small area counts as struggling (entrust, self-governance)",
           0.0, 1.0, "service"),
        # --- events -------------------------------------------------------------------------
        _p("incident_rate_per_1000hh", 1.5, "incidents/1000 households/month", "assumption",
           "Thefts and safety incidents at zero security quality", 0.0, 50.0, "events"),
        _p("incident_security_effect", 0.8, "share", "assumption",
           "Share of incidents that full security quality prevents", 0.0, 1.0, "events"),
        _p("open_estate_incident_factor", 1.6, "multiplier",
           "assumption (article: open lane entrance without a guard post, thefts)",
           "Incident multiplier for an area with no staffed gate", 1.0, 5.0, "events"),
        _p("incident_memory_rate", 0.15, "1/month", "assumption",
           "Share of the gap between felt and this month's incident rate closed each month",
           0.0, 1.0, "events"),
        _p("condition_decay_per_month", 0.003, "1/month", "assumption",
           "Monthly decay of building condition with no upkeep", 0.0, 0.1, "events"),
        _p("upkeep_decay_reduction", 0.6, "share", "assumption",
           "Share of condition decay that full service quality prevents", 0.0, 1.0, "events"),
        _p("repair_threshold", 0.5, "0-1", "assumption",
           "Condition below which the maintenance fund pays for repairs", 0.0, 1.0, "events"),
        _p("repair_cost_yuan_per_m2", 120.0, "yuan/m2 per unit of condition", "assumption",
           "Cost of raising condition by 1.0 over one m2 of floor area", 0.0, 2000.0, "events"),
        _p("repair_target", 0.75, "0-1", "assumption", "Condition a repair restores", 0.0, 1.0, "events"),
        _p("renovation_threshold", 0.3, "0-1",
           "assumption (SOURCES.md Maintenance fund: Shanghai's district-funded renovation of old housing, "
           "旧住房综合修缮)",
           "Condition below which the district renovates buildings at its own cost (to repair_target)",
           0.0, 1.0, "events"),
        _p("fund_topup_share", 0.3, "share",
           "SOURCES.md Maintenance fund: top-up below 30% of first deposit (M)",
           "Fund level (share of the first deposit) below which an active committee has owners "
           "top it up to the first deposit", 0.0, 1.0, "events"),
        # --- satisfaction -------------------------------------------------------------------
        _p("satisfaction_adjust_rate", 0.12, "1/month", "assumption",
           "Share of the gap to perceived conditions closed each month (inertia)", 0.0, 1.0, "satisfaction"),
        _p("weight_quality", 0.5, "weight", "assumption", "Weight of service quality in perception",
           0.0, 1.0, "satisfaction"),
        _p("weight_condition", 0.15, "weight", "assumption",
           "Weight of building condition in perception", 0.0, 1.0, "satisfaction"),
        _p("weight_safety", 0.2, "weight", "assumption", "Weight of safety (few incidents) in perception",
           0.0, 1.0, "satisfaction"),
        _p("weight_heard", 0.15, "weight", "assumption (article: joint reception point, disclosure)",
           "Weight of being heard (the household's own last case) in perception", 0.0, 1.0, "satisfaction"),
        _p("incident_reference_per_1000hh", 3.0, "incidents/1000 households/month", "assumption",
           "Incident rate residents perceive as wholly unsafe", 0.1, 100.0, "satisfaction"),
        _p("household_floor_spread", 0.3, "share", "assumption",
           "Households' floor areas vary uniformly by up to this share around the estate's mean",
           0.0, 0.9, "satisfaction"),
        _p("taste_sd", 0.08, "0-1", "assumption",
           "Standard deviation of households' fixed offset in perception", 0.0, 0.5, "satisfaction"),
        # --- fees ---------------------------------------------------------------------------
        _p("pay_intercept", -0.4, "log-odds", "assumption", "Log-odds of paying at neutral inputs",
           -10.0, 10.0, "fees"),
        _p("pay_satisfaction_weight", 3.0, "log-odds/unit", "SOURCES.md Fees: spiral (M)",
           "Effect of satisfaction on the log-odds of paying", 0.0, 20.0, "fees"),
        _p("pay_habit_weight", 3.5, "log-odds/unit", "SOURCES.md Fees: past payment predicts payment (M)",
           "Effect of a household's payment habit", 0.0, 20.0, "fees"),
        _p("pay_neighbour_weight", 2.0, "log-odds/unit",
           "SOURCES.md Behaviour: conditional cooperation (Fischbacher et al. 2001)",
           "Effect of neighbours' collection rate on conditional cooperators", 0.0, 20.0, "fees"),
        _p("conditional_slope", 0.8, "-", "SOURCES.md Behaviour: slope < 1 (Fischbacher & Gächter 2010)",
           "How fully conditional cooperators match others", 0.0, 2.0, "fees"),
        _p("pay_enforcement_weight", 1.5, "log-odds/unit",
           "SOURCES.md Behaviour: enforcement sustains cooperation (Fehr & Gächter 2000)",
           "Effect of committee enforcement (dunning, Civil Code Art. 944)", 0.0, 20.0, "fees"),
        _p("free_rider_enforcement_response", 3.0, "multiplier",
           "SOURCES.md Behaviour: sanctions sustain cooperation (Fehr & Gächter 2000); value assumed",
           "How much more strongly free riders respond to enforcement than others", 0.0, 20.0, "fees"),
        _p("pay_burden_weight", 0.5, "log-odds/(yuan/m2)", "assumption",
           "Effect of the fee standard above the reference fee", 0.0, 10.0, "fees"),
        _p("reference_fee_yuan_per_m2", 2.25, "yuan/m2/month",
           "SOURCES.md Fees: national average basic fee (M)", "Reference fee level", 0.1, 20.0, "fees"),
        _p("habit_adjust_rate", 0.08, "1/month", "SOURCES.md Fees: habit (M); rate assumed",
           "Share of the gap between habit and this month's payment closed", 0.0, 1.0, "fees"),
        _p("habit_sd", 0.12, "probability", "assumption", "Spread of initial payment habits",
           0.0, 0.5, "fees"),
        _p("share_conditional", 0.5, "share", "SOURCES.md Behaviour: ~50% conditional cooperators",
           "Share of conditional cooperators among households", 0.0, 1.0, "fees"),
        _p("share_free_rider", 0.3, "share", "SOURCES.md Behaviour: ~1/3 free riders",
           "Share of free riders (the rest pay unconditionally)", 0.0, 1.0, "fees"),
        _p("free_rider_shift", -1.5, "log-odds", "assumption", "Log-odds shift of free riders",
           -10.0, 10.0, "fees"),
        _p("unconditional_shift", 2.5, "log-odds", "assumption",
           "Log-odds shift of unconditional payers", -10.0, 10.0, "fees"),
        # --- volunteers and committees ------------------------------------------------------
        _p("volunteer_initial_rate", 0.03, "share", "assumption",
           "Share of households volunteering at the start", 0.0, 1.0, "committee"),
        _p("volunteer_join_rate", 0.0012, "1/month", "assumption",
           "Monthly chance a satisfied household starts volunteering, without organising", 0.0, 0.5,
           "committee"),
        _p("organising_join_rate", 0.006, "1/month",
           "assumption (article: Party branch organises volunteers)",
           "Extra monthly chance of starting to volunteer where self-governance is organised",
           0.0, 0.5, "committee"),
        _p("volunteer_fatigue", 0.04, "1/month", "assumption",
           "Monthly chance a volunteer stops (fatigue)", 0.0, 1.0, "committee"),
        _p("volunteer_hours_per_month", 8.0, "hours/month",
           "assumption (a patrol or cleaning shift of about two hours a week)",
           "Hours one volunteer gives a month", 0.0, 200.0, "committee"),
        _p("staff_hours_per_month", 174.0, "hours/month",
           "SOURCES.md Costs: 40 hours a week (PRC Labour Law Art. 36)",
           "Working hours of one front-line staff member a month", 1.0, 400.0, "committee"),
        _p("volunteer_workload_fatigue", 0.5, "multiplier", "assumption",
           "Extra fatigue per unit of workload above what the volunteers can give (hours asked / "
           "hours given - 1, up to 3)", 0.0, 10.0, "committee"),
        _p("volunteer_neighbour_weight", 10.0, "multiplier/unit",
           "SOURCES.md Behaviour: conditional cooperation (Fischbacher et al. 2001); value assumed",
           "Rise of the chance to start volunteering per unit of the area's volunteer share",
           0.0, 100.0, "committee"),
        _p("volunteer_shadow_wage_yuan_per_hour", 15.7, "yuan/hour",
           "SOURCES.md Costs: Shanghai minimum wage 2,740 yuan/month (2025) over 174 hours",
           "Value of an hour of volunteer time in the cost of a policy", 0.0, 500.0, "committee"),
        _p("friction_fatigue", 1.5, "multiplier", "assumption (article: integrating volunteers is hard)",
           "Extra fatigue at full integration friction after a merger", 0.0, 10.0, "committee"),
        _p("committee_capacity_scale", 6.0, "volunteers", "assumption",
           "Volunteers at which committee capacity reaches 1 - 1/e", 0.1, 100.0, "committee"),
        _p("committee_form_threshold", 0.45, "0-1", "assumption",
           "Capacity above which a committee can form", 0.0, 1.0, "committee"),
        _p("committee_form_rate", 0.05, "1/month", "assumption",
           "Monthly chance a committee forms when capacity allows", 0.0, 1.0, "committee"),
        _p("committee_lapse_threshold", 0.2, "0-1", "assumption",
           "Capacity below which an active committee lapses", 0.0, 1.0, "committee"),
        _p("committee_coverage_2005", 0.68, "share",
           "SOURCES.md Scale: committee coverage in Shanghai 2005 (M)",
           "Chance an area of 300+ households starts with an active committee", 0.0, 1.0, "committee"),
        _p("committee_full_households", 300.0, "households", "assumption",
           "Area size from which the 2005 committee coverage applies in full (smaller: in proportion)",
           1.0, 100000.0, "committee"),
        _p("merge_friction", 0.6, "0-1", "assumption (article: integrating volunteer forces)",
           "Integration friction of a committee right after a merger", 0.0, 1.0, "committee"),
        _p("friction_decay", 0.08, "1/month", "assumption", "Monthly decay of integration friction",
           0.0, 1.0, "committee"),
        _p("retender_satisfaction", 0.4, "0-1", "assumption",
           "Mean satisfaction below which a committee counts a month as bad", 0.0, 1.0, "committee"),
        _p("retender_months", 6, "months", "assumption",
           "Bad months after which an active committee calls a re-tender", 1, 120, "committee"),
        # --- owners' votes (Civil Code Art. 278) --------------------------------------------
        _p("quorum_area_share", 2 / 3, "share", "SOURCES.md Owners' decisions: Civil Code Art. 278 (H)",
           "Participating floor area needed for a quorum", 0.0, 1.0, "votes"),
        _p("quorum_owner_share", 2 / 3, "share", "SOURCES.md Owners' decisions: Civil Code Art. 278 (H)",
           "Participating owners needed for a quorum", 0.0, 1.0, "votes"),
        _p("approval_area_share", 0.5, "share", "SOURCES.md Owners' decisions: Civil Code Art. 278 (H)",
           "Share of participating area that must approve (strictly more than)", 0.0, 1.0, "votes"),
        _p("approval_owner_share", 0.5, "share", "SOURCES.md Owners' decisions: Civil Code Art. 278 (H)",
           "Share of participating owners that must approve (strictly more than)", 0.0, 1.0, "votes"),
        _p("vote_participation", 0.62, "probability", "assumption",
           "Chance an owner takes part in a vote without a briefing campaign", 0.0, 1.0, "votes"),
        _p("briefing_participation", 0.2, "probability", "assumption (article: policy briefings)",
           "Extra participation a briefing campaign brings", 0.0, 1.0, "votes"),
        _p("merge_support", 0.4, "probability", "assumption",
           "Base chance a participating owner supports a merger", 0.0, 1.0, "votes"),
        _p("briefing_support", 0.15, "probability",
           "assumption (article: 'the great majority' after briefings)",
           "Extra support a briefing campaign brings", 0.0, 1.0, "votes"),
        _p("merge_gain_support", 0.3, "probability/unit", "assumption",
           "Extra support per unit of dissatisfaction (1 - satisfaction)", 0.0, 2.0, "votes"),
        _p("fund_dispute_weight", 0.8, "probability/unit",
           "assumption (article: merging maintenance funds is a difficulty)",
           "Support lost per unit of relative fund-per-m2 loss on pooling (0 switches the dispute off)",
           0.0, 5.0, "votes"),
        _p("retender_support", 0.4, "probability", "assumption",
           "Base chance an owner supports replacing the firm", 0.0, 1.0, "votes"),
        _p("fee_raise_support", 0.55, "probability", "assumption",
           "Chance an owner supports a fee revision that keeps a firm (before the burden)", 0.0, 1.0,
           "votes"),
        _p("fee_raise_step", 0.2, "share",
           "assumption (fee revisions come in steps, not to full cost at once)",
           "Rise a firm in loss proposes to the fee standard", 0.0, 5.0, "votes"),
        _p("fee_raise_burden_weight", 0.6, "probability/unit", "assumption",
           "Support lost per unit of relative fee rise (a doubling loses this much)", 0.0, 5.0, "votes"),
        _p("fee_revision_votes", 1, "switch",
           "assumption (owners may revise the fee standard, Civil Code Art. 278; 0 is the mechanism "
           "ablation, sim/ablation.py)",
           "1: fee revisions are put to the owners' vote; 0: no fee vote is held and fee standards "
           "stay as they are", 0, 1, "votes"),
        # --- firms --------------------------------------------------------------------------
        _p("firm_reach_m", 1500.0, "m", "assumption", "Distance within which a firm bids for an area",
           0.0, 100000.0, "firms"),
        _p("strong_firm_min_service", 0.3, "share",
           "assumption (SOURCES.md Fees: old estates' fees of 0.4-0.8 yuan/m2 pay for emergency repairs "
           "only, too little for professional management)",
           "Share of full service an area's money must pay before a strong (brand) firm bids for it",
           0.0, 1.0, "firms"),
        _p("weak_firm_overhead_share", 0.3, "share", "assumption (a local firm has a small office)",
           "Overhead of a weak local firm as a share of firm_overhead_yuan", 0.0, 1.0, "firms"),
        _p("weak_firm_spare_sites", 2, "sites", "assumption",
           "Sites a weak firm can take on beyond those it starts with", 0, 100, "firms"),
        _p("firm_initial_reserve_months", 8.0, "months of overhead", "assumption",
           "A firm's starting cash reserves", 0.0, 120.0, "firms"),
        _p("firm_exit_loss_months", 12, "months", "assumption",
           "Consecutive months with negative reserves after which a firm exits", 1, 240, "firms"),
        _p("firm_withdraw_months", 6, "months",
           "assumption (firms leaving loss-making old estates, 物业撤场, is widely reported)",
           "Months a contract must have lost money before a firm in loss withdraws from it (a value "
           "beyond the run's months switches withdrawal off)", 1, 1200, "firms"),
        _p("firm_exit_idle_months", 12, "months", "SOURCES.md Design decisions: no contract for a year",
           "Months without any contract after which a firm exits", 1, 240, "firms"),
        _p("weak_firm_capability_low", 0.3, "0-1", "assumption", "Lowest capability of a weak local firm",
           0.0, 1.0, "firms"),
        _p("weak_firm_capability_high", 0.55, "0-1", "assumption",
           "Highest capability of a weak local firm", 0.0, 1.0, "firms"),
        _p("strong_firm_capability_low", 0.65, "0-1", "assumption",
           "Lowest capability of a strong firm", 0.0, 1.0, "firms"),
        _p("strong_firm_capability_high", 0.9, "0-1", "assumption",
           "Highest capability of a strong firm", 0.0, 1.0, "firms"),
        _p("small_sites_per_weak_firm", 3.0, "sites", "assumption",
           "Mean number of small estates one weak local firm runs at the start", 1.0, 20.0, "firms"),
        _p("strong_firms_per_10k_households", 2.0, "firms", "assumption",
           "Strong firms present per 10,000 households", 0.1, 20.0, "firms"),
        _p("unmanaged_share_small", 0.08, "share", "SOURCES.md Scale: 96.6% of estates have a firm (M)",
           "Share of small estates with no firm at the start", 0.0, 1.0, "firms"),
        _p("firm_site_capacity", 20, "sites", "assumption", "Most sites a strong firm can run",
           1, 1000, "firms"),
        _p("reputation_memory", 0.7, "share", "assumption",
           "Weight of last year's reputation in this year's", 0.0, 1.0, "firms"),
        _p("firm_entry_probability", 0.3, "1/year", "assumption",
           "Chance a new local firm enters for a contract that covers its cost but that no firm in "
           "reach can take", 0.0, 1.0, "firms"),
        _p("contract_term_years", 3.0, "years", "assumption (property service contracts run a few years)",
           "Mean term of a property service contract; at renewal the committee re-tenders and the "
           "fee falls to what covers cost where firms compete", 1.0, 50.0, "firms"),
        _p("burn_in_years", 16, "years",
           "SOURCES.md Design decisions: the baseline starts at rest (measured: after 16 years the "
           "status quo's slopes are at rest on ouyang_road, a 1,000-estate generated district and a "
           "40-estate CSV district; after 8 or 12, the CSV district's quality or collection still "
           "drifts; docs/VALIDATION.md, tests/test_at_rest.py)",
           "Years the model runs under status quo before month 1 (not recorded)", 0, 100, "firms"),
        # --- the Ouyang Road preset's starting sizes -----------------------------------------
        _p("preset_estates_under_200", 62, "estates",
           "assumption; SOURCES.md Article: 44 of 89 under 200 after merging. If only estates "
           "under 200 households merge, the 17 areas merged away put the count before at "
           "61-78 (44 + 17 + merged areas of 200 or more)",
           "Estates under 200 households in the Ouyang Road preset before the programme "
           "(of 106; the named estates included)", 12, 100, "preset"),
        _p("preset_estates_under_100", 28, "estates",
           "assumption; SOURCES.md Article: 20 of 89 under 100 after merging, so at least 20 "
           "before, more by the merged ones under 100",
           "Estates under 100 households in the Ouyang Road preset before the programme "
           "(of 106; the named estates included)", 6, 97, "preset"),
        # --- residents' cases and the desks that hear them ----------------------------------------
        _p("case_rate", 0.01, "1/month",
           "SOURCES.md Cases: Shanghai's 12345 hotline, 173,000 property complaints over 12,099 estates "
           "in 2018 (about 0.02 a household a year, M); cases at the local desks assumed about three "
           "times those that reach the city's hotline",
           "Monthly chance a wholly dissatisfied household with no open case brings one", 0.0, 1.0,
           "cases"),
        _p("case_incident_weight", 1.0, "multiplier/unit", "assumption",
           "Rise of the chance of a case per unit of felt incidents over incident_reference_per_1000hh",
           0.0, 20.0, "cases"),
        _p("hours_per_case", 2.5, "staff-hours/case",
           "assumption (intake, a visit or call to the manager, a reply to the household)",
           "Staff-hours (or committee members' hours) one case takes at any desk", 0.1, 40.0, "cases"),
        _p("case_wait_months", 2, "months", "assumption",
           "Months an unheard case waits for a desk before its household gives up (dropped, not heard)",
           0, 24, "cases"),
        _p("case_memory_months", 12, "months", "assumption (a year's memory, as the yearly evaluation's)",
           "Months from bringing a case during which its outcome sets how heard a household feels",
           1, 120, "cases"),
        _p("case_resolution_max", 0.9, "probability", "assumption",
           "Chance a heard case is resolved where the area's service quality is 1 (scaled by quality)",
           0.0, 1.0, "cases"),
        _p("voice_no_case", 0.3, "0-1", "assumption (calibrated to keep the status quo's satisfaction)",
           "How heard a household feels with no case in memory", 0.0, 1.0, "cases"),
        _p("voice_resolved", 1.0, "0-1", "assumption",
           "How heard a household feels after its case was resolved", 0.0, 1.0, "cases"),
        _p("voice_unresolved", 0.5, "0-1", "assumption",
           "How heard a household feels after its case was heard but not resolved", 0.0, 1.0, "cases"),
        _p("voice_not_heard", 0.0, "0-1", "assumption",
           "How heard a household feels after its case was dropped unheard", 0.0, 1.0, "cases"),
        _p("committee_case_hours_per_month", 16.0, "hours/month",
           "assumption (two committee members, about two hours a week each)",
           "Hours an owners' committee at full capacity gives residents' cases", 0.0, 1000.0, "cases"),
        _p("rc_case_hours_per_month", 40.0, "staff-hours/month per block",
           "SOURCES.md Cases: a Shanghai residents' committee serves about 3,940 residents with a few "
           "staff and 119 duties (M-L); a quarter of one staff member's time on property cases assumed",
           "Staff-hours the residents' committee of a block gives residents' property cases at its own desk",
           0.0, 10000.0, "cases"),
        # --- the reform pipeline --------------------------------------------------------------
        _p("reform_staff_hours_per_month", 120.0, "staff-hours/month",
           "assumption (one street office, part of a few officers' time: the article's 'more than five "
           "years of work')",
           "Staff-hours a month the street office gives its reform cases (its capacity: a case opens "
           "only while its first stage's hours fit)", 0.0, 1000000.0, "reform"),
        _p("briefing_hours_per_month", 24.0, "staff-hours/month per case",
           "assumption (policy briefings, an owners' assembly, the votes: a few half-days a month)",
           "Staff-hours a month a reform case takes while it is briefed and voted on", 0.1, 10000.0,
           "reform"),
        _p("fund_merge_hours_per_month", 16.0, "staff-hours/month per case",
           "assumption (SOURCES.md Article: merging the funds is a difficulty)",
           "Staff-hours a month a merger takes while its funds are merged and its committee reorganised",
           0.1, 10000.0, "reform"),
        _p("handover_hours_per_month", 12.0, "staff-hours/month per case", "assumption",
           "Staff-hours a month a reform case takes while a firm is handed the areas", 0.1, 10000.0,
           "reform"),
        _p("merge_max_attempts", 2, "votes", "assumption (SOURCES.md Article: 'the great majority' "
           "supported the first merger after briefings; a group that said no twice is not asked again)",
           "Merger votes a group of areas may fail before the street office stops proposing it (and "
           "offers the management-only route, where enabled)", 1, 100, "reform"),
        _p("merge_briefing_months", 3, "months",
           "SOURCES.md Article: the first merger took the first half of 2017 (six months in all)",
           "Months from a merger's proposal to the owners' votes (briefings, owners' assembly)", 0, 60,
           "reform"),
        _p("fund_merge_months", 2, "months",
           "SOURCES.md Article: merging the funds is a difficulty; lag assumed",
           "Months to merge the maintenance-fund accounts after the votes", 0, 60, "reform"),
        _p("committee_reorganise_months", 1, "months",
           "SOURCES.md Article: committees reorganised; lag assumed",
           "Months to reorganise the owners' committee before the merged area's tender", 0, 60, "reform"),
        _p("handover_months", 2, "months", "assumption",
           "Months from an owners' decision (entrust, specialised service) to the hand-over", 0, 60,
           "reform"),
        _p("vote_retry_months", 12, "months", "assumption",
           "Months an area waits after a failed reform vote before a new proposal", 0, 240, "reform"),
        # --- policy: merge (N-in-1) ---------------------------------------------------------
        _p("merge_max_households", 200, "households",
           "SOURCES.md Article: small estates under ~200 households",
           "Largest area that may join a merger", 1, 100000, "merge"),
        _p("merge_max_group", 3, "estates", "SOURCES.md Article: New Hongyi, 3 in 1",
           "Most estates in one merged area", 2, 20, "merge"),
        _p("merge_max_distance_m", 220.0, "m", "assumption", "Farthest two merging areas may be apart",
           0.0, 100000.0, "merge"),
        _p("merge_fee_tolerance", 0.25, "yuan/m2/month", "assumption",
           "Largest fee difference between merging areas", 0.0, 20.0, "merge"),
        _p("merge_quality_tolerance", 0.3, "0-1", "assumption",
           "Largest service-quality difference between merging areas", 0.0, 1.0, "merge"),
        # --- policy: management-only merger ------------------------------------------------
        _p("management_merge_max_group", 4, "areas",
           "assumption (SOURCES.md Article: 265 of Shanghai's 414 merged estates merged in management "
           "only; Scale: four Minhang estates voted to share one firm)",
           "Most areas that hire one firm together in a management-only merger", 2, 20,
           "management_merge"),
        _p("management_merge_max_distance_m", 300.0, "m",
           "assumption (neighbouring estates of one block: a shared lane, one site office)",
           "Farthest two areas of a management-only merger may be apart", 0.0, 100000.0,
           "management_merge"),
        # --- policy: entrust (strong leads weak) --------------------------------------------
        _p("entrust_max_households", 200, "households", "SOURCES.md Article: small estates",
           "Largest area that may be entrusted", 1, 100000, "entrust"),
        _p("entrust_min_capability", 0.65, "0-1", "assumption",
           "Capability a firm needs to lead weak estates", 0.0, 1.0, "entrust"),
        _p("entrust_reach_m", 800.0, "m", "assumption (article: 'a nearby estate')",
           "Farthest an entrusted area may be from the lead firm's sites", 0.0, 100000.0, "entrust"),
        # --- policy: specialised service plus self-governance -------------------------------
        _p("specialised_fee_share", 0.4, "share", "assumption",
           "Share of the fee standard charged for the specialised (repair) service", 0.0, 1.0,
           "self_governance"),
        _p("specialised_quality_share", 0.4, "share", "assumption",
           "Share of service quality the specialised service provides", 0.0, 1.0, "self_governance"),
        # --- policy: block integration ------------------------------------------------------
        _p("block_subsidy_yuan_per_household", 6.0, "yuan/household/month", "assumption",
           "Subsidy paid into the serving firm's account for supplementary security, cleaning and "
           "fire patrols", 0.0, 1000.0, "block"),
        _p("reception_staff_hours_per_month", 109.0, "staff-hours/month per block",
           "SOURCES.md Article: received every working morning; staffing assumed: two paid staff (the "
           "firm's and the residents' committee's) x 2.5 hours x 21.75 mornings",
           "Staff-hours of the joint reception point of one integrated block (its capacity in cases is "
           "this over hours_per_case; its cost these hours at worker_cost_yuan / staff_hours_per_month)",
           0.0, 100000.0, "block"),
        _p("reception_rc_share", 0.5, "share", "SOURCES.md Article: residents' committee staff at the point",
           "Share of the reception point's staff-hours that are the residents' committee's", 0.0, 1.0,
           "block"),
        _p("evaluation_threshold", 0.45, "0-1", "assumption (article: yearly evaluation)",
           "Evaluation score below which a firm loses its worst contract", 0.0, 1.0, "block"),
    ]
    + _housing_parameters()
)

# --- model variants: structural choices as switches (sim/variants.py names their combinations) ---
VARIANT_PARAMETERS: tuple[Parameter, ...] = (
    _p("satisfaction_rule", 0, "variant",
       "assumption (a structural choice: docs/ODD.md, Model variants)",
       "0: being heard matters (a household's last case sets how heard it feels, weight_heard); "
       "1: only resolution matters (a case heard but not resolved counts as not heard); "
       "2: saturating (satisfaction moves toward a saturating function of what it perceives)",
       0, 2, "variants"),
    _p("saturation_curvature", 2.0, "-", "assumption (used by satisfaction_rule 2 only)",
       "Curvature k of the saturating form (1 - exp(-k x)) / (1 - exp(-k)) of perception x",
       0.1, 20.0, "variants"),
    _p("merge_grouping", 0, "variant",
       "assumption (a structural choice: docs/ODD.md, Model variants)",
       "0: the smallest area seeds a merger group first; 1: the problem spot first (the area with the "
       "lowest service quality)", 0, 1, "variants"),
    _p("volunteer_rule", 0, "variant",
       "assumption (a structural choice: docs/ODD.md, Model variants)",
       "0: satisfied households volunteer (the chance grows with satisfaction); 1: grievance "
       "(the chance grows with dissatisfaction)", 0, 1, "variants"),
)
PARAMETERS = PARAMETERS + VARIANT_PARAMETERS

CALIBRATION_SPEC = "scenarios/calibration/ouyang_road.yaml"
# The calibration's refined choice (docs/calibration/calibration.json, proposed_defaults), to four
# significant figures, and distances to whole metres (a slider in the app stops at whole metres).
CALIBRATED: dict[str, float | int] = {
    "merge_support": 0.381,
    "fund_dispute_weight": 1.638,
    "briefing_support": 0.1917,
    "merge_max_distance_m": 397.0,
    "merge_fee_tolerance": 0.1601,
    "reform_staff_hours_per_month": 50.53,
    "vote_retry_months": 32,
    "merge_max_attempts": 4,
    "management_merge_max_distance_m": 373.0,
    "entrust_min_capability": 0.7344,
    "entrust_reach_m": 948.0,
    "firm_exit_loss_months": 11,
    "firm_withdraw_months": 15,
    "firm_entry_probability": 0.5359,
    "strong_firm_min_service": 0.1417,
    "evaluation_threshold": 0.3678,
    "contract_term_years": 5.256,
    "firm_site_capacity": 21,
    "min_effort": 0.04125,
    "weak_firm_overhead_share": 0.1672,
    "struggling_quality": 0.4167,
    "small_sites_per_weak_firm": 2.923,
    "strong_firms_per_10k_households": 1.487,
    "preset_estates_under_200": 70,
    "preset_estates_under_100": 38,
}
"""Defaults set by the ABC calibration of CALIBRATION_SPEC (docs/VALIDATION.md, docs/calibration/):
the accepted sample closest to the record. The prior's rationale stays in each parameter's source."""

PARAMETERS = tuple(replace(p, default=type(p.default)(CALIBRATED[p.name]), calibrated=CALIBRATION_SPEC)
                   if p.name in CALIBRATED else p for p in PARAMETERS)

# --- prior ranges of the assumptions ----------------------------------------------------------
# Every parameter whose source is "assumption" (and that no calibration sets) is varied over a
# prior range in the comparison under uncertainty (`factors: {method: posterior, ...,
# assumptions: priors}`, sim/experiments/posterior.py). Ranges are uniform. Behavioural
# parameters have their own range and argument below; the rest take the generic ranges of
# `_generic_prior` (nothing known: wide around the default). Switches (mechanism ablations) are
# structural choices, not uncertain numbers, and stay as they are (PRIOR_EXEMPT).
PRIOR_NO_DATA = "no data"
PRIORS: dict[str, tuple[float, float, str]] = {
    # satisfaction: the weights are normalised by their sum (sim/rules.py perceived_conditions)
    "weight_quality": (0.2, 0.8, "no data on the weights; service quality is what residents pay for, so "
                       "it keeps a weight of at least 0.2 (0 would make satisfaction blind to service)"),
    "weight_condition": (0.0, 0.4, "no data; 0 (residents do not see wear) is possible"),
    "weight_safety": (0.0, 0.4, "no data; 0 (incidents do not change how residents rate service) is "
                      "possible"),
    "weight_heard": (0.0, 0.4, "no data on how much being heard weighs; 0 (only outcomes matter) is the "
                     "honest lower bound; up to about the default weight of quality"),
    "satisfaction_adjust_rate": (0.04, 0.36, "no data: a third to three times the default (a gap "
                                 "closing in 3 to 25 months)"),
    "taste_sd": (0.0, 0.16, "no data: none to double the default"),
    "incident_reference_per_1000hh": (1.5, 6.0, "no data: half to double the default"),
    # cases and being heard
    "voice_no_case": (0.1, 0.6, "no data; set to keep the status quo's satisfaction, so wide"),
    "voice_resolved": (0.7, 1.0, "a resolved case leaves a household heard; how fully is unknown"),
    "voice_unresolved": (0.2, 0.8, "no data: heard but not helped, anywhere between the extremes"),
    "voice_not_heard": (0.0, 0.3, "a case dropped unheard leaves a household feeling unheard"),
    "case_resolution_max": (0.6, 1.0, "no data: most heard cases at full quality are resolved"),
    "hours_per_case": (1.0, 6.0, "no data: a phone call and a reply (1 hour) to a visit and a "
                       "follow-up (6 hours)"),
    "case_wait_months": (1, 4, "no data: a month to a season before a household gives up"),
    "case_memory_months": (6, 24, "no data: half to double the yearly evaluation's year"),
    "case_incident_weight": (0.0, 2.0, "no data: incidents may bring no cases or twice the default"),
    "committee_case_hours_per_month": (4.0, 40.0, "no data: one member an hour a week to five members "
                                       "two hours a week"),
    # volunteers and committees
    "volunteer_initial_rate": (0.01, 0.06, "no data: a third to double the default"),
    "volunteer_join_rate": (0.0004, 0.0036, "no data: a third to three times the default"),
    "organising_join_rate": (0.002, 0.018, "no data: a third to three times the default"),
    "volunteer_fatigue": (0.015, 0.1, "no data: a volunteer's mean spell of 10 months to 5.5 years"),
    "volunteer_workload_fatigue": (0.0, 1.5, "no data: none to three times the default"),
    "friction_fatigue": (0.0, 3.0, "no data: none to double the default"),
    "committee_form_threshold": (0.35, 0.6, "no data; kept above the lapse threshold's range"),
    "committee_lapse_threshold": (0.1, 0.3, "no data; kept below the form threshold's range"),
    # votes
    "vote_participation": (0.4, 0.8, "no data: the Civil Code's two-thirds quorum is reached in some "
                           "votes and missed in others"),
    "briefing_participation": (0.05, 0.35, "no data: briefings raise turnout a little or a lot"),
    "merge_gain_support": (0.0, 0.6, "no data: dissatisfaction may not move support at all"),
    "retender_support": (0.2, 0.6, "no data: half to one and a half times the default"),
    "fee_raise_support": (0.35, 0.75, "no data: around an even split"),
    # payment: log-odds shifts, a log-odds unit either way (collection moves by ~10-20 points)
    "pay_intercept": (-1.4, 0.6, "no data: a log-odds unit either way of the default"),
    "free_rider_shift": (-2.5, -0.5, "no data: a log-odds unit either way; free riders pay less"),
    "unconditional_shift": (1.5, 3.5, "no data: a log-odds unit either way; unconditional payers pay"),
    "pay_burden_weight": (0.0, 1.0, "no data: none to double the default"),
    # firms' capabilities: kept ordered (weak below strong, low below high)
    "weak_firm_capability_low": (0.2, 0.4, "no data; below the weak firm's high end"),
    "weak_firm_capability_high": (0.45, 0.6, "no data; below the strong firms' range"),
    "strong_firm_capability_low": (0.6, 0.75, "no data; below the strong firm's high end"),
    "strong_firm_capability_high": (0.8, 1.0, "no data; a brand firm at or near the best"),
    # repairs: kept ordered (renovation below repair below the repair target)
    "renovation_threshold": (0.15, 0.35, "no data; below the repair threshold's range"),
    "repair_threshold": (0.4, 0.6, "no data; between renovation and the repair target"),
    "repair_target": (0.65, 0.9, "no data; above the repair threshold's range"),
    # sourced rows whose value is assumed ("value assumed")
    "volunteer_neighbour_weight": (2.0, 20.0, "the direction is sourced (conditional cooperation), "
                                   "the size is not: a fifth to double the default"),
    "free_rider_enforcement_response": (1.0, 6.0, "the direction is sourced (Fehr & Gächter 2000), "
                                        "the size is not: no extra response to double the default"),
    "habit_adjust_rate": (0.03, 0.2, "habit is sourced, its rate is not: a habit that moves in 5 to "
                          "33 months"),
}
"""Prior ranges with their arguments, by parameter: (low, high, argument)."""
PRIOR_EXEMPT: frozenset[str] = frozenset(
    [p.name for p in PARAMETERS if p.unit in ("switch", "variant")] + ["saturation_curvature"])
"""Assumptions that are structural switches (mechanism ablations, model variants: sim/variants.py)
and a variant's own setting, never varied as priors."""


def _generic_prior(param: Parameter) -> tuple[float, float, str]:
    # Nothing known: a 0-1 quantity half to one and a half times its default (within 0-1); any
    # other quantity half to double its default; whole numbers rounded; within the table's range.
    default = float(param.default)
    if param.high is not None and param.high <= 1.0 and param.low == 0.0:
        low, high, text = default * 0.5, min(1.0, default * 1.5), "half to one and a half times the default"
    else:
        low, high, text = default * 0.5, default * 2.0, "half to double the default"
    if default < 0:
        low, high = high, low
    if param.kind is int:
        low, high = float(round(low)), float(round(high))
    if param.low is not None:
        low = max(low, param.low)
    if param.high is not None:
        high = min(high, param.high)
    return low, high, f"{PRIOR_NO_DATA}: {text}"


def has_prior(param: Parameter) -> bool:
    """Whether an uncalibrated parameter is an assumption varied over a prior range."""
    if param.calibrated or param.name in PRIOR_EXEMPT:
        return False
    return param.name in PRIORS or param.source.strip().lower().startswith("assumption")


def _with_prior(param: Parameter) -> Parameter:
    if not has_prior(param):
        return param
    low, high, argument = PRIORS.get(param.name) or _generic_prior(param)
    return replace(param, prior_low=float(low), prior_high=float(high), prior_source=argument)


PARAMETERS = tuple(_with_prior(p) for p in PARAMETERS)

PARAMETER_INDEX: dict[str, Parameter] = {p.name: p for p in PARAMETERS}

REFORM_ONLY_GROUPS = ("merge", "management_merge", "entrust", "self_governance", "block", "reform")
"""Groups of parameters that only the reforms read: the policies' own, and the reform cases'."""
REFORM_ONLY: frozenset[str] = frozenset(
    [p.name for p in PARAMETERS if p.group in REFORM_ONLY_GROUPS]
    + ["merge_support", "briefing_support", "merge_gain_support", "fund_dispute_weight",
       "briefing_participation",                            # merger votes and their briefings
       "merge_gate_reduction", "entrust_site_staff_share", "entrust_gate_share",  # merged, entrusted
       "merge_friction", "organising_join_rate", "merge_grouping"])
"""Parameters the status quo never reads, so a burn-in (status quo) cannot depend on them: runs
that differ only in them share a burn-in (sim/snapshot.py burn_in_key). Checked parameter by
parameter: a run from a burn-in made with another value of one of them gives the tables of the
run that did its own (tests/test_shared_burn_in.py)."""


class Params(Mapping[str, Any]):
    """Resolved parameter values: the table's defaults with a scenario's overrides, read-only.

    Values are plain attributes (``params.volunteer_fatigue``: fast in the engines' inner loops)
    and the object is a mapping of name to value too.
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None, *, source: str = "<params>"):
        values = {p.name: p.default for p in PARAMETERS}
        for name, value in (overrides or {}).items():
            values[name] = coerce_parameter(name, value, source=source)
        self.__dict__.update(values)

    def __setattr__(self, name, value):
        raise AttributeError("Params is read-only; use Params.replace()")

    def __getitem__(self, name: str) -> Any:
        return self.__dict__[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def replace(self, **changes: Any) -> Params:
        """A copy with some values changed (validated like scenario overrides)."""
        return Params({**self.overridden(), **changes})

    def overridden(self) -> dict[str, Any]:
        """The values that differ from the table's defaults."""
        return {k: v for k, v in self.__dict__.items() if v != PARAMETER_INDEX[k].default}

    def __repr__(self) -> str:
        return f"Params({self.overridden()})"


def coerce_parameter(name: str, value: Any, *, source: str = "<params>") -> Any:
    """Check a value against the table (known name, type, range) and return it typed.

    Raises InputError naming ``source`` and the parameter.
    """
    if name not in PARAMETER_INDEX:
        raise InputError(source, f"params.{name}", "unknown parameter (see docs/ODD.md)")
    param = PARAMETER_INDEX[name]
    kind = param.kind
    if kind is bool:
        if not isinstance(value, bool):
            raise InputError(source, f"params.{name}", f"must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(source, f"params.{name}", f"must be a number, got {value!r}")
    if kind is int:
        if float(value) != int(value):
            raise InputError(source, f"params.{name}", f"must be a whole number, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if value != value:
        raise InputError(source, f"params.{name}", "must be a number, got NaN")
    if (param.low is not None and value < param.low) or (param.high is not None and value > param.high):
        raise InputError(source, f"params.{name}",
                         f"{value!r} is outside [{param.low}, {param.high}] {param.unit}")
    return value

"""The rulebook: every mechanism of the month as a pure function of state and parameters.

Each rule accepts Python scalars (the Mesa engine calls it for one household, area or firm) or
numpy arrays (the vectorized engine calls it for all of them at once) and returns the same kind.
A rule is written once here and never again in an engine. docs/ODD.md gives the equations.

The rules the month calls are also compiled, as they are, by numba (sim.vector_engine.compiled
applies `numba.njit` to these function objects): they use only arithmetic, comparisons, the
helpers below (choose, clip, clip01, logistic, power, exp, logical_not, which have numba scalar
forms there) and attributes of `p`; they never test a value's type themselves.

Service modes are integer codes (see MODES): 0 full service, 1 entrusted, 2 specialised service
plus self-governance, 3 self-managed, 4 unmanaged, 5 the street office's fallback service
(托底). Cooperation types: 0 conditional cooperator,
1 free rider, 2 unconditional payer.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sim.params import HOUSING_TYPES, MODES, Params

FULL_SERVICE, ENTRUSTED, SELF_GOVERNANCE, SELF_MANAGED, UNMANAGED, FALLBACK = range(len(MODES))
CONDITIONAL, FREE_RIDER, UNCONDITIONAL = 0, 1, 2
HOUSING_NAMES = tuple(HOUSING_TYPES)
"""Housing types by their integer code in the engines."""


# --- scalar/array helpers ------------------------------------------------------------------

def clip01(x):
    """Clip to [0, 1]."""
    if isinstance(x, np.ndarray):
        return np.clip(x, 0.0, 1.0)
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def logistic(x):
    """The logistic function 1 / (1 + e^-x), overflow-safe for scalars."""
    if isinstance(x, np.ndarray):
        return 1.0 / (1.0 + np.exp(-x))
    if x < -700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def clip(x, low: float, high: float):
    """Clip to [low, high] (one pass for arrays)."""
    if isinstance(x, np.ndarray):
        return np.clip(x, low, high)
    return low if x < low else high if x > high else x


def choose(condition, if_true, if_false):
    """Elementwise `if_true if condition else if_false`."""
    if isinstance(condition, np.ndarray):
        return np.where(condition, if_true, if_false)
    return if_true if condition else if_false


def power(base, exponent: float):
    """Raise non-negative bases to a power."""
    if isinstance(base, np.ndarray):
        return np.power(base, exponent)
    return base**exponent


def exp(x):
    """The exponential e^x (numpy's for arrays, the C library's for scalars)."""
    if isinstance(x, np.ndarray):
        return np.exp(x)
    return math.exp(x)


def logical_not(x):
    """Elementwise `not x`."""
    if isinstance(x, np.ndarray):
        return ~x
    return not x


# --- 1. service ----------------------------------------------------------------------------

def cost_shares(mode, p: Params):
    """Shares of (guards, site staff, cleaning, customer service) a firm provides in a mode.

    Full service provides everything; an entrusted area shares site staff and patrols with its
    lead estate; the specialised service of self-governance is repairs only (volunteers patrol
    and clean); self-managed and unmanaged areas have no firm; the street office's fallback
    service (fallback_staff_share) is cleaning and a roving patrol, with no staffed gate.
    """
    table = _cost_share_table(p)
    if isinstance(mode, np.ndarray):
        rows = table[mode]
        return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    row = table[int(mode)]
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def _cost_share_table(p: Params) -> np.ndarray:
    return _share_table(p.entrust_gate_share, p.entrust_site_staff_share, p.specialised_quality_share,
                        p.fallback_patrol_share)


@functools.lru_cache(maxsize=64)
def _share_table(entrust_gate_share, entrust_site_staff_share, specialised_quality_share,
                 fallback_patrol_share) -> np.ndarray:
    table = np.array([
        [1.0, 1.0, 1.0, 1.0],
        [entrust_gate_share, entrust_site_staff_share, 1.0, 1.0],
        [0.0, specialised_quality_share, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [fallback_patrol_share, 0.0, 1.0, 0.0],
    ])
    table.flags.writeable = False  # shared by every call with these parameters
    return table


def money_needed(mode, gates, floor_area_m2, households, p: Params):
    """Money (yuan/month) a firm needs to give an area full service in its mode.

    Fixed cost per staffed site (guards per gate, site staff) plus variable cost per m2
    (cleaning) and per household (customer service); merging shares gates and site staff.
    """
    gate_share, site_share, clean_share, service_share = cost_shares(mode, p)
    worker = p.worker_cost_yuan
    return worker * (
        gate_share * gates * p.guard_staff_per_gate
        + site_share * p.site_staff
        + clean_share * floor_area_m2 / p.cleaner_area_m2
        + service_share * households / p.households_per_service_staff
    )


def stand_alone_money_needed(mode, needed_yuan, estate_gates, n_estates, floor_area_m2, households,
                             p: Params):
    """Money (yuan/month) full service of an area would need with each estate run as its own site.

    This is the cost of the service standard the area's fee pays for before any sharing: every
    estate keeps its own gates and site staff and no lead estate shares patrols. Merged and
    entrusted areas need less (`money_needed`); the difference is the savings of scale. The
    specialised service of self-governance, and areas without a firm, share nothing: their own need.
    """
    own_sites = money_needed(FULL_SERVICE, estate_gates, floor_area_m2, households, p) + (
        p.worker_cost_yuan * p.site_staff * (n_estates - 1))
    return choose(mode <= ENTRUSTED, own_sites, needed_yuan)


def fee_due_per_m2(mode, fee_yuan_per_m2, p: Params):
    """Fee households owe per m2 in a mode: the standard, a share of it, or nothing.

    Under the fallback service households owe the standard to the street office (Civil Code
    Art. 944: owners may not refuse fees for a service they receive).
    """
    due = choose((mode <= ENTRUSTED) | (mode == FALLBACK), fee_yuan_per_m2, 0.0)
    return choose(mode == SELF_GOVERNANCE, fee_yuan_per_m2 * p.specialised_fee_share, due)


def effort(available_yuan, needed_yuan, stand_alone_yuan, in_loss, p: Params):
    """A firm's effort in an area (0-1): the money it has over the money the area needs.

    It keeps its target margin and the share `scale_savings_firm_share` of the savings of scale:
    it pays for the standard its money buys at stand-alone cost (`stand_alone_money_needed`), and
    only the rest of what sharing gates and staff saves goes into more service. Effort never falls
    below the contract's minimum, and a firm whose reserves are negative cuts it (the low-fee spiral).
    """
    spendable = available_yuan * (1.0 - p.target_margin)
    affordable = spendable / (needed_yuan + 1e-9)
    standard = spendable / (stand_alone_yuan + 1e-9)
    ratio = affordable - p.scale_savings_firm_share * (affordable - standard)
    level = clip(ratio, min(p.min_effort, 1.0), 1.0)
    return level * choose(in_loss, p.loss_effort_cut, 1.0)


def replaced_staff_hours(gates, floor_area_m2, p: Params):
    """Staff-hours a month of the patrols (guards) and cleaning that volunteers would replace."""
    staff = gates * p.guard_staff_per_gate + floor_area_m2 / p.cleaner_area_m2
    return staff * p.staff_hours_per_month


def volunteer_hours(volunteers, p: Params):
    """Hours a month an area's volunteers give."""
    return volunteers * p.volunteer_hours_per_month


def volunteer_coverage(volunteers, gates, floor_area_m2, p: Params):
    """Share (0-1) of the patrols' and cleaning's staff-hours the volunteers' hours cover."""
    return clip01(volunteer_hours(volunteers, p) / replaced_staff_hours(gates, floor_area_m2, p))


def fallback_staff_share(gates, floor_area_m2, households, p: Params):
    """Share of full service's staff the street office's fallback service (托底) provides in an area.

    The fallback is cleaning at the full standard and a roving patrol worth `fallback_patrol_share`
    of a staffed gate's guards; no gate is staffed, no site staff, no customer service. Its cost is
    these staff at the worker's wage (money_needed in the FALLBACK mode) and its quality follows
    from them as a firm's from its effort (target_quality): one rule for both.
    """
    cleaners = floor_area_m2 / p.cleaner_area_m2
    guards = gates * p.guard_staff_per_gate
    full = guards + p.site_staff + cleaners + households / p.households_per_service_staff
    return (p.fallback_patrol_share * guards + cleaners) / full


def target_quality(mode, capability, effort_level, coverage, committee_capacity, gates, floor_area_m2,
                   households, p: Params):
    """Service quality (0-1) an area's arrangements can deliver this month.

    Under specialised service plus self-governance the firm's repairs give their share of its
    quality and the volunteers the rest, in proportion to the staff-hours they cover at the
    firm's standard: the area reaches full-service quality only if the volunteers' hours match
    the staff-hours of the service they replace. The fallback service is the contracted firm's
    capability `fallback_capability` at the share of full service's staff it provides
    (fallback_staff_share), through the same elasticity as a firm's effort.
    """
    firm_quality = capability * power(effort_level, p.quality_elasticity)
    share = p.specialised_quality_share
    self_governed = firm_quality * (share + (1.0 - share) * coverage)
    self_managed = p.self_managed_quality * committee_capacity + (
        (1.0 - p.self_managed_quality) * p.self_managed_volunteer_weight * coverage
    )
    quality = choose(mode <= ENTRUSTED, firm_quality, p.unmanaged_quality)
    quality = choose(mode == SELF_GOVERNANCE, self_governed, quality)
    quality = choose(mode == SELF_MANAGED, self_managed, quality)
    fallback = p.fallback_capability * power(fallback_staff_share(gates, floor_area_m2, households, p),
                                             p.quality_elasticity)
    return clip01(choose(mode == FALLBACK, fallback, quality))


def adjust_quality(quality, target, p: Params):
    """Quality moves part of the way to its target each month (staff and routines take time)."""
    return quality + p.quality_adjust_rate * (target - quality)


# --- 2. events -----------------------------------------------------------------------------

def incidents_per_1000(incidents, households):
    """Incidents per 1,000 households of an area this month."""
    return 1000.0 * incidents / households


def incident_rate(mode, quality, p: Params):
    """Expected incidents per 1000 households per month: fewer with security, more if open."""
    guarded = mode <= ENTRUSTED
    open_factor = choose(guarded, 1.0, p.open_estate_incident_factor)
    return p.incident_rate_per_1000hh * (1.0 - p.incident_security_effect * quality) * open_factor


def remember_incidents(felt_rate, observed_rate, p: Params):
    """The incident rate residents feel: a running memory of the months' observed rates."""
    return felt_rate + p.incident_memory_rate * (observed_rate - felt_rate)


def decay_condition(condition, quality, p: Params):
    """Building condition after a month of wear; good upkeep slows the decay."""
    decay = p.condition_decay_per_month * (1.0 - p.upkeep_decay_reduction * quality)
    return clip01(condition - decay)


def repair(condition, fund_yuan, floor_area_m2, p: Params):
    """Repairs paid from the maintenance fund when condition is poor, as far as the fund pays.

    Below `repair_threshold` the fund pays to bring condition back toward `repair_target`: all the
    way if it can, else as far as its balance goes. Returns (condition, fund_yuan) after it.
    """
    per_unit = p.repair_cost_yuan_per_m2 * floor_area_m2
    wanted = per_unit * (p.repair_target - condition)
    cost = choose(condition < p.repair_threshold, clip(wanted, 0.0, fund_yuan), 0.0)
    return condition + cost / per_unit, fund_yuan - cost


def renovate(condition, floor_area_m2, p: Params):
    """The district's renovation programme for buildings no fund has kept up: (condition, cost in yuan).

    Below `renovation_threshold` the district restores `repair_target` at its own cost.
    """
    cost = choose(condition < p.renovation_threshold,
                  p.repair_cost_yuan_per_m2 * (p.repair_target - condition) * floor_area_m2, 0.0)
    return choose(condition < p.renovation_threshold, p.repair_target, condition), cost


def top_up_fund(fund_yuan, fund_initial_yuan, committee_active, p: Params):
    """Owners top the fund up to its first deposit when it falls low and a committee organises it.

    (National 2007 measures, Art. 17: top-up below 30% of the first deposit.) The owners pay the
    difference (counted by `upkeep` in the money paid in, and so in what the district's service costs).
    """
    low = (fund_yuan < p.fund_topup_share * fund_initial_yuan) & committee_active
    return choose(low, fund_initial_yuan, fund_yuan)


def upkeep(condition, fund_yuan, fund_initial_yuan, committee_active, floor_area_m2, p: Params):
    """A month's upkeep of an area's buildings after their wear: (condition, fund, money paid in, yuan).

    Repairs from the fund (repair), the owners' top-up of a low fund where a committee organises it
    (top_up_fund), and the district's renovation where condition has fallen below its floor
    (renovate). The money paid in is the owners' top-up plus the district's renovation: spending
    outside the firms' accounts, counted in what the district's service costs.
    """
    repaired, fund = repair(condition, fund_yuan, floor_area_m2, p)
    topped = top_up_fund(fund, fund_initial_yuan, committee_active, p)
    renovated, renovation = renovate(repaired, floor_area_m2, p)
    return renovated, topped, topped - fund + renovation


# --- the households' draws -------------------------------------------------------------------

SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
SPLITMIX_MULTIPLIERS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
SHIFTS = tuple(np.uint64(s) for s in (30, 27, 31, 40, 16))
LOW_24_BITS = np.uint64((1 << 24) - 1)
LOW_16_BITS = np.uint64((1 << 16) - 1)
TWO_TO_MINUS_24 = np.float32(2.0**-24)
TWO_TO_MINUS_16 = np.float32(2.0**-16)


def household_draws(month_key, index):
    """A household's three uniform draws of the month, (payment, volunteering, case), each in [0, 1).

    Counter-based: the 64-bit output number `index + 1` of SplitMix64 (Steele, Lea & Flood 2014,
    the generator of Java's SplittableRandom) seeded with `month_key`, which the run's generator
    draws once a month; its top 24 bits make the payment draw, the next 24 the volunteering draw
    and the low 16 the case draw (float32, as numpy's float32 uniforms; a case's chance is a few
    per cent a month, so 2^-16 steps resolve it). A household's draws need no other household's,
    so an engine may compute them in any order, on any number of threads, with the same result.
    `index` is a household's position (a uint64 array, or an integer in compiled code);
    `month_key` a numpy uint64.
    """
    z = month_key + np.uint64(index + 1) * SPLITMIX_GAMMA
    z = (z ^ (z >> SHIFTS[0])) * SPLITMIX_MULTIPLIERS[0]
    z = (z ^ (z >> SHIFTS[1])) * SPLITMIX_MULTIPLIERS[1]
    z = z ^ (z >> SHIFTS[2])
    pay = np.float32(z >> SHIFTS[3]) * TWO_TO_MINUS_24
    volunteer = np.float32((z >> SHIFTS[4]) & LOW_24_BITS) * TWO_TO_MINUS_24
    case = np.float32(z & LOW_16_BITS) * TWO_TO_MINUS_16
    return pay, volunteer, case


def draw_month_key(rng: np.random.Generator) -> np.uint64:
    """The month's key of the households' draws (household_draws): one 64-bit draw of the run's generator."""
    return rng.integers(0, 2**64, dtype=np.uint64)


# --- 3. satisfaction -----------------------------------------------------------------------

def perceived_conditions(quality, condition, incidents_per_1000hh, p: Params):
    """What residents perceive of their area (0-1 share of all weights): quality, condition, safety.

    Being heard is each household's own (`heard_part`, from its own case): the total weight
    includes it, so a household's perception is this plus its heard part.
    """
    safety = 1.0 - clip01(incidents_per_1000hh / p.incident_reference_per_1000hh)
    total = p.weight_quality + p.weight_condition + p.weight_safety + p.weight_heard
    return (p.weight_quality * quality + p.weight_condition * condition + p.weight_safety * safety) / total


def voice(voice_level, voice_months, p: Params):
    """How heard a household feels (0-1): its last case's outcome while it remembers it.

    A household whose last case is older than `case_memory_months` (or that never brought one)
    feels `voice_no_case`, whatever desks exist around it.
    """
    return choose(voice_months > 0, voice_level, p.voice_no_case)


def heard_part(voice_level, p: Params):
    """A household's own part of what it perceives: how heard it feels, by the weight of being heard."""
    total = p.weight_quality + p.weight_condition + p.weight_safety + p.weight_heard
    return p.weight_heard * voice_level / total


def voice_months_next(voice_months):
    """Months a household still remembers its last case's outcome, a month later."""
    return choose(voice_months > 0, voice_months - 1, 0)


VOICE_MATTERS, RESOLUTION_ONLY, SATURATING = range(3)
"""The satisfaction rules (parameter satisfaction_rule; sim/variants.py)."""


def saturated(perceived, p: Params):
    """The saturating form of perception (variant 2): (1 - e^(-k x)) / (1 - e^(-k)).

    k is `saturation_curvature`. It keeps 0 and 1 where they are and makes each gain count less the
    better things already are.
    """
    k = p.saturation_curvature
    return (1.0 - exp(-k * perceived)) / (1.0 - math.exp(-k))


def update_satisfaction(satisfaction, perceived, taste, p: Params):
    """Satisfaction moves toward what a household perceives (its own taste added), with inertia.

    Under the saturating rule it moves toward the saturating form of what it perceives. (Each rule
    has its own return, so that the default computes in the households' own precision.)
    """
    if p.satisfaction_rule == SATURATING:
        return clip01(satisfaction + p.satisfaction_adjust_rate * (saturated(perceived, p) + taste
                                                                   - satisfaction))
    return clip01(satisfaction + p.satisfaction_adjust_rate * (perceived + taste - satisfaction))


# --- 4. fees -------------------------------------------------------------------------------

def cooperation_terms(coop_type, p: Params):
    """(log-odds shift, weight on neighbours' payment, weight on enforcement) of a cooperation type.

    Conditional cooperators follow their neighbours (slope below one); free riders ignore them
    but respond more strongly to enforcement (Fehr & Gächter 2000); unconditional payers pay.
    """
    shifts = (0.0, p.free_rider_shift, p.unconditional_shift)
    slopes = (p.conditional_slope * p.pay_neighbour_weight, 0.0, 0.0)
    enforced = (p.pay_enforcement_weight, p.pay_enforcement_weight * p.free_rider_enforcement_response,
                p.pay_enforcement_weight)
    if isinstance(coop_type, np.ndarray):
        return np.asarray(shifts)[coop_type], np.asarray(slopes)[coop_type], np.asarray(enforced)[coop_type]
    return shifts[coop_type], slopes[coop_type], enforced[coop_type]


def enforcement(committee_active, committee_capacity, friction):
    """Committee enforcement of payment (dunning, Civil Code Art. 944), weakened by friction."""
    return choose(committee_active, committee_capacity * (1.0 - friction), 0.0)


def payment_base(type_shift, neighbour_weight, neighbour_rate, enforcement_weight, enforcement_level,
                 fee_yuan_per_m2, p: Params):
    """The part of a household's payment log-odds that its area and cooperation type set.

    Neighbours' payment (conditional cooperation), enforcement and the fee burden are the same
    for every household of one type in one area, so an engine computes this once per area and
    type each month; `payment_probability` adds the household's own satisfaction and habit.
    """
    return (p.pay_intercept + type_shift
            - 0.5 * (p.pay_satisfaction_weight + p.pay_habit_weight)
            + neighbour_weight * (neighbour_rate - 0.5)
            + enforcement_weight * enforcement_level
            - p.pay_burden_weight * (fee_yuan_per_m2 - p.reference_fee_yuan_per_m2))


def payment_probability(satisfaction, habit, base, p: Params):
    """Chance a household pays this month's fee.

    Rises with satisfaction, its own habit, neighbours' payment (conditional cooperation) and
    enforcement; falls with the fee burden (the last three through `base`, see payment_base):
    logistic(base + w_s * satisfaction + w_h * habit), i.e. the log-odds
    intercept + shift + w_s (s - 0.5) + w_h (h - 0.5) + w_n (rate - 0.5) + w_e e - w_b (fee - ref).
    """
    return logistic(base + p.pay_satisfaction_weight * satisfaction + p.pay_habit_weight * habit)


def update_habit(habit, paid, p: Params):
    """Payment habit moves toward this month's behaviour."""
    return habit + p.habit_adjust_rate * (paid - habit)


# --- 5. firm accounts ----------------------------------------------------------------------

def subsidy(housing_is_after_sale, floor_area_m2, mode, households, block_integrated, p: Params):
    """Subsidies (yuan/month) paid into the account of an area's firm.

    The district's subsidy for after-sale public housing in full service or entrusted, and the
    block-integration budget for supplementary security, cleaning and fire patrols, which buys
    service through the same effort rule as fees.
    """
    served = mode <= ENTRUSTED
    after_sale = choose(housing_is_after_sale & served, p.subsidy_after_sale_yuan_per_m2 * floor_area_m2, 0.0)
    return after_sale + bid_extra_money_yuan(households, block_integrated, p)


def transfer_terms(fee_due_per_m2, manager_yuan, household_yuan_per_m2, floor_area_m2, has_firm):
    """A policy's standing transfers to an area (sim.transfers): (fee households owe, money to the firm).

    Only an area a firm serves receives them. The manager's transfer (yuan/month) goes into the
    firm's account; the households' transfer (yuan/m2/month) pays part of their fee for them: they
    owe the rest (never below zero) and the part paid for them (over the area's floor area) goes
    into the firm's account whether or not they pay their own. Both then work as the after-sale
    subsidy does: the firm's effort reads the money (rules.effort), households the fee they owe
    (rules.payment_base).
    """
    owed = choose(has_firm, clip(fee_due_per_m2 - household_yuan_per_m2, 0.0, fee_due_per_m2), fee_due_per_m2)
    covered = (fee_due_per_m2 - owed) * floor_area_m2
    return owed, choose(has_firm, manager_yuan, 0.0) + covered


def spending_yuan(firm_revenue_yuan, fallback_spend_yuan, staff_hours, volunteer_hours_total,
                  p: Params) -> float:
    """What a month of the district's service actually costs (yuan), whoever pays.

    Firms' revenue (fees paid to them, the after-sale subsidy, the block budget), the street
    office's fallback service, the staff-hours of the residents' committee's casework and of the
    joint reception points at their wage, and volunteers' time (patrols, cleaning, committees'
    casework) at a shadow wage.
    """
    return (firm_revenue_yuan + fallback_spend_yuan + staff_cost_yuan(staff_hours, p)
            + volunteer_hours_total * p.volunteer_shadow_wage_yuan_per_hour)


def firm_margin(revenue_yuan, cost_yuan):
    """Operating margin: (revenue - cost) / revenue, zero without revenue."""
    if isinstance(revenue_yuan, np.ndarray):
        return np.divide(revenue_yuan - cost_yuan, revenue_yuan,
                         out=np.zeros_like(revenue_yuan, dtype=float), where=revenue_yuan > 0)
    return (revenue_yuan - cost_yuan) / revenue_yuan if revenue_yuan > 0 else 0.0


def contract_result(revenue_yuan, subsidy_yuan, spend_yuan, overhead_share_yuan):
    """What one contract earned its firm this month (yuan): money in less spending and overhead."""
    return revenue_yuan + subsidy_yuan - spend_yuan - overhead_share_yuan


def losing_months_next(losing_months, result_yuan):
    """Consecutive months a contract has lost its firm money."""
    return choose(result_yuan < 0.0, losing_months + 1, 0)


def withdraws(losing_months, firm_in_loss, p: Params):
    """A firm in loss withdraws from a contract that has lost it money for too long (撤场)."""
    return firm_in_loss & (losing_months >= p.firm_withdraw_months)


def loss_months_next(loss_months, reserves_yuan):
    """Consecutive months a firm's reserves have been negative."""
    return choose(reserves_yuan < 0, loss_months + 1, 0)


def idle_months_next(idle_months, contracts):
    """Consecutive months a firm has held no contract."""
    return choose(contracts > 0, 0, idle_months + 1)


def firm_exits(loss_months, idle_months, p: Params):
    """A firm leaves the market when its reserves stay negative, or it holds no contract, too long."""
    return (loss_months >= p.firm_exit_loss_months) | (idle_months >= p.firm_exit_idle_months)


def reform_stage_hours(stage: str, p: Params) -> float:
    """Staff-hours a month a reform case takes the street office in a stage.

    Briefings and votes, merging funds and reorganising the committee, or a hand-over (any other
    stage counts as briefings).
    """
    if stage in ("fund", "committee"):
        return p.fund_merge_hours_per_month
    if stage == "handover":
        return p.handover_hours_per_month
    return p.briefing_hours_per_month


EXIT_CAUSES = ("performance", "outbid", "withdrawal", "reform")
"""Why a firm lost its contracts, in the order that breaks ties (StreetOffice.reassign)."""


def exit_cause(reason: str, lost: dict[str, int], p: Params) -> str:
    """Why a firm left the market.

    "losses" if its reserves stayed negative; if it held no contract, how it lost most of them
    (performance: owners replaced it; outbid: a reform's tender it could bid in went to a better
    firm; withdrawal: it left losing contracts; reform: a policy moved its areas), or "no contract
    won" if it never held one.
    """
    if reason != "no contract for a year":
        return "losses"
    counts = [lost.get(cause, 0) for cause in EXIT_CAUSES]
    return EXIT_CAUSES[int(np.argmax(counts))] if max(counts) > 0 else "no contract won"


def firm_exit_reason(idle_months, p: Params) -> str:
    """Why a leaving firm leaves (idleness is checked first)."""
    return "no contract for a year" if idle_months >= p.firm_exit_idle_months else "losses it could not cover"


def served_by_firm(mode):
    """Whether an area is served by a professional firm.

    Full service, entrusted, the specialised service of self-governance, or the fallback (a firm
    the street office contracts).
    """
    return (mode <= SELF_GOVERNANCE) | (mode == FALLBACK)


def fallback_mode(committee_active, p: Params):
    """Who manages an area no firm serves: itself, or the street office's fallback service.

    Owners with an active committee manage themselves (Civil Code Art. 284); otherwise the street
    office's fallback service (托底) takes the area over, or, with `fallback_service` 0 (the
    mechanism ablation), nobody does.
    """
    return choose(committee_active, SELF_MANAGED, FALLBACK if p.fallback_service else UNMANAGED)


def expected_money_yuan(fee_yuan_per_m2, floor_area_m2, collection_rate, housing_is_after_sale, p: Params):
    """What a bidder expects an area to bring a month: fees at its collection rate plus the subsidy."""
    fees = fee_yuan_per_m2 * floor_area_m2 * collection_rate
    return fees + p.subsidy_after_sale_yuan_per_m2 * floor_area_m2 * housing_is_after_sale


def bid_extra_money_yuan(households, block_integrated, p: Params):
    """Money a bidder counts on beyond fees and subsidy: the block-integration budget of the area."""
    return choose(block_integrated, p.block_subsidy_yuan_per_household * households, 0.0)


BREAK_EVEN_RTOL = 1e-9
"""Relative slack of a comparison with a break-even amount: a fee set at the break-even fee pays its
service, whatever the order in which an engine summed the money (the engines agree to ~1e-15)."""


def covers_share(expected_yuan, needed_yuan, service, p: Params):
    """Whether a contract's expected money, less the firm's margin, pays `service` of full service.

    Within BREAK_EVEN_RTOL: money raised by a fee set at the break-even fee covers it.
    """
    return expected_yuan * (1.0 - p.target_margin) >= service * needed_yuan * (1.0 - BREAK_EVEN_RTOL)


def covers_cost(expected_yuan, needed_yuan, p: Params):
    """Whether a contract's expected money pays the cost of its least service and the firm's margin.

    Under the effort rule a firm never spends less than `min_effort` of what full service needs,
    so a contract whose money (less the margin) cannot pay that would lose money: it draws no bid.
    """
    return covers_share(expected_yuan, needed_yuan, p.min_effort, p)


def break_even_fee(cost_yuan, subsidy_yuan, floor_area_m2, collection_rate, p: Params):
    """The fee standard (yuan/m2/month) at which an area's expected money pays a cost and margin.

    The cost is a month's: for the least service (min_effort x money_needed, the bid rule) or for full
    service (money_needed, what competing firms offer at a contract's renewal).
    """
    rate = choose(collection_rate < 0.05, 0.05, collection_rate)
    fee = (cost_yuan / (1.0 - p.target_margin) - subsidy_yuan) / (floor_area_m2 * rate)
    return choose(fee > 0.0, fee, 0.0)


def proposed_fee(fee_yuan_per_m2, p: Params):
    """The fee a firm in loss proposes: a step up from the current standard."""
    return fee_yuan_per_m2 * (1.0 + p.fee_raise_step)


def fee_cap(housing_type: int, p: Params) -> float:
    """Highest fee (yuan/m2/month) owners may be asked to vote for, by housing type (its code).

    After-sale public housing has its government-guided price; other types the guided band around
    the district's standard, `fee_cap_multiple` times the type's default fee.
    """
    name = HOUSING_NAMES[int(housing_type)]
    if name == "after_sale_public":
        return p.after_sale_fee_cap_yuan_per_m2
    return p.fee_cap_multiple * p[f"fee_{name}"]


def fee_change_support(mean_satisfaction, old_fee, new_fee, p: Params):
    """Chance an owner supports changing the fee standard from old to new (a rise costs support)."""
    rise = (new_fee - old_fee) / max(old_fee, 1e-9)
    return clip01(p.fee_raise_support + p.merge_gain_support * (mean_satisfaction - 0.5)
                  - p.fee_raise_burden_weight * rise)


def update_reputation(reputation, evaluation_score, p: Params):
    """A firm's reputation after a yearly evaluation: memory of the old, weight on the new score."""
    return p.reputation_memory * reputation + (1 - p.reputation_memory) * evaluation_score


# --- 6. volunteers and committees ----------------------------------------------------------

SATISFIED_VOLUNTEER, GRIEVANCE = range(2)
"""The volunteer rules (parameter volunteer_rule; sim/variants.py)."""


def volunteer_join_probability(satisfaction, organising, volunteer_rate, p: Params):
    """Monthly chance a non-volunteer starts volunteering.

    Satisfaction (or, under the grievance rule, dissatisfaction) and organising draw people in;
    more so where neighbours already volunteer (conditional cooperation, as with fees).
    """
    if p.volunteer_rule == GRIEVANCE:
        organised = choose(organising, p.organising_join_rate, 0.0)
        grieved = p.volunteer_join_rate * (1.0 - satisfaction) + organised
        return grieved * (1.0 + p.volunteer_neighbour_weight * volunteer_rate)
    base = p.volunteer_join_rate * satisfaction + choose(organising, p.organising_join_rate, 0.0)
    return base * (1.0 + p.volunteer_neighbour_weight * volunteer_rate)


def volunteer_workload(volunteers, gates, floor_area_m2, mode, p: Params):
    """Hours asked of the volunteers over the hours they give, less one (0 where none are asked).

    Volunteers are asked to cover patrols and cleaning under self-governance and self-management.
    """
    asked = (mode == SELF_GOVERNANCE) | (mode == SELF_MANAGED)
    load = replaced_staff_hours(gates, floor_area_m2, p) / np.maximum(volunteer_hours(volunteers, p), 1e-9)
    return choose(asked, clip(load - 1.0, 0.0, 3.0), 0.0)


def volunteer_quit_probability(friction, workload, p: Params):
    """Monthly chance a volunteer stops.

    Fatigue, worse while a merged committee integrates and with the workload per volunteer.
    """
    return (p.volunteer_fatigue * (1.0 + p.friction_fatigue * friction)
            * (1.0 + p.volunteer_workload_fatigue * workload))


def committee_capacity(volunteers, p: Params):
    """Capacity (0-1) of an owners' committee from the volunteers it can draw on."""
    return 1.0 - exp(-volunteers / p.committee_capacity_scale)


def committee_active_next(active, capacity, draw, p: Params):
    """Whether a committee is active next month: it forms when capacity allows, lapses below."""
    forms = (capacity > p.committee_form_threshold) & (draw < p.committee_form_rate)
    lapses = capacity < p.committee_lapse_threshold
    return choose(active, logical_not(lapses), forms)


def decay_friction(friction, p: Params):
    """Integration friction after a merger fades month by month."""
    return friction * (1.0 - p.friction_decay)


def bad_months_next(bad_months, mean_satisfaction, p: Params):
    """Consecutive months of low satisfaction an active committee has counted."""
    return choose(mean_satisfaction < p.retender_satisfaction, bad_months + 1, 0)


# --- 7. owners' decisions ------------------------------------------------------------------

def vote_passes(participating_area, participating_owners, yes_area, yes_owners,
                total_area, total_owners, p: Params):
    """Civil Code Art. 278: quorum by area and headcount, then majorities of participants."""
    quorum = ((participating_area >= p.quorum_area_share * total_area)
              & (participating_owners >= p.quorum_owner_share * total_owners))
    approved = ((yes_area > p.approval_area_share * participating_area)
                & (yes_owners > p.approval_owner_share * participating_owners))
    return quorum & approved & (total_owners > 0)


def tally_vote(owner_floor_m2, takes_part, votes_yes, p: Params) -> tuple[bool, float]:
    """Count an owners' vote (arrays over the owners): (passed, share of participants saying yes).

    Floor areas are added owner by owner in member order. Passing is rules.vote_passes (Civil
    Code Art. 278).
    """
    part_area = yes_area = total_area = 0.0
    part_n = yes_n = 0
    for i in range(len(owner_floor_m2)):
        total_area += owner_floor_m2[i]
        if takes_part[i]:
            part_area += owner_floor_m2[i]
            part_n += 1
        if votes_yes[i]:
            yes_area += owner_floor_m2[i]
            yes_n += 1
    passed = vote_passes(part_area, part_n, yes_area, yes_n, total_area, len(owner_floor_m2), p)
    return bool(passed), (yes_n / part_n if part_n else 0.0)


def merge_support(mean_satisfaction, fund_per_m2, pooled_fund_per_m2, briefed, p: Params):
    """Chance an owner supports a merger: briefing and hoped-for gains, less the fund dispute.

    Owners whose fund per m2 would fall on pooling object in proportion to the relative loss.
    """
    loss = clip01((fund_per_m2 - pooled_fund_per_m2) / (fund_per_m2 + 1e-9))
    return clip01(p.merge_support + choose(briefed, p.briefing_support, 0.0)
                  + p.merge_gain_support * (1.0 - mean_satisfaction)
                  - p.fund_dispute_weight * loss)


def change_support(mean_satisfaction, briefed, p: Params):
    """Chance an owner supports changing the area's firm or service arrangement."""
    return clip01(p.retender_support + choose(briefed, p.briefing_support, 0.0)
                  + p.merge_gain_support * (1.0 - mean_satisfaction))


def participation(briefed, p: Params):
    """Chance an owner takes part in a vote."""
    return clip01(p.vote_participation + choose(briefed, p.briefing_participation, 0.0))


# --- 8. the residents' committee ----------------------------------------------------------

CASE_WAITING, CASE_RESOLVED, CASE_UNRESOLVED, CASE_DROPPED = range(4)
"""What a desk's month did to an open case: still waiting, heard and resolved, heard and not
resolved, or dropped unheard after `case_wait_months`."""


def case_probability(satisfaction, felt_incident_rate, p: Params):
    """Monthly chance a household with no open case brings one: its dissatisfaction, the incidents it sees."""
    incidents = felt_incident_rate / p.incident_reference_per_1000hh
    return clip01(p.case_rate * (1.0 - satisfaction) * (1.0 + p.case_incident_weight * incidents))


def bring_case(case_age, draw, chance):
    """A household's case after its month: one brought (age 0) if none is open and the draw says so."""
    return choose((case_age < 0) & (draw < chance), 0, case_age)


def desk_cases(hours, p: Params):
    """Cases a desk can hear in a month with its staff-hours (whole cases)."""
    return np.floor(np.asarray(hours, dtype=float) / p.hours_per_case + 1e-9)


def committee_case_hours(committee_active, committee_capacity, p: Params):
    """Hours a month an owners' committee gives residents' cases: its members' time, by its capacity."""
    return choose(committee_active, p.committee_case_hours_per_month * committee_capacity, 0.0)


def resolution_chance(quality, p: Params):
    """Chance a heard case is resolved: what the area's manager can do.

    Its service quality, from its capability, effort and money, or the fallback's or volunteers'
    service.
    """
    return clip01(p.case_resolution_max * quality)


def hear_in_turn(desk, capacity_cases, order):
    """Which cases their desks hear this month: each desk in `order`, while its capacity lasts.

    `desk` is each case's desk (-1 where the case does not go to this kind of desk); `capacity_cases`
    the cases each desk can hear; `order` the cases' turn (a permutation). Returns bool per case.
    """
    heard = np.zeros(len(desk), dtype=bool)
    queued = order[desk[order] >= 0]
    by_desk = np.argsort(desk[queued], kind="stable")  # each desk's cases, still in turn
    desks = desk[queued][by_desk]
    rank = np.arange(len(desks)) - np.searchsorted(desks, desks, side="left")
    heard[queued[by_desk]] = rank < np.asarray(capacity_cases)[desks]
    return heard


def case_outcome(heard, resolved, case_age, p: Params):
    """Each open case's outcome this month (CASE_*): resolved, heard, waiting, or dropped unheard."""
    unheard = choose(case_age >= p.case_wait_months, CASE_DROPPED, CASE_WAITING)
    return choose(resolved, CASE_RESOLVED, choose(heard, CASE_UNRESOLVED, unheard))


def unresolved_voice(p: Params):
    """How heard a case heard but not resolved leaves a household: not at all when only resolution matters."""
    return p.voice_not_heard if p.satisfaction_rule == RESOLUTION_ONLY else p.voice_unresolved


SMALLEST_FIRST, PROBLEM_FIRST = range(2)
"""The merger groupings (parameter merge_grouping; sim/variants.py)."""


def merge_seed_key(areas, p: Params):
    """Per area, the key by which merger groups are seeded (lowest first; ties by row).

    Smallest first (`areas.households`), or the problem spot first (`areas.quality`, read only
    then). Settings without the switch (a caller's own namespace) group smallest first.
    """
    problem_first = getattr(p, "merge_grouping", SMALLEST_FIRST) == PROBLEM_FIRST
    return areas.quality if problem_first else areas.households


def settle_case(outcome, case_age, voice_level, voice_months, p: Params):
    """A household after its case's month: (case age, -1 when closed; voice; months it remembers it).

    A closed case sets how heard the household feels (`voice_resolved`, `voice_unresolved` or
    `voice_not_heard`) for the rest of `case_memory_months` from the month it brought the case.
    """
    closed = outcome != CASE_WAITING
    level = choose(outcome == CASE_RESOLVED, p.voice_resolved,
                   choose(outcome == CASE_UNRESOLVED, unresolved_voice(p), p.voice_not_heard))
    return (choose(closed, -1, case_age + 1), choose(closed, level, voice_level),
            choose(closed, p.case_memory_months - case_age, voice_months))


def paid_staff_hours(rc_hours, reception_hours, reform_hours, p: Params):
    """Paid staff-hours of a month's casework and reforms.

    The residents' committee's (its desk and its share of the reception points), the points' other
    staff, and the street office's reform cases.
    """
    return rc_hours + (1.0 - p.reception_rc_share) * reception_hours + reform_hours


def staff_cost_yuan(hours, p: Params):
    """What staff-hours cost (yuan) at a front-line worker's all-in wage."""
    return hours * p.worker_cost_yuan / p.staff_hours_per_month


# --- 9. mergers ----------------------------------------------------------------------------

MERGED_FIELDS: dict[str, str] = {
    "households": "sum", "estate_gates": "sum", "floor_area_m2": "sum", "fund_yuan": "sum",
    "fund_initial_yuan": "sum", "revenue_yuan": "sum", "subsidy_yuan": "sum", "volunteers": "sum",
    # this month's tallies (a merger completes after the accounts, before the record)
    "paid_yuan": "sum", "due_yuan": "sum", "satisfaction_sum": "sum", "incidents": "sum", "spend_yuan": "sum",
    "upkeep_paid_yuan": "sum",
    "volunteer_count": "sum",
    "housing_type": "first", "block": "first",
    "x_m": "households", "y_m": "households", "quality": "households", "collection_rate": "households",
    "felt_incident_rate": "households", "mean_satisfaction": "households",
    "fee_yuan_per_m2": "floor_area", "condition": "floor_area",
    "block_integrated": "any", "committee_active": "any",
    "gates": "shared",
}
"""How a merged area's value follows from its members': summed, the first member's, weighted by
households or by floor area, true if any member's is, or shared (gates: fewer entrances to staff).
`friction` and the committee's capacity follow from rules (see combine_areas)."""


def combine_areas(members: dict[str, np.ndarray], first: int, p: Params) -> dict:
    """The values of one merged area from its members' values (each a array over the group).

    `first` is the position, in the group, of the member whose place the merged area takes.
    Gates shrink by merge_gate_reduction (shared entrances and patrols); a merged committee
    starts with integration friction; its capacity follows from the volunteers it now has, and it
    is active only if a member's was and that capacity is above `committee_form_threshold`.
    """
    homes = members["households"].astype(float)
    floors = members["floor_area_m2"]
    out: dict = {}
    for name, how in MERGED_FIELDS.items():
        values = members[name]
        if how == "sum":
            out[name] = sum(values.tolist())
        elif how == "first":
            out[name] = values[first]
        elif how == "households":
            out[name] = float(np.average(values, weights=homes))
        elif how == "floor_area":
            out[name] = float(np.average(values, weights=floors))
        elif how == "any":
            out[name] = bool(np.any(values))
        else:
            out[name] = max(1.0, sum(values.tolist()) * (1.0 - p.merge_gate_reduction))
    out["friction"] = p.merge_friction
    out["committee_capacity"] = committee_capacity(out["volunteers"], p)
    # a merged committee is as strong as the volunteers it can draw on: it starts active only if a
    # member's was and the pooled volunteers give the capacity a committee needs to form
    out["committee_active"] = bool(out["committee_active"]
                                   and out["committee_capacity"] > p.committee_form_threshold)
    return out

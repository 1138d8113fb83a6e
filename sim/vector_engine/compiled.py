"""The vectorized engine's compiled month: numba loops over households and areas calling sim.rules.

One rulebook: the loops below call `rules.<name>`, the very function object `sim.rules.<name>` that
the Mesa engine calls per agent, registered with numba as it is (`register_jitable`), so that numba
compiles that function where a loop calls it; no rule is written a second time. What numba needs
to compile a rule are scalar forms of the rulebook's array/scalar helpers (`choose`, `clip`,
`clip01`, `logistic`, `power`, `exp`, `logical_not`): registered here with
`numba.extending.overload` on those helper functions, each its one-line scalar branch.

Parameters reach compiled code as a one-row numpy record array (`params_record`): numba reads
`p.name` from a record as a field, and handing over an array costs the dispatcher far less than a
173-field tuple would.

Random draws: the household pass computes each household's three draws itself with
`rules.household_draws` (counter-based, from the month's key the run's generator draws), as the
Mesa engine and the numpy month do for all households at once, so the same seed gives the Mesa
engine's run whatever the number of threads.

The owners' vote of the street office (`owners_vote`, both engines) is compiled here too, so that
the cache refresh below covers the rules it calls.

Every function is compiled with `cache=True`: the first run after an install compiles (about 10 s on
the development machine) and writes the machine code to numba's cache (`__pycache__` beside the
source, or NUMBA_CACHE_DIR); later runs and sweep workers load it. Numba's cache does not notice
that a rule a loop inlines has changed, so `_refresh_cache` drops this module's cached loops when
the rulebook's source (or this file's) differs from the one they were compiled from.

If numba cannot be imported, `AVAILABLE` is False and the engine runs its numpy month
(`VectorModel(compiled=False)`); ESTATE_SIM_COMPILED=0 chooses the numpy month too.
"""

from __future__ import annotations

import hashlib
import math
import os
import types
from pathlib import Path

import numpy as np

from sim import rules
from sim.jit import njit as _njit
from sim.params import Params

try:  # pragma: no cover - exercised by whichever way the environment is
    import numba
    from numba import prange
    from numba.extending import overload, register_jitable
except ImportError:  # pragma: no cover
    numba = None
    prange = range

JIT = numba is not None and not numba.config.DISABLE_JIT
"""Whether numba compiles (under NUMBA_DISABLE_JIT=1 the decorated functions run as Python)."""
AVAILABLE = JIT and os.environ.get("ESTATE_SIM_COMPILED", "1") != "0"
"""Whether the vectorized engine compiles its month by default."""

COMPILED_RULES = (
    # 1. service and 2. events
    "effort",
    "volunteer_coverage",
    "replaced_staff_hours",
    "volunteer_hours",
    "target_quality",
    "adjust_quality",
    "incident_rate",
    "incidents_per_1000",
    "remember_incidents",
    "decay_condition",
    "repair",
    "top_up_fund",
    "renovate",
    "upkeep",
    "fallback_staff_share",
    # 3-4. what households read, satisfaction, fees, volunteering
    "household_draws",
    "perceived_conditions",
    "voice",
    "heard_part",
    "voice_months_next",
    "case_probability",
    "bring_case",
    "enforcement",
    "volunteer_workload",
    "volunteer_quit_probability",
    "payment_base",
    "saturated",
    "update_satisfaction",
    "payment_probability",
    "update_habit",
    "volunteer_join_probability",
    # 5-6. accounts and committees
    "decay_friction",
    "contract_result",
    "losing_months_next",
    "loss_months_next",
    "idle_months_next",
    "withdraws",
    "firm_exits",
    "committee_capacity",
    "committee_active_next",
    "bad_months_next",
    # 7. owners' decisions (owners_vote)
    "vote_passes",
    "tally_vote",
)
"""The rules the compiled loops call, directly or through another rule (registered with numba as they are)."""


def params_record(p: Params, dtype=np.float64) -> np.ndarray:
    """The parameters as a one-row record array of `dtype` fields (compiled code reads `rec[0].name`).

    With float32 fields the household rules compute in float32, as numpy does with float32 arrays
    and Python-float parameters.
    """
    names = [name for name in p if isinstance(p[name], int | float)]  # numbers and switches (bool)
    record = np.zeros(1, dtype=np.dtype([(name, dtype) for name in names]))
    record[0] = tuple(float(p[name]) for name in names)
    return record


if numba is not None:
    # the rules and helpers are compiled into the loops that call them, and cached only there: a
    # cache of their own would outlive a change of the helpers below (numba keys it by rules.py)
    _INLINED = {"nogil": True}

    # --- scalar forms of the rulebook's helpers (the array forms are numpy's) --------------------
    @overload(rules.clip01, jit_options=_INLINED)
    def _clip01(x):
        return lambda x: 0.0 if x < 0.0 else 1.0 if x > 1.0 else x

    @overload(rules.clip, jit_options=_INLINED)
    def _clip(x, low, high):
        return lambda x, low, high: low if x < low else high if x > high else x

    @overload(rules.choose, jit_options=_INLINED)
    def _choose(condition, if_true, if_false):
        return lambda condition, if_true, if_false: if_true if condition else if_false

    @overload(rules.power, jit_options=_INLINED)
    def _power(base, exponent):
        return lambda base, exponent: base**exponent

    @overload(rules.exp, jit_options=_INLINED)
    def _exp(x):
        return lambda x: math.exp(x)

    @overload(rules.logical_not, jit_options=_INLINED)
    def _logical_not(x):
        return lambda x: not x

    @overload(rules.logistic, jit_options=_INLINED)
    def _logistic(x):
        if isinstance(x, numba.types.Float) and x.bitwidth == 32:  # float32 throughout, as numpy's
            zero, one = np.float32(0.0), np.float32(1.0)
            return lambda x: zero if x < -700.0 else one / (one + math.exp(-x))
        return lambda x: 0.0 if x < -700.0 else 1.0 / (1.0 + math.exp(-x))

    def _refresh_cache() -> None:
        """Drop this module's cached machine code if sim/rules.py or this file changed since."""
        here = Path(__file__)
        digest = hashlib.sha256(
            here.read_bytes() + Path(rules.__file__).read_bytes() + numba.__version__.encode()
        ).hexdigest()[:16]
        try:
            cache_dir = Path(household_pass._cache._cache_path)
        except Exception:  # pragma: no cover - numba internals moved: nothing to refresh
            return
        stamp = cache_dir / f"{here.stem}.rules-digest"
        try:
            if stamp.exists() and stamp.read_text() == digest:
                return
            for old in cache_dir.glob(f"{here.stem}.*.nb[ic]"):  # the loops inline the rules
                old.unlink(missing_ok=True)
            cache_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest)
        except OSError:  # pragma: no cover - a read-only cache: numba recompiles in memory
            pass

    for _name in COMPILED_RULES:  # each rule is its own numba implementation: the same function object
        register_jitable(**_INLINED)(getattr(rules, _name))


FALLBACK = rules.FALLBACK


def threads() -> int:
    """The most threads a parallel loop can run on (numba's thread ids are below it); 1 without numba.

    Starts numba's threading layer, which compiled code asking its thread id (even serial code)
    needs.
    """
    if numba is None:
        return 1
    numba.get_num_threads()  # launches the threading layer
    return int(numba.config.NUMBA_NUM_THREADS)


# --- the month's area stages (one pass over the areas each) ------------------------------------------


@_njit()
def serve(
    pr,
    has_firm,
    firm,
    capability,
    needed_yuan,
    stand_alone_yuan,
    overhead_share_yuan,
    reserves_yuan,
    revenue_yuan,
    subsidy_yuan,
    mode,
    volunteers,
    gates,
    floor_area_m2,
    committee_capacity,
    quality,
    households,
    out_needed,
    out_overhead,
    out_effort,
    out_spend,
    out_target,
    out_incidents_expected,
):
    """Firms set effort and target quality (VectorModel.firms_serve); expected incidents per area."""
    p = pr[0]
    for i in range(len(mode)):
        has = has_firm[i]
        needed = needed_yuan[i]
        out_needed[i] = needed
        out_overhead[i] = overhead_share_yuan[i]
        available = revenue_yuan[i] + subsidy_yuan[i] - overhead_share_yuan[i]
        effort = rules.effort(available, needed, stand_alone_yuan[i], reserves_yuan[firm[i]] < 0, p) * has
        out_effort[i] = effort
        out_spend[i] = needed if mode[i] == FALLBACK else effort * needed * has
        coverage = rules.volunteer_coverage(volunteers[i], gates[i], floor_area_m2[i], p)
        out_target[i] = rules.target_quality(
            mode[i], capability[i], effort, coverage, committee_capacity[i], gates[i], floor_area_m2[i],
            households[i], p
        )
        expected = rules.incident_rate(mode[i], quality[i], p) * households[i] / 1000.0
        out_incidents_expected[i] = max(expected, 0.0)


@_njit()
def buildings_and_terms(
    pr,
    incidents,
    target,
    households,
    fund_initial_yuan,
    floor_area_m2,
    committee_active,
    committee_capacity,
    friction,
    volunteers,
    gates,
    mode,
    collection_rate,
    fee_due_arranged,
    type_shift,
    type_neighbour_weight,
    type_enforcement_weight,
    quality,
    incidents_out,
    incident_rate,
    felt_incident_rate,
    condition,
    fund_yuan,
    upkeep_paid_yuan,
    perceived,
    fee_due,
    enforcement,
    quit_probability,
    perceived_h,
    pay_base_h,
    quit_h,
    neighbours_h,
    felt_h,
):
    """Quality, incidents, wear and repairs; then what households read this month.

    VectorModel.update_quality_and_buildings and prepare_for_households, plus the payment terms
    per (area, cooperation type); the `_h` outputs are in the household arrays' float type.
    """
    p = pr[0]
    for i in range(len(mode)):
        q = rules.adjust_quality(quality[i], target[i], p)
        quality[i] = q
        incidents_out[i] = incidents[i]
        rate = rules.incidents_per_1000(incidents[i], households[i])
        incident_rate[i] = rate
        felt = rules.remember_incidents(felt_incident_rate[i], rate, p)
        felt_incident_rate[i] = felt
        worn = rules.decay_condition(condition[i], q, p)
        active = committee_active[i]
        cond, fund, paid = rules.upkeep(worn, fund_yuan[i], fund_initial_yuan[i], active, floor_area_m2[i], p)
        condition[i] = cond
        fund_yuan[i] = fund
        upkeep_paid_yuan[i] = paid
        seen = rules.perceived_conditions(q, cond, felt, p)
        perceived[i] = seen
        perceived_h[i] = seen
        felt_h[i] = felt
        fee = fee_due_arranged[i]
        fee_due[i] = fee
        enforced = rules.enforcement(active, committee_capacity[i], friction[i])
        enforcement[i] = enforced
        workload = rules.volunteer_workload(volunteers[i], gates[i], floor_area_m2[i], mode[i], p)
        quit_chance = rules.volunteer_quit_probability(friction[i], workload, p)
        quit_probability[i] = quit_chance
        quit_h[i] = quit_chance
        neighbours_h[i] = volunteers[i] / max(1, households[i])
        for t in range(3):
            pay_base_h[i, t] = rules.payment_base(
                type_shift[t],
                type_neighbour_weight[t],
                collection_rate[i],
                type_enforcement_weight[t],
                enforced,
                fee,
                p,
            )


def _household_pass(
    pr,
    estate_area,
    estate_start,
    type_counts,
    perceived,
    fee_due,
    pay_base,
    quit_probability,
    organising,
    neighbours,
    felt,
    satisfaction,
    taste,
    habit,
    floor_m2,
    volunteer,
    case_age,
    voice,
    voice_months,
    month_key,
    paid_floor_h,
    paid_floor,
    satisfaction_sum,
    volunteer_count,
):
    """Every household in one pass: satisfaction, fee, habit, volunteering, a case; estate sums.

    The Mesa engine's Household.step for each household, estate by estate (in parallel over
    estates in the parallel build); `pr` holds the parameters in the household arrays' float type.
    Each run of households of one estate and cooperation type is one loop over array views that
    start at the run (indices from 0, no sums, no branch around a rule), which the compiler
    vectorises; it writes the floor area each household paid for to its thread's row of
    `paid_floor_h` (threads x the longest run: scratch that stays in cache). The estate's sums
    follow each run, household by household in estate order, while the run is in cache.
    """
    for e in prange(len(estate_area)):
        p = pr[0]  # read inside the parallel loop: numba's parfors cannot pass a record in
        area = estate_area[e]
        seen = perceived[area]
        owes = fee_due[area] > 0.0
        quit_chance = quit_probability[area]
        organised = organising[area]
        rate = neighbours[area]
        felt_rate = felt[area]
        h = estate_start[e]
        paid = 0.0
        total = 0.0
        count = 0
        for t in range(3):
            base = pay_base[area, t]
            n = type_counts[3 * e + t]
            sat_run, taste_run, habit_run = satisfaction[h:h + n], taste[h:h + n], habit[h:h + n]
            floor_run, volunteer_run = floor_m2[h:h + n], volunteer[h:h + n]
            case_run, voice_run, months_run = case_age[h:h + n], voice[h:h + n], voice_months[h:h + n]
            paid_run = paid_floor_h[numba.get_thread_id(), :n]  # this thread's scratch: stays in cache
            for i in range(n):
                pay_draw, draw, case_draw = rules.household_draws(month_key, h + i)
                heard = rules.heard_part(rules.voice(voice_run[i], months_run[i], p), p)
                sat_run[i] = rules.update_satisfaction(sat_run[i], seen + heard, taste_run[i], p)
                sat = sat_run[i]  # in the household arrays' float type
                months_run[i] = rules.voice_months_next(months_run[i])
                case_run[i] = rules.bring_case(case_run[i], case_draw,
                                               rules.case_probability(sat, felt_rate, p))
                was = habit_run[i]
                pays = owes & (pay_draw < rules.payment_probability(sat, was, base, p))
                habit_run[i] = rules.update_habit(was, pays, p) if owes else was  # bool - float: float type
                paid_run[i] = floor_run[i] * pays  # 0 when unpaid or nothing is due
                joins = draw < rules.volunteer_join_probability(sat, organised, rate, p)
                volunteer_run[i] = draw >= quit_chance if volunteer_run[i] else joins
            for i in range(n):  # the estate's sums, household by household, while the run is in cache
                paid += paid_run[i]
                total += sat_run[i]
                count += volunteer_run[i]
            h += n
        paid_floor[e] = paid
        satisfaction_sum[e] = total
        volunteer_count[e] = count


def named_copy(function, name: str):
    """The same function (code, globals) under another name.

    Numba's cache keys a compiled function by its qualified name and line, not by its options, so a
    parallel build must not share the serial build's name or it would load the serial machine code.
    """
    copy = types.FunctionType(function.__code__, function.__globals__, name, function.__defaults__,
                              function.__closure__)
    copy.__qualname__ = copy.__name__ = name
    copy.__doc__, copy.__module__ = function.__doc__, function.__module__
    return copy


# numpy's error model: no division in these rules can be by zero, and Python's model (a check that
# raises) would keep the compiler from vectorising the runs
household_pass = _njit(error_model="numpy")(_household_pass)
household_pass_parallel = _njit(parallel=True, error_model="numpy")(
    named_copy(_household_pass, "_household_pass_parallel"))


@_njit()
def area_tallies(
    estate_area,
    fee_due,
    due_arranged,
    paid_floor,
    satisfaction_sum,
    volunteer_count,
    due_yuan,
    paid_yuan,
    area_satisfaction_sum,
    area_volunteer_count,
):
    """Estate sums to area sums, in estate order (as np.bincount over estates adds them)."""
    n = len(due_yuan)
    paid_area = np.zeros(n)
    for i in range(n):
        area_satisfaction_sum[i] = 0.0
        area_volunteer_count[i] = 0
    for e in range(len(estate_area)):
        area = estate_area[e]
        paid_area[area] += paid_floor[e]
        area_satisfaction_sum[area] += satisfaction_sum[e]
        area_volunteer_count[area] += volunteer_count[e]
    for i in range(n):
        due_yuan[i] = due_arranged[i]
        paid_yuan[i] = fee_due[i] * paid_area[i] if fee_due[i] > 0.0 else 0.0


@_njit()
def accounts(
    pr,
    has_firm,
    firm,
    subsidy_arranged,
    households,
    spend_yuan,
    overhead_share_yuan,
    due_yuan,
    paid_yuan,
    area_satisfaction_sum,
    area_volunteer_count,
    collection_rate,
    revenue_yuan,
    subsidy_yuan,
    mean_satisfaction,
    volunteers,
    friction,
    losing_months,
    firm_active,
    firm_overhead_yuan,
    sites,
    firm_revenue_yuan,
    firm_cost_yuan,
    reserves_yuan,
    loss_months,
    idle_months,
):
    """The month closes (VectorModel.close_month) and firms settle their accounts (settle_accounts).

    Returns (contracts a firm in loss would withdraw from, active firms that would exit): when both
    are 0 the engine skips firms_withdraw and firms_exit, which would find nobody.
    """
    p = pr[0]
    n_firms = len(firm_active)
    income = np.zeros(n_firms)
    spent = np.zeros(n_firms)
    for i in range(len(due_yuan)):
        if due_yuan[i] > 0:
            collection_rate[i] = paid_yuan[i] / due_yuan[i]
        revenue_yuan[i] = paid_yuan[i]
        subsidy_yuan[i] = subsidy_arranged[i]
        mean_satisfaction[i] = area_satisfaction_sum[i] / households[i]
        volunteers[i] = area_volunteer_count[i]
        friction[i] = rules.decay_friction(friction[i], p)
        if has_firm[i]:
            income[firm[i]] += revenue_yuan[i] + subsidy_yuan[i]
            spent[firm[i]] += spend_yuan[i]
    for f in range(n_firms):
        if firm_active[f]:
            firm_revenue_yuan[f] = income[f]
            firm_cost_yuan[f] = spent[f] + firm_overhead_yuan[f]
            reserves_yuan[f] = reserves_yuan[f] + (firm_revenue_yuan[f] - firm_cost_yuan[f])
            loss_months[f] = rules.loss_months_next(loss_months[f], reserves_yuan[f])
            idle_months[f] = rules.idle_months_next(idle_months[f], sites[f])
    withdrawals = 0
    for i in range(len(due_yuan)):
        result = rules.contract_result(
            revenue_yuan[i], subsidy_yuan[i], spend_yuan[i], overhead_share_yuan[i]
        )
        losing_months[i] = rules.losing_months_next(losing_months[i], result) * has_firm[i]
        if has_firm[i]:
            withdrawals += rules.withdraws(losing_months[i], reserves_yuan[firm[i]] < 0, p)
    exits = 0
    for f in range(n_firms):
        exits += firm_active[f] and rules.firm_exits(loss_months[f], idle_months[f], p)
    return withdrawals, exits


@_njit()
def committees(
    pr, volunteers, mean_satisfaction, draws, committee_capacity, committee_active, bad_months, calls
):
    """Committees form or lapse and count bad months (VectorModel.committees_step); marks re-tender calls."""
    p = pr[0]
    any_call = False
    for i in range(len(volunteers)):
        capacity = rules.committee_capacity(volunteers[i], p)
        committee_capacity[i] = capacity
        active = rules.committee_active_next(committee_active[i], capacity, draws[i], p)
        committee_active[i] = active
        bad = rules.bad_months_next(bad_months[i], mean_satisfaction[i], p) * active
        call = active and bad >= p.retender_months
        bad_months[i] = 0 if call else bad
        calls[i] = call
        any_call |= call
    return any_call


if numba is not None:
    _refresh_cache()


def vote_parameters(p: Params):
    """owners_vote's `pr`: the parameters' record array, or without numba `(p,)` (both read as pr[0])."""
    return params_record(p) if JIT else (p,)


@_njit()
def owners_vote(pr, floor_m2, draws, participation, support):  # pragma: no cover - compiled
    """An owners' vote (StreetOffice.hold_vote), counted by rules.tally_vote.

    Each owner takes part if their first draw is below `participation`, and says yes if they take
    part and their second draw is below `support`. `pr` is vote_parameters(p). Without numba it
    runs as Python, the same loop.
    """
    p = pr[0]
    n = len(floor_m2)
    takes_part = np.empty(n, dtype=np.bool_)
    votes_yes = np.empty(n, dtype=np.bool_)
    for i in range(n):
        takes_part[i] = draws[i, 0] < participation
        votes_yes[i] = takes_part[i] and draws[i, 1] < support
    return rules.tally_vote(floor_m2, takes_part, votes_yes, p)


def warm_cache() -> None:
    """Compile (or load) every build the engine uses, on a small district.

    Float32 and float64 households, the serial and the parallel household pass, and the tender's
    scan (policies.common, for both engines' firm columns); quick once numba's cache holds them.
    """
    if not JIT:
        return
    from sim.policies.common import _best_firm, _strip_index

    one, none = np.ones(1), np.zeros(0, dtype=np.int64)
    sites = np.zeros(1, dtype=np.int64)
    index = _strip_index(one, one)  # of one position
    for firm_column in (np.zeros(1, dtype=np.int32), sites):  # the vectorized and the Mesa engine's
        _best_firm(0.0, 0.0, 1.0, index, index, firm_column, np.ones(1, dtype=bool), sites, sites + 1, one,
                   one, 0.0, none, 1)
    owners_vote(params_record(Params()), one, np.zeros((1, 2)), 0.5, 0.5)
    if not AVAILABLE:
        return
    from concurrent.futures import ThreadPoolExecutor

    from sim.scenario import scenario_from_mapping
    from sim.vector_engine.model import VectorModel

    spec = {"name": "warm-up", "district": {"generate": {"estates": 4, "seed": 0}}, "years": 1,
            "params": {"burn_in_years": 0}}
    scenario = scenario_from_mapping(spec, "<warm-up>", None)
    for dtype in (np.float32, np.float64):
        VectorModel(scenario, dtype=dtype).step()
    model = VectorModel(scenario)
    with ThreadPoolExecutor(2) as model._threads:
        model.step()

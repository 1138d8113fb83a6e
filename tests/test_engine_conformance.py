"""Conformance of every engine to the area-state interface (sim.area_state.AreaState).

In the manner of scikit-learn's `check_estimator`: every test here runs on every engine of
sim.run.ENGINES (the `engine` fixture) and reaches the model only through the interface the
street office and the policies use, so a new engine that passes this module can run every policy.
It checks the interface's own properties (views, mutators, the merged area's place) and what merges,
fees and outputs must conserve on any district: hypothesis draws many small random districts
(the generator's `generate:` block with a random housing mix) with random policies and parameters.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.area_state import AreaState
from sim.districts import DEFAULT_MIX
from sim.outputs import TIMESERIES_COLUMNS
from sim.policies import REGISTRY
from sim.rules import ENTRUSTED, FALLBACK, FULL_SERVICE, SELF_MANAGED
from sim.run import make_model, run_scenario
from sim.scenario import Scenario, scenario_from_mapping
from sim.street_office import StreetOffice

FEW = settings(max_examples=40, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SHARES_IN_0_1 = ("service_quality", "fee_collection_rate", "satisfaction", "committee_coverage",
                 "volunteer_rate")
NOT_NEGATIVE = ("management_areas", "areas_lt100", "areas_lt200", "active_firms", "firm_exits",
                "incidents_per_1000hh", "fund_per_m2", "cost_per_household", "rc_workload",
                "merges_done", "merge_votes_failed")
CUMULATIVE = ("firm_exits", "merges_done", "merge_votes_failed")
AREA_SHARES_IN_0_1 = ("service_quality", "fee_collection_rate", "satisfaction")


# --- random scenarios ---------------------------------------------------------------------

housing_mixes = st.lists(st.sampled_from(sorted(DEFAULT_MIX)), min_size=1, max_size=4,
                         unique=True).flatmap(
    lambda types: st.fixed_dictionaries(
        {t: st.floats(0.1, 1.0, allow_nan=False) for t in types}))

districts = st.fixed_dictionaries({
    "estates": st.integers(2, 14),
    "seed": st.integers(0, 2**31),
    "estates_per_block": st.integers(2, 6),
    "size_scale": st.sampled_from([0.25, 0.5, 1.0]),
    "mix": housing_mixes,
})

parameters = st.fixed_dictionaries({}, optional={
    "fund_dispute_weight": st.sampled_from([0.0, 0.8, 3.0]),
    "merge_max_households": st.integers(80, 600),
    "merge_max_group": st.integers(2, 5),
    "merge_max_distance_m": st.sampled_from([150.0, 350.0, 2000.0]),
    "merge_fee_tolerance": st.sampled_from([0.4, 5.0]),
    "merge_quality_tolerance": st.sampled_from([0.3, 1.0]),
    "subsidy_after_sale_yuan_per_m2": st.sampled_from([0.0, 0.3]),
})


@st.composite
def scenarios(draw, *, merge: bool | None = None, years: int | None = None) -> Scenario:
    """A small random scenario: a generated district, random policies, parameters and seed."""
    policy = {block: {"enabled": draw(st.booleans())} for block in REGISTRY.names()}
    if merge is not None:
        policy["merge"]["enabled"] = merge
    return scenario_from_mapping({
        "name": "hypothesis",
        "district": {"generate": draw(districts)},
        "policy": policy,
        "years": years or draw(st.integers(1, 2)),
        "seed": draw(st.integers(0, 2**31)),
        # the properties hold after any burn-in: a short random one draws aged districts (firms in
        # loss, estates on the fallback) without sixteen years of the status quo per example
        "params": {**draw(parameters), "burn_in_years": draw(st.integers(0, 4))},
    }, "<hypothesis>", None)


NO_LAGS = {"merge_briefing_months": 0, "fund_merge_months": 0, "committee_reorganise_months": 0,
           "handover_months": 0}
"""Reform cases that complete in the month they open."""


# --- what the tests read, through the interface ----------------------------------------------

@dataclass(frozen=True)
class Totals:
    """District totals summed over management areas."""

    households: int
    owners: int
    floor_area_m2: float
    fund_yuan: float
    estates: tuple[int, ...]  # every estate index, as often as areas hold it


def totals(state: AreaState) -> Totals:
    """Households, owners, floor area, fund and estates over the areas the interface shows."""
    v = state.area_view()
    rows = range(len(v.area_id))
    return Totals(int(v.households.sum()), sum(len(state.owner_floor_areas(a)) for a in rows),
                  float(v.floor_area_m2.sum()), float(v.fund_yuan.sum()),
                  tuple(sorted(e for a in rows for e in state.estates_of(a))))


def merge(state: AreaState, groups: list[list[int]]) -> None:
    """Merge groups of rows, as the merger policy does, and end the round."""
    for group in groups:
        state.merge_areas(group)
    state.drop_merged_areas()


def month_money(state) -> tuple[float, float, float]:
    """Step one month: (fees households paid, firms' fee revenue plus the street office's fallback
    fee income, fees due)."""
    settling = state.firm_view().active.copy()
    state.step()
    v, f = state.area_view(), state.firm_view()
    # firms that entered this month (the yearly round, before the accounts) settle too
    settling = np.concatenate([settling, np.ones(len(f.active) - len(settling), dtype=bool)])
    fee_revenue = float(f.revenue_yuan[settling].sum()) - float(v.subsidy_yuan.sum())
    fee_income = fee_revenue + state.street_office.fallback_income_yuan
    return float(v.paid_yuan.sum()), fee_income, float(v.due_yuan.sum())


def same_totals(before: Totals, after: Totals) -> None:
    """Households, estates, floor area and maintenance fund are neither made nor lost."""
    assert after.households == before.households
    assert after.estates == before.estates
    assert after.floor_area_m2 == pytest.approx(before.floor_area_m2, rel=1e-12)
    assert after.fund_yuan == pytest.approx(before.fund_yuan, rel=1e-9, abs=1e-6)


# --- merges -------------------------------------------------------------------------------

@FEW
@given(scenario=scenarios(), months=st.integers(0, 14), data=st.data())
def test_merge_conserves_households_floor_area_and_fund(engine, scenario, months, data):
    model = make_model(scenario, engine)
    for _ in range(months):
        model.step()
    n = len(model.area_view().area_id)
    order = data.draw(st.permutations(range(n)))
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    groups, start = [], 0
    for size in sizes:
        if start >= n:
            break
        groups.append(list(order[start:start + size]))
        start += size
    groups = [g for g in groups if len(g) >= 2]
    before = totals(model)

    merge(model, groups)

    assert len(model.area_view().area_id) == n - sum(len(g) - 1 for g in groups)
    same_totals(before, totals(model))
    model.step()  # a merged district keeps running with everyone in it
    after_a_month = totals(model)
    assert (after_a_month.households, after_a_month.estates) == (before.households, before.estates)


@FEW
@given(scenario=scenarios(merge=True))
def test_policy_round_conserves_households_floor_area_and_fund(engine, scenario):
    # no repairs or top-ups: the fund moves only by merging in this month
    still_fund = {"repair_threshold": 0.0, "fund_topup_share": 0.0}
    model = make_model(scenario.with_overrides(params=NO_LAGS | still_fund), engine)
    n = len(model.area_view().area_id)
    before = totals(model)

    model.step()

    event(f"areas merged away: {n - len(model.area_view().area_id) > 0}")
    same_totals(before, totals(model))


def test_policy_round_does_merge_small_estates(engine):
    """The conservation test above is not vacuous: a round on small estates merges some."""
    scenario = scenario_from_mapping({
        "name": "merges", "years": 1, "seed": 1,
        "district": {"generate": {"estates": 12, "seed": 2, "size_scale": 0.4,
                                  "mix": {"after_sale_public": 1.0}}},
        "policy": {"merge": {"enabled": True}}, "params": {"fund_dispute_weight": 0.0},
    }, "<test>", None)
    model = make_model(scenario.with_overrides(params=NO_LAGS), engine)
    before = len(model.area_view().area_id)

    model.step()  # the yearly round, then the street office's month: cases open and, without lags, complete

    assert len(model.area_view().area_id) < before


# --- fees ---------------------------------------------------------------------------------

@FEW
@given(scenario=scenarios(years=1))
def test_fees_households_pay_are_the_firms_fee_revenue_every_month(engine, scenario):
    model = make_model(scenario, engine)
    for _ in range(14):  # past the second policy round
        paid, fee_revenue, due = month_money(model)
        assert fee_revenue == pytest.approx(paid, rel=1e-9, abs=1e-6)
        assert 0.0 <= paid <= due + 1e-6


# --- outputs ------------------------------------------------------------------------------

@FEW
@given(scenario=scenarios())
def test_outputs_stay_in_bounds_and_account_for_every_household(engine, scenario):
    result = run_scenario(scenario, engine)
    ts, areas = result.timeseries, result.areas
    district = scenario.load_district()

    assert list(ts.columns) == list(TIMESERIES_COLUMNS)
    assert not ts.drop(columns="run_id").isna().any().any()
    assert list(ts["month"]) == list(range(1, 12 * scenario.years + 1))
    assert list(ts["year"]) == [(m - 1) // 12 + 1 for m in ts["month"]]
    for column in SHARES_IN_0_1:
        assert ts[column].between(0.0, 1.0).all(), column
    for column in NOT_NEGATIVE:
        assert (ts[column] >= 0).all(), column
    for column in CUMULATIVE:
        assert (np.diff(ts[column]) >= 0).all(), column
    assert (ts["areas_lt100"] <= ts["areas_lt200"]).all()
    assert (ts["areas_lt200"] <= ts["management_areas"]).all()
    assert (ts["management_areas"] <= len(district)).all()
    assert ts["management_areas"].iloc[-1] == len(areas)

    for column in AREA_SHARES_IN_0_1:
        assert areas[column].between(0.0, 1.0).all(), column
    assert (areas["households"] > 0).all() and (areas["estates"] >= 1).all()
    assert (areas["fund_per_m2"] >= 0).all()
    assert areas["area_id"].is_unique
    assert areas["households"].sum() == district.households == result.meta["households"]
    assert areas["estates"].sum() == len(district)
    assert areas["floor_area_m2"].sum() == pytest.approx(district.estates["floor_area_m2"].sum())


# --- the interface's own properties ------------------------------------------------------

SMALL = {"name": "conformance", "years": 2, "seed": 5,
         "district": {"generate": {"estates": 16, "seed": 4, "estates_per_block": 8, "size_scale": 0.5}}}


@pytest.fixture
def state(engine) -> AreaState:
    model = make_model(scenario_from_mapping(SMALL, "<test>", None), engine)
    model.step()
    return model


def test_engine_implements_the_area_state_interface(state):
    assert isinstance(state, AreaState)


def test_views_have_one_entry_per_area_and_per_firm(state):
    v, f = state.area_view(), state.firm_view()
    n = len(v.area_id)
    for name, values in vars(v).items():
        assert len(values) == n, name
    for name, values in vars(f).items():
        assert len(values) == len(f.active), name
    assert len(set(v.area_id)) == n
    assert ((v.firm >= -1) & (v.firm < len(f.active))).all()
    assert np.array_equal(np.bincount(v.firm[v.firm >= 0], minlength=len(f.active)), f.sites)


def test_assign_firm_moves_the_contract(state):
    v, f = state.area_view(), state.firm_view()
    area = int(np.flatnonzero(v.firm >= 0)[0])
    old = int(v.firm[area])
    new = int(np.flatnonzero(f.active & (np.arange(len(f.active)) != old))[0])
    sites = f.sites.copy()

    state.assign_firm(area, new, ENTRUSTED)

    v, f = state.area_view(), state.firm_view()
    assert (int(v.firm[area]), int(v.mode[area])) == (new, ENTRUSTED)
    assert f.sites[old] == sites[old] - 1 and f.sites[new] == sites[new] + 1


def test_merged_area_takes_its_first_members_place(state):
    v = state.area_view()
    ids = list(v.area_id)
    group = [5, 2, 9]

    merge(state, [group])

    v = state.area_view()
    assert v.area_id[2] == "+".join(ids[i] for i in group)
    assert [x for x in v.area_id if "+" not in x] == [x for i, x in enumerate(ids) if i not in group]
    assert state.estates_of(2) == [e for i in group for e in [i]]  # one estate per area at the start
    assert v.firm[2] == -1  # a merged area tenders for its firm


def test_flags_and_reputation_are_set(state):
    state.set_area_flags([0, 3], block_integrated=True)
    state.set_area_flags(np.arange(len(state.area_view().area_id)) == 1, organising=True)
    state.set_reputation(0, 0.123)
    state.set_fee(2, 1.234)
    v = state.area_view()
    assert v.block_integrated[[0, 3]].all() and not v.block_integrated[1]
    assert v.organising[1] and not v.organising[0]
    assert v.fee_yuan_per_m2[2] == pytest.approx(1.234)
    assert state.firm_view().reputation[0] == pytest.approx(0.123)


def test_owners_vote_in_member_order_from_the_run_generator(engine):
    """Two models with one seed hold the same vote with the same result; a different support differs."""
    first = make_model(scenario_from_mapping(SMALL, "<test>", None), engine)
    second = make_model(scenario_from_mapping(SMALL, "<test>", None), engine)
    results = [StreetOffice(m).hold_vote(0, 0.6, briefed=True) for m in (first, second)]
    assert results[0] == results[1]
    assert len(first.owner_floor_areas(0)) > 0
    assert (first.owner_floor_areas(0) > 0).all()
    assert StreetOffice(first).hold_vote(0, 0.0, briefed=True) == (False, 0.0)


def test_a_firm_leaving_leaves_its_areas_to_another_firm_or_the_fallback(state):
    office = StreetOffice(state)
    v = state.area_view()
    firm = int(v.firm[v.firm >= 0][0])
    areas = np.flatnonzero(v.firm == firm)

    office.firm_leaves(firm, "test")

    v, f = state.area_view(), state.firm_view()
    assert not f.active[firm]
    for area in areas:
        served = v.firm[area] >= 0
        assert (served and f.active[v.firm[area]] and v.mode[area] == FULL_SERVICE) or (
            not served and v.mode[area] in (SELF_MANAGED, FALLBACK))
    assert any(e.kind == "firm_exit" and e.firm_id == firm for e in state.event_log)


def test_run_tables_name_every_estate_firm_and_reform(engine):
    every_policy = {name: {"enabled": True} for name in REGISTRY.names()}
    scenario = scenario_from_mapping(dict(SMALL, policy=every_policy), "<test>", None)
    model = make_model(scenario, engine)
    for _ in range(13):
        model.step()
    estates, firms, events = model.estates_table(), model.firms_table(), model.events_table()
    assert len(estates) == len(scenario.load_district()) and estates["estate_id"].is_unique
    reformed = estates[estates["how"] != "none"]
    assert reformed["joined_month"].between(1, 13).all()
    kinds = {"merged": "merge", "management_merged": "management_merge", "entrusted": "entrust",
             "self_governed": "self_governance"}
    for how, rows in reformed.groupby("how"):
        logged = events[events["kind"] == kinds[how]]
        assert set(rows["area_id"]) <= set(model.area_view().area_id)
        assert len(logged) >= rows["area_id"].nunique() or how in ("merged", "management_merged")
    assert len(firms) == len(model.firm_view().active)
    assert (firms["exited_month"] >= 1).sum() == model.street_office.firm_exits
    assert firms["contracts"].sum() == (model.area_view().firm >= 0).sum()

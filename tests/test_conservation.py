"""Accounting and bounds that hold on any district: what merges, fees and outputs must conserve.

Hypothesis draws many small random districts (the generator's `generate:` block with a random
housing mix) with random policies and parameters. Tests that look inside a model reach it through
an engine's probe (PROBES), so a second engine joins by adding its probe and its name to ENGINES.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.districts import DEFAULT_MIX
from sim.outputs import TIMESERIES_COLUMNS
from sim.run import make_model, run_scenario
from sim.scenario import POLICIES, Scenario, scenario_from_mapping

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
    policy = {block: {"enabled": draw(st.booleans())} for block in POLICIES}
    if merge is not None:
        policy["merge"]["enabled"] = merge
    return scenario_from_mapping({
        "name": "hypothesis",
        "district": {"generate": draw(districts)},
        "policy": policy,
        "years": years or draw(st.integers(1, 2)),
        "seed": draw(st.integers(0, 2**31)),
        "params": draw(parameters),
    }, "<hypothesis>", None)


# --- what the tests read from (and do to) each engine's model -----------------------------

@dataclass(frozen=True)
class Totals:
    """District totals summed over management areas."""

    households: int
    floor_area_m2: float
    fund_yuan: float
    estates: tuple[int, ...]  # every estate index, as often as areas hold it


class MesaProbe:
    """Reads and drives the Mesa engine's EstateGovernanceModel."""

    @staticmethod
    def totals(model) -> Totals:
        members = [h for a in model.areas for h in a.members]
        assert all(h.area is a for a in model.areas for h in a.members)
        assert len({id(h) for h in members}) == len(members) == model.n_households
        return Totals(len(members), sum(a.floor_area_m2 for a in model.areas),
                      sum(a.fund_yuan for a in model.areas),
                      tuple(sorted(e for a in model.areas for e in a.estates)))

    @staticmethod
    def n_areas(model) -> int:
        return len(model.areas)

    @staticmethod
    def merge(model, groups: list[list[int]]) -> None:
        areas = [[model.areas[i] for i in group] for group in groups]
        for members in areas:
            model.merge_areas(members)

    @staticmethod
    def policy_round(model) -> None:
        model.street_office.run_policies()

    @staticmethod
    def month_money(model) -> tuple[float, float, float]:
        """Step one month: (fees households paid, firms' fee revenue, fees due)."""
        settling = [f for f in model.firms if f.active]
        model.step()
        for area in model.areas:
            owed = area.fee_due * sum(h.floor_area_m2 for h in area.members)
            assert area.due_yuan == pytest.approx(owed, rel=1e-9, abs=1e-6)
        paid = sum(a.paid_yuan for a in model.areas)
        subsidies = sum(a.subsidy_yuan for a in model.areas)
        fee_revenue = sum(f.revenue_yuan for f in settling) - subsidies
        return paid, fee_revenue, sum(a.due_yuan for a in model.areas)


class VectorProbe:
    """Reads and drives the vectorized engine's VectorModel (areas and firms as arrays)."""

    @staticmethod
    def totals(model) -> Totals:
        a = model.areas
        assert np.array_equal(np.bincount(model.household_area(), minlength=len(a)), a.households)
        return Totals(int(a.households.sum()), float(a.floor_area_m2.sum()), float(a.fund_yuan.sum()),
                      tuple(sorted(e for estates in a.estates for e in estates)))

    @staticmethod
    def n_areas(model) -> int:
        return len(model.areas)

    @staticmethod
    def merge(model, groups: list[list[int]]) -> None:
        model.street_office.apply_merges(groups)

    @staticmethod
    def policy_round(model) -> None:
        model.street_office.run_policies()

    @staticmethod
    def month_money(model) -> tuple[float, float, float]:
        """Step one month: (fees households paid, firms' fee revenue, fees due)."""
        settling = model.firms.active.copy()
        model.step()
        a = model.areas
        owed = a.fee_due * model.sum_by_area(model.households.floor_m2, np.float64)
        np.testing.assert_allclose(a.due_yuan, owed, rtol=1e-5, atol=1e-3)
        fee_revenue = float(model.firms.revenue_yuan[settling].sum()) - float(a.subsidy_yuan.sum())
        return float(a.paid_yuan.sum()), fee_revenue, float(a.due_yuan.sum())


PROBES = {"mesa": MesaProbe, "vector": VectorProbe}


@pytest.fixture(scope="module")
def probe(engine):
    """The probe of the engine under test; a new engine in ENGINES needs one in PROBES."""
    if engine not in PROBES:
        pytest.fail(f"tests/test_conservation.py has no probe for the {engine!r} engine")
    return PROBES[engine]


def same_totals(before: Totals, after: Totals) -> None:
    """Households, estates, floor area and maintenance fund are neither made nor lost."""
    assert after.households == before.households
    assert after.estates == before.estates
    assert after.floor_area_m2 == pytest.approx(before.floor_area_m2, rel=1e-12)
    assert after.fund_yuan == pytest.approx(before.fund_yuan, rel=1e-9, abs=1e-6)


# --- merges -------------------------------------------------------------------------------

@FEW
@given(scenario=scenarios(), months=st.integers(0, 14), data=st.data())
def test_merge_conserves_households_floor_area_and_fund(engine, probe, scenario, months, data):
    model = make_model(scenario, engine)
    for _ in range(months):
        model.step()
    n = probe.n_areas(model)
    order = data.draw(st.permutations(range(n)))
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    groups, start = [], 0
    for size in sizes:
        if start >= n:
            break
        groups.append(list(order[start:start + size]))
        start += size
    groups = [g for g in groups if len(g) >= 2]
    before = probe.totals(model)

    probe.merge(model, groups)

    assert probe.n_areas(model) == n - sum(len(g) - 1 for g in groups)
    same_totals(before, probe.totals(model))
    model.step()  # a merged district keeps running with everyone in it
    after_a_month = probe.totals(model)
    assert (after_a_month.households, after_a_month.estates) == (before.households, before.estates)


@FEW
@given(scenario=scenarios(merge=True))
def test_policy_round_conserves_households_floor_area_and_fund(engine, probe, scenario):
    model = make_model(scenario, engine)
    n = probe.n_areas(model)
    before = probe.totals(model)

    probe.policy_round(model)

    event(f"areas merged away: {n - probe.n_areas(model) > 0}")
    same_totals(before, probe.totals(model))


def test_policy_round_does_merge_small_estates(engine, probe):
    """The conservation test above is not vacuous: a round on small estates merges some."""
    scenario = scenario_from_mapping({
        "name": "merges", "years": 1, "seed": 1,
        "district": {"generate": {"estates": 12, "seed": 2, "size_scale": 0.4,
                                  "mix": {"after_sale_public": 1.0}}},
        "policy": {"merge": {"enabled": True}}, "params": {"fund_dispute_weight": 0.0},
    }, "<test>", None)
    model = make_model(scenario, engine)
    before = probe.n_areas(model)

    probe.policy_round(model)

    assert probe.n_areas(model) < before


# --- fees ---------------------------------------------------------------------------------

@FEW
@given(scenario=scenarios(years=1))
def test_fees_households_pay_are_the_firms_fee_revenue_every_month(engine, probe, scenario):
    model = make_model(scenario, engine)
    for _ in range(14):  # past the second policy round
        paid, fee_revenue, due = probe.month_money(model)
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

"""A living property-management market and a baseline at rest.

Tenders are won where the money covers the cost, owners vote fee revisions by the Civil Code's
rules, firms enter as well as leave, the street office's fallback service (托底) catches areas no
firm will take, and status quo starts at its own equilibrium (the burn-in).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import rules
from sim.params import Params
from sim.run import make_model, run_scenario
from sim.scenario import load_scenario, scenario_from_mapping
from sim.street_office import StreetOffice

ROOT = Path(__file__).resolve().parent.parent
P = Params({})
STATUS_QUO_SEEDS = range(10)


@pytest.fixture(scope="module")
def status_quo_runs():
    runs = []
    for seed in STATUS_QUO_SEEDS:
        scenario = load_scenario(ROOT / "scenarios" / "status_quo.yaml").with_overrides(seed=500 + seed)
        runs.append(run_scenario(scenario, "vector").timeseries)
    return runs


@pytest.mark.slow
def test_status_quo_is_at_rest(status_quo_runs):
    """Medians over seeds: satisfaction and quality hold still over ten years; few areas go unmanaged."""
    by_year = [ts.groupby("year")[["satisfaction", "service_quality"]].mean() for ts in status_quo_runs]
    satisfaction = np.median([y["satisfaction"][10] - y["satisfaction"][1] for y in by_year])
    quality = np.median([y["service_quality"][10] - y["service_quality"][1] for y in by_year])
    unmanaged = np.median([ts[ts["year"] == 10]["unmanaged_areas"].mean() / ts["management_areas"].iloc[-1]
                           for ts in status_quo_runs])
    print(f"satisfaction {satisfaction:+.4f}, quality {quality:+.4f}, unmanaged share {unmanaged:.3f}")
    assert abs(satisfaction) <= 0.03
    assert abs(quality) <= 0.03
    assert unmanaged <= 0.05


@pytest.mark.slow
def test_status_quo_market_awards_tenders_and_firms_enter(status_quo_runs):
    held = sum(int(ts["tenders_held"].iloc[-1]) for ts in status_quo_runs)
    awarded = sum(int(ts["tenders_awarded"].iloc[-1]) for ts in status_quo_runs)
    entries = sum(int(ts["firm_entries"].iloc[-1]) for ts in status_quo_runs)
    print(f"tenders {awarded}/{held}, entries {entries}")
    assert held > 0 and awarded / held >= 0.2
    assert entries > 0


@pytest.mark.slow
def test_status_quo_firms_earn_margins_within_the_industrys_range(status_quo_runs):
    """Top-100 firms' net margin ~5% (2024), listed firms' ~7% (2025 H1): a few percent."""
    margins = [ts[ts["year"] == 10]["firm_margin"].mean() for ts in status_quo_runs]
    print("final-year margins:", np.round(margins, 3))
    assert 0.0 < np.median(margins) <= 0.10


def _small_model(engine: str = "vector", **params):
    spec = {"name": "market", "years": 1, "seed": 2, "params": {"burn_in_years": 0, **params},
            "district": {"generate": {"estates": 12, "seed": 5, "size_scale": 0.3,
                                      "mix": {"commodity": 1.0}}}}
    return make_model(scenario_from_mapping(spec, "<test>", None), engine)


@pytest.mark.parametrize("engine", ["mesa", "vector"])
def test_a_contract_that_covers_its_cost_draws_a_bid_and_one_that_cannot_draws_none(engine):
    model = _small_model(engine)
    office = StreetOffice(model)
    area = 0
    model.set_fee(area, 50.0)
    assert office.covered(area, rules.FULL_SERVICE)
    assert office.procure(area, rules.FULL_SERVICE, fee_vote=False) >= 0
    model.set_fee(area, 0.001)
    assert not office.covered(area, rules.FULL_SERVICE)
    assert office.procure(area, rules.FULL_SERVICE, fee_vote=False) == -1
    assert model.event_log[-1].kind == "no_bid" and "cannot pay" in model.event_log[-1].text


def test_the_bid_rule_is_the_effort_rule_breaking_even():
    needed = 30_000.0
    just = P.min_effort * needed / (1.0 - P.target_margin)
    assert rules.covers_cost(just * 1.001, needed, P)
    assert not rules.covers_cost(just * 0.999, needed, P)


OWNERS = np.array([200.0, 50.0, 50.0, 50.0, 50.0, 100.0])  # m2 each; 500 m2 in all
EVERYONE = np.ones(6, dtype=bool)


def _owners(*which: int) -> np.ndarray:
    chosen = np.zeros(6, dtype=bool)
    chosen[list(which)] = True
    return chosen


def test_a_fee_vote_without_quorum_fails():
    # 3 of 6 owners holding 300 of 500 m2 take part: below two thirds by headcount and by area
    assert rules.tally_vote(OWNERS, _owners(0, 1, 2), _owners(0, 1, 2), P) == (False, 1.0)


def test_a_fee_vote_without_a_majority_of_owners_fails():
    # 3 of 6 owners say yes (not more than half) though they hold 350 of 500 m2
    assert rules.tally_vote(OWNERS, EVERYONE, _owners(0, 1, 5), P) == (False, 0.5)


def test_a_fee_vote_without_a_majority_of_the_area_fails():
    # 4 of 6 owners say yes but hold only 200 of 500 m2 (not more than half the area)
    passed, share = rules.tally_vote(OWNERS, EVERYONE, _owners(1, 2, 3, 4), P)
    assert passed is False and share == pytest.approx(4 / 6)


def test_a_fee_vote_with_quorum_and_both_majorities_passes():
    # 5 of 6 owners (400 of 500 m2) take part; 3 of them, holding 300 m2, say yes
    assert rules.tally_vote(OWNERS, _owners(0, 1, 2, 3, 4), _owners(0, 1, 2), P) == (True, 0.6)


def test_a_fee_rise_costs_support_and_the_guided_cap_binds_every_housing_type():
    assert rules.fee_change_support(0.5, 1.0, 1.5, P) < rules.fee_change_support(0.5, 1.0, 1.1, P)
    assert rules.fee_change_support(0.5, 1.0, 0.8, P) > rules.fee_change_support(0.5, 1.0, 1.0, P)
    codes = {name: code for code, name in enumerate(rules.HOUSING_NAMES)}
    assert rules.fee_cap(codes["after_sale_public"], P) == P.after_sale_fee_cap_yuan_per_m2
    for name, code in codes.items():
        assert P[f"fee_{name}"] <= rules.fee_cap(code, P) < np.inf, name
    assert rules.fee_cap(codes["staff_housing"], P) == P.fee_cap_multiple * P.fee_staff_housing


@pytest.mark.parametrize("engine", ["mesa", "vector"])
def test_a_fee_proposal_stays_within_the_guided_price(engine):
    """A break-even fee far above the guided band is put to the owners at the cap, never above it."""
    model = _small_model(engine)
    office = StreetOffice(model)
    v = model.area_view()
    area = int(np.flatnonzero(v.housing_type != list(rules.HOUSING_NAMES).index("after_sale_public"))[0])
    cap = rules.fee_cap(int(v.housing_type[area]), model.p)
    model.set_fee(area, 0.1 * cap)
    office.fee_vote(area, rules.FULL_SERVICE, new_fee=10 * cap)
    voted = [e for e in model.event_log if e.kind == "fee_vote"]
    assert voted and "fee_capped" in [e.kind for e in model.event_log]
    assert model.area_view().fee_yuan_per_m2[area] <= cap + 1e-12
    assert str(round(cap, 2)) in voted[-1].text


@pytest.mark.parametrize("engine", ["mesa", "vector"])
def test_an_area_no_firm_will_take_gets_the_street_offices_fallback(engine):
    model = _small_model(engine)
    office = StreetOffice(model)
    v = model.area_view()
    area = int(np.flatnonzero((v.firm >= 0) & ~v.committee_active)[0])  # no committee to self-manage
    firm = int(v.firm[area])
    model.set_fee(area, 0.001)

    office.replace_manager(area, exclude=(firm,))

    assert model.area_view().mode[area] == rules.FALLBACK
    assert model.event_log[-1].kind == "fallback"
    model.step()
    v = model.area_view()
    assert v.quality[area] > 0 and v.due_yuan[area] > 0  # basic service, and owners owe the office


@pytest.mark.parametrize("compiled_loop", [True, False], ids=["compiled", "python"])
def test_the_compiled_vote_counts_as_the_rule_does(compiled_loop):
    """StreetOffice.hold_vote's loop (owners_vote), compiled and as the plain Python it is without
    numba, gives the rule's count and the Civil Code's outcome computed independently from numpy
    sums, over many random votes around the thresholds."""
    from sim.vector_engine import compiled

    if compiled.numba is None and compiled_loop:
        pytest.skip("numba is not installed")
    record = compiled.vote_parameters(P) if compiled_loop else (P,)
    owners_vote = compiled.owners_vote if compiled_loop else getattr(compiled.owners_vote, "py_func",
                                                                      compiled.owners_vote)
    rng = np.random.default_rng(7)
    outcomes = set()
    for _ in range(300):
        n = int(rng.integers(1, 60))
        floor = rng.uniform(30.0, 150.0, n)
        draws = rng.random((n, 2))
        participation, support = rng.uniform(0.5, 1.0), rng.uniform(0.3, 0.8)
        takes_part = draws[:, 0] < participation
        yes = takes_part & (draws[:, 1] < support)
        got = owners_vote(record, floor, draws, participation, support)
        assert (bool(got[0]), float(got[1])) == rules.tally_vote(floor, takes_part, yes, P)
        quorum = (floor[takes_part].sum() >= P.quorum_area_share * floor.sum()
                  and takes_part.sum() >= P.quorum_owner_share * n)
        approved = (floor[yes].sum() > P.approval_area_share * floor[takes_part].sum()
                    and yes.sum() > P.approval_owner_share * takes_part.sum())
        assert bool(got[0]) == (quorum and approved)
        outcomes.add(bool(got[0]))
    assert outcomes == {True, False}

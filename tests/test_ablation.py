"""The mechanism ablation (sim/ablation.py): each switch is a real parameter and really switches off."""

from pathlib import Path

import numpy as np
import pytest

from sim import rules
from sim.ablation import ABLATION_INDEX, ABLATIONS, FULL_MODEL, NEVER_MONTHS, ablation_frame, section_lines
from sim.params import PARAMETER_INDEX, Params, coerce_parameter
from sim.run import make_model, run_scenario
from sim.scenario import load_scenario
from sim.validation import VARIANTS

ROOT = Path(__file__).resolve().parent.parent
FULL = Params()


def off(name: str) -> Params:
    """The parameters with one mechanism switched off."""
    return Params(ABLATION_INDEX[name].overrides)


def run(scenario: str, params: dict, *, engine: str = "vector", years: int = 3, seed: int = 1):
    s = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml").with_overrides(
        seed=seed, years=years, params=params)
    return run_scenario(s, engine)


# --- the table ------------------------------------------------------------------------------

@pytest.mark.parametrize("ablation", ABLATIONS, ids=[a.name for a in ABLATIONS])
def test_overrides_name_parameters_inside_their_ranges_and_change_them(ablation):
    assert ablation.off.strip() and ablation.overrides
    for name, value in ablation.overrides.items():
        assert name in PARAMETER_INDEX
        assert coerce_parameter(name, value) == value  # known, typed, inside the range
        assert value != PARAMETER_INDEX[name].default


def test_every_mechanism_of_the_issue_is_in_the_table():
    assert [a.name for a in ABLATIONS] == [
        "fund dispute", "conditional cooperation", "volunteer fatigue", "firm withdrawal",
        "fallback service", "market entry", "fee votes", "reception capacity", "reception point",
        "reform pipeline"]


# --- each switch at the rules' level -----------------------------------------------------------

def test_fund_dispute_off_removes_the_fund_term():
    loser = (0.5, 100.0, 40.0, True)  # satisfaction, own fund per m2, pooled fund per m2, briefed
    no_loss = (0.5, 40.0, 40.0, True)
    assert rules.merge_support(*loser, FULL) < rules.merge_support(*no_loss, FULL)
    p = off("fund dispute")
    assert rules.merge_support(*loser, p) == rules.merge_support(*no_loss, p)


def test_conditional_cooperation_off_ignores_neighbours_in_paying_and_volunteering():
    types = np.array([rules.CONDITIONAL, rules.FREE_RIDER, rules.UNCONDITIONAL])
    assert rules.cooperation_terms(types, FULL)[1][0] > 0
    p = off("conditional cooperation")
    shifts, slopes, enforced = rules.cooperation_terms(types, p)
    assert np.all(slopes == 0)
    np.testing.assert_array_equal(shifts, rules.cooperation_terms(types, FULL)[0])
    np.testing.assert_array_equal(enforced, rules.cooperation_terms(types, FULL)[2])
    assert rules.volunteer_join_probability(0.6, False, 0.2, FULL) > rules.volunteer_join_probability(
        0.6, False, 0.0, FULL)
    assert rules.volunteer_join_probability(0.6, False, 0.2, p) == rules.volunteer_join_probability(
        0.6, False, 0.0, p) > 0


def test_volunteer_fatigue_off_leaves_the_base_rate_only():
    p = off("volunteer fatigue")
    assert rules.volunteer_quit_probability(0.6, 2.0, FULL) > FULL.volunteer_fatigue
    assert rules.volunteer_quit_probability(0.6, 2.0, p) == p.volunteer_fatigue > 0


def test_fallback_service_off_leaves_an_area_without_committee_unmanaged():
    assert rules.fallback_mode(False, FULL) == rules.FALLBACK
    assert rules.fallback_mode(False, off("fallback service")) == rules.UNMANAGED
    assert rules.fallback_mode(True, off("fallback service")) == rules.SELF_MANAGED
    np.testing.assert_array_equal(rules.fallback_mode(np.array([True, False]), off("fallback service")),
                                  [rules.SELF_MANAGED, rules.UNMANAGED])


def test_firm_withdrawal_off_never_triggers_within_the_validation_runs():
    p = off("firm withdrawal")
    for scenario, _ in VARIANTS.values():
        s = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml")
        months = 12 * (s.years + Params(s.params).burn_in_years)
        assert months < NEVER_MONTHS
        assert not rules.withdraws(months, True, p)
    assert rules.withdraws(FULL.firm_withdraw_months, True, FULL)


def test_reception_capacity_off_hears_every_case_the_district_can_bring():
    """A household has at most one open case: a point that can hear as many cases as the district has
    households never turns one away; the default point can hear far fewer."""
    s = load_scenario(ROOT / "scenarios" / "integrated.yaml")
    most = make_model(s, "vector").n_households
    assert rules.desk_cases(FULL.reception_staff_hours_per_month, FULL) < most
    unlimited = off("reception capacity")
    assert rules.desk_cases(unlimited.reception_staff_hours_per_month, unlimited) >= most


# --- each switch in runs -----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["mesa", "vector"])
def status_quo_runs(request):
    """Status quo for two years (after the burn-in), as is and with the new switches and withdrawal off.

    Withdrawals are rare (0-4 in two years, by seed): seed 3 has some, which each test checks first.
    """
    switched = {**ABLATION_INDEX["fallback service"].overrides, **ABLATION_INDEX["fee votes"].overrides,
                **ABLATION_INDEX["firm withdrawal"].overrides}
    return (run("status_quo", {}, engine=request.param, years=2, seed=3),
            run("status_quo", switched, engine=request.param, years=2, seed=3))


def test_fallback_service_off_in_both_engines(status_quo_runs):
    full, ablated = status_quo_runs
    assert full.timeseries["fallback_areas"].max() > 0
    assert ablated.timeseries["fallback_areas"].max() == 0
    assert ablated.timeseries["unmanaged_areas"].max() > 0
    assert "fallback" not in set(ablated.events["kind"])


def test_fee_votes_off_in_both_engines(status_quo_runs):
    full, ablated = status_quo_runs
    assert full.timeseries["fee_votes_held"].iloc[-1] > 0
    assert ablated.timeseries["fee_votes_held"].iloc[-1] == 0
    assert "fee_vote" not in set(ablated.events["kind"])
    assert ablated.timeseries["mean_fee_yuan_per_m2"].nunique() == 1


def test_firm_withdrawal_off_in_both_engines(status_quo_runs):
    full, ablated = status_quo_runs
    assert "withdrawal" in set(full.events["kind"])
    assert "withdrawal" not in set(ablated.events["kind"])


def test_market_entry_off_no_firm_enters():
    full = run("status_quo", {}, years=5)
    ablated = run("status_quo", off("market entry").overridden(), years=5)
    start = full.firms["entered_month"].min()
    assert (full.firms["entered_month"] > start).any()
    assert (ablated.firms["entered_month"] == start).all()
    assert ablated.timeseries["firm_entries"].iloc[-1] == 0
    assert "firm_entry" not in set(ablated.events["kind"])


def test_reform_pipeline_off_closes_cases_in_the_month_they_open():
    full = run("integrated", {}, years=5)
    ablated = run("integrated", off("reform pipeline").overridden(), years=5)
    assert full.timeseries["reform_cases_open"].max() > 0
    assert ablated.timeseries["reform_cases_open"].max() == 0
    assert ablated.timeseries["merges_done"].iloc[-1] > 0
    first = {name: r.events.loc[r.events["kind"] == "merge", "month"].min()
             for name, r in (("full", full), ("off", ablated))}
    assert first["off"] < first["full"]


def test_fund_dispute_off_fewer_failed_merge_votes():
    failed = {name: sum(run("n_in_1", params, seed=seed).timeseries["merge_votes_failed"].iloc[-1]
                        for seed in (1, 2))
              for name, params in (("full", {}), ("off", off("fund dispute").overridden()))}
    assert failed["off"] < failed["full"]


# --- the frame and the section ---------------------------------------------------------------

@pytest.mark.slow
def test_section_has_one_row_per_mechanism_on_a_tiny_run():
    """The frame and the section's shape on one seed: the whole validation set for the full model and
    each mechanism off (42 distinct runs of the vectorized engine, 14 years each).

    One seed shows what two did: a pattern needs more seeds than two to pass its sign test
    (sim.validation.pattern_passes), so no pattern passes or flips on either; the rows, columns,
    the full model's zero change and the fund-dispute row come from every seed alike.
    """
    seeds = [1]
    frame = ablation_frame(seeds, "vector", workers=2)
    full = frame[frame["mechanism"] == FULL_MODEL]
    assert (full["change"] == 0).all() and not full["carried"].any()
    fund = frame[(frame["mechanism"] == "fund dispute") & (frame["measure"] == "fund gaps block some merges")]
    assert fund["median"].iloc[0] == 0 and not fund["passes"].iloc[0]  # integrated is then its own control
    lines = section_lines(frame, seeds, "vector")
    assert lines[0] == "## Mechanism ablation"
    rows = [line for line in lines if line.startswith("| ") and not line.startswith(("| mechanism", "| ---"))]
    assert [row.split(" | ")[0][2:] for row in rows] == [FULL_MODEL] + [a.name for a in ABLATIONS]
    header = next(line for line in lines if line.startswith("| mechanism"))
    assert all(row.count(" | ") == header.count(" | ") for row in rows)
    for a in ABLATIONS:
        assert sum(line.startswith(f"- **{a.name}** carries") for line in lines) == 1

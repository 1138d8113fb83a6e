"""Being heard, case by case: a household brings a case, a desk with staff-hours hears it, and the
household is moved by what happened to its own case (docs/ODD.md, 7.3 and 7.11)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import rules
from sim.params import Params
from sim.run import make_model, run_scenario
from sim.scenario import load_scenario, scenario_from_mapping
from sim.validation import SCENARIOS
from sim.vector_engine.model import VectorModel

P = Params()
SMALL = {"generate": {"estates": 24, "seed": 5, "estates_per_block": 8}}


def _scenario(policy: dict, params: dict | None = None, district: dict | None = None, years: int = 2,
              seed: int = 3):
    return scenario_from_mapping({"name": "cases", "district": district or SMALL, "policy": policy,
                                  "years": years, "seed": seed, "params": params or {}}, "<cases>", None)


POINT_ONLY = {"block_integration": {"enabled": True, "subsidy_yuan_per_household": 0.0}}


def test_hear_in_turn_hears_each_desks_first_cases_within_its_capacity():
    desk = np.array([0, 1, 0, 0, -1, 1, 0])
    order = np.array([6, 5, 4, 3, 2, 1, 0])
    heard = rules.hear_in_turn(desk, np.array([2, 5]), order)
    # desk 0 takes its first two cases in turn (rows 6 and 3), desk 1 both of its cases
    assert heard.tolist() == [False, True, False, True, False, True, True]
    assert not rules.hear_in_turn(desk, np.array([0, 0]), order).any()


def test_a_household_that_brought_no_case_feels_heard_as_under_the_status_quo():
    """Locality: with a reception point and no other reform, every household with no case in memory
    and none open feels `voice_no_case`, in both paired runs, and its satisfaction moves only with its
    area's perceived quality, condition and safety: checked household by household, month by month."""
    runs = {name: VectorModel(_scenario(policy), dtype=np.float64)
            for name, policy in (("status_quo", {}), ("point", POINT_ONLY))}
    checked = 0
    for _ in range(18):
        before = {}
        for name, model in runs.items():
            hh = model.households
            quiet = (hh.voice_months == 0) & (hh.case_age < 0)  # nothing in memory, nothing open
            before[name] = (quiet, hh.satisfaction.copy())
            model.step()
        both = before["status_quo"][0] & before["point"][0]
        assert both.sum() > 0.5 * len(both)
        for name, model in runs.items():
            quiet, satisfaction = before[name]
            hh = model.households
            area = model.household_area()
            heard = rules.heard_part(P.voice_no_case, P)  # what the status quo's quiet households feel
            perceived = model.areas.perceived[area[quiet]] + heard
            expected = rules.update_satisfaction(satisfaction[quiet], perceived, hh.taste[quiet], P)
            np.testing.assert_allclose(hh.satisfaction[quiet], expected, rtol=0, atol=1e-12)
            checked += int(quiet.sum())
    point = runs["point"].records
    assert sum(r.reception_cases_handled for r in point) > 0  # the point did hear cases meanwhile
    assert checked > 0


def test_desks_never_spend_more_staff_hours_than_they_have():
    """Conservation, with many cases so that desks fill up: at every desk, every month, heard cases x
    hours_per_case <= its staff-hours; some desk is full at least once."""
    model = make_model(_scenario({"block_integration": {"enabled": True}}, {"case_rate": 0.2}), "vector")
    full = 0
    for _ in range(24):
        model.step()
        for name, (hours, used) in model.street_office.desk_hours.items():
            assert np.all(used <= hours + 1e-9), name
            full += int(np.sum((used > 0) & (used + P.hours_per_case > hours)))
    assert full > 0


@pytest.mark.parametrize("scenario", ["status_quo", "n_in_1", "strong_leads_weak", "self_governance",
                                      "integrated"])
def test_the_residents_committee_works_under_every_policy(scenario):
    scenario = load_scenario(SCENARIOS / f"{scenario}.yaml").with_overrides(years=1)
    ts = run_scenario(scenario, "vector").timeseries
    assert (ts["rc_hours"] > 0).all()
    assert (ts["cases_resolved"] <= ts["cases_heard"]).all()


def test_cases_heard_grow_with_the_points_staff_hours_until_cases_run_out():
    """Capacity: in the month the points open (same state in every run until they hear), the cases
    they hear are each block's open cases or its capacity, whichever is fewer: monotone from 0 to
    twice the default staff-hours, and all of them at the end."""
    heard, brought = [], []
    for share in np.linspace(0.0, 2.0, 9):
        hours = share * P.reception_staff_hours_per_month
        params = {"case_rate": 0.1, "reception_staff_hours_per_month": hours}
        model = make_model(_scenario(POINT_ONLY, params), "vector")
        model.step()
        heard.append(model.records[-1].reception_cases_handled)
        brought.append(model.records[-1].cases_brought)
    assert heard[0] == 0
    assert all(b >= a for a, b in zip(heard, heard[1:], strict=False))
    assert heard[1] < heard[-1]
    assert len(set(brought)) == 1  # the same month in every run
    assert heard[-1] > 0


def test_block_integration_without_a_point_or_a_subsidy_changes_nothing():
    """With no staff-hours at the reception point and no subsidy, block integration's blocks change
    nothing: the evaluation needs the point, and the flag alone buys nothing."""
    free = {"block_integration": {"enabled": True, "subsidy_yuan_per_household": 0.0,
                                  "reception_staff_hours_per_month": 0.0}}
    runs = [run_scenario(_scenario(policy, years=3), "vector").timeseries.drop(columns="blocks_integrated")
            for policy in ({}, free)]
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_a_case_closes_with_how_heard_it_left_the_household():
    outcome = np.array([rules.CASE_RESOLVED, rules.CASE_UNRESOLVED, rules.CASE_DROPPED, rules.CASE_WAITING])
    age, voice, months = rules.settle_case(outcome, np.array([0, 1, P.case_wait_months, 0]), np.zeros(4),
                                           np.zeros(4, dtype=int), P)
    assert age.tolist() == [-1, -1, -1, 1]
    assert voice.tolist() == [P.voice_resolved, P.voice_unresolved, P.voice_not_heard, 0.0]
    assert months.tolist() == [P.case_memory_months, P.case_memory_months - 1,
                               P.case_memory_months - P.case_wait_months, 0]
    assert rules.case_outcome(np.array([False]), np.array([False]), np.array([P.case_wait_months]), P)[0] \
        == rules.CASE_DROPPED


def test_a_dissatisfied_household_brings_cases_more_often():
    assert rules.case_probability(0.2, 0.0, P) > rules.case_probability(0.8, 0.0, P)
    assert rules.case_probability(0.5, 3.0, P) > rules.case_probability(0.5, 0.0, P)
    assert rules.bring_case(2, 0.0, 1.0) == 2  # an open case stays open
    assert rules.bring_case(-1, 0.5, 0.4) == -1 and rules.bring_case(-1, 0.3, 0.4) == 0


def test_the_odds_capacity_sweep_is_up_to_date():
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parents[1] / "tools" / "capacity_sweep.py"
    proc = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

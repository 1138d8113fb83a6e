"""Management-only mergers, what a failed merger vote leaves behind, and routes recorded as taken
(docs/ODD.md, 7.10)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import rules
from sim.calibration import MARKET_EXITS
from sim.mesa_engine import EstateGovernanceModel
from sim.params import Params
from sim.policies.management_merge import ManagementMerge, management_groups
from sim.run import run_scenario
from sim.scenario import load_scenario, scenario_from_mapping
from sim.validation import SCENARIOS
from sim.vector_engine.model import VectorModel

P = Params()
NEIGHBOURS = pd.DataFrame({
    # three small neighbours of one block that cannot merge fully (three housing types), and a large
    # estate across the block whose strong firm can take them on
    "estate_id": ["A", "B", "C", "D"], "households": [120, 90, 150, 900],
    "floor_area_m2": [7000.0, 5000.0, 9500.0, 60000.0],
    "housing_type": ["after_sale_public", "old_mixed", "staff_housing", "commodity"],
    "x_m": [0.0, 120.0, 60.0, 400.0], "y_m": [0.0, 30.0, 140.0, 400.0], "block": ["X"] * 4,
})
AGREEABLE = {"retender_support": 0.95, "vote_participation": 0.95, "burn_in_years": 1}


def _shared_scenario(tmp_path, seed: int = 4):
    NEIGHBOURS.to_csv(tmp_path / "neighbours.csv", index=False)
    return scenario_from_mapping({"name": "shared", "district": {"csv": "neighbours.csv"},
                                  "policy": {"management_merge": {"enabled": True}}, "years": 2,
                                  "seed": seed, "params": AGREEABLE}, str(tmp_path / "s.yaml"), tmp_path)


def _step(model, months: int):
    for _ in range(months):
        model.step()
    return model


def test_a_management_only_group_shares_one_firm_and_keeps_its_areas_funds_and_committees(tmp_path):
    scenario = _shared_scenario(tmp_path)
    model = _step(VectorModel(scenario, dtype=np.float64), 12)
    shared = [e for e in model.event_log if e.kind == "management_merge"]
    assert len(shared) == 1
    members = shared[0].area_id.split("+")
    assert len(members) >= 2 and "D" not in members
    v = model.area_view()
    assert len(v.area_id) == 4 and (v.estates == 1).all()  # every estate keeps its own area (and fund)
    rows = [v.area_id.index(x) for x in members]
    assert len(set(v.firm[rows].tolist())) == 1 and v.firm[rows[0]] >= 0  # one firm
    modes = sorted(v.mode[rows].tolist())
    assert modes.count(rules.FULL_SERVICE) == 1 and modes.count(rules.ENTRUSTED) == len(rows) - 1
    a = model.areas
    for row in rows:  # the others share the lead's site staff: the firm needs less for them
        if a.mode[row] == rules.ENTRUSTED:
            alone = rules.money_needed(rules.FULL_SERVICE, a.gates[row], a.floor_area_m2[row],
                                       a.households[row], P)
            assert a.needed_yuan[row] < alone
    estates = model.estates_table().set_index("estate_id")
    assert set(estates.loc[members, "how"]) == {"management_merged"}
    assert (estates.loc[members, "case_id"] == shared[0].case_id).all() and shared[0].case_id > 0
    # while they share the group's firm, the members (the lead in full service among them) are in no
    # other group
    policy = ManagementMerge()
    assert not policy.eligible(model.street_office, model)[rows].any()


def test_a_management_only_group_is_the_same_on_both_engines(tmp_path):
    scenario = _shared_scenario(tmp_path, seed=9)
    mesa = _step(EstateGovernanceModel(scenario), 12)
    vector = _step(VectorModel(scenario, dtype=np.float64), 12)
    assert vector.event_log == mesa.event_log
    assert any(e.kind == "management_merge" for e in mesa.event_log)
    for table in ("areas_table", "estates_table", "firms_table"):
        pd.testing.assert_frame_equal(getattr(vector, table)(), getattr(mesa, table)(), check_dtype=False,
                                      rtol=1e-9, obj=table)


def test_management_groups_take_neighbours_of_any_type_within_reach_and_size():
    class View:
        households = np.array([50, 60, 70, 80, 90])
        block = np.array([0, 0, 0, 0, 1])
        x_m = np.array([0.0, 100.0, 200.0, 5000.0, 0.0])
        y_m = np.zeros(5)
    groups = management_groups(View, np.ones(5, dtype=bool), P.replace(management_merge_max_distance_m=250.0,
                                                                       management_merge_max_group=2))
    assert groups == [[0, 1]]  # the far one and the other block's stay out; two at most


RETRYING = {"name": "retry", "district": {"generate": {"estates": 40, "seed": 8, "estates_per_block": 10}},
            "policy": {"merge": {"enabled": True}}, "years": 4,
            "params": {"merge_support": 0.2, "briefing_support": 0.0, "vote_retry_months": 6,
                       "merge_max_attempts": 2, "burn_in_years": 1}}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_no_group_is_voted_on_more_than_merge_max_attempts_times(seed):
    scenario = scenario_from_mapping({**RETRYING, "seed": seed}, "<retry>", None)
    events = run_scenario(scenario, "vector").events
    votes = events[events["kind"].isin(["merge_vote", "merge_failed"])]
    per_group = Counter(frozenset(area_id.split("+")) for area_id in votes["area_id"])
    assert max(per_group.values(), default=0) <= scenario.params.merge_max_attempts
    failed = events[events["kind"] == "merge_failed"]
    failed_twice = failed[failed["text"].str.contains("not proposed again")]
    for area_id in failed_twice["area_id"]:
        assert per_group[frozenset(area_id.split("+"))] == scenario.params.merge_max_attempts


def test_retries_do_happen_and_end_as_the_rule_says():
    """Not vacuous: with weak support, some group is voted on twice and then never again."""
    texts = [run_scenario(scenario_from_mapping({**RETRYING, "seed": s}, "<retry>", None), "vector").events
             for s in range(4)]
    assert any(t["text"].str.contains("not proposed again").any() for t in texts)


def test_a_merged_committee_needs_the_volunteers_to_stand():
    def members(volunteers: int) -> dict[str, np.ndarray]:
        values = {name: np.array([1.0, 1.0]) for name in rules.MERGED_FIELDS}
        values["committee_active"] = np.array([True, False])
        values["volunteers"] = np.array([volunteers, 0])
        values["households"] = np.array([100, 100])
        values["floor_area_m2"] = np.array([5000.0, 5000.0])
        return values

    assert not rules.combine_areas(members(0), 0, P)["committee_active"]
    assert rules.combine_areas(members(200), 0, P)["committee_active"]


def test_every_estate_records_the_route_it_took_and_the_case_that_moved_it():
    scenario = load_scenario(SCENARIOS / "integrated.yaml").with_overrides(years=6, seed=1)
    result = run_scenario(scenario, "vector")
    estates, events, firms = result.estates, result.events, result.firms
    moved = estates[estates["how"] != "none"]
    assert set(moved["how"]) <= {"merged", "management_merged", "entrusted", "self_governed"}
    assert "merged" in set(moved["how"])
    assert (moved["case_id"] > 0).all() and (moved["routes"].str.len() > 0).all()
    assert (estates.loc[estates["how"] == "none", "routes"] == "").all()
    for _, estate in moved.iterrows():
        first = estate["routes"].split(";")[0]
        assert first.startswith(f"{estate['how']}@{estate['joined_month']}#{estate['case_id']}")
        linked = events.loc[events["case_id"] == estate["case_id"], "estates"]
        assert any(estate["estate_id"] in ids.split("+") for ids in linked)
    exited = firms[firms["exited_month"] > 0]
    assert set(exited["exit_cause"]) <= {*MARKET_EXITS, "reform", "no contract won"}

"""Model variants: each rule, the scenario key, and a sweep with variant as a factor on both engines."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from sweep_support import write_sweep

from analysis.compare import compare_results
from analysis.results import load_runs, load_timeseries
from sim import rules
from sim.errors import InputError
from sim.experiments.executors import make_executor
from sim.experiments.sweep import load_sweep, run_sweep
from sim.params import Params
from sim.policies.management_merge import management_groups
from sim.policies.merge import merge_groups
from sim.scenario import load_scenario
from sim.variants import DESCRIPTIONS, VARIANTS, expand_factors, variant_params


def variant(name: str) -> Params:
    return Params(variant_params(name))


def test_every_variant_has_a_description_and_sets_known_switches():
    assert set(DESCRIPTIONS) == set(VARIANTS) and VARIANTS["default"] == {}
    for name in VARIANTS:
        variant(name)  # the switches are parameters within their range


# --- the satisfaction rules ------------------------------------------------------------------

def test_resolution_only_counts_a_case_heard_but_unresolved_as_not_heard():
    outcome = np.array([rules.CASE_RESOLVED, rules.CASE_UNRESOLVED, rules.CASE_DROPPED])
    age, months = np.zeros(3, np.int64), np.zeros(3, np.int64)
    for name, unresolved in (("default", "voice_unresolved"), ("resolution_only", "voice_not_heard")):
        p = variant(name)
        _, level, _ = rules.settle_case(outcome, age, np.zeros(3), months, p)
        assert level.tolist() == [p.voice_resolved, p[unresolved], p.voice_not_heard]
    assert variant("default").voice_unresolved != variant("default").voice_not_heard


def test_saturating_satisfaction_moves_toward_a_concave_form_of_perception():
    p = variant("saturating").replace(satisfaction_adjust_rate=1.0)
    plain = variant("default").replace(satisfaction_adjust_rate=1.0)
    seen = np.array([0.0, 0.25, 0.5, 1.0])
    target = rules.update_satisfaction(np.zeros(4), seen, np.zeros(4), p)
    assert target[0] == pytest.approx(0.0) and target[-1] == pytest.approx(1.0)
    assert (target[1:3] > seen[1:3]).all()  # above the straight line in between
    assert np.all(np.diff(np.diff(target)) < 0)  # and each gain counts less
    assert rules.update_satisfaction(np.zeros(4), seen, np.zeros(4), plain) == pytest.approx(seen)
    # scalars (the compiled loops and the Mesa agents) give the same as arrays
    assert rules.update_satisfaction(0.0, 0.25, 0.0, p) == pytest.approx(target[1])


def test_the_grievance_rule_draws_the_dissatisfied_into_volunteering():
    satisfaction = np.array([0.1, 0.5, 0.9])
    default = rules.volunteer_join_probability(satisfaction, False, 0.0, variant("default"))
    grievance = rules.volunteer_join_probability(satisfaction, False, 0.0, variant("grievance"))
    assert np.all(np.diff(default) > 0) and np.all(np.diff(grievance) < 0)
    assert grievance[0] == pytest.approx(default[-1])  # 1 - 0.1 against 0.9


# --- the merger grouping ---------------------------------------------------------------------

def line_of_areas() -> SimpleNamespace:
    """Three areas of one block in a row, 100 m apart: the smallest is the best served."""
    return SimpleNamespace(households=np.array([50, 100, 150]), block=np.zeros(3, np.int64),
                           housing_type=np.zeros(3, np.int64), x_m=np.array([0.0, 100.0, 200.0]),
                           y_m=np.zeros(3), estates=np.ones(3, np.int64),
                           fee_yuan_per_m2=np.full(3, 0.8), quality=np.array([0.9, 0.5, 0.2]))


@pytest.mark.parametrize("name, expected", [("default", [[0, 1]]), ("problem_first", [[2, 1]])])
def test_merger_groups_are_seeded_smallest_first_or_problem_spot_first(name, expected):
    p = variant(name).replace(merge_max_group=2, merge_max_distance_m=150.0, merge_quality_tolerance=1.0)
    areas = line_of_areas()
    assert merge_groups(areas, np.ones(3, bool), p) == expected
    q = p.replace(management_merge_max_group=2, management_merge_max_distance_m=150.0)
    assert management_groups(areas, np.ones(3, bool), q) == expected


# --- selecting a variant ---------------------------------------------------------------------

def write_scenario(tmp_path, **fields):
    data = {"name": "v", "district": {"generate": {"estates": 4, "seed": 1}}, "years": 1, **fields}
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_scenario_selects_a_variant_by_name(tmp_path):
    assert load_scenario(write_scenario(tmp_path, variant="saturating")).params.satisfaction_rule == 2
    assert load_scenario(write_scenario(tmp_path)).params.satisfaction_rule == 0


@pytest.mark.parametrize("fields, key", [({"variant": "saturate"}, "variant"),
                                         ({"variant": "saturating", "params": {"satisfaction_rule": 1}},
                                          "variant")])
def test_a_bad_variant_names_the_file_and_key(tmp_path, fields, key):
    with pytest.raises(InputError) as err:
        load_scenario(write_scenario(tmp_path, **fields))
    assert err.value.key == key and "v.yaml" in err.value.source


def test_a_design_points_variant_becomes_its_switches():
    assert expand_factors({"weight_heard": 0.1, "variant": "grievance"}) == {"weight_heard": 0.1,
                                                                              "volunteer_rule": 1}
    assert expand_factors({"weight_heard": 0.1}) == {"weight_heard": 0.1}


def test_a_sweep_names_an_unknown_variant(tmp_path):
    with pytest.raises(InputError) as err:
        load_sweep(write_sweep(tmp_path, variants=["default", "grievence"]))
    assert err.value.key == "variants.1" and "grievance" in err.value.message


@pytest.mark.parametrize("engine", ["mesa", "vector"])
def test_a_sweep_with_variant_as_a_factor_runs_on_both_engines(tmp_path, engine):
    names = ["default", "saturating", "grievance"]
    sweep = load_sweep(write_sweep(tmp_path, engine=engine, replicates=1, variants=names,
                                   factors={"method": "grid", "samples": 2,
                                            "ranges": {"weight_heard": [0.05, 0.3]}}))
    assert len(sweep.design) == 2 * len(names) and sweep.factor_names == ["weight_heard", "variant"]
    summary = run_sweep(sweep, tmp_path / "results", make_executor(1, None, None))
    assert not summary.failed
    runs = load_runs(tmp_path / "results")
    assert sorted(set(runs["variant"])) == sorted(names)
    final = load_timeseries(tmp_path / "results", columns=["satisfaction"]).groupby("run_id").last()
    final = final.join(runs.set_index("run_id")[["variant", "weight_heard"]])
    by = final.set_index(["scenario", "weight_heard", "variant"])["satisfaction"].unstack("variant")
    # the saturating form lifts satisfaction at every point (perception is below 1 and above 0)
    assert (by["saturating"] > by["default"]).all()
    table = compare_results(tmp_path / "results", metrics=["satisfaction", "committee_coverage"]).conclusions
    assert set(table["variant"]) == {"all", *names}
    assert isinstance(table, pd.DataFrame)

"""The Ouyang Road preset's starting sizes are uncertain inputs: any counts the article allows, exactly."""

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.districts import fit_size_counts, load_preset
from sim.params import PARAMETER_INDEX, Params


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(10, 1500), min_size=5, max_size=120), st.data())
def test_fitted_sizes_have_exactly_the_counts_asked_for_and_keep_the_order(sizes, data):
    h = np.array(sizes, dtype=float)
    under_200 = data.draw(st.integers(0, len(h)))
    under_100 = data.draw(st.integers(0, under_200))
    fitted = fit_size_counts(h, under_100, under_200)
    assert (fitted < 100).sum() == under_100 and (fitted < 200).sum() == under_200
    assert fitted.min() >= 1
    order = np.argsort(h, kind="stable")
    assert np.all(np.diff(fitted[order]) >= 0)  # the smallest stay the smallest


def test_sizes_that_already_have_the_counts_are_left_alone():
    h = np.array([50.0, 150.0, 250.0, 99.0, 199.0, 200.0])
    assert fit_size_counts(h, 2, 4) is h


def test_the_default_preset_has_the_default_counts():
    households = load_preset("ouyang_road", Params()).estates["households"]
    assert (households < 200).sum() == PARAMETER_INDEX["preset_estates_under_200"].default
    assert (households < 100).sum() == PARAMETER_INDEX["preset_estates_under_100"].default


@pytest.mark.parametrize("under_200, under_100", [(61, 20), (70, 35), (78, 40)])
def test_the_preset_follows_its_size_parameters_and_keeps_the_named_estates(under_200, under_100):
    base = load_preset("ouyang_road", Params()).estates.set_index("estate_id")
    estates = load_preset("ouyang_road", Params({"preset_estates_under_200": under_200,
                                                 "preset_estates_under_100": under_100})).estates
    households = estates["households"]
    assert (households < 200).sum() == under_200 and (households < 100).sum() == under_100
    named = estates.set_index("estate_id").loc[["Hongyi", "Hongtie", "Xiangde-3", "Jianshe-1"]]
    assert (named["households"] == base.loc[named.index, "households"]).all()
    assert len(estates) == 106


def test_counts_the_named_estates_cannot_allow_are_an_input_error(tmp_path, cli):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump({"name": "s", "district": {"preset": "ouyang_road"}, "years": 1,
                                        "params": {"preset_estates_under_200": 30,
                                                   "preset_estates_under_100": 29}}))
    proc = cli("run", scenario, "--out", tmp_path / "out")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(scenario) in lines[0] and "params.preset_estates_under_100" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_scenario_rebuilds_its_district_when_a_size_parameter_changes():
    from sim.scenario import load_scenario
    from sim.validation import SCENARIOS

    scenario = load_scenario(SCENARIOS / "integrated.yaml")
    before = scenario.load_district().estates["households"]
    changed = scenario.with_overrides(params={"preset_estates_under_200": 61, "preset_estates_under_100": 20})
    after = changed.load_district().estates["households"]
    assert (after < 200).sum() == 61 and (after < 100).sum() == 20
    assert (before < 200).sum() == PARAMETER_INDEX["preset_estates_under_200"].default
    same = scenario.with_overrides(params={"merge_support": 0.5}).load_district()
    assert same is scenario.load_district()  # a parameter the district is not built from keeps it

"""Your own district first-class: a sweep's `district:`, scenarios' `label:`, the default baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sweep_support import write_sweep

from analysis.compare import compare_results, comparison_markdown
from analysis.report import report_html
from analysis.results import load_areas
from analysis.style import label
from sim.errors import InputError
from sim.experiments.executors import make_executor
from sim.experiments.sweep import load_sweep, run_sweep
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
MY_ESTATES = """estate_id,households,floor_area_m2,housing_type,x_m,y_m,block
A1,90,6000,after_sale_public,0,0,B1
A2,120,8000,after_sale_public,60,0,B1
A3,150,9500,after_sale_public,120,0,B1
A4,80,5000,after_sale_public,0,60,B1
C1,400,36000,commodity,500,500,B2
C2,180,15000,commodity,560,500,B2
"""


@pytest.fixture(scope="module")
def my_sweep(tmp_path_factory) -> Path:
    """The two tiny scenarios (quiet, merging) moved onto the user's own six-estate CSV district."""
    folder = tmp_path_factory.mktemp("mine")
    (folder / "data").mkdir()
    (folder / "data" / "my_estates.csv").write_text(MY_ESTATES)
    return write_sweep(folder, engine="vector", district={"csv": "data/my_estates.csv"})


@pytest.fixture(scope="module")
def my_results(my_sweep, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results") / "mine"
    summary = run_sweep(load_sweep(my_sweep), out, make_executor(1, None, None))
    assert summary.ran == 4 and not summary.failed
    return out


def test_a_sweeps_district_replaces_every_scenarios_own(my_sweep, my_results):
    sweep = load_sweep(my_sweep)

    assert {s.load_district().name for s in sweep.scenarios} == {"my_estates"}
    manifest = json.loads((my_results / "manifest.json").read_text())
    assert [s["district"] for s in manifest["sweep"]["scenarios"]] == ["my_estates", "my_estates"]
    areas = load_areas(my_results)
    assert set(areas["area_id"].str.split("+").explode()) <= {"A1", "A2", "A3", "A4", "C1", "C2"}


def test_a_sweeps_missing_district_file_names_the_sweep_file_and_key(tmp_path):
    path = write_sweep(tmp_path, district={"csv": "nowhere.csv"})

    with pytest.raises(InputError, match=rf"{path}: district.csv: file not found"):
        load_sweep(path)


def test_compare_without_a_baseline_pairs_with_the_first_scenario_when_there_is_no_status_quo(
        my_results):
    comparison = compare_results(my_results)

    assert comparison.baseline == "quiet"
    assert list(comparison.summary.dropna(subset=["diff_mean"])["scenario"].unique()) == ["merging"]


def test_report_and_tables_name_the_district_and_never_ouyang_road(my_results, tmp_path):
    comparison = compare_results(my_results)
    html = report_html(comparison, tmp_path)
    markdown = comparison_markdown(comparison)

    assert "my_estates" in html and "my_estates" in markdown
    assert "| Merging |" in markdown and "Δ vs Quiet" in markdown  # labels made from the names
    assert "Ouyang" not in html and "Ouyang" not in markdown


def test_a_scenarios_label_names_it_and_the_default_comes_from_its_name(tmp_path):
    base = {"district": {"generate": {"estates": 4}}}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"name": "my_integrated", **base}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"name": "b", "label": "Plan B", **base}))

    assert load_scenario(tmp_path / "a.yaml").label == "My integrated"
    assert load_scenario(tmp_path / "b.yaml").label == "Plan B"
    assert label("integrated", {"integrated": "My integrated"}) == "My integrated"
    assert "Ouyang" not in label("integrated")


def test_the_label_does_not_change_the_scenario_hash(tmp_path):
    base = {"name": "x", "district": {"generate": {"estates": 4}}}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({**base, "label": "Something else"}))

    assert load_scenario(tmp_path / "a.yaml").hash() == load_scenario(tmp_path / "b.yaml").hash()


def test_with_overrides_switches_policies_and_sets_their_parameters():
    scenario = load_scenario(ROOT / "scenarios" / "status_quo.yaml")

    changed = scenario.with_overrides(policies={"merge": {"enabled": True, "max_group": 4},
                                                "entrust": True})
    assert changed.policies["merge"] and changed.policies["entrust"]
    assert not changed.policies["self_governance"]
    assert changed.params["merge_max_group"] == 4
    assert changed.hash() != scenario.hash()
    with pytest.raises(InputError, match="policy.merge.max_grup: unknown key"):
        scenario.with_overrides(policies={"merge": {"max_grup": 4}})

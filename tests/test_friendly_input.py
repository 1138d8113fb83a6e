"""Friendlier input: "did you mean" in the API, a CSV's further columns kept as estate attributes,
block names checked against the district the runs use, `district_name:`, counts in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.errors import InputError
from sim.experiments.sweep import load_sweep
from sim.scenario import load_scenario
from sim.text import plural

ROOT = Path(__file__).resolve().parent.parent
HEADER = "estate_id,households,floor_area_m2,housing_type,x_m,y_m,block"
ROWS = ["A1,90,6000,售后公房,0,0,东块", "A2,120,8000,售后公房,60,0,东块", "C1,400,36000,商品房,500,500,西块"]


@pytest.fixture(scope="module")
def integrated():
    return load_scenario(ROOT / "scenarios/integrated.yaml")


@pytest.mark.parametrize(("change", "key", "suggestion"), [
    ({"params": {"merge_suport": 0.5}}, "params.merge_suport", "merge_support"),
    ({"policies": {"merg": True}}, "policy.merg", "merge"),
    ({"policies": {"merge": {"max_grup": 3}}}, "policy.merge.max_grup", "max_group"),
])
def test_the_api_suggests_the_name_meant(integrated, change, key, suggestion):
    with pytest.raises(InputError, match=f"{key}: unknown .*did you mean '{suggestion}'"):
        sim.run(integrated, years=1, **change)


def _district(tmp_path: Path, header: str, rows: list[str], scenario: str = "") -> Path:
    (tmp_path / "estates.csv").write_text("\n".join([header, *rows]) + "\n", encoding="gbk")
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ndistrict: {csv: estates.csv}\nyears: 1\n" + scenario, encoding="utf-8")
    return path


def test_further_csv_columns_are_kept_as_estate_attributes_and_name_labels_the_estates(tmp_path, capsys):
    rows = [row + f",{name},{address}" for row, name, address in
            zip(ROWS, ["红旗小区", "建设新村", "花园苑"], ["欧阳路1号", "欧阳路2号", ""], strict=True)]
    path = _district(tmp_path, HEADER + ",name,address", rows)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "note:" in out and "'name', 'address' kept as estate attributes" in out
    district = load_scenario(path).load_district()
    assert "name" not in district.estates  # the model never reads them
    estates = sim.run(path, years=1).estates
    assert list(estates.columns[:2]) == ["estate_id", "name"] and estates.columns[-1] == "address"
    assert estates.set_index("estate_id").loc["A2", "name"] == "建设新村"
    assert estates.set_index("estate_id")["address"].isna().sum() == 1


def test_a_column_spelt_almost_like_a_model_column_is_refused_with_the_fix(tmp_path, capsys):
    path = _district(tmp_path, HEADER.replace("block", "blok"), ROWS)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "estates.csv: blok: unknown column; did you mean 'block'?" in err and len(err.splitlines()) == 1


def _sweep(tmp_path: Path, scenario: Path, district: str, extra: str = "") -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"name: blocks\nscenarios: [{scenario.name}]\nseed: 1\nyears: 1\n"
                    f"district: {district}\n{extra}", encoding="utf-8")
    return path


def test_block_names_are_checked_against_the_sweeps_district_not_the_scenarios(tmp_path):
    scenario = _district(tmp_path, HEADER, ROWS,
                         "policy: {block_integration: {enabled: true, blocks: [Block-03]}}\n")
    with pytest.raises(InputError, match="unknown block 'Block-03'.*district estates has 东块, 西块"):
        load_scenario(scenario)  # its own district has no Block-03 ...
    sweep = load_sweep(_sweep(tmp_path, scenario, "{preset: ouyang_road}"))  # ... the sweep's has
    assert sweep.scenarios[0].load_district().name == "ouyang_road"
    (tmp_path / "mine.yaml").write_text(scenario.read_text(encoding="utf-8").replace("Block-03", "东块"),
                                        encoding="utf-8")
    load_scenario(scenario)
    with pytest.raises(InputError, match=r"mine\.yaml: policy\.block_integration\.blocks: unknown block "
                                         r"'东块'.*district ouyang_road has Block-01"):
        load_sweep(_sweep(tmp_path, scenario, "{preset: ouyang_road}"))


def test_district_name_names_the_district_without_changing_the_run(tmp_path):
    plain = _district(tmp_path, HEADER, ROWS)
    named = tmp_path / "named.yaml"
    named.write_text(plain.read_text(encoding="utf-8") + "district_name: 欧阳路街道（试点）\n",
                     encoding="utf-8")
    assert load_scenario(plain).load_district().name == "estates"
    assert load_scenario(named).load_district().name == "欧阳路街道（试点）"
    assert load_scenario(named).hash() == load_scenario(plain).hash()
    sweep = load_sweep(_sweep(tmp_path, plain, "{preset: ouyang_road}", "district_name: 虹口样本\n"))
    assert [s["district"] for s in sweep.resolved()["scenarios"]] == ["虹口样本"]
    assert json.dumps(sweep.resolved(), ensure_ascii=False).count("虹口样本") == 1


def test_counts_are_in_words_never_1_years(tmp_path, capsys):
    assert [plural(1, "year"), plural(2, "year"), plural(1, "design point"), plural(3, "design point"),
            plural(2, "policy"), plural(1_000, "run")] == [
        "1 year", "2 years", "1 design point", "3 design points", "2 policies", "1,000 runs"]
    assert main(["validate", str(_district(tmp_path, HEADER, ROWS))]) == 0
    out = capsys.readouterr().out
    assert "3 estates, 610 households" in out and "1 year, seed 0" in out

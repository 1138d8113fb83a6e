"""Bad input at the edges (issue 16): exit status 2 and one line, control characters escaped,
bounds with the allowed range; sweeps that grow; validate on sweep files; --version."""

from pathlib import Path

import pytest
from test_bad_input import GOOD_CSV, HEADER

from sim.cli import main
from sim.errors import InputError, printable
from sim.experiments.sweep import slug_name
from sim.outputs import OUTPUT_TABLES


def scenario(extra: str = "", district: str = "{csv: estates.csv}") -> str:
    return f"name: edge\ndistrict: {district}\nyears: 1\n{extra}"


YAML_CASES = {
    "list_as_key": (scenario("[1, 2]: 3\n"), ("line 4", "list used as a key")),
    "map_as_key": (scenario("{a: 1}: 3\n"), ("line 4", "mapping used as a key")),
    "deep_nesting": ("name: x\nparams: " + "[" * 20000 + "]" * 20000 + "\n", ("nested",)),
    "deep_block_nesting": ("".join(f"{'  ' * i}k{i}:\n" for i in range(2000)) + "  " * 2000 + "v\n",
                           ("nested",)),
    "inf_parameter": (scenario("params: {volunteer_fatigue: .inf}\n"),
                      ("params.volunteer_fatigue", "finite", "[0.0, 1.0]")),
    "nan_parameter": (scenario("params: {volunteer_fatigue: .nan}\n"),
                      ("params.volunteer_fatigue", "finite")),
    "huge_parameter": (scenario("params: {volunteer_fatigue: 1e400}\n"),
                       ("params.volunteer_fatigue", "[0.0, 1.0]")),
    "huge_whole_number_parameter": (scenario("params: {merge_max_group: 1.0e400}\n"),
                                    ("params.merge_max_group",)),
    "inf_in_policy_block": (scenario("policy: {merge: {enabled: true, max_group: .inf}}\n"),
                            ("policy.merge.max_group",)),
    "inf_in_mix": (scenario(district="{generate: {estates: 5, mix: {commodity: .inf}}}"),
                   ("district.generate.mix.commodity", "finite")),
    "huge_mix_share": (scenario(district="{generate: {estates: 5, mix: {commodity: 1.0e300}}}"),
                       ("district.generate", "mix")),
    "nan_size_scale": (scenario(district="{generate: {estates: 5, size_scale: .nan}}"),
                       ("district.generate.size_scale",)),
    "nul_in_csv_path": (scenario(district='{csv: "a\\0b.csv"}'), ("district", "NUL")),
    "key_with_newline": (scenario('"ye\\nars": 1\n'), ("ye\\nars", "unknown key")),
    "key_with_terminal_escape": (scenario('"\\e[31mred": 1\n'), ("\\x1b[31mred",)),
    "mistyped_key": (scenario("yaers: 2\n"), ("yaers", "did you mean 'years'")),
    "mistyped_parameter": (scenario("params: {volunter_fatigue: 0.1}\n"),
                           ("did you mean 'volunteer_fatigue'",)),
    "mistyped_housing_type_in_mix": (
        scenario(district="{generate: {estates: 5, mix: {comodity: 1}}}"), ("did you mean",)),
}


@pytest.mark.parametrize("case", YAML_CASES.values(), ids=YAML_CASES.keys())
@pytest.mark.parametrize("command", ["run", "validate"])
def test_hostile_yaml_exits_2_with_one_printable_line(case, command, tmp_path, capsys):
    text, says = case
    (tmp_path / "s.yaml").write_text(text)
    (tmp_path / "estates.csv").write_text(GOOD_CSV)
    out = ["--out", str(tmp_path / "out")] if command == "run" else []
    args = [command, str(tmp_path / "s.yaml"), *out]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert str(tmp_path / "s.yaml") in err
    assert "\x1b" not in err and "\0" not in err
    for words in says:
        assert words in err, err
    assert not (tmp_path / "out").exists()


def test_the_yaml_merge_key_is_accepted(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(
        "name: merged\ndistrict: {generate: {estates: 5}}\nyears: 1\npolicy:\n"
        "  merge: &on {enabled: true}\n  entrust:\n    <<: *on\n")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 0
    assert "policies: merge, entrust" in capsys.readouterr().out


def test_a_duplicate_key_is_still_refused_beside_a_merge_key(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text("name: a\nname: b\ndistrict: {generate: {estates: 5}}\n")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    assert "duplicate key 'name'" in capsys.readouterr().err


def test_messages_escape_control_characters():
    assert printable("a\nb\x1b[2Jc\x00\u202e") == "a\\nb\\x1b[2Jc\\x00\\u202e"
    error = InputError("f\n.yaml", "k\x1b", "v\r\nw")
    assert "\n" not in str(error) and "\x1b" not in str(error) and "\r" not in str(error)


CSV_CASES = {
    "true_is_not_a_number": ("A,True,7000,commodity,0,0", ("households", "'True'", "not a number")),
    "huge_floor_area": ("A,120,1e308,commodity,0,0", ("floor_area_m2", "1e+308", "10,000,000")),
    "inf_floor_area": ("A,120,inf,commodity,0,0", ("floor_area_m2", "not a number")),
    "nan_coordinate": ("A,120,7000,commodity,nan,0", ("x_m", "not a number")),
    "far_away_coordinate": ("A,120,7000,commodity,1e12,0", ("x_m", "1,000,000")),
}


@pytest.mark.parametrize("case", CSV_CASES.values(), ids=CSV_CASES.keys())
def test_csv_cells_are_parsed_strictly_per_column(case, tmp_path, capsys):
    row, says = case
    (tmp_path / "s.yaml").write_text(scenario())
    (tmp_path / "estates.csv").write_text(f"{HEADER}\n{row}\n")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(tmp_path / "estates.csv") in err
    for words in says:
        assert words in err, err


@pytest.mark.parametrize("column, value, bound", [("fee_yuan_per_m2", "1e300", "100"),
                                                  ("fund_yuan", "1e300", "10,000,000,000"),
                                                  ("households", "100001", "100,000")])
def test_absurd_magnitudes_are_refused_with_the_allowed_range(column, value, bound, tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(scenario())
    header, row = HEADER, "A,120,7000,commodity,0,0"
    if column == "households":
        row = f"A,{value},7000000,commodity,0,0"
    else:
        header, row = f"{HEADER},{column}", f"{row},{value}"
    (tmp_path / "estates.csv").write_text(f"{header}\n{row}\n")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err
    assert column in err and f"at most {bound}" in err, err


def test_na_is_a_valid_estate_id_and_block_name(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(scenario())
    (tmp_path / "estates.csv").write_text(
        f"{HEADER},block\nNA,120,7000,commodity,0,0,NA\nN/A,90,5500,commodity,120,0,null\n")
    from sim.scenario import load_scenario

    estates = load_scenario(tmp_path / "s.yaml").load_district().estates
    assert list(estates["estate_id"]) == ["NA", "N/A"]
    assert list(estates["block"]) == ["NA", "null"]


def test_distinct_scenario_names_get_distinct_slugs():
    names = ["合并", "委托", "自治", ".hidden", "hidden", "a b", "a_b", "status_quo"]
    slugs = [slug_name(n) for n in names]
    assert len(set(slugs)) == len(names)
    assert slug_name("status_quo") == "status_quo"
    assert all("~" not in s and not s.startswith(".") for s in slugs)


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("estate-sim 0.")


def test_validate_counts_the_runs_of_a_sweep(tmp_path, capsys):
    from sweep_support import write_sweep

    sweep_file = write_sweep(tmp_path, replicates=3, factors={
        "method": "lhs", "samples": 4, "ranges": {"volunteer_fatigue": [0.01, 0.1]}})
    assert main(["validate", str(sweep_file)]) == 0
    out = capsys.readouterr().out
    assert "2 scenarios × 4 design points × 3 replicates = 24 runs" in out
    assert "about" in out and "one worker" in out


def test_validate_counts_the_runs_of_a_sensitivity_study(tmp_path, capsys):
    from sweep_support import write_scenarios

    write_scenarios(tmp_path)
    (tmp_path / "study.yaml").write_text(
        "scenario: scenarios/quiet.yaml\nfactors: {method: morris, samples: 4, ranges: "
        "{volunteer_fatigue: [0.01, 0.1], merge_support: [0.2, 0.6]}}\nreplicates: 2\n"
        "outputs: [service_quality]\nseed: 1\n")
    assert main(["validate", str(tmp_path / "study.yaml")]) == 0
    assert "12 design points × 2 replicates × 1 scenario = 24 runs" in capsys.readouterr().out


def test_validate_refuses_a_bad_sweep_file_like_sweep(tmp_path, capsys):
    from sweep_support import write_sweep

    sweep_file = write_sweep(tmp_path, replicatse=3)
    assert main(["validate", str(sweep_file)]) == 2
    assert "replicatse: unknown key (did you mean 'replicates'?)" in capsys.readouterr().err


def test_run_replaces_its_outputs_as_one_set(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text("name: x\ndistrict: {generate: {estates: 4}}\nyears: 1\n")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(out), "--quiet", "--format", "csv"]) == 0
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(out), "--quiet"]) == 0
    expected = sorted([f"{table}.parquet" for table in OUTPUT_TABLES] + ["run.json"])
    assert sorted(p.name for p in out.iterdir()) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.yaml"]  # no staging left


def test_a_failed_rename_leaves_the_previous_outputs_whole(tmp_path, monkeypatch):
    import os

    from sim import cli

    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("old")
    real_replace = os.replace

    def failing(src, dst):
        if Path(dst) == out and "new" in Path(src).name:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(cli.os, "replace", failing)
    with pytest.raises(OSError):
        cli.write_as_one_set(out, lambda folder: [(folder / "run.json").write_text("new"),
                                                  folder / "run.json"][1:])
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]
    assert (out / "run.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_run_refuses_an_out_folder_holding_other_files(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text("name: x\ndistrict: {generate: {estates: 4}}\nyears: 1\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert "other files" in capsys.readouterr().err
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def _csv_sweep(tmp_path):
    import yaml

    (tmp_path / "estates.csv").write_text(GOOD_CSV)
    (tmp_path / "s.yaml").write_text("name: own\ndistrict: {csv: estates.csv}\nyears: 1\n")
    sweep = {"name": "own", "scenarios": ["s.yaml"], "replicates": 2, "seed": 1, "engine": "vector"}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    return tmp_path / "sweep.yaml"


def test_a_district_csv_edited_between_invocations_is_refused(tmp_path, capsys):
    sweep_file, out = _csv_sweep(tmp_path), tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    csv = tmp_path / "estates.csv"
    csv.write_text(csv.read_text().replace("C,400", "C,401"))  # same path, other contents
    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "other inputs" in err


def test_a_district_csv_edited_while_the_sweep_runs_fails_its_runs(tmp_path):
    from analysis.results import load_runs
    from sim.experiments.executors import SequentialExecutor
    from sim.experiments.sweep import load_sweep, run_sweep

    sweep = load_sweep(_csv_sweep(tmp_path))
    csv = tmp_path / "estates.csv"
    csv.write_text(csv.read_text().replace("C,400", "C,401"))
    summary = run_sweep(sweep, tmp_path / "out", SequentialExecutor())
    assert len(summary.failed) == 2
    assert load_runs(tmp_path / "out")["error"].str.contains("changed since the sweep read it").all()


def test_validate_counts_the_runs_of_the_shipped_policy_sweep(capsys):
    from conftest import ROOT

    assert main(["validate", str(ROOT / "scenarios" / "sweeps" / "policy_comparison.yaml")]) == 0
    assert "= 150 runs on the vector engine" in capsys.readouterr().out


def test_a_scenario_name_with_a_terminal_escape_is_printed_escaped(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text('name: "x\\e[2Jy"\ndistrict: {generate: {estates: 3}}\nyears: 1\n')
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]) == 0
    assert main(["validate", str(tmp_path / "s.yaml")]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "x\\x1b[2Jy" in captured.out

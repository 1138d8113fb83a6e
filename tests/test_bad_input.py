"""Bad input through the real command line: exit status 2, one line on stderr naming the file
and the key (or column), no traceback, and nothing written to --out."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.cli import main

GOOD_CSV = """estate_id,households,floor_area_m2,housing_type,x_m,y_m
A,120,7000,after_sale_public,0,0
B,90,5500,after_sale_public,120,0
C,400,38000,commodity,0,150
"""
HEADER = GOOD_CSV.splitlines()[0]


def scenario_text(district: str = "{csv: estates.csv}", extra: str = "") -> str:
    """A small valid scenario (a CSV district, one year) with `extra` lines appended."""
    return f"name: bad-input-case\ndistrict: {district}\nyears: 1\n{extra}"


def csv_case(rows: str, header: str = HEADER) -> dict[str, str]:
    """A valid scenario whose district CSV has the given header and data rows."""
    return {"scenario.yaml": scenario_text(), "estates.csv": f"{header}\n{rows}\n"}


@dataclass
class Case:
    """A set of files to write, the flags to pass, and what the one-line message must say."""

    files: dict[str, str]
    names_file: str  # file (relative to tmp_path) or "command line" the message must name
    says: tuple[str, ...]  # key, column or flag (and details) the message must contain
    flags: tuple[str, ...] = field(default_factory=tuple)


CLI_CASES = {
    # --- the scenario file ---------------------------------------------------------------
    "unknown_key": Case({"scenario.yaml": scenario_text(extra="colour: red\n"),
                         "estates.csv": GOOD_CSV}, "scenario.yaml", ("colour", "unknown key")),
    "unknown_key_in_policy_block": Case(
        {"scenario.yaml": scenario_text(extra="policy: {merge: {enabled: true, max_size: 3}}\n"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("policy.merge.max_size",)),
    "wrong_type": Case({"scenario.yaml": scenario_text(extra="seed: twelve\n"),
                        "estates.csv": GOOD_CSV}, "scenario.yaml", ("seed",)),
    "out_of_range_years": Case(
        {"scenario.yaml": "name: x\ndistrict: {csv: estates.csv}\nyears: 0\n",
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("years",)),
    "out_of_range_policy_value": Case(
        {"scenario.yaml": scenario_text(extra="policy: {merge: {enabled: true, max_group: 99}}\n"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("policy.merge.max_group",)),
    "missing_required_key": Case(
        {"scenario.yaml": "district: {csv: estates.csv}\n", "estates.csv": GOOD_CSV},
        "scenario.yaml", ("name", "missing")),
    "unknown_parameter": Case(
        {"scenario.yaml": scenario_text(extra="params: {fund_dispute_wieght: 0}\n"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("params.fund_dispute_wieght",)),
    "policy_parameter_given_twice": Case(
        {"scenario.yaml": scenario_text(
            extra="policy: {merge: {enabled: true, max_group: 4}}\nparams: {merge_max_group: 3}\n"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("policy.merge.max_group", "merge_max_group")),
    "unknown_preset": Case({"scenario.yaml": scenario_text(district="{preset: atlantis}")},
                           "scenario.yaml", ("district.preset", "atlantis")),
    "two_district_sources": Case(
        {"scenario.yaml": scenario_text(district="{preset: ouyang_road, csv: estates.csv}"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("district", "preset", "csv")),
    "yaml_syntax_error": Case(
        {"scenario.yaml": "name: x\ndistrict: {csv: estates.csv\nyears: 1\n",
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("YAML", "line")),
    "empty_file": Case({"scenario.yaml": ""}, "scenario.yaml", ("empty",)),
    "not_a_mapping_list": Case({"scenario.yaml": "- name: x\n- years: 1\n"}, "scenario.yaml",
                               ("mapping",)),
    # --- the district CSV ----------------------------------------------------------------
    "missing_csv_file": Case({"scenario.yaml": scenario_text(district="{csv: nowhere.csv}")},
                             "scenario.yaml", ("district.csv", "nowhere.csv")),
    "csv_missing_a_column": Case(
        csv_case("A,120,after_sale_public,0,0",
                 header="estate_id,households,housing_type,x_m,y_m"),
        "estates.csv", ("floor_area_m2", "missing")),
    "csv_duplicate_estate_id": Case(
        csv_case("A,120,7000,commodity,0,0\nB,90,5500,commodity,50,0\nA,60,3000,commodity,9,9"),
        "estates.csv", ("estate_id", "'A'")),
    "csv_empty_number": Case(csv_case("A,120,7000,commodity,0,0\nB,,5500,commodity,50,0"),
                             "estates.csv", ("households", "row 3")),
    "csv_negative_number": Case(csv_case("A,120,-7000,commodity,0,0"),
                                "estates.csv", ("floor_area_m2", "-7000", "row 2")),
    "csv_unknown_housing_type": Case(csv_case("A,120,7000,castle,0,0"), "estates.csv",
                                     ("housing_type", "castle")),
    "csv_row_with_too_many_values": Case(csv_case("A,120,7000,commodity,0,0,7,8"),
                                         "estates.csv", ("row 2",)),
    # --- command-line flags --------------------------------------------------------------
    "flag_negative_seed": Case({"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
                               "command line", ("--seed",), ("--seed", "-1")),
    "flag_zero_years": Case({"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
                            "command line", ("--years",), ("--years", "0")),
    "flag_unknown_format": Case({"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
                                "command line", ("--format", "xml"), ("--format", "xml")),
    "flag_unknown_engine": Case({"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
                                "command line", ("--engine", "warp"), ("--engine", "warp")),
    "flag_unknown": Case({"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
                         "command line", ("--colour",), ("--colour", "red")),
}
"""The contract's bad inputs, each run through the real command line."""

MORE_CASES = {
    "wrong_type_bool_for_number": Case(
        {"scenario.yaml": scenario_text(extra="seed: true\n"), "estates.csv": GOOD_CSV},
        "scenario.yaml", ("seed",)),
    "wrong_type_policy_enabled": Case(
        {"scenario.yaml": scenario_text(extra="policy: {merge: {enabled: maybe}}\n"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("policy.merge.enabled",)),
    "out_of_range_parameter": Case(
        {"scenario.yaml": scenario_text(extra="params: {fund_dispute_weight: -1}\n"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("params.fund_dispute_weight",)),
    "parameter_of_wrong_type": Case(
        {"scenario.yaml": scenario_text(extra="params: {fund_dispute_weight: high}\n"),
         "estates.csv": GOOD_CSV}, "scenario.yaml", ("params.fund_dispute_weight",)),
    "no_district_source": Case({"scenario.yaml": scenario_text(district="{}")},
                               "scenario.yaml", ("district",)),
    "generator_unknown_housing_type": Case(
        {"scenario.yaml": scenario_text(district="{generate: {estates: 5, mix: {castle: 1}}}")},
        "scenario.yaml", ("district.generate", "castle")),
    "yaml_duplicate_key": Case(
        {"scenario.yaml": scenario_text(extra="years: 2\n"), "estates.csv": GOOD_CSV},
        "scenario.yaml", ("duplicate key", "years")),
    "file_of_comments_only": Case({"scenario.yaml": "# nothing here\n"}, "scenario.yaml",
                                  ("empty",)),
    "not_a_mapping_scalar": Case({"scenario.yaml": "just some words\n"}, "scenario.yaml",
                                 ("mapping",)),
    "scenario_file_missing": Case({"other.yaml": scenario_text()}, "scenario.yaml",
                                  ("not found",)),
    "csv_misspelt_column": Case(csv_case("A,120,7000,commodity,0,0,B1", header=HEADER + ",blok"),
                                "estates.csv", ("blok", "did you mean 'block'")),
    "csv_column_given_twice": Case(
        csv_case("A,120,7000,commodity,0,0,3", header=HEADER + ",households"),
        "estates.csv", ("households",)),
    "csv_zero_households": Case(csv_case("A,0,7000,commodity,0,0"), "estates.csv",
                                ("households",)),
    "csv_fractional_households": Case(csv_case("A,12.5,7000,commodity,0,0"), "estates.csv",
                                      ("households", "12.5")),
    "csv_implausibly_many_households": Case(csv_case("A,100000000000,7000,commodity,0,0"),
                                            "estates.csv", ("households",)),
    "csv_text_in_number_column": Case(csv_case("A,120,7000,commodity,east,0"), "estates.csv",
                                      ("x_m", "east")),
    "csv_infinite_number": Case(csv_case("A,120,inf,commodity,0,0"), "estates.csv",
                                ("floor_area_m2",)),
    "csv_negative_optional_value": Case(
        csv_case("A,120,7000,commodity,0,0,-5", header=HEADER + ",fund_yuan"),
        "estates.csv", ("fund_yuan", "-5")),
    "csv_condition_above_one": Case(
        csv_case("A,120,7000,commodity,0,0,1.5", header=HEADER + ",condition"),
        "estates.csv", ("condition", "1.5")),
    "csv_empty_housing_type": Case(csv_case("A,120,7000,,0,0"), "estates.csv",
                                   ("housing_type",)),
    "csv_empty_estate_id": Case(csv_case(",120,7000,commodity,0,0"), "estates.csv",
                                ("estate_id",)),
    "csv_header_only": Case(csv_case(""), "estates.csv", ("no estates",)),
    "csv_empty_file": Case({"scenario.yaml": scenario_text(), "estates.csv": ""},
                           "estates.csv", ("CSV",)),
    "district_not_a_mapping": Case({"scenario.yaml": scenario_text(district="ouyang_road")},
                                   "scenario.yaml", ("district", "mapping")),
    "csv_path_empty": Case({"scenario.yaml": scenario_text(district='{csv: ""}')},
                           "scenario.yaml", ("district.csv",)),
    "flag_years_beyond_the_scenario_limit": Case(
        {"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
        "command line", ("--years", "101"), ("--years", "101")),
    "flag_seed_too_large_for_64_bits": Case(
        {"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
        "command line", ("--seed",), ("--seed", str(2**64))),
    "flag_seed_not_a_number": Case({"scenario.yaml": scenario_text(), "estates.csv": GOOD_CSV},
                                   "command line", ("--seed", "x"), ("--seed", "x")),
}
"""Further bad inputs, checked in-process (fast) by the same rules."""


def write_files(case: Case, folder: Path) -> list[Path]:
    """Write the case's files into folder; returns what the folder then holds."""
    for name, text in case.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return sorted(folder.iterdir())


def check_message(message: str, case: Case, folder: Path) -> None:
    """The message names the file (or the command line) and the key, column or flag."""
    where = case.names_file if case.names_file == "command line" else str(folder / case.names_file)
    assert where in message
    for words in case.says:
        assert words in message


@pytest.mark.parametrize("case", CLI_CASES.values(), ids=CLI_CASES.keys())
def test_bad_input_exits_2_with_one_line_naming_file_and_key(case, cli, tmp_path):
    written = write_files(case, tmp_path)
    out = tmp_path / "out"

    proc = cli("run", tmp_path / "scenario.yaml", "--out", out, *case.flags)

    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    check_message(proc.stderr, case, tmp_path)
    assert not out.exists()
    assert sorted(tmp_path.iterdir()) == written


@pytest.mark.parametrize("case", MORE_CASES.values(), ids=MORE_CASES.keys())
def test_more_bad_input_exits_2_with_one_line_naming_file_and_key(case, tmp_path, capsys):
    written = write_files(case, tmp_path)
    out = tmp_path / "out"

    status = main(["run", str(tmp_path / "scenario.yaml"), "--out", str(out), *case.flags])

    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert len(captured.err.splitlines()) == 1, captured.err
    check_message(captured.err, case, tmp_path)
    assert not out.exists()
    assert sorted(tmp_path.iterdir()) == written


def test_out_that_is_a_file_is_bad_input_and_left_alone(cli, tmp_path):
    (tmp_path / "scenario.yaml").write_text(scenario_text())
    (tmp_path / "estates.csv").write_text(GOOD_CSV)
    out = tmp_path / "out"
    out.write_text("keep me")

    proc = cli("run", tmp_path / "scenario.yaml", "--out", out)

    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1
    assert "--out" in proc.stderr
    assert out.read_text() == "keep me"


def test_validate_reports_bad_input_like_run(cli, tmp_path):
    (tmp_path / "scenario.yaml").write_text(scenario_text())
    (tmp_path / "estates.csv").write_text(csv_case("A,120,7000,castle,0,0")["estates.csv"])

    proc = cli("validate", tmp_path / "scenario.yaml")

    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1
    assert str(tmp_path / "estates.csv") in proc.stderr and "housing_type" in proc.stderr


def test_good_csv_with_empty_optional_cells_runs(tmp_path, capsys):
    """Empty optional cells take the housing type's defaults (they are not an error)."""
    (tmp_path / "scenario.yaml").write_text(scenario_text())
    (tmp_path / "estates.csv").write_text(
        HEADER + ",fee_yuan_per_m2,block\n"
        "A,120,7000,after_sale_public,0,0,,\nB,90,5500,after_sale_public,120,0,0.8,North\n")

    status = main(["run", str(tmp_path / "scenario.yaml"), "--out", str(tmp_path / "out"), "--quiet"])

    assert status == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "run.json").is_file()

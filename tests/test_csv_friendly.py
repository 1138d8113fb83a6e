"""District CSVs as spreadsheets save them (issue 15.6): encodings, delimiters, Chinese housing
type names, thousands separators and percentages; every missing column at once; "did you mean";
validate's warnings on implausible data."""

import pytest

from sim.cli import main
from sim.districts import HOUSING_TYPE_ALIASES, housing_type
from sim.params import HOUSING_TYPES
from sim.scenario import load_scenario

HEADER = "estate_id,households,floor_area_m2,housing_type,x_m,y_m"
ROWS = ["甲,120,7000,售后公房,0,0", "乙,90,5500,二级旧里,120,0", "丙,400,38000,商品房,0,150"]


def write(tmp_path, data: bytes | str, encoding: str = "utf-8"):
    path = tmp_path / "estates.csv"
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    (tmp_path / "s.yaml").write_text("name: friendly\ndistrict: {csv: estates.csv}\nyears: 1\n")
    return tmp_path / "s.yaml"


def estates(scenario_path):
    return load_scenario(scenario_path).load_district().estates


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_excel_encodings_are_read(encoding, tmp_path):
    table = estates(write(tmp_path, "\n".join([HEADER, *ROWS]) + "\n", encoding))
    assert list(table["estate_id"]) == ["甲", "乙", "丙"]
    assert list(table["housing_type"]) == ["after_sale_public", "old_lane", "commodity"]


def test_a_file_in_no_known_encoding_is_refused_with_the_fix(tmp_path, capsys):
    path = write(tmp_path, (HEADER + "\n").encode() + b"A,120,7000,\xff\xfe\xfa,0,0\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "CSV UTF-8" in err


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_the_delimiter_is_sniffed(delimiter, tmp_path):
    text = "\n".join(line.replace(",", delimiter) for line in [HEADER, *ROWS]) + "\n"
    assert len(estates(write(tmp_path, text))) == 3


def test_every_documented_alias_names_a_housing_type():
    assert set(HOUSING_TYPE_ALIASES.values()) <= set(HOUSING_TYPES)
    for name in HOUSING_TYPES:  # README and docs/ODD.md list each type's Chinese name
        assert housing_type(name) == name
    for chinese in ("售后公房", "商品房", "二级旧里", "新式里弄", "花园洋房", "职工住宅", "高层公寓"):
        assert housing_type(chinese) in HOUSING_TYPES
    assert housing_type(" After-Sale ") == "after_sale_public"
    assert housing_type("High Rise") == "high_rise"
    assert housing_type("castle") is None


def test_thousands_separators_and_percentages_are_understood(tmp_path):
    text = f'{HEADER},condition\nA,"14,000","1,250,000.5",commodity,0,0,85%\n'
    table = estates(write(tmp_path, text))
    assert table.loc[0, "households"] == 14_000
    assert table.loc[0, "floor_area_m2"] == 1_250_000.5
    assert table.loc[0, "condition"] == pytest.approx(0.85)


CELL_FIXES = {
    "percent_outside_a_share_column": ("A,85%,7000,commodity,0,0", ("households", "without %")),
    "space_separated_thousands": ("A,14 000,7000,commodity,0,0", ("households", "14000")),
    "decimal_comma": ("A;120;7000,5;commodity;0;0", ("floor_area_m2", "7000.5")),
    "unquoted_thousands_comma": ("A,14,000,7000,commodity,0,0", ("row 2", "quoted")),
}


@pytest.mark.parametrize("case", CELL_FIXES.values(), ids=CELL_FIXES.keys())
def test_cells_that_cannot_be_read_are_refused_with_the_fix(case, tmp_path, capsys):
    row, says = case
    header = HEADER.replace(",", ";") if ";" in row else HEADER
    path = write(tmp_path, f"{header}\n{row}\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    for words in says:
        assert words in err, err


def test_every_missing_column_is_named_at_once_with_a_suggestion(tmp_path, capsys):
    path = write(tmp_path, "estate_id,househlds,housing_type\nA,120,commodity\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    for column in ("households", "floor_area_m2", "x_m", "y_m"):
        assert column in err
    assert "'househlds' → households" in err


def test_an_unknown_column_or_housing_type_gets_a_suggestion(tmp_path, capsys):
    path = write(tmp_path, f"{HEADER},fee_yuan_per_m\nA,120,7000,commodity,0,0,1\n")
    assert main(["validate", str(path)]) == 2
    assert "did you mean 'fee_yuan_per_m2'" in capsys.readouterr().err
    path = write(tmp_path, f"{HEADER}\nA,120,7000,comodity,0,0\n")
    assert main(["validate", str(path)]) == 2
    assert "did you mean 'commodity'" in capsys.readouterr().err


def test_validate_warns_on_implausible_data_without_refusing(tmp_path, capsys):
    text = (f"{HEADER},fee_yuan_per_m2\n"
            "A,98,0.65,commodity,121.4737,31.2304,2.5\n"   # lat/lon degrees as metres; 0.65 m2
            "B,120,7000,commodity,121.4740,31.2307,45\n"   # a fee of 45 yuan/m2/month
            "C,120,7000,commodity,121.4740,31.2307,2.5\n")  # on top of B
    assert main(["validate", str(write(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert "span only" in out and "metres" in out
    assert "floor area per household" in out and "'A'" in out
    assert "fee outside" in out and "'B'" in out
    assert "sit exactly on another" in out and "'C'" in out


def test_plausible_data_draws_no_warning(tmp_path, capsys):
    assert main(["validate", str(write(tmp_path, "\n".join([HEADER, *ROWS]) + "\n"))]) == 0
    assert "warning" not in capsys.readouterr().out

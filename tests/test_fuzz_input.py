"""Hypothesis fuzz of the two user-written inputs, scenario YAML and district CSV: whatever the
file holds, `estate-sim validate` exits 0 or 2 (never 1), with one line on stderr when it is 2
and none when it is 0. Then the audit of issue 31's input cases, one by one: bad input is exit 2
and one line naming the file and the key, before anything runs; the Python API raises InputError
naming the argument."""

import contextlib
import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from fault_support import DEGREES_CSV, ROOT, TINY, cli_status, no_simulation, refused
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.districts import COLUMNS
from sim.errors import InputError, shown
from sim.params import HOUSING_TYPES, PARAMETER_INDEX

FAST_EXAMPLES = 60
SLOW_EXAMPLES = 1000

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["1e400", "-1e400", ".inf", "NaN", "0x10", "1_000", "true", "~", "<<"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
small_counts = st.one_of(st.integers(min_value=-3, max_value=40), scalars)

districts = st.one_of(
    st.fixed_dictionaries({"preset": st.one_of(st.just("ouyang_road"), st.text(max_size=10))}),
    st.fixed_dictionaries({"csv": st.one_of(st.just("estates.csv"), st.text(max_size=10))}),
    st.fixed_dictionaries({"generate": st.fixed_dictionaries(
        {"estates": small_counts},
        optional={"seed": small_counts, "estates_per_block": small_counts,
                  "size_scale": st.one_of(st.floats(), scalars),
                  "mix": st.dictionaries(st.one_of(st.sampled_from(list(HOUSING_TYPES)),
                                                   st.text(max_size=8)),
                                         st.one_of(st.floats(), scalars), max_size=3)})}),
    values,
)
params = st.dictionaries(st.one_of(st.sampled_from(sorted(PARAMETER_INDEX)), st.text(max_size=10)),
                         st.one_of(st.floats(), st.integers(-(2**70), 2**70), scalars), max_size=4)
policies = st.dictionaries(
    st.sampled_from(["merge", "entrust", "self_governance", "block_integration", "castle"]),
    st.dictionaries(st.sampled_from(["enabled", "max_group", "max_households", "reach_m", "x"]),
                    st.one_of(st.booleans(), st.floats(), scalars), max_size=3), max_size=3)
scenarios = st.tuples(
    st.fixed_dictionaries({}, optional={
        "name": st.one_of(st.text(min_size=1, max_size=12), scalars), "district": districts,
        "years": st.one_of(st.integers(-2, 3), scalars), "seed": small_counts,
        "params": params, "policy": policies, "description": scalars}),
    st.dictionaries(st.text(max_size=6), values, max_size=2),
).map(lambda parts: {**parts[1], **parts[0]})
raw_yaml = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["[1]: 2\n", "? {a: 1}\n: 2\n", "a: &x [*x]\n", "<<: 3\n", "a: !!python/name:os.system\n",
                     "name: x\nname: y\n", "\t- x\n", "a: " + "[" * 3000 + "]" * 3000 + "\n"]),
)

cells = st.one_of(
    st.sampled_from(["", "NA", "True", "1e308", "inf", "-1", "0", "12", "120", "7000", "0.5",
                     "14,000", "85%", "1e400", "nan", "售后公房", "commodity", "castle", " 3 ",
                     "after-sale", "1 000", "12,5"]),
    st.integers(-10**6, 10**12).map(str), st.floats().map(repr), st.text(max_size=8))
headers = st.one_of(
    st.permutations(list(COLUMNS)).flatmap(lambda cols: st.integers(0, len(cols)).map(lambda n: cols[:n])),
    st.lists(st.one_of(st.sampled_from(list(COLUMNS)), st.text(max_size=8)), max_size=8))


VALID_CELLS = {
    "estate_id": st.one_of(st.text(min_size=1, max_size=6), st.sampled_from(["NA", "A", "甲"])),
    "households": st.integers(1, 3000).map(str),
    "floor_area_m2": st.floats(100, 1e6).map(lambda v: f"{v:.1f}"),
    "housing_type": st.sampled_from([*HOUSING_TYPES, "售后公房", "二级旧里", "Commercial", "high rise"]),
    "x_m": st.floats(-5000, 5000).map(lambda v: f"{v:.1f}"),
    "y_m": st.floats(-5000, 5000).map(lambda v: f"{v:.1f}"),
    "block": st.text(max_size=5),
    "gates": st.integers(0, 9).map(str),
    "fee_yuan_per_m2": st.floats(0, 6).map(lambda v: f"{v:.2f}"),
    "fund_yuan": st.integers(0, 10**8).map(str),
    "condition": st.one_of(st.floats(0, 1).map(lambda v: f"{v:.2f}"), st.just("85%")),
}


@st.composite
def mostly_valid_rows(draw) -> tuple[list[str], list[list[str]]]:
    """A well-formed district table with a few hostile cells: fuzzes the per-column parsing."""
    header = list(COLUMNS[:draw(st.integers(6, len(COLUMNS)))])
    rows = [[draw(st.one_of(VALID_CELLS[c], cells) if draw(st.integers(0, 9)) == 0
                  else VALID_CELLS[c]) for c in header] for _ in range(draw(st.integers(1, 5)))]
    return header, rows


@st.composite
def any_rows(draw) -> tuple[list[str], list[list[str]]]:
    header = draw(headers)
    rows = draw(st.lists(st.lists(cells, min_size=max(0, len(header) - 1), max_size=len(header) + 1),
                         max_size=6))
    return header, rows


@st.composite
def csv_files(draw) -> bytes:
    header, rows = draw(st.one_of(mostly_valid_rows(), any_rows()))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gbk", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 3)) == 0:
        junk = draw(st.binary(max_size=20))
        at = draw(st.integers(0, len(data)))
        data = data[:at] + junk + data[at:]
    return data


def validate(folder: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["validate", str(folder / "s.yaml")])
    return status, err.getvalue()


def check(status: int, err: str) -> None:
    assert status in (0, 2), err
    assert len(err.splitlines()) == (1 if status == 2 else 0), err


GOOD_CSV = ("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n"
            "A,120,7000,after_sale_public,0,0\nB,400,38000,commodity,0,150\n")


def fuzz_scenario(data, text: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if text is None:
            text = yaml.safe_dump(data, allow_unicode=True)
        (folder / "s.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        (folder / "estates.csv").write_text(GOOD_CSV)
        check(*validate(folder))


def fuzz_csv(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "s.yaml").write_text("name: fuzz\ndistrict: {csv: estates.csv}\nyears: 1\n")
        (folder / "estates.csv").write_bytes(data)
        check(*validate(folder))


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=FAST_EXAMPLES, **FUZZ)
@given(scenarios, st.one_of(st.none(), raw_yaml))
def test_any_scenario_file_exits_0_or_2_with_one_line(data, text):
    fuzz_scenario(data, text)


@settings(max_examples=FAST_EXAMPLES, **FUZZ)
@given(csv_files())
def test_any_district_csv_exits_0_or_2_with_one_line(data):
    fuzz_csv(data)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **FUZZ)
@given(scenarios, st.one_of(st.none(), raw_yaml))
def test_many_scenario_files_exit_0_or_2_with_one_line(data, text):
    fuzz_scenario(data, text)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **FUZZ)
@given(csv_files())
def test_many_district_csvs_exit_0_or_2_with_one_line(data):
    fuzz_csv(data)


# --- the Python API's arguments (issue 31): InputError or accepted, never a raw error ------------

api_values = st.one_of(
    scalars, st.integers(-(10**400), 10**400), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.sampled_from([np.int64(5), np.int32(0), np.float32(0.5), np.float64("nan"), np.bool_(True),
                     np.uint8(3), np.float16(1e4)]))


@pytest.fixture(scope="module")
def api_scenario(tmp_path_factory):
    from sim.scenario import load_scenario

    path = tmp_path_factory.mktemp("api") / "s.yaml"
    path.write_text("name: api\ndistrict: {generate: {estates: 4, seed: 1}}\nyears: 1\n")
    return load_scenario(path)


@settings(max_examples=FAST_EXAMPLES * 3, **FUZZ)
@given(years=api_values, seed=api_values, name=st.sampled_from(sorted(PARAMETER_INDEX)),
       value=api_values, params=st.one_of(st.none(), api_values))
def test_api_arguments_are_accepted_or_refused_with_a_short_input_error(api_scenario, years, seed, name,
                                                                         value, params):
    from sim.errors import InputError

    for kwargs in ({"years": years}, {"seed": seed}, {"params": {name: value}}, {"params": params}):
        try:
            api_scenario.with_overrides(**kwargs)
        except InputError as exc:
            assert len(str(exc)) < 400 and "\n" not in str(exc)


@settings(max_examples=FAST_EXAMPLES, **FUZZ)
@given(st.integers(2, 7), st.integers(2, 10), st.sampled_from(["params: {merge_support: *a}",
                                                              "params: *a", "description: *a"]))
def test_yaml_aliases_are_counted_as_what_they_stand_for(levels, width, where):
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    text = "\n".join(lines).replace(f"&a{levels - 1}", "&a") + f"\nname: t\n{where}\n"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "s.yaml").write_text(text)
        status, err = validate(folder)
        check(status, err)
        assert status == 2
        if width**levels > 100_000:
            assert "aliases expanded" in err


# --- the audit of issue 31: inputs checked before any work, bounded messages ------------------------

# --- block_integration.blocks --------------------------------------------------------------

@pytest.mark.parametrize("blocks, says", [("[]", "is empty"), ("[B1, B1]", "'B1' twice")],
                         ids=["empty", "repeated"])
def test_block_integration_refuses_an_empty_or_repeated_block_list(tmp_path, capsys, blocks, says):
    # [] used to mean "every block" and [B1, B1] counted two blocks
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}policy:\n  block_integration: {{enabled: true, blocks: {blocks}}}\n")
    refused(["validate", path], capsys, str(path), "policy.block_integration.blocks", says)


def test_the_api_refuses_an_empty_block_list_too():
    scenario = sim.load_scenario(ROOT / "scenarios" / "integrated.yaml")
    with pytest.raises(InputError, match="policy.block_integration.blocks: is empty"):
        sim.run(scenario, years=1, policies={"block_integration": {"blocks": []}})


# --- warnings, ids, messages ---------------------------------------------------------------

@pytest.mark.parametrize("command", ["run", "sweep"])
def test_coordinates_in_degrees_are_warned_about_by_run_and_sweep(tmp_path, capsys, command):
    (tmp_path / "deg.csv").write_text(DEGREES_CSV)
    (tmp_path / "s.yaml").write_text("name: deg\ndistrict: {csv: deg.csv}\nyears: 1\n")
    (tmp_path / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\n")
    target = tmp_path / ("s.yaml" if command == "run" else "w.yaml")
    status, _, err = cli_status([command, target, "--out", tmp_path / "out", "--quiet"], capsys)
    assert status == 0, err
    assert "warning" in err and "degrees" in err and "deg.csv" in err


def test_a_plus_in_an_estate_id_is_refused(tmp_path, capsys):
    # "A+B" and "C" merged would be the area "A+B+C", as would "A" and "B+C"
    (tmp_path / "e.csv").write_text(DEGREES_CSV.replace("A,120", "A+B,120").replace(",121.4", ",1214"))
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: e.csv}\nyears: 1\n")
    refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", "estate_id", "row 2", "'+'")


def test_a_huge_whole_number_is_said_to_be_out_of_range(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}params: {{merge_max_group: {10**30}}}\n")
    err = refused(["validate", path], capsys, "params.merge_max_group", "outside [2, 20]")
    assert "whole number" not in err


def test_a_named_pipe_is_not_called_missing(tmp_path, capsys):
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    refused(["validate", pipe], capsys, str(pipe), "not a regular file")
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: pipe.yaml}\n")
    refused(["validate", tmp_path / "s.yaml"], capsys, "district.csv", "not a regular file")


@pytest.mark.parametrize("district", ["generated:²", "generated:٣", "generated:0", "generated:300000"])
def test_bench_refuses_a_generated_count_that_is_no_ascii_number(capsys, district):
    refused(["bench", "--district", district], capsys, "--district", "generated:N")


def test_messages_show_at_most_a_few_dozen_characters_of_a_value():
    huge = [[list(range(1000))] * 1000] * 1000  # a billion items, as a YAML alias bomb builds
    assert len(shown(huge)) <= 80
    assert len(shown("x" * 10**6)) <= 80
    assert "digits" in shown(10**5000)  # str() of it is refused by Python


# --- the Python API's arguments --------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "s.yaml"
    path.write_text(f"name: t\n{TINY}")
    return sim.load_scenario(path)


BAD_RUN_ARGUMENTS = {
    "years_1.5": ({"years": 1.5}, "years"),
    "years_True": ({"years": True}, "years"),
    "seed_1.5": ({"seed": 1.5}, "seed"),
    "param_inf": ({"params": {"merge_support": float("inf")}}, "params.merge_support"),
    "param_nan": ({"params": {"merge_support": float("nan")}}, "params.merge_support"),
    "param_10**400": ({"params": {"merge_support": 10**400}}, "params.merge_support"),
    "param_a_list": ({"params": {"merge_support": [0.5]}}, "params.merge_support"),
    "params_a_string": ({"params": "abc"}, "params"),
    "policies_a_string": ({"policies": "merge"}, "policies"),
    "progress_a_string": ({"progress": "x"}, "progress"),
    "engine_a_list": ({"engine": ["vector"]}, "engine"),
}


@pytest.mark.parametrize("kwargs, key", BAD_RUN_ARGUMENTS.values(), ids=BAD_RUN_ARGUMENTS.keys())
def test_run_refuses_a_bad_argument_naming_it(tiny_scenario, kwargs, key):
    with pytest.raises(InputError) as caught:
        sim.run(tiny_scenario, **kwargs)
    assert caught.value.key == key
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("workers, says", [("2", "whole number"), (0, "outside"), (2.0, "whole number"),
                                           (True, "whole number")])
def test_sweep_refuses_a_bad_worker_count(tmp_path, workers, says):
    with pytest.raises(InputError, match=f"sim.sweep: workers: .*{says}"):
        sim.sweep(tmp_path / "never-read.yaml", workers=workers)


def test_run_takes_numpy_scalars(tiny_scenario):
    result = sim.run(tiny_scenario, years=np.int64(1), seed=np.int64(5),
                     params={"merge_support": np.float32(0.5), "merge_max_group": np.int64(4)})
    assert len(result.timeseries) == 12
    again = sim.run(tiny_scenario, years=1, seed=5, params={"merge_support": 0.5, "merge_max_group": 4})
    assert result.timeseries.equals(again.timeseries)


# --- inputs checked before any work (item 2) and bounded messages (item 3) ------------------------

def _alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes of YAML that stand for 10**levels values."""
    lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["params: {merge_support: *b8}", "params: *b8"])
def test_an_alias_bomb_in_a_scenario_is_refused_at_once(tmp_path, capsys, where):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}{_alias_bomb()}{where}\n")
    refused(["validate", path], capsys, str(path), "aliases expanded")


def test_an_alias_bomb_in_a_sweeps_factors_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(f"name: t\n{TINY}")
    path = tmp_path / "w.yaml"
    path.write_text(f"name: w\nscenarios: [s.yaml]\nseed: 1\n{_alias_bomb()}"
                    "factors: {method: lhs, samples: 4, ranges: {merge_support: *b8}}\n")
    refused(["validate", path], capsys, str(path), "aliases expanded")


def test_aliases_count_toward_the_nesting_limit(tmp_path, capsys):
    deep = "d0: &d0 [x]\n" + "".join(f"d{i}: &d{i} [*d{i - 1}]\n" for i in range(1, 60))
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}{deep}")
    refused(["validate", path], capsys, "nested more than 50")


def test_a_small_alias_is_still_read(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nyears: 1\ndistrict: &d {generate: {estates: 6, seed: 1}}\n")
    status, _, err = cli_status(["validate", path], capsys)
    assert status == 0, err


def test_a_huge_yaml_file_is_refused_by_size(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}description: {'x' * 10_100_000}\n")
    refused(["validate", path], capsys, str(path), "larger than")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize("field", ["value", "tolerance"])
def test_a_calibration_target_must_be_a_finite_number(tmp_path, capsys, monkeypatch, field, value):
    no_simulation(monkeypatch)
    target = {"value": "60", "tolerance": "5"}
    target[field] = value
    text = (ROOT / "scenarios" / "calibration" / "ouyang_road.yaml").read_text()
    text = text.replace("scenario: ../integrated.yaml", f"scenario: {ROOT / 'scenarios' / 'integrated.yaml'}")
    head, _, _ = text.partition("targets:")
    first = next(line.split(":")[0].strip() for line in text.partition("targets:")[2].splitlines()
                 if line.strip() and not line.strip().startswith("#"))
    path = tmp_path / "c.yaml"
    path.write_text(f"{head}targets:\n  {first}: {{value: {target['value']}, tolerance: "
                    f"{target['tolerance']}}}\n")
    refused(["calibrate", path, "--out", tmp_path / "out"], capsys, f"targets.{first}.{field}", "finite")


def test_a_long_scenario_name_is_refused_before_a_sweep_folder_exists(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(f"name: {'n' * 300}\n{TINY}")
    (tmp_path / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\n")
    refused(["sweep", tmp_path / "w.yaml", "--out", tmp_path / "out"], capsys, "s.yaml", "name")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("column", ["estate_id", "block"])
def test_a_long_id_or_block_name_is_refused(tmp_path, capsys, column):
    long = "x" * 101
    row = f"{long},120,7000,commodity,0,0,B" if column == "estate_id" else f"A,120,7000,commodity,0,0,{long}"
    (tmp_path / "e.csv").write_text("estate_id,households,floor_area_m2,housing_type,x_m,y_m,block\n"
                                    f"{row}\nC,300,20000,commodity,100,200,B\n")
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: e.csv}\nyears: 1\n")
    err = refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", column, "row 2", "more than 100")
    assert long not in err


def test_a_district_csv_has_a_row_limit_and_a_size_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sim.districts.MAX_ESTATES", 3)
    rows = "".join(f"E{i},120,7000,commodity,{i * 100},0\n" for i in range(5))
    (tmp_path / "e.csv").write_text("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n" + rows)
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: e.csv}\nyears: 1\n")
    refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", "more than 3 estates")
    monkeypatch.setattr("sim.districts.MAX_CSV_BYTES", 100)
    refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", "larger than")

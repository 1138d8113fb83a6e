"""Hypothesis fuzz of the two user-written inputs, scenario YAML and district CSV: whatever the
file holds, `estate-sim validate` exits 0 or 2 (never 1), with one line on stderr when it is 2
and none when it is 0."""

import contextlib
import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.districts import COLUMNS
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

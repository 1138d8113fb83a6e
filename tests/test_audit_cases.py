"""The audit of issue 31: cases that were mishandled, each pinned down as the behaviour it now has.

Bad input is exit status 2 and one line naming the file and the key, before anything runs; the
Python API raises InputError naming the argument; odd but allowed data draws a warning."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

import sim
from sim.cli import main
from sim.errors import InputError, shown

TINY = "district: {generate: {estates: 6, seed: 1}}\nyears: 1\n"
DEGREES_CSV = ("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n"
               "A,120,7000,commodity,121.48,31.27\nB,300,20000,commodity,121.49,31.26\n")


def cli(args, capsys) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def refused(args, capsys, *says: str) -> str:
    """The command exits 2 with one line on stderr holding every one of `says`."""
    status, _, err = cli(args, capsys)
    assert status == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in says:
        assert word in err, err
    return err


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


# --- NUMBA_DISABLE_JIT ---------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["mesa", "vector"])
def test_runs_work_with_numba_jit_disabled(tmp_path, engine):
    # the owners' vote read its parameters from numba's record as Python: AttributeError
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}policy:\n  merge: {{enabled: true}}\n  block_integration: "
                    "{enabled: true}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_DISABLE_JIT": "1"}
    done = subprocess.run([sys.executable, "-m", "sim", "run", str(path), "--engine", engine, "--out",
                           str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "timeseries.parquet").is_file()


# --- warnings, ids, messages ---------------------------------------------------------------

@pytest.mark.parametrize("command", ["run", "sweep"])
def test_coordinates_in_degrees_are_warned_about_by_run_and_sweep(tmp_path, capsys, command):
    (tmp_path / "deg.csv").write_text(DEGREES_CSV)
    (tmp_path / "s.yaml").write_text("name: deg\ndistrict: {csv: deg.csv}\nyears: 1\n")
    (tmp_path / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\n")
    target = tmp_path / ("s.yaml" if command == "run" else "w.yaml")
    status, _, err = cli([command, target, "--out", tmp_path / "out", "--quiet"], capsys)
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

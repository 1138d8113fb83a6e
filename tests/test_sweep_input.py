"""Bad sweep files and flags: exit status 2 and one line naming the file and the dotted key."""

import pytest
import yaml
from sweep_support import write_scenarios, write_sweep

import sim.run
from analysis.results import load_final, load_runs, load_timeseries
from sim.cli import main
from sim.errors import InputError
from sim.experiments import executors
from sim.experiments.store import LOCK_FILE, MANIFEST, TEMP_PREFIX

LHS = {"method": "lhs", "samples": 4, "ranges": {"volunteer_fatigue": [0.01, 0.1]}}

CASES = {
    "unknown_key": ({"colour": "red"}, "colour"),
    "wrong_type": ({"replicates": "thirty"}, "replicates"),
    "zero_replicates": ({"replicates": 0}, "replicates"),
    "missing_seed": ({"seed": None}, "seed"),
    "unknown_engine": ({"engine": "turbo"}, "engine"),
    "years_out_of_range": ({"years": 0}, "years"),
    "no_scenarios": ({"scenarios": []}, "scenarios"),
    "missing_scenario_file": ({"scenarios": ["scenarios/quiet.yaml", "nowhere.yaml"]},
                              "scenarios.1"),
    "same_scenario_twice": ({"scenarios": ["scenarios/quiet.yaml", "scenarios/quiet.yaml"]},
                            "scenarios.1"),
    "unknown_method": ({"factors": {**LHS, "method": "random"}}, "factors.method"),
    "unknown_factor_key": ({"factors": {**LHS, "seed": 3}}, "factors.seed"),
    "unknown_parameter": ({"factors": {**LHS, "ranges": {"fatigue": [0, 1]}}},
                          "factors.ranges.fatigue"),
    "range_outside_the_parameter": (
        {"factors": {**LHS, "ranges": {"volunteer_fatigue": [0.01, 1.5]}}},
        "factors.ranges.volunteer_fatigue"),
    "range_backwards": ({"factors": {**LHS, "ranges": {"volunteer_fatigue": [0.1, 0.01]}}},
                        "factors.ranges.volunteer_fatigue"),
    "range_not_a_pair": ({"factors": {**LHS, "ranges": {"volunteer_fatigue": [0.1]}}},
                         "factors.ranges.volunteer_fatigue"),
    "range_of_text": ({"factors": {**LHS, "ranges": {"volunteer_fatigue": ["low", "high"]}}},
                      "factors.ranges.volunteer_fatigue.0"),
    "sobol_not_a_power_of_two": ({"factors": {**LHS, "method": "sobol", "samples": 12}},
                                 "factors.samples"),
    "levels_without_morris": ({"factors": {**LHS, "levels": 6}}, "factors.levels"),
    "grid_too_large": ({"factors": {"method": "grid", "samples": 1000, "ranges": {
        "volunteer_fatigue": [0.01, 0.1], "fee_old_lane": [0.1, 1.0], "taste_sd": [0, 0.2]}}},
        "factors.samples"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_sweep_file_exits_2_naming_the_key(case, tmp_path, capsys):
    fields, key = CASES[case]
    sweep_file = write_sweep(tmp_path, **fields)
    if fields.get("seed", 0) is None:
        data = yaml.safe_load(sweep_file.read_text())
        del data["seed"]
        sweep_file.write_text(yaml.safe_dump(data))
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{sweep_file}: {key}:" in err, err
    assert not (tmp_path / "results").exists()


def test_an_error_inside_a_scenario_names_the_scenario_file(tmp_path, capsys):
    write_scenarios(tmp_path)
    (tmp_path / "scenarios" / "broken.yaml").write_text("name: broken\ndistrict: {preset: nowhere}\n")
    sweep_file = write_sweep(tmp_path, scenarios=["scenarios/broken.yaml"])
    assert main(["sweep", str(sweep_file)]) == 2
    assert "broken.yaml: district" in capsys.readouterr().err


def test_two_executors_at_once_are_refused(tmp_path, capsys):
    sweep_file = write_sweep(tmp_path)
    assert main(["sweep", str(sweep_file), "--workers", "2", "--dask-local", "2"]) == 2
    assert "--dask-local" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    sweep_file = write_sweep(tmp_path, replicates=1)
    out = tmp_path / "results"
    assert main(["sweep", str(sweep_file), "--scheduler", "tcp://127.0.0.1:9", "--out", str(out),
                 "--quiet"]) == 2
    assert "command line: --scheduler: cannot reach" in capsys.readouterr().err
    assert not out.exists()  # a refused sweep writes no folder and no manifest


def test_a_folder_with_other_files_is_not_overwritten(tmp_path, capsys):
    sweep_file = write_sweep(tmp_path)
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 2
    assert f"{out}: is not empty" in capsys.readouterr().err


def test_a_folder_left_by_a_kill_before_its_first_manifest_is_reopened(tmp_path):
    """A SIGKILL while the first manifest (or the writability probe) was being written leaves
    only the lock and a temporary: the next invocation starts the sweep there (CI saw this
    once in tests/test_fault_kills.py's random kills)."""
    sweep_file = write_sweep(tmp_path)
    out = tmp_path / "results"
    out.mkdir()
    (out / LOCK_FILE).write_text("")
    (out / f"{TEMP_PREFIX}manifest.json.x1y2").write_text('{"swe')
    (out / f"{TEMP_PREFIX}probe.z3").write_text("")
    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    assert (out / MANIFEST).is_file()
    assert not list(out.glob(f"{TEMP_PREFIX}*"))


@pytest.mark.parametrize("load", [load_runs, load_timeseries, load_final])
def test_loading_a_folder_that_is_not_a_results_folder_names_it(load, tmp_path):
    with pytest.raises(InputError, match=f"{tmp_path}: not a sweep results folder"):
        load(tmp_path)


def test_an_engine_that_cannot_build_the_model_is_bad_input_naming_the_engine_key(
        tmp_path, capsys, monkeypatch):
    def unavailable(scenario, engine):
        raise InputError("--engine", engine, "the vectorized engine is not yet available")

    monkeypatch.setattr(sim.run, "make_model", unavailable)
    sweep_file = write_sweep(tmp_path, engine="vector", replicates=1)
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "results")]) == 2
    assert f"{sweep_file}: engine: vector: the vectorized" in capsys.readouterr().err

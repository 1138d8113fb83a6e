"""One default engine: `vector` for run, sweep, sensitivity, calibration and the API."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import yaml

import sim.api
from analysis.sensitivity import SensitivitySpec, _tasks, load_study
from sim.calibration import CalibrationSpec
from sim.cli import build_parser, main
from sim.experiments.sweep import SweepSpec
from sim.run import DEFAULT_ENGINE, make_model, run_scenario

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_and_the_api_default_to_the_vector_engine():
    assert DEFAULT_ENGINE == "vector"
    defaults = {SweepSpec.model_fields["engine"].default, SensitivitySpec.model_fields["engine"].default,
                CalibrationSpec.model_fields["engine"].default,
                inspect.signature(sim.api.run).parameters["engine"].default,
                inspect.signature(run_scenario).parameters["engine"].default,
                inspect.signature(make_model).parameters["engine"].default}
    assert defaults == {DEFAULT_ENGINE}


def test_run_help_says_which_engine_is_the_default(capsys):
    run_help = next(action for action in build_parser()._subparsers._group_actions[0].choices["run"]._actions
                    if action.dest == "engine").help
    assert f"{DEFAULT_ENGINE} (arrays; the default)" in run_help and "mesa" in run_help


def test_run_without_engine_flag_runs_the_vector_engine(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump({"name": "small", "years": 1, "seed": 2,
                                        "district": {"generate": {"estates": 12, "seed": 1}}}))
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert json.loads((tmp_path / "out" / "run.json").read_text())["engine"] == "vector"


def test_validate_counts_the_sensitivity_baselines_runs_too(tmp_path, capsys):
    spec = tmp_path / "effect.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "effect", "scenario": str(ROOT / "scenarios/integrated.yaml"),
        "baseline": str(ROOT / "scenarios/status_quo.yaml"), "replicates": 2, "seed": 1,
        "outputs": ["satisfaction"],
        "factors": {"method": "morris", "samples": 4,
                    "ranges": {"merge_support": [0.2, 0.7], "briefing_support": [0.0, 0.3]}}}))
    assert main(["validate", str(spec)]) == 0
    printed = capsys.readouterr().out
    study = load_study(spec)
    made = len(_tasks(study))  # the runs the sensitivity command makes
    assert made == 2 * len(study.design) * study.replicates
    assert f"= {made:,} runs on the vector engine" in printed
    assert "the scenario and its baseline" in printed

"""Sensitivity analysis (analysis/sensitivity.py): indices, the spec's validation, a tiny design."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from SALib.sample import sobol
from SALib.test_functions import Ishigami

from analysis.results import load_final
from analysis.sensitivity import analyse, load_study, noise_share, sensitivity_indices
from sim.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
ISHIGAMI_S1 = {"x1": 0.314, "x2": 0.442, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.558, "x2": 0.442, "x3": 0.244}
TOLERANCE = 0.05
"""Absolute tolerance on each index at N = 1024 (8,192 evaluations; SALib's CIs are about ±0.05)."""


def test_sobol_indices_of_the_ishigami_function_are_recovered():
    ranges = {name: (-np.pi, np.pi) for name in ISHIGAMI_S1}
    problem = {"num_vars": 3, "names": list(ranges), "bounds": [list(b) for b in ranges.values()]}
    x = sobol.sample(problem, 1024, calc_second_order=True, seed=np.random.default_rng(7))
    indices, convergence = sensitivity_indices("sobol", ranges, x, Ishigami.evaluate(x), seed=7)
    values = indices.set_index(["parameter", "index"])["value"]
    for name in ranges:
        assert values[(name, "S1")] == pytest.approx(ISHIGAMI_S1[name], abs=TOLERANCE)
        assert values[(name, "ST")] == pytest.approx(ISHIGAMI_ST[name], abs=TOLERANCE)
    assert (convergence["samples"], convergence["half_samples"]) == (1024, 512)
    assert convergence["max_abs_change"] < TOLERANCE


def test_noise_share_ignores_the_shared_replicate_effect():
    import pandas as pd

    rng = np.random.default_rng(0)
    points, replicates = np.arange(20), np.arange(4)
    signal, shared = rng.normal(0, 1, 20), rng.normal(0, 5, 4)  # shared: common random numbers
    rows = [{"design_point": d, "replicate": r, "y": signal[d] + shared[r] + rng.normal(0, 0.01)}
            for d in points for r in replicates]
    assert noise_share(pd.DataFrame(rows), "y") < 0.01


def _scenario(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "district": {"generate": {"estates": 12, "seed": 1}},
                                    "policy": {"merge": {"enabled": True}}, "years": 1, "seed": 3}))
    return path


def _spec(folder: Path, **changes) -> Path:
    _scenario(folder)
    spec = {"scenario": "tiny.yaml",
            "factors": {"method": "morris", "samples": 4,
                        "ranges": {"merge_support": [0.2, 0.6], "volunteer_fatigue": [0.01, 0.1]}},
            "replicates": 2, "outputs": ["service_quality", "satisfaction"], "seed": 1, "years": 1}
    spec.update(changes)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("changes, key", [
    ({"colour": "red"}, "colour"),
    ({"outputs": ["happiness"]}, "outputs.0"),
    ({"factors": {"method": "lhs", "samples": 4, "ranges": {"merge_support": [0.2, 0.6]}}},
     "factors.method"),
    ({"factors": {"method": "morris", "samples": 4, "ranges": {"no_such_parameter": [0, 1]}}},
     "factors.ranges.no_such_parameter"),
    ({"factors": {"method": "morris", "samples": 4, "ranges": {"merge_support": [0.2, 3.0]}}},
     "factors.ranges.merge_support"),
    ({"factors": {"method": "sobol", "samples": 6, "ranges": {"merge_support": [0.2, 0.6]}}},
     "factors.samples"),
    ({"replicates": "two"}, "replicates"),
])
def test_a_bad_spec_names_the_key(changes, key, tmp_path):
    with pytest.raises(InputError) as error:
        load_study(_spec(tmp_path, **changes))
    assert error.value.key == key


@pytest.mark.slow
def test_a_tiny_morris_design_runs_and_writes_indices_figures_and_json(tmp_path):
    spec = _spec(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "sim", "sensitivity", str(spec), "--out",
                           str(tmp_path / "out"), "--workers", "2"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    report = json.loads((out / "sensitivity.json").read_text())
    assert report["runs"] == 4 * 3 * 2 and report["failed_runs"] == []
    for output in ("service_quality", "satisfaction"):
        assert (out / f"sensitivity_{output}.png").stat().st_size > 0
        assert (out / f"sensitivity_{output}.svg").stat().st_size > 0
        assert "max_abs_change" in report["outputs"][output]["convergence"]
        assert "noise_share" in report["outputs"][output]
    assert "noise share" in done.stdout


def test_the_shipped_example_spec_is_a_valid_policy_difference():
    study = load_study(ROOT / "scenarios" / "sensitivity" / "integrated_effect.yaml")

    assert [s.name for s in study.scenarios] == ["integrated", "status_quo"]
    assert study.resolved()["runs"] == len(study.design) * study.replicates * 2


def test_a_sweep_file_given_to_sensitivity_is_refused_in_one_line_saying_so(cli):
    sweep = ROOT / "scenarios" / "sweeps" / "policy_comparison.yaml"
    done = cli("sensitivity", sweep, "--out", "/nonexistent/never-written")

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"{sweep}: scenarios: this is a sweep file" in done.stderr


def test_a_baseline_with_the_scenarios_own_name_is_refused(tmp_path):
    with pytest.raises(InputError) as error:
        load_study(_spec(tmp_path, baseline="tiny.yaml"))
    assert error.value.key == "baseline"


def test_a_policy_difference_is_analysed_pair_by_pair_and_prints_no_nan(tmp_path, cli):
    (tmp_path / "calm.yaml").write_text(yaml.safe_dump(
        {"name": "calm", "district": {"generate": {"estates": 12, "seed": 1}}, "years": 1}))
    spec = _spec(tmp_path, baseline="calm.yaml", engine="vector")
    out = tmp_path / "out"
    done = cli("sensitivity", spec, "--out", out)
    assert done.returncode == 0, done.stderr

    study = load_study(spec)
    result = analyse(study, out / "runs")
    final = load_final(out / "runs", columns=["satisfaction"])
    pairs = final.pivot(index=["design_point", "replicate"], columns="scenario", values="satisfaction")
    expected = (pairs["tiny"] - pairs["calm"]).groupby("design_point").mean()
    assert result["design_means"]["satisfaction"].to_numpy() == pytest.approx(expected.to_numpy())
    assert json.loads((out / "sensitivity.json").read_text())["runs"] == 4 * 3 * 2 * 2
    assert "nan" not in done.stdout.lower()
    assert "tiny minus calm" in done.stdout.lower()

"""The Python API (sim/api.py): what docs/API.md promises, and its worked example, executed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "API.md"
SCENARIO = ROOT / "scenarios" / "integrated.yaml"


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)


def test_the_worked_example_in_api_md_runs(tmp_path):
    blocks = python_blocks(API_DOC)
    assert len(blocks) >= 5
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")  # the example runs from the root
    script = tmp_path / "example.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "api-example" / "results" / "manifest.json").is_file()


def test_run_takes_a_path_and_applies_seed_years_params_and_policies():
    result = sim.run(SCENARIO, seed=3, years=1, params={"merge_support": 0.6},
                     policies={"merge": False})

    assert len(result.timeseries) == 12
    assert result.meta["seed"] == 3
    assert result.meta["scenario"]["params"]["merge_support"] == 0.6
    assert result.meta["scenario"]["policies"]["merge"] is False
    assert result.timeseries["merges_done"].iloc[-1] == 0
    for name in ("timeseries", "areas", "estates", "events", "firms"):
        assert isinstance(getattr(result, name), pd.DataFrame)


def test_run_stays_callable_after_the_run_module_is_imported():
    import sim.run  # noqa: F401 - the import that would shadow a plain function

    scenario = sim.load_scenario(SCENARIO)
    assert sim.run(scenario, years=1, seed=2).timeseries.equals(
        sim.run(SCENARIO, years=1, seed=2).timeseries)


def test_run_refuses_an_unknown_engine_and_a_bad_parameter_naming_them():
    with pytest.raises(InputError, match="engine: unknown engine 'fast'"):
        sim.run(SCENARIO, engine="fast")
    with pytest.raises(InputError, match="merge_suport"):
        sim.run(SCENARIO, years=1, params={"merge_suport": 0.5})


def test_import_sim_stays_light():
    code = "import sys, sim; print(sorted(m for m in ('pandas', 'sim.api', 'mesa') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr

"""The shipped scenarios give the recorded outputs (tools/record_regression.py) on both engines.

Refactorings keep these files; a change of behaviour re-records them in its own commit. Floats
are compared to 1e-9 relative: reordering a district-wide sum may move the last bits, nothing more.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from record_regression import ENGINES, OUT, SCENARIOS, event_log, regression_run  # noqa: E402


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_shipped_scenario_gives_the_recorded_run(scenario, engine):
    stem = OUT / f"{scenario}-{engine}"
    # the five scenarios' burn-ins are one (seed, district, parameters): done once per process
    # (tests/test_shared_burn_in.py shows a run from it is the run that did its own)
    result = regression_run(scenario, engine, shared_burn_in=True)
    expected = pd.read_csv(f"{stem}-timeseries.csv")
    got = result.timeseries.drop(columns=["run_id"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False, rtol=1e-9)
    areas = pd.read_csv(f"{stem}-areas.csv", keep_default_na=False)
    pd.testing.assert_frame_equal(result.areas.reset_index(drop=True), areas, check_dtype=False, rtol=1e-9)
    recorded = json.loads(Path(f"{stem}-events.json").read_text())
    assert event_log(result) == recorded

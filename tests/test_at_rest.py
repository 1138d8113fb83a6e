"""The status quo is at rest after its burn-in: no outcome trends over the ten years recorded
(docs/VALIDATION.md; sim/at_rest.py), on the built-in district, a generated city district and a CSV
district written for this test (tests/data/rest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.at_rest import REST_TOLERANCE, Drift, drift, rest_report
from sim.run import run_scenario
from sim.scenario import load_scenario
from sim.validation import SCENARIOS

REST = Path(__file__).parent / "data" / "rest"
DISTRICTS = {  # scenario, seeds (a batch of seeds: the mean slope's interval shrinks with them)
    "ouyang_road": (SCENARIOS / "status_quo.yaml", 12),
    "csv_40_estates": (REST / "status_quo_csv.yaml", 12),
    "generated_1000_estates": (REST / "status_quo_generated.yaml", 4),
}


def _status_quo_runs(path: Path, seeds: int, params: dict | None = None) -> pd.DataFrame:
    scenario = load_scenario(path)
    return pd.concat([run_scenario(scenario.with_overrides(seed=7000 + s, years=10, params=params),
                                   "vector").timeseries for s in range(seeds)])


@pytest.mark.slow
@pytest.mark.parametrize("district", sorted(DISTRICTS))
def test_the_status_quo_is_at_rest_after_its_burn_in(district):
    """Satisfaction, quality and collection are at rest after the default burn-in: each mean yearly
    slope's 95% interval includes 0 or lies within ±REST_TOLERANCE (0.001) a year."""
    path, seeds = DISTRICTS[district]
    drifts = {d.outcome: d for d in drift(_status_quo_runs(path, seeds))}
    for line in rest_report(list(drifts.values()), load_scenario(path).params.burn_in_years, label=district):
        print(line)
    assert set(drifts) == {"satisfaction", "service_quality", "fee_collection_rate"}
    assert all(d.at_rest for d in drifts.values()), [d.text() for d in drifts.values()]


def test_a_drift_is_at_rest_when_its_interval_holds_zero_or_stays_within_the_tolerance():
    assert Drift("x", 0.002, -0.001, 0.005, 8).at_rest  # the interval holds 0
    assert Drift("x", 0.0005, 0.0002, 0.0008, 8).at_rest  # within the tolerance
    assert not Drift("x", 0.0016, 0.0008, 0.0024, 8).at_rest
    assert not Drift("x", -2 * REST_TOLERANCE, -0.003, -0.0011, 8).at_rest


def test_the_slope_of_a_trending_series_is_found_and_the_warning_names_the_remedy():
    months = pd.DataFrame({"run_id": "r", "year": [(m - 1) // 12 + 1 for m in range(1, 121)]})
    trending = months.assign(satisfaction=0.5 + 0.01 * months["year"], service_quality=0.6,
                             fee_collection_rate=0.9)
    drifts = {d.outcome: d for d in drift(trending)}
    assert drifts["satisfaction"].slope == pytest.approx(0.01)
    assert not drifts["satisfaction"].at_rest and drifts["service_quality"].at_rest
    report = rest_report(list(drifts.values()), 8)
    assert "WARNING" in report[1] and "burn_in_years: 16" in report[1]

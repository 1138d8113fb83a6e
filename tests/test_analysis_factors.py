"""Factor-aware analysis: outcomes per design point and against each factor; one meaning of 'final'."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sweep_support import write_sweep

from analysis.compare import compare_results, comparison_markdown, write_comparison
from analysis.report import report_html
from analysis.results import load_final, load_timeseries
from sim.experiments.executors import make_executor
from sim.experiments.sweep import load_sweep, run_sweep
from sim.outputs import FINAL_MONTHS

FACTOR = "merge_support"
METRICS = ["satisfaction", "fee_collection_rate"]


@pytest.fixture(scope="module")
def design_results(tmp_path_factory) -> Path:
    """Two tiny scenarios × a 3-level grid over one factor × 2 replicates, 2 years, vector engine."""
    folder = tmp_path_factory.mktemp("design")
    path = write_sweep(folder, engine="vector", years=2,
                       factors={"method": "grid", "samples": 3, "ranges": {FACTOR: [0.2, 0.6]}})
    out = folder / "results"
    began = time.perf_counter()
    summary = run_sweep(load_sweep(path), out, make_executor(1, None, None))
    assert summary.total == 12 and not summary.failed
    # the summary's time is this invocation's (once it was the machine's uptime: a flag shared its name)
    assert 0 < summary.wall_time_s <= time.perf_counter() - began
    return out


def test_final_is_the_mean_of_the_last_twelve_months_in_every_loader(design_results):
    timeseries = load_timeseries(design_results, columns=["satisfaction"])
    run = timeseries[timeseries["run_id"] == timeseries["run_id"].iloc[0]]
    expected = run["satisfaction"].iloc[-FINAL_MONTHS:].mean()

    final = load_final(design_results, columns=["satisfaction"]).set_index("run_id")["satisfaction"]
    compared = compare_results(design_results, metrics=["satisfaction"]).final
    assert final[run["run_id"].iloc[0]] == pytest.approx(expected)
    assert expected != pytest.approx(run["satisfaction"].iloc[-1])  # not the last month
    assert compared.set_index("run_id")["satisfaction"].to_dict() == pytest.approx(final.to_dict())


def test_each_design_point_has_each_policys_mean_and_its_paired_difference(design_results):
    comparison = compare_results(design_results, metrics=METRICS)
    table = comparison.design_points

    assert comparison.factors == [FACTOR]
    assert sorted(table[FACTOR].unique()) == pytest.approx([0.2, 0.4, 0.6])
    assert len(table) == 3 * 2 * len(METRICS)
    final = comparison.final
    for point in range(3):
        at = final[final["design_point"] == point].pivot(index="replicate", columns="scenario",
                                                         values="satisfaction")
        row = table[(table["design_point"] == point) & (table["scenario"] == "merging")
                    & (table["metric"] == "satisfaction")].iloc[0]
        assert row["mean"] == pytest.approx(at["merging"].mean())
        assert row["diff_mean"] == pytest.approx((at["merging"] - at["quiet"]).mean())
        assert row["pairs"] == 2


def test_compare_and_report_show_each_outcome_against_each_factor(design_results, tmp_path):
    comparison = compare_results(design_results, metrics=METRICS)
    written = {p.name for p in write_comparison(comparison, tmp_path)}
    html = report_html(comparison, tmp_path)

    assert {f"factor_{m}.png" for m in METRICS} <= written
    assert "design_points.csv" in written
    assert "per design point" in html and html.count("data:image/png") >= 3 + len(METRICS)
    assert "# Per design point" in comparison_markdown(comparison)


def test_a_sweep_without_a_design_has_no_factor_section(tmp_path):
    path = write_sweep(tmp_path, engine="vector", replicates=1)
    run_sweep(load_sweep(path), tmp_path / "results", make_executor(1, None, None))
    comparison = compare_results(tmp_path / "results", metrics=METRICS)

    assert comparison.factors == [] and comparison.design_points.empty
    assert "Per design point" not in comparison_markdown(comparison)

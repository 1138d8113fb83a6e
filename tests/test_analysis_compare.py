"""`estate-sim compare` and `report` on synthetic results folders (analysis/compare.py, report.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from synthetic_results import make_results

from analysis.compare import compare_results
from analysis.report import report_html
from analysis.uncertainty import bootstrap_mean_ci, paired_differences

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("timeseries", "final_distributions", "paired_differences", "differences_by_area_size",
           "differences_by_housing_type", "ranking", "differences_under_uncertainty")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def shared_noise(tmp_path_factory) -> Path:
    """Replicate effects (sd 0.2) far larger than the run noise (sd 0.005): pairing matters."""
    return make_results(tmp_path_factory.mktemp("paired") / "results", replicates=12,
                        replicate_sd=0.2, noise_sd=0.005)


@pytest.fixture(scope="module")
def with_failures(tmp_path_factory) -> Path:
    return make_results(tmp_path_factory.mktemp("failed") / "results", replicates=6,
                        failed={("status_quo", 1), ("integrated", 4)})


def test_paired_interval_is_much_narrower_than_an_unpaired_one(shared_noise):
    comparison = compare_results(shared_noise, metrics=["service_quality"])
    row = comparison.summary.set_index("scenario").loc["integrated"]
    paired_width = row["diff_high"] - row["diff_low"]
    final = comparison.final.set_index("scenario")["service_quality"]
    a, b = final.loc["integrated"].to_numpy(), final.loc["status_quo"].to_numpy()
    unpaired_width = 2 * 1.96 * np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert paired_width < unpaired_width / 10
    assert row["diff_low"] <= 0.10 <= row["diff_high"]  # the true effect


def test_shuffled_pairing_gives_a_different_answer(shared_noise):
    comparison = compare_results(shared_noise, metrics=["service_quality"])
    final = comparison.final[["scenario", "design_point", "replicate", "service_quality"]]
    shuffled = final.copy()
    policy = shuffled["scenario"] == "integrated"
    shuffled.loc[policy, "replicate"] = np.roll(shuffled.loc[policy, "replicate"].to_numpy(), 1)
    right = bootstrap_mean_ci(paired_differences(final, "status_quo", ["service_quality"])
                              .differences.query("scenario == 'integrated'")["service_quality"])
    wrong = bootstrap_mean_ci(paired_differences(shuffled, "status_quo", ["service_quality"])
                              .differences.query("scenario == 'integrated'")["service_quality"])
    assert (wrong.high - wrong.low) > 10 * (right.high - right.low)


def test_failed_runs_are_reported_and_only_unpaired_runs_leave_the_differences(with_failures):
    comparison = compare_results(with_failures)
    failures = comparison.failures
    assert failures.loc["status_quo", "failed"] == 1 and failures.loc["integrated", "failed"] == 1
    assert "FAILED" in comparison.runs_text()
    summary = comparison.summary[comparison.summary["metric"] == "service_quality"].set_index("scenario")
    assert summary.loc["status_quo", "n"] == 5  # its own statistics use every ok run
    assert summary.loc["n_in_1", "n"] == 6
    # integrated: replicate 1 lost its baseline run, replicate 4 its own: 4 pairs, 2 unpaired
    assert (summary.loc["integrated", "pairs"], summary.loc["integrated", "unpaired"]) == (4, 2)
    assert (summary.loc["n_in_1", "pairs"], summary.loc["n_in_1", "unpaired"]) == (5, 1)


@pytest.fixture(scope="module")
def compared(with_failures, tmp_path_factory):
    """`estate-sim compare` run once on the folder with failures: (completed process, out folder)."""
    out = tmp_path_factory.mktemp("compare") / "cmp"
    return _cli("compare", str(with_failures), "--out", str(out)), out


def test_compare_cli_reports_failures_on_stdout_and_in_the_table(compared):
    done, out = compared
    assert done.returncode == 0, done.stderr
    assert "status_quo-d0-r1" in done.stdout and "integrated-d0-r4" in done.stdout
    assert "1 FAILED" in done.stdout
    markdown = (out / "comparison_table.md").read_text(encoding="utf-8")
    assert "5 / 1" in markdown and "Unpaired runs" in markdown


def test_every_figure_and_table_is_written_and_not_empty(compared):
    done, out = compared
    names = {p.name for p in out.iterdir()}
    for stem in FIGURES:
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert {"comparison_table.csv", "comparison_table.md", "subgroup_table.csv", "ranking.csv",
            "difference_bands.csv"} <= names
    for path in out.iterdir():
        assert path.stat().st_size > 0, path


def test_subgroups_split_small_and_large_areas_and_housing_types(with_failures):
    subgroups = compare_results(with_failures).subgroups
    assert set(subgroups["grouping"]) == {"area size", "housing type"}
    assert {"small (< 200 hh)", "large (≥ 200 hh)"} <= set(subgroups["group"])
    assert {"after_sale_public", "commodity"} <= set(subgroups["group"])


def test_report_is_one_self_contained_html_file(with_failures, compared):
    _, figures = compared
    text = report_html(compare_results(with_failures), figures)
    assert text.count("data:image/png;base64,") == len(FIGURES)
    assert "<script" not in text and "src='http" not in text and 'src="http' not in text
    assert "f" * 64 in text  # the sweep's hash
    assert "integrated-d0-r4" in text and "synthetic failure" in text


@pytest.mark.parametrize("args, named", [
    (["compare", "{empty}"], "not a sweep results folder"),
    (["compare", "{results}", "--metrics", "happiness"], "--metrics: unknown metric 'happiness'"),
    (["compare", "{results}", "--baseline", "anarchy"], "--baseline: no scenario 'anarchy'"),
])
def test_bad_input_exits_2_naming_it(args, named, with_failures, tmp_path):
    args = [a.format(empty=tmp_path, results=with_failures) for a in args]
    done = _cli(*args)
    assert done.returncode == 2
    assert named in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

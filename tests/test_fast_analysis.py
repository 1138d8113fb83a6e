"""Fast analysis: a light command line, `report` reusing the comparison `compare` wrote,
`--scenarios` to compare only some of a sweep's policies, and figures drawn in two processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from synthetic_results import make_results

from analysis.compare import compare_results, run_compare, write_comparison
from analysis.drawing import MIN_CPUS, FigureHelper, FigureJob, usable_cpus
from analysis.report import run_report
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_lines_help_imports_no_pandas_numpy_or_matplotlib():
    code = ("import sys; from sim.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('pandas', 'numpy', 'matplotlib', 'pyarrow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return make_results(tmp_path_factory.mktemp("fast") / "results", replicates=4, years=2)


def test_report_reuses_the_comparison_compare_wrote_and_compares_again_when_asked_otherwise(
        results, monkeypatch, capsys):
    import analysis.report

    assert run_compare(results, metrics=("satisfaction", "service_quality")) == 0
    comparison_png = (results / "comparison" / "timeseries.png").read_bytes()
    made = []
    real = analysis.report.compare_results
    monkeypatch.setattr(analysis.report, "compare_results", lambda *a, **k: made.append(a) or real(*a, **k))
    assert run_report(results, metrics=("satisfaction", "service_quality")) == 0
    assert made == [] and "reusing the comparison in" in capsys.readouterr().out
    assert (results / "report" / "timeseries.png").read_bytes() == comparison_png
    page = (results / "report" / "report.html").read_text(encoding="utf-8")
    assert "Integrated" in page and "Δ vs Status quo" in page
    assert run_report(results, metrics=("satisfaction",)) == 0  # other arguments: compared again
    assert len(made) == 1


def test_scenarios_chooses_the_policies_compared_and_keeps_the_baseline(results):
    comparison = compare_results(results, metrics=["satisfaction"], scenarios=["integrated"])
    assert comparison.order == ["status_quo", "integrated"]
    assert set(comparison.runs["scenario"]) == {"status_quo", "integrated"}
    assert set(comparison.summary["scenario"]) == {"status_quo", "integrated"}
    assert "incomplete" not in comparison.runs_text()


def test_an_unknown_scenario_is_one_line_with_a_suggestion(results, capsys):
    assert main(["compare", str(results), "--scenarios", "integrate", "--out",
                 str(results.parent / "x")]) == 2
    err = capsys.readouterr().err
    assert "--scenarios: no scenario 'integrate'" in err and "did you mean 'integrated'" in err
    assert len(err.splitlines()) == 1


needs_two_cpus = pytest.mark.skipif(usable_cpus() < MIN_CPUS, reason="the helper needs two CPUs")


@needs_two_cpus
def test_a_helper_process_draws_some_figures_and_the_files_are_the_same(results, tmp_path):
    comparison = compare_results(results, metrics=["satisfaction", "service_quality"])
    alone = write_comparison(comparison, tmp_path / "alone")
    with FigureHelper() as helper:
        process = helper.process
        shared = write_comparison(comparison, tmp_path / "shared", helper=helper)
    assert [p.name for p in shared] == [p.name for p in alone]  # same files, same order
    assert helper.drawn >= 1 and process.poll() is not None  # it drew, and it is stopped
    for path in alone:
        if path.suffix == ".png":
            assert (tmp_path / "shared" / path.name).read_bytes() == path.read_bytes(), path.name


@needs_two_cpus
def test_what_the_helper_cannot_draw_this_process_draws_or_raises(results, tmp_path):
    comparison = compare_results(results, metrics=["satisfaction"])
    good = FigureJob("analysis.plots:distribution_figure", tmp_path / "good", dict(
        final=comparison.final, metrics=["satisfaction"], order=comparison.order, title="t"))
    bad = FigureJob("analysis.plots:distribution_figure", tmp_path / "bad", dict(
        final=comparison.final, metrics=["no_such_metric"], order=comparison.order, title="t"))
    with pytest.raises(KeyError, match="no_such_metric"), FigureHelper() as helper:
        process = helper.process
        helper.draw([good, bad])  # this process takes the first, the helper the second and fails
        # on it: this process then draws it again and raises (had it taken both, the same error)
    assert process.poll() is not None  # stopped on the way out of an error too
    with FigureHelper() as helper:
        helper.process.kill()
        helper.process.wait()
        drawn = helper.draw([good, good])  # a helper that died: this process draws everything
    assert helper.drawn == 0 and [p.name for p in drawn[0]] == ["good.png", "good.svg"]


def test_report_scenarios_reports_only_those_policies_and_the_baseline(results, tmp_path):
    out = tmp_path / "report"
    assert main(["report", str(results), "--scenarios", "integrated", "--metrics", "satisfaction",
                 "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Integrated" in page and "Status quo" in page and "N in 1" not in page
    assert set(pd.read_csv(out / "comparison_table.csv")["scenario"]) == {"status_quo", "integrated"}

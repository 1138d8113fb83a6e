"""A run that fails is recorded with its error, the others complete, and the exit status says so."""

import pandas as pd
import pytest
from sweep_support import write_sweep

import sim.experiments.runner as runner
from analysis.results import load_runs, load_timeseries
from sim.cli import main
from sim.experiments.executors import SequentialExecutor
from sim.experiments.sweep import load_sweep, run_sweep

FACTORS = {"method": "grid", "samples": 2, "ranges": {"volunteer_fatigue": [0.01, 0.1]}}


def fail_merging_at_high_fatigue(monkeypatch):
    """Make the engine raise for the runs of `merging` at volunteer_fatigue 0.1 (a test double)."""
    real = runner.run_scenario

    def run_or_fail(scenario, engine, **kwargs):
        if scenario.name == "merging" and scenario.params.volunteer_fatigue == 0.1:
            raise FloatingPointError("fund balance became NaN\n  in month 7")
        return real(scenario, engine, **kwargs)

    monkeypatch.setattr(runner, "run_scenario", run_or_fail)


def test_a_failed_run_is_recorded_and_the_others_complete(tmp_path, monkeypatch, capsys):
    sweep_file = write_sweep(tmp_path, factors=FACTORS)
    out = tmp_path / "results"
    fail_merging_at_high_fatigue(monkeypatch)
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "2 failed" in captured.out and "2 of 8 runs failed" in captured.err

    runs = load_runs(out)
    failed = runs[runs["status"] == "failed"]
    assert list(failed["run_id"]) == ["merging-d1-r0", "merging-d1-r1"]
    assert (failed["error"] == "FloatingPointError: fund balance became NaN in month 7").all()
    ok = runs[runs["status"] == "ok"]
    assert len(ok) == 6 and ok["error"].isna().all()
    assert set(load_timeseries(out)["run_id"]) == set(ok["run_id"])


def test_failed_runs_are_retried_when_the_sweep_runs_again(tmp_path, monkeypatch, capsys):
    sweep_file = write_sweep(tmp_path, factors=FACTORS)
    out = tmp_path / "results"
    with monkeypatch.context() as patch:
        fail_merging_at_high_fatigue(patch)
        assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 1
    first = load_runs(out)
    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    again = load_runs(out)
    assert (again["status"] == "ok").all()
    ok_before = first["status"] == "ok"
    pd.testing.assert_series_equal(first.loc[ok_before, "wall_time_s"],
                                   again.loc[ok_before, "wall_time_s"])  # not run twice


class LosesOneRun(SequentialExecutor):
    """An executor whose worker is lost on the second task (as when a Dask worker dies)."""

    def map_unordered(self, fn, tasks):
        for i, task in enumerate(tasks):
            yield task, RuntimeError("worker tcp://10.0.0.7:4000 died") if i == 1 else fn(task)


@pytest.mark.parametrize("shared", [False, True], ids=["own burn-ins", "shared burn-ins"])
def test_a_run_lost_by_the_executor_is_recorded_as_failed(tmp_path, shared):
    # A task is a run, or with shared burn-ins the runs of one burn-in: replicate 1 of both
    # scenarios (they share a seed); every run of the lost task fails, and no other.
    sweep = load_sweep(write_sweep(tmp_path, replicates=2))
    summary = run_sweep(sweep, tmp_path / "results", LosesOneRun(), share_burn_ins=shared)
    tasks = sweep.tasks()
    lost = [t.run_id for t in tasks if t.replicate == 1] if shared else [tasks[1].run_id]
    assert summary.failed == lost
    runs = load_runs(tmp_path / "results").set_index("run_id")
    assert (runs.loc[lost, "error"] == "RuntimeError: worker tcp://10.0.0.7:4000 died").all()
    assert (runs.drop(index=lost)["status"] == "ok").all()


@pytest.mark.parametrize("quiet", [True, False])
def test_the_exit_status_is_zero_when_every_run_succeeds(tmp_path, quiet):
    flags = ["--quiet"] if quiet else []
    sweep_file = write_sweep(tmp_path, replicates=1)
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "results"), *flags]) == 0

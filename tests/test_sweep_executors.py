"""Whichever executor runs a sweep, and with however many workers, its results are the same."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sweep_support import assert_same_results, write_sweep

from sim.cli import main
from sim.experiments.executors import DaskExecutor, ProcessExecutor, SequentialExecutor
from sim.experiments.sweep import load_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent
FACTORS = {"method": "lhs", "samples": 2,
           "ranges": {"fee_after_sale_public": [0.4, 1.0], "volunteer_fatigue": [0.01, 0.1]}}


@pytest.fixture(scope="module")
def sequential_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    sweep = load_sweep(write_sweep(folder, factors=FACTORS))
    summary = run_sweep(sweep, folder / "sequential", SequentialExecutor())
    assert summary.total == 8 and summary.ran == 8 and not summary.failed
    return sweep, folder / "sequential"


def test_two_worker_processes_give_the_results_of_one(sequential_results, tmp_path):
    sweep, reference = sequential_results
    summary = run_sweep(sweep, tmp_path / "processes", ProcessExecutor(2))
    assert summary.ran == 8 and not summary.failed
    assert_same_results(reference, tmp_path / "processes")


def test_a_dask_local_cluster_gives_the_results_of_one_worker(sequential_results, tmp_path, monkeypatch):
    sweep, reference = sequential_results
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_parent))
    summary = run_sweep(sweep, tmp_path / "dask", DaskExecutor(local_workers=2))
    assert summary.ran == 8 and not summary.failed
    assert_same_results(reference, tmp_path / "dask")
    assert list(scratch_parent.iterdir()) == []  # no dask-scratch-space left behind (issue 31)


def test_every_run_of_the_design_is_stored_once(sequential_results):
    sweep, reference = sequential_results
    from analysis.results import load_final, load_runs

    runs = load_runs(reference)
    assert list(runs["run_id"]) == [task.run_id for task in sweep.tasks()]
    assert (runs["status"] == "ok").all()
    final = load_final(reference, columns=["satisfaction"])
    assert sorted(final["run_id"]) == sorted(runs["run_id"])
    assert (final["month"] == 12).all()


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and `dask worker` on 127.0.0.1, as docs/SWEEPS.md starts them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(scheduler_file)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file",
                                       str(scheduler_file), "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        yield json.loads(scheduler_file.read_text())["address"]
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


@pytest.mark.slow
def test_a_running_dask_cluster_gives_the_results_of_one_worker(sequential_results, dask_cluster,
                                                                tmp_path):
    sweep, reference = sequential_results
    out = tmp_path / "cluster"
    assert main(["sweep", str(sweep.path), "--scheduler", dask_cluster, "--out", str(out),
                 "--quiet"]) == 0
    assert_same_results(reference, out)

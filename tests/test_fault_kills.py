"""SIGKILL at a random point of a sweep's life, then resume: the results are those of a sweep
never killed, byte for byte, and the command leaves no process and no temporary behind.
docs/RELIABILITY.md states the contract. (A module of its own, apart from
tests/test_fault_injection.py: the two spread over the suite's two workers.)"""

import os
import random
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from fault_support import (
    assert_identical,
    kill_marked,
    reference_sweep,
    start_cli,
    temporaries,
    wait_until_gone,
)

from sim.cli import main
from sim.experiments.executors import TEMP_DIR_PREFIX, remove_stale_temp_dirs
from sim.experiments.store import RUNS_TABLE

FAST_TRIALS = 10
SLOW_TRIALS = 20


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A sweep file and its uninterrupted results (one process, no kill)."""
    return reference_sweep(tmp_path_factory)


def kill_at_random_and_resume(sweep_file: Path, reference: Path, tmp_path: Path, trial: int):
    rng = random.Random(trial)
    out, tmpdir, mark = tmp_path / "out", tmp_path / "tmp", f"kill-{trial}-{os.getpid()}"
    tmpdir.mkdir()
    workers = "2" if trial % 2 else "1"
    proc = start_cli(["sweep", sweep_file, "--out", out, "--quiet", "--workers", workers], mark, tmpdir)
    try:
        time.sleep(rng.uniform(0.2, 6.0))
        proc.send_signal(signal.SIGKILL)
        # Nothing the command started holds its stderr: reading it to the end returns.
        proc.communicate(timeout=30)
        assert wait_until_gone(mark) == []
    finally:
        kill_marked(mark)
    # No pymp-* folder; ours, if the command died before its workers could remove it, goes
    # with the next command.
    assert all(p.name.startswith(TEMP_DIR_PREFIX) for p in tmpdir.iterdir())
    remove_stale_temp_dirs(tmpdir)
    assert list(tmpdir.iterdir()) == []

    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    assert temporaries(out) == []
    assert_identical(reference, out)
    assert len(pd.read_parquet(out / RUNS_TABLE)) == 6


@pytest.mark.parametrize("trial", range(FAST_TRIALS))
def test_a_sweep_killed_at_a_random_point_resumes_to_identical_results(reference, tmp_path, trial):
    sweep_file, folder = reference
    kill_at_random_and_resume(sweep_file, folder, tmp_path, trial)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(FAST_TRIALS, FAST_TRIALS + SLOW_TRIALS))
def test_more_random_kills_resume_to_identical_results(reference, tmp_path, trial):
    sweep_file, folder = reference
    kill_at_random_and_resume(sweep_file, folder, tmp_path, trial)

"""Helpers for the fault-injection tests: processes a command left behind, tasks that kill their
worker, and the comparison of two results folders byte for byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sim.experiments.store import RUNS_DIR, TABLE_DIRS, TEMP_PREFIX

ROOT = Path(__file__).resolve().parent.parent
TINY = "district: {generate: {estates: 6, seed: 1}}\nyears: 1\n"
"""A scenario's district and years: six generated estates, one year (add a name)."""
DEGREES_CSV = ("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n"
               "A,120,7000,commodity,121.48,31.27\nB,300,20000,commodity,121.49,31.26\n")
"""A district CSV whose coordinates are degrees, not metres."""
SWEEP = {"replicates": 3, "estates": 10}
"""The sweep of the kill and damage tests: six runs of about half a second each (Mesa), so that a
SIGKILL at a random time in 0.2-6 s lands anywhere in the command's life, from its start to its
last write."""
MARK = "ESTATE_SIM_TEST_MARK"
"""An environment variable the tests set on a command: every process it starts inherits it."""


def marked_processes(mark: str) -> list[int]:
    """Pids of live processes whose environment carries MARK=mark (zombies excluded)."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def wait_until_gone(mark: str, timeout_s: float = 10.0) -> list[int]:
    """Wait for every marked process to end; returns those still alive after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = marked_processes(mark)
        if not left:
            return []
        time.sleep(0.1)
    return marked_processes(mark)


def kill_marked(mark: str) -> None:
    """SIGKILL every marked process (a failing test must not leave any behind either)."""
    for pid in marked_processes(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_cli(args: list[str], mark: str, tmpdir: Path, **popen) -> subprocess.Popen:
    """`python -m sim ARGS` in a fresh process group, marked, with its own TMPDIR."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), MARK: mark, "TMPDIR": str(tmpdir)}
    env.pop("ESTATE_SIM_DEBUG", None)
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True, **popen)


def temporaries(folder: Path) -> list[Path]:
    """The store's temporaries anywhere in a results folder."""
    return sorted(folder.rglob(f"{TEMP_PREFIX}*"))


def table_bytes(folder: Path) -> dict[str, bytes]:
    """Every run table's file, by relative path, as bytes."""
    return {f"{sub}/{p.name}": p.read_bytes() for sub in TABLE_DIRS.values()
            for p in sorted((folder / sub).glob("*.parquet"))}


def records(folder: Path) -> dict[str, dict]:
    """Every run record, wall time removed (the one thing that differs between two runs)."""
    out = {}
    for path in sorted((folder / RUNS_DIR).glob("*.json")):
        record = json.loads(path.read_text())
        record.pop("wall_time_s")
        out[path.name] = record
    return out


def assert_identical(reference: Path, folder: Path) -> None:
    """Two results folders hold the same runs: tables byte for byte, records but wall time."""
    assert table_bytes(folder) == table_bytes(reference)
    assert records(folder) == records(reference)


def double(task):
    """A task for a worker: returns twice its number."""
    return task[0] * 2


def die_once(task):
    """A task for a worker that kills its worker process the first time it meets `flag`."""
    number, flag = task
    if flag is not None and not Path(flag).exists():
        Path(flag).write_text("died")
        os._exit(3)
    return number * 2


def die_always(task):
    """A task for a worker that kills its worker whenever its number is 5."""
    if task[0] == 5:
        os._exit(3)
    return task[0] * 2


def sleep_long(task):
    """A task for a worker that would take ten minutes."""
    time.sleep(600)
    return task


def cli_status(args, capsys) -> tuple[int, str, str]:
    """`estate-sim ARGS` in this process: (exit status, stdout, stderr)."""
    from sim.cli import main

    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def refused(args, capsys, *says: str) -> str:
    """The command exits 2 with one line on stderr holding every one of `says`; returns the line."""
    status, _, err = cli_status(args, capsys)
    assert status == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in says:
        assert word in err, err
    return err


def no_simulation(monkeypatch) -> None:
    """Make any simulation fail the test: a refusal must come before any work."""
    def fail(*args, **kwargs):
        raise AssertionError("the command simulated before refusing its input")

    monkeypatch.setattr("sim.run.run_scenario", fail)
    monkeypatch.setattr("sim.calibration.abc_rejection", fail)


def reference_sweep(tmp_path_factory) -> tuple[Path, Path]:
    """A sweep file of SWEEP and its uninterrupted results (one process, no kill)."""
    from sweep_support import write_sweep

    from sim.experiments.executors import SequentialExecutor
    from sim.experiments.sweep import load_sweep, run_sweep

    folder = tmp_path_factory.mktemp("fault")
    sweep_file = write_sweep(folder, **SWEEP)
    run_sweep(load_sweep(sweep_file), folder / "reference", SequentialExecutor())
    return sweep_file, folder / "reference"

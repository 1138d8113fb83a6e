"""Faults injected into sweeps and calibrations: damaged files of each kind, two invocations at
once, signals, a worker that dies (SIGKILL at random points: tests/test_fault_kills.py); and the
audit of issue 31's faults of the environment and the output location (NUMBA_DISABLE_JIT, bad
--out, a damaged folder structure, staging folders a killed run left). docs/RELIABILITY.md states
the contract."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from fault_support import (
    MARK,
    ROOT,
    TINY,
    assert_identical,
    cli_status,
    die_always,
    die_once,
    double,
    kill_marked,
    marked_processes,
    no_simulation,
    reference_sweep,
    refused,
    start_cli,
    temporaries,
    wait_until_gone,
)
from sweep_support import calibration_files, write_calibration, write_sweep

import sim.run
from sim.cli import main
from sim.experiments.executors import (
    ProcessExecutor,
)
from sim.experiments.store import AREAS_DIR, MANIFEST, RUNS_DIR, RUNS_TABLE, TIMESERIES_DIR


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A sweep file and its uninterrupted results (one process, no kill)."""
    return reference_sweep(tmp_path_factory)


# --- damaged files --------------------------------------------------------------------------

def _first_run(folder: Path) -> str:
    return sorted((folder / RUNS_DIR).glob("*.json"))[0].stem


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


TABLE_DAMAGE = {
    "truncated_timeseries": (TIMESERIES_DIR, truncate),
    "timeseries_with_a_flipped_byte": (TIMESERIES_DIR, flip_a_byte),
    "missing_areas": (AREAS_DIR, Path.unlink),
    "empty_areas": (AREAS_DIR, lambda p: p.write_bytes(b"")),
}


@pytest.mark.parametrize("damage", TABLE_DAMAGE.values(), ids=TABLE_DAMAGE.keys())
def test_a_run_with_a_damaged_table_is_redone_and_the_summary_says_so(reference, tmp_path, damage,
                                                                      capsys):
    sweep_file, folder = reference
    out = tmp_path / "out"
    shutil.copytree(folder, out)
    victim = _first_run(out)
    subdir, hurt = damage
    hurt(out / subdir / f"{victim}.parquet")

    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "5 already stored, 1 run now" in text
    assert f"damaged or missing tables and were redone: {victim}" in text
    assert_identical(folder, out)


RECORD_DAMAGE = {
    "truncated_record": lambda out: truncate(out / RUNS_DIR / f"{_first_run(out)}.json"),
    "empty_record": lambda out: (out / RUNS_DIR / f"{_first_run(out)}.json").write_text(""),
    "record_of_another_run": lambda out: (out / RUNS_DIR / f"{_first_run(out)}.json").write_text(
        '{"run_id": "x"}'),
    "truncated_manifest": lambda out: truncate(out / MANIFEST),
    "manifest_not_an_object": lambda out: (out / MANIFEST).write_text("[1, 2]"),
}


@pytest.mark.parametrize("damage", RECORD_DAMAGE.values(), ids=RECORD_DAMAGE.keys())
def test_a_damaged_record_or_manifest_is_refused_naming_the_file(reference, tmp_path, damage, capsys):
    sweep_file, folder = reference
    out = tmp_path / "out"
    shutil.copytree(folder, out)
    damage(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert str(out) in err and ("manifest.json" in err or f"{RUNS_DIR}/" in err), err
    assert "Traceback" not in err and "JSONDecodeError" not in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing lost


def test_a_damaged_runs_table_is_written_again(reference, tmp_path):
    sweep_file, folder = reference
    out = tmp_path / "out"
    shutil.copytree(folder, out)
    truncate(out / RUNS_TABLE)
    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    assert len(pd.read_parquet(out / RUNS_TABLE)) == 6


def test_files_named_like_hidden_files_are_runs_not_temporaries(tmp_path, capsys):
    (tmp_path / "scenarios").mkdir()
    names = [".hidden", "合并", "委托"]  # a leading dot; two Chinese names (no ASCII at all)
    for i, name in enumerate(names):
        (tmp_path / "scenarios" / f"s{i}.yaml").write_text(
            f"name: '{name}'\ndistrict: {{generate: {{estates: 5, seed: 1}}}}\nyears: 1\n")
    sweep_file = write_sweep(tmp_path, scenarios=[f"scenarios/s{i}.yaml" for i in range(3)],
                             replicates=1)
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 0
    stored = sorted(p.name for p in (out / RUNS_DIR).iterdir())
    assert len(stored) == 3 and not any(name.startswith(".") for name in stored)
    capsys.readouterr()
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 0
    assert "3 already stored, 0 run now" in capsys.readouterr().out


# --- two invocations, signals, pre-run checks -------------------------------------------------

@pytest.fixture
def long_sweep(tmp_path):
    """A sweep of 400 runs: long enough to be caught running (the tests stop it within seconds)."""
    return write_sweep(tmp_path, name="long.yaml", replicates=200, estates=30)


def wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_second_invocation_into_a_folder_being_written_is_refused(long_sweep, tmp_path, capsys):
    out, mark = tmp_path / "out", f"second-{os.getpid()}"
    (tmp_path / "tmp").mkdir()
    proc = start_cli(["sweep", long_sweep, "--out", out, "--quiet"], mark, tmp_path / "tmp")
    try:
        wait_for(out / RUNS_DIR, proc)
        manifest = (out / MANIFEST).read_bytes()
        assert main(["sweep", str(long_sweep), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and str(out) in err and "another estate-sim" in err
        assert (out / MANIFEST).read_bytes() == manifest
        assert proc.poll() is None  # the first goes on, unharmed
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        kill_marked(mark)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "runs are stored" in stderr.decode()


@pytest.mark.parametrize("signum, workers", [(signal.SIGINT, 2), (signal.SIGTERM, 2),
                                             (signal.SIGHUP, 2), (signal.SIGTERM, 1)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGTERM-one-process"])
def test_every_stop_signal_stops_the_sweep_and_its_workers(long_sweep, tmp_path, signum, workers):
    out, tmpdir, mark = tmp_path / "out", tmp_path / "tmp", f"signal-{signum}-{os.getpid()}"
    tmpdir.mkdir()
    proc = start_cli(["sweep", long_sweep, "--out", out, "--quiet", "--workers", str(workers)], mark,
                     tmpdir)
    try:
        wait_for(out / RUNS_DIR, proc)
        time.sleep(1.0)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
        assert wait_until_gone(mark) == []
    finally:
        kill_marked(mark)
    lines = stderr.decode().splitlines()
    assert proc.returncode == 128 + signum
    assert len(lines) == 1 and "runs are stored" in lines[0] and "run the same command" in lines[0]
    assert list(tmpdir.iterdir()) == []
    assert temporaries(out) == []


def test_a_sweep_refused_before_it_runs_leaves_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sim.run, "available_memory_bytes", lambda: 1_000)
    sweep_file = write_sweep(tmp_path, replicates=1)
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 2
    assert "memory" in capsys.readouterr().err
    assert not out.exists()


def test_out_below_a_file_is_refused_before_anything_runs(tmp_path, capsys):
    sweep_file = write_sweep(tmp_path, replicates=1)
    (tmp_path / "file").write_text("keep")
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "file" / "out")]) == 2
    assert "--out" in capsys.readouterr().err
    (tmp_path / "s.yaml").write_text("name: x\ndistrict: {generate: {estates: 3}}\nyears: 1\n")
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "file" / "out")]) == 2
    assert "lies below" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "keep"


# --- a worker that dies ---------------------------------------------------------------------

def test_a_dead_worker_costs_only_the_runs_its_pool_held(tmp_path):
    flag = tmp_path / "died"
    tasks = [(i, str(flag) if i == 3 else None) for i in range(12)]
    with ProcessExecutor(2) as executor:
        results = dict(executor.map_unordered(die_once, tasks))
        rebuilt = executor.rebuilt
    assert flag.exists() and rebuilt == 1
    assert {task[0]: result for task, result in results.items()} == {i: 2 * i for i in range(12)}


def test_a_run_that_always_kills_its_worker_fails_alone(tmp_path):
    tasks = [(i,) for i in range(12)]
    with ProcessExecutor(2) as executor:
        results = {task[0]: result for task, result in executor.map_unordered(die_always, tasks)}
    assert isinstance(results.pop(5), Exception)
    assert results == {i: 2 * i for i in range(12) if i != 5}


def test_a_healthy_pool_is_never_rebuilt():
    with ProcessExecutor(2) as executor:
        results = sorted(r for _, r in executor.map_unordered(double, [(i,) for i in range(8)]))
        assert executor.rebuilt == 0
    assert results == [2 * i for i in range(8)]


def test_reading_a_folder_with_a_damaged_record_names_the_file(reference, tmp_path, capsys):
    _, folder = reference
    out = tmp_path / "out"
    shutil.copytree(folder, out)
    (out / RUNS_TABLE).unlink()  # readers then go by the records
    victim = out / RUNS_DIR / f"{_first_run(out)}.json"
    truncate(victim)
    assert main(["compare", str(out), "--baseline", "quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(victim) in err


def test_a_pool_left_by_ctrl_c_ends_its_workers_without_running_the_queue():
    from fault_support import sleep_long

    from sim.experiments.executors import process_pool

    with pytest.raises(KeyboardInterrupt):
        with process_pool(2) as pool:
            futures = [pool.submit(sleep_long, i) for i in range(6)]
            while sum(f.running() for f in futures) < 2:
                time.sleep(0.05)
            workers = list(pool._processes.values())
            raise KeyboardInterrupt
    assert all(not worker.is_alive() for worker in workers)
    assert all(f.done() for f in futures)


def test_sigint_stops_a_sweep_started_with_sigint_ignored(long_sweep, tmp_path):
    """A parent that ignores SIGINT (a pool worker, a background job) passes that on to its children."""
    out, tmpdir, mark = tmp_path / "out", tmp_path / "tmp", f"ignored-sigint-{os.getpid()}"
    tmpdir.mkdir()
    proc = start_cli(["sweep", long_sweep, "--out", out, "--quiet", "--workers", "2"], mark, tmpdir,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        wait_for(out / RUNS_DIR, proc)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert wait_until_gone(mark) == []
    finally:
        kill_marked(mark)
    assert proc.returncode == 128 + signal.SIGINT
    assert "runs are stored" in stderr.decode()


def test_a_stop_signal_while_the_sweep_exits_is_one_line_not_a_silent_death(tmp_path):
    # The audit's SIGTERM 0.15-0.3 s after the last run was stored: the command had returned and
    # the interpreter was ending multiprocessing's helpers with the default handler back (-15).
    # Here the signal comes from the last exit handler, at the same point every time.
    sweep_file = write_sweep(tmp_path, replicates=1)
    out, tmpdir, mark = tmp_path / "out", tmp_path / "tmp", f"exiting-{os.getpid()}"
    tmpdir.mkdir()
    code = ("import atexit, os, signal, sim.cli\n"
            "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
            "raise SystemExit(sim.cli.main())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), MARK: mark, "TMPDIR": str(tmpdir)}
    env.pop("ESTATE_SIM_DEBUG", None)
    try:
        done = subprocess.run([sys.executable, "-c", code, "sweep", str(sweep_file), "--out", str(out),
                               "--quiet", "--workers", "2"], capture_output=True, text=True, env=env,
                              timeout=300)
        assert wait_until_gone(mark) == []
    finally:
        kill_marked(mark)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "SIGTERM" in lines[0] and "results are complete" in lines[0]
    assert len(pd.read_parquet(out / RUNS_TABLE)) == 2


@pytest.mark.slow
def test_the_app_server_dies_with_a_killed_app_command(tmp_path):
    # The server has a session of its own; SIGKILL of `estate-sim app` used to leave it answering.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tmpdir, mark = tmp_path / "tmp", f"app-{os.getpid()}"
    tmpdir.mkdir()
    proc = start_cli(["app", "--port", port], mark, tmpdir)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.5)
        else:
            pytest.fail("the app's server never answered")
        assert len(marked_processes(mark)) >= 2  # the command and its server
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert wait_until_gone(mark) == []
    finally:
        kill_marked(mark)
    with socket.socket() as client:
        assert client.connect_ex(("127.0.0.1", port)) != 0
    assert list(tmpdir.iterdir()) == []  # the sessions' upload folder went with the server


def test_a_calibration_killed_mid_way_resumes_to_the_same_files(tmp_path):
    from sim.calibration import run_calibration

    spec = write_calibration(tmp_path, samples=12)
    run_calibration(spec, tmp_path / "reference", quiet=True)
    out, tmpdir, mark = tmp_path / "out", tmp_path / "tmp", f"calibrate-{os.getpid()}"
    tmpdir.mkdir()
    proc = start_cli(["calibrate", spec, "--out", out, "--quiet", "--workers", "1"], mark, tmpdir)
    records = out / "runs" / "samples" / RUNS_DIR
    try:
        deadline = time.monotonic() + 60
        while len(list(records.glob("*.json"))) < 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert wait_until_gone(mark) == []
    finally:
        kill_marked(mark)
    stored = len(list(records.glob("*.json")))
    assert 3 <= stored < 24 and not (out / "samples.csv").exists()
    run_calibration(spec, out, quiet=True)
    assert calibration_files(out) == calibration_files(tmp_path / "reference")
    assert temporaries(out / "runs") == []


# --- the audit of issue 31: environment, output locations, folder structure, leftovers -------------

# --- NUMBA_DISABLE_JIT ---------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["mesa", "vector"])
def test_runs_work_with_numba_jit_disabled(tmp_path, engine):
    # the owners' vote read its parameters from numba's record as Python: AttributeError
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}policy:\n  merge: {{enabled: true}}\n  block_integration: "
                    "{enabled: true}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_DISABLE_JIT": "1"}
    done = subprocess.run([sys.executable, "-m", "sim", "run", str(path), "--engine", engine, "--out",
                           str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "timeseries.parquet").is_file()


# --- outputs checked before any work (item 2) -------------------------------------------------

def _bad_out(tmp_path: Path, kind: str) -> tuple[Path, str]:
    if kind == "dot":
        return Path("."), "names no folder"
    if kind == "dotdot":
        return tmp_path / "sub" / "..", "names no folder"
    if kind == "dangling_symlink":
        (tmp_path / "link").symlink_to(tmp_path / "nowhere")
        return tmp_path / "link", "does not exist"
    if kind == "long_name":
        return tmp_path / ("n" * 300), "longer than"
    return Path("/proc/estate-sim-out"), "cannot write"  # read-only for root too


@pytest.mark.parametrize("command", ["run", "calibrate"])
@pytest.mark.parametrize("kind", ["dot", "dotdot", "dangling_symlink", "long_name", "read_only"])
def test_a_bad_out_is_refused_before_any_simulation(tmp_path, capsys, monkeypatch, command, kind):
    no_simulation(monkeypatch)
    out, says = _bad_out(tmp_path, kind)
    spec = ROOT / "scenarios" / ("integrated.yaml" if command == "run" else "calibration/ouyang_road.yaml")
    refused([command, spec, "--out", out], capsys, "--out", says)


def test_the_default_out_of_calibrate_is_checked_too(tmp_path, capsys, monkeypatch):
    no_simulation(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").write_text("a file where the default folder goes")
    refused(["calibrate", ROOT / "scenarios" / "calibration" / "ouyang_road.yaml"], capsys,
            "--out", "lies below")


# --- a damaged folder structure is exit 2 naming the path (item 9) -----------------------------------

@pytest.fixture(scope="module")
def stored_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stored")
    (folder / "s.yaml").write_text(f"name: t\n{TINY}")
    (folder / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\nreplicates: 2\n")
    assert main(["sweep", str(folder / "w.yaml"), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder


def _replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


STRUCTURE_DAMAGE = {
    "table_file_is_a_folder": lambda out: _replace_with_folder(next((out / "timeseries").iterdir())),
    "timeseries_is_a_file": lambda out: (shutil.rmtree(out / "timeseries"),
                                         (out / "timeseries").write_text("x")),
    "runs_table_is_a_folder": lambda out: _replace_with_folder(out / "runs.parquet"),
}


@pytest.mark.parametrize("damage", STRUCTURE_DAMAGE.values(), ids=STRUCTURE_DAMAGE.keys())
def test_a_damaged_folder_structure_is_refused_naming_the_path(stored_sweep, tmp_path, capsys, damage):
    out = tmp_path / "out"
    shutil.copytree(stored_sweep / "out", out)
    damage(out)
    refused(["sweep", stored_sweep / "w.yaml", "--out", out, "--quiet"], capsys, str(out),
            "damaged results folder")


# --- nothing left behind (item 5) --------------------------------------------------------------

def test_run_removes_the_staging_folders_a_killed_run_left_beside_out(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f".out.new-{dead.pid}-abc", tmp_path / f".out.old-{dead.pid}-def"]
    live = tmp_path / f".out.new-{os.getpid()}-ghi"  # another run writing the same --out now
    for folder in (*stale, live):
        folder.mkdir()
        (folder / "timeseries.parquet").write_bytes(b"half")
    (tmp_path / "s.yaml").write_text(f"name: t\n{TINY}")
    status, _, err = cli_status(["run", tmp_path / "s.yaml", "--out", tmp_path / "out", "--quiet"], capsys)
    assert status == 0, err
    assert not any(folder.exists() for folder in stale)
    assert live.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "out", "s.yaml"])


TRACKED_SEMAPHORE = """
import multiprocessing, os, signal, sys
from sim.experiments.executors import _start_helpers_quietly
if sys.argv[1] == "guarded":
    _start_helpers_quietly(multiprocessing.get_context("spawn"))
lock = multiprocessing.get_context("spawn").Lock()
print(lock._semlock.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("mode", ["bare", "guarded"])
def test_a_sigkilled_command_leaves_no_semaphore_and_no_leaked_semaphore_warning(mode):
    # `--dask-local` and the process pools start the resource tracker with the guard: after a
    # SIGKILL it still removes the semaphores, without warning on the terminal the command left.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ESTATE_SIM_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", TRACKED_SEMAPHORE, mode], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL
    semaphore = Path("/dev/shm") / f"sem.{done.stdout.strip().lstrip('/')}"
    deadline = time.monotonic() + 10
    while semaphore.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not semaphore.exists()
    assert ("leaked semaphore" in done.stderr) == (mode == "bare"), done.stderr  # the guard is what hides it


@pytest.mark.slow
def test_a_sigkilled_dask_local_sweep_warns_of_no_leaked_semaphore(long_sweep, tmp_path):
    out, tmpdir, mark = tmp_path / "out", tmp_path / "tmp", f"dask-kill-{os.getpid()}"
    tmpdir.mkdir()
    proc = start_cli(["sweep", long_sweep, "--out", out, "--quiet", "--dask-local", "1"], mark, tmpdir)
    try:
        deadline = time.monotonic() + 120
        while not any((out / RUNS_DIR).glob("*.json")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)  # to EOF: every process holding stderr has ended
        assert wait_until_gone(mark, 30) == []
    finally:
        kill_marked(mark)
    assert "leaked semaphore" not in stderr.decode(), stderr.decode()

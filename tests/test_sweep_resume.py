"""A sweep killed half-way and run again gives exactly the results of an uninterrupted sweep; a
folder is reopened only by runs of the same identity (a refusal names what differs)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_support import TINY, cli_status, refused
from sweep_support import assert_same_results, write_sweep

from analysis.results import load_runs, load_timeseries
from sim.cli import main
from sim.errors import InputError
from sim.experiments.executors import SequentialExecutor
from sim.experiments.store import RUNS_DIR, RUNS_TABLE, TEMP_PREFIX, TIMESERIES_DIR
from sim.experiments.sweep import load_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent


def start_sweep(sweep_file: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(sweep_file), "--out", str(out),
                             "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_after_some_runs(proc: subprocess.Popen, out: Path, runs: int, timeout_s: float = 60):
    """SIGKILL the sweep once `runs` records are stored, reading the folder all the while."""
    deadline = time.monotonic() + timeout_s
    stored = 0
    while time.monotonic() < deadline:
        if (out / RUNS_DIR).is_dir():
            # A reader during the sweep sees whole files only: these must never fail.
            stored = len(load_runs(out))
            load_timeseries(out, columns=["satisfaction"])
        if stored >= runs or proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return stored


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    sweep_file = write_sweep(folder, replicates=6)
    run_sweep(load_sweep(sweep_file), folder / "results", SequentialExecutor())
    return folder / "results"


def test_a_killed_sweep_resumes_to_the_uninterrupted_results(uninterrupted, tmp_path):
    sweep_file = write_sweep(tmp_path, replicates=6)
    out = tmp_path / "results"
    proc = start_sweep(sweep_file, out)
    stored = kill_after_some_runs(proc, out, runs=3)
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    assert 3 <= stored < 12
    assert not (out / RUNS_TABLE).exists()
    partial = load_runs(out)
    assert partial["run_id"].is_unique and (partial["status"] == "ok").all()

    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    runs = load_runs(out)
    assert len(runs) == 12 and runs["run_id"].is_unique
    assert load_timeseries(out).groupby("run_id").size().eq(12).all()
    assert_same_results(uninterrupted, out)


def test_tables_without_a_record_and_stray_temporaries_are_redone(uninterrupted, tmp_path):
    # What SIGKILL can leave: a table written but its record not yet, a temporary half-written.
    sweep_file = write_sweep(tmp_path, replicates=6)
    out = tmp_path / "results"
    sweep = load_sweep(sweep_file)
    run_sweep(sweep, out, SequentialExecutor())
    victim = sweep.tasks()[4].run_id
    (out / RUNS_DIR / f"{victim}.json").unlink()
    (out / RUNS_TABLE).unlink()
    (out / TIMESERIES_DIR / f"{victim}.parquet").write_bytes(b"PAR1 half-written")
    stray = out / TIMESERIES_DIR / f"{TEMP_PREFIX}{victim}.parquet.x1y2z3"
    stray.write_bytes(b"PAR1 half")
    assert victim not in set(load_runs(out)["run_id"])  # readers go by the records

    summary = run_sweep(sweep, out, SequentialExecutor())
    assert (summary.skipped, summary.ran) == (11, 1)
    assert not stray.exists()
    assert_same_results(uninterrupted, out)


def refused_after(first: Path, second: Path, out: Path, capsys, edit=None) -> str:
    """Run `first` into `out`, (edit,) then `second`: it must be refused; returns its message."""
    assert main(["sweep", str(first), "--out", str(out), "--quiet"]) == 0
    if edit is not None:
        edit()
    capsys.readouterr()
    assert main(["sweep", str(second), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(out) in err
    return err


def test_a_different_sweep_file_into_the_same_folder_is_refused(tmp_path, capsys):
    first = write_sweep(tmp_path, replicates=1)
    other = write_sweep(tmp_path, name="other.yaml", replicates=1, seed=999)  # other seeds
    err = refused_after(first, other, tmp_path / "results", capsys)
    assert "other inputs" in err and "different sweep" in err


def test_a_smaller_sweep_into_the_folder_of_a_larger_one_is_refused(tmp_path, capsys):
    larger = write_sweep(tmp_path, replicates=2)
    smaller = write_sweep(tmp_path, name="smaller.yaml", replicates=1)
    assert "does not make" in refused_after(larger, smaller, tmp_path / "results", capsys)


def test_a_changed_scenario_under_the_same_sweep_file_is_refused(tmp_path, capsys):
    sweep_file = write_sweep(tmp_path, replicates=1)
    scenario = tmp_path / "scenarios" / "quiet.yaml"

    def edit():
        scenario.write_text(scenario.read_text() + "params: {volunteer_fatigue: 0.05}\n")

    assert "other inputs" in refused_after(sweep_file, sweep_file, tmp_path / "results", capsys, edit)


def test_a_sweep_that_grows_reuses_every_stored_run(tmp_path, capsys):
    out = tmp_path / "results"
    first = write_sweep(tmp_path, replicates=2)
    assert main(["sweep", str(first), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in (out / TIMESERIES_DIR).iterdir()}
    grown = write_sweep(tmp_path, name="grown.yaml", replicates=11)  # run ids stay as they were
    summary = run_sweep(load_sweep(grown), out, SequentialExecutor())
    assert (summary.total, summary.skipped, summary.ran) == (22, 4, 18)
    assert all((out / TIMESERIES_DIR / name).read_bytes() == data for name, data in before.items())
    reference = tmp_path / "reference"
    run_sweep(load_sweep(grown), reference, SequentialExecutor())
    assert_same_results(reference, out)


def test_running_a_finished_sweep_again_runs_nothing(tmp_path, capsys):
    out = tmp_path / "results"
    sweep_file = write_sweep(tmp_path, replicates=1)
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 0
    assert "2 already stored, 0 run now" in capsys.readouterr().out


# --- one run identity for every command (item 1) --------------------------------------------------

def _sweep_folder(tmp_path: Path, capsys) -> tuple[Path, Path]:
    (tmp_path / "s.yaml").write_text(f"name: t\ndescription: first\n{TINY}params: {{merge_support: 0.38}}\n")
    (tmp_path / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\n")
    out = tmp_path / "out"
    status, _, err = cli_status(["sweep", tmp_path / "w.yaml", "--out", out, "--quiet"], capsys)
    assert status == 0, err
    return tmp_path / "w.yaml", out


def test_a_changed_parameter_is_named_and_rerun_changed_runs_it_again(tmp_path, capsys):
    sweep_file, out = _sweep_folder(tmp_path, capsys)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(scenario.read_text().replace("0.38", "0.4"))
    refused(["sweep", sweep_file, "--out", out, "--quiet"], capsys,
            "parameter merge_support 0.38 → 0.4", "another --out", "--rerun-changed")
    status, output, err = cli_status(["sweep", sweep_file, "--out", out, "--rerun-changed"], capsys)
    assert status == 0, err
    assert "0 already stored, 1 run now" in output
    status, output, _ = cli_status(["sweep", sweep_file, "--out", out], capsys)  # now it is the stored run
    assert status == 0 and "1 already stored" in output


def test_a_new_model_version_is_named(tmp_path, capsys, monkeypatch):
    sweep_file, out = _sweep_folder(tmp_path, capsys)
    from sim.experiments.identity import model_version

    before = model_version()
    monkeypatch.setattr("sim.experiments.identity.model_version", lambda: "0123456789ab")
    refused(["sweep", sweep_file, "--out", out, "--quiet"], capsys, f"model version {before} → 0123456789ab")


def test_descriptions_labels_comments_and_disabled_policies_are_not_part_of_a_run(tmp_path, capsys):
    sweep_file, out = _sweep_folder(tmp_path, capsys)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("# a comment\n" + scenario.read_text().replace("description: first",
                        "description: second\nlabel: Another label\npolicy: {entrust: {enabled: false}}"))
    status, output, err = cli_status(["sweep", sweep_file, "--out", out], capsys)
    assert status == 0, err
    assert "1 already stored, 0 run now" in output
    assert json.loads((out / "manifest.json").read_text())["model_version"]


def _study(tmp_path: Path, name: str = "spec.yaml") -> Path:
    (tmp_path / "e.csv").write_text("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n"
                                    "A,120,7000,commodity,0,0\nB,90,5500,commodity,120,0\n"
                                    "C,400,38000,commodity,0,150\n")
    (tmp_path / "s.yaml").write_text("name: s\ndistrict: {csv: e.csv}\nyears: 1\n")
    path = tmp_path / name
    path.write_text("scenario: s.yaml\nfactors: {method: morris, samples: 4, ranges: {merge_support: "
                    "[0.2, 0.6]}}\nreplicates: 1\noutputs: [service_quality]\nseed: 1\nengine: vector\n")
    return path


def test_a_sensitivity_study_refuses_an_edited_district_and_keeps_a_commented_spec(tmp_path):
    from analysis.sensitivity import load_study, run_design

    spec = _study(tmp_path)
    folder = tmp_path / "out" / "runs"
    assert run_design(load_study(spec), folder)["ran_now"] == 8
    spec.write_text("# a comment\n" + spec.read_text())  # refused before: the file's hash changed
    assert run_design(load_study(spec), folder)["ran_now"] == 0
    csv = tmp_path / "e.csv"
    csv.write_text(csv.read_text().replace("A,120", "A,150"))
    with pytest.raises(InputError, match="district csv sha256 .* → .*--rerun-changed"):
        run_design(load_study(spec), folder)  # it used to resume, mixing two districts
    assert run_design(load_study(spec), folder, rerun_changed=True)["ran_now"] == 8


def test_a_sensitivity_study_has_slugged_run_ids_and_redoes_a_damaged_table(tmp_path):
    from analysis.sensitivity import load_study, run_design

    spec = _study(tmp_path, "~tmp.study.yaml")  # its runs used to be taken for temporaries
    folder = tmp_path / "runs"
    assert run_design(load_study(spec), folder)["ran_now"] == 8
    assert not any("~" in p.name for p in (folder / "runs").iterdir())
    assert run_design(load_study(spec), folder)["ran_now"] == 0
    table = sorted((folder / "timeseries").iterdir())[0]
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    counts = run_design(load_study(spec), folder)
    assert counts["ran_now"] == 1 and counts["damaged"] == [table.stem]


def test_a_policy_registered_but_not_enabled_is_not_part_of_a_run(tmp_path, capsys):
    import numpy as np

    from sim.policies import REGISTRY, Policy

    class Idle(Policy):
        """A policy registered for an experiment, not enabled by the scenario."""

        name = "idle_policy"
        label = "An idle policy"
        keys = {}

        def eligible(self, state):
            return np.zeros(len(state.area_view().firm), dtype=bool)

        def run(self, office, state):
            pass

    sweep_file, out = _sweep_folder(tmp_path, capsys)
    with REGISTRY.added(Idle()):  # it used to make the folder refuse to resume
        status, output, err = cli_status(["sweep", sweep_file, "--out", out], capsys)
    assert status == 0, err
    assert "1 already stored, 0 run now" in output

"""The audit of issue 31: cases that were mishandled, each pinned down as the behaviour it now has.

Bad input is exit status 2 and one line naming the file and the key, before anything runs; the
Python API raises InputError naming the argument; odd but allowed data draws a warning."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

import sim
from sim.cli import main
from sim.errors import InputError, shown

TINY = "district: {generate: {estates: 6, seed: 1}}\nyears: 1\n"
DEGREES_CSV = ("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n"
               "A,120,7000,commodity,121.48,31.27\nB,300,20000,commodity,121.49,31.26\n")


def cli(args, capsys) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def refused(args, capsys, *says: str) -> str:
    """The command exits 2 with one line on stderr holding every one of `says`."""
    status, _, err = cli(args, capsys)
    assert status == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in says:
        assert word in err, err
    return err


# --- block_integration.blocks --------------------------------------------------------------

@pytest.mark.parametrize("blocks, says", [("[]", "is empty"), ("[B1, B1]", "'B1' twice")],
                         ids=["empty", "repeated"])
def test_block_integration_refuses_an_empty_or_repeated_block_list(tmp_path, capsys, blocks, says):
    # [] used to mean "every block" and [B1, B1] counted two blocks
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}policy:\n  block_integration: {{enabled: true, blocks: {blocks}}}\n")
    refused(["validate", path], capsys, str(path), "policy.block_integration.blocks", says)


def test_the_api_refuses_an_empty_block_list_too():
    scenario = sim.load_scenario(ROOT / "scenarios" / "integrated.yaml")
    with pytest.raises(InputError, match="policy.block_integration.blocks: is empty"):
        sim.run(scenario, years=1, policies={"block_integration": {"blocks": []}})


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


# --- warnings, ids, messages ---------------------------------------------------------------

@pytest.mark.parametrize("command", ["run", "sweep"])
def test_coordinates_in_degrees_are_warned_about_by_run_and_sweep(tmp_path, capsys, command):
    (tmp_path / "deg.csv").write_text(DEGREES_CSV)
    (tmp_path / "s.yaml").write_text("name: deg\ndistrict: {csv: deg.csv}\nyears: 1\n")
    (tmp_path / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\n")
    target = tmp_path / ("s.yaml" if command == "run" else "w.yaml")
    status, _, err = cli([command, target, "--out", tmp_path / "out", "--quiet"], capsys)
    assert status == 0, err
    assert "warning" in err and "degrees" in err and "deg.csv" in err


def test_a_plus_in_an_estate_id_is_refused(tmp_path, capsys):
    # "A+B" and "C" merged would be the area "A+B+C", as would "A" and "B+C"
    (tmp_path / "e.csv").write_text(DEGREES_CSV.replace("A,120", "A+B,120").replace(",121.4", ",1214"))
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: e.csv}\nyears: 1\n")
    refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", "estate_id", "row 2", "'+'")


def test_a_huge_whole_number_is_said_to_be_out_of_range(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}params: {{merge_max_group: {10**30}}}\n")
    err = refused(["validate", path], capsys, "params.merge_max_group", "outside [2, 20]")
    assert "whole number" not in err


def test_a_named_pipe_is_not_called_missing(tmp_path, capsys):
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    refused(["validate", pipe], capsys, str(pipe), "not a regular file")
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: pipe.yaml}\n")
    refused(["validate", tmp_path / "s.yaml"], capsys, "district.csv", "not a regular file")


@pytest.mark.parametrize("district", ["generated:²", "generated:٣", "generated:0", "generated:300000"])
def test_bench_refuses_a_generated_count_that_is_no_ascii_number(capsys, district):
    refused(["bench", "--district", district], capsys, "--district", "generated:N")


def test_messages_show_at_most_a_few_dozen_characters_of_a_value():
    huge = [[list(range(1000))] * 1000] * 1000  # a billion items, as a YAML alias bomb builds
    assert len(shown(huge)) <= 80
    assert len(shown("x" * 10**6)) <= 80
    assert "digits" in shown(10**5000)  # str() of it is refused by Python


# --- the Python API's arguments --------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "s.yaml"
    path.write_text(f"name: t\n{TINY}")
    return sim.load_scenario(path)


BAD_RUN_ARGUMENTS = {
    "years_1.5": ({"years": 1.5}, "years"),
    "years_True": ({"years": True}, "years"),
    "seed_1.5": ({"seed": 1.5}, "seed"),
    "param_inf": ({"params": {"merge_support": float("inf")}}, "params.merge_support"),
    "param_nan": ({"params": {"merge_support": float("nan")}}, "params.merge_support"),
    "param_10**400": ({"params": {"merge_support": 10**400}}, "params.merge_support"),
    "param_a_list": ({"params": {"merge_support": [0.5]}}, "params.merge_support"),
    "params_a_string": ({"params": "abc"}, "params"),
    "policies_a_string": ({"policies": "merge"}, "policies"),
    "progress_a_string": ({"progress": "x"}, "progress"),
    "engine_a_list": ({"engine": ["vector"]}, "engine"),
}


@pytest.mark.parametrize("kwargs, key", BAD_RUN_ARGUMENTS.values(), ids=BAD_RUN_ARGUMENTS.keys())
def test_run_refuses_a_bad_argument_naming_it(tiny_scenario, kwargs, key):
    with pytest.raises(InputError) as caught:
        sim.run(tiny_scenario, **kwargs)
    assert caught.value.key == key
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("workers, says", [("2", "whole number"), (0, "outside"), (2.0, "whole number"),
                                           (True, "whole number")])
def test_sweep_refuses_a_bad_worker_count(tmp_path, workers, says):
    with pytest.raises(InputError, match=f"sim.sweep: workers: .*{says}"):
        sim.sweep(tmp_path / "never-read.yaml", workers=workers)


def test_run_takes_numpy_scalars(tiny_scenario):
    result = sim.run(tiny_scenario, years=np.int64(1), seed=np.int64(5),
                     params={"merge_support": np.float32(0.5), "merge_max_group": np.int64(4)})
    assert len(result.timeseries) == 12
    again = sim.run(tiny_scenario, years=1, seed=5, params={"merge_support": 0.5, "merge_max_group": 4})
    assert result.timeseries.equals(again.timeseries)


# --- outputs checked before any work (item 2) -------------------------------------------------

def _no_simulation(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the command simulated before refusing its --out")

    monkeypatch.setattr("sim.run.run_scenario", fail)
    monkeypatch.setattr("sim.calibration.abc_rejection", fail)


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
    _no_simulation(monkeypatch)
    out, says = _bad_out(tmp_path, kind)
    spec = ROOT / "scenarios" / ("integrated.yaml" if command == "run" else "calibration/ouyang_road.yaml")
    refused([command, spec, "--out", out], capsys, "--out", says)


def test_the_default_out_of_calibrate_is_checked_too(tmp_path, capsys, monkeypatch):
    _no_simulation(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").write_text("a file where the default folder goes")
    refused(["calibrate", ROOT / "scenarios" / "calibration" / "ouyang_road.yaml"], capsys,
            "--out", "lies below")


# --- inputs checked before any work (item 2) and bounded messages (item 3) ------------------------

def _alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes of YAML that stand for 10**levels values."""
    lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["params: {merge_support: *b8}", "params: *b8"])
def test_an_alias_bomb_in_a_scenario_is_refused_at_once(tmp_path, capsys, where):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}{_alias_bomb()}{where}\n")
    refused(["validate", path], capsys, str(path), "aliases expanded")


def test_an_alias_bomb_in_a_sweeps_factors_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(f"name: t\n{TINY}")
    path = tmp_path / "w.yaml"
    path.write_text(f"name: w\nscenarios: [s.yaml]\nseed: 1\n{_alias_bomb()}"
                    "factors: {method: lhs, samples: 4, ranges: {merge_support: *b8}}\n")
    refused(["validate", path], capsys, str(path), "aliases expanded")


def test_aliases_count_toward_the_nesting_limit(tmp_path, capsys):
    deep = "d0: &d0 [x]\n" + "".join(f"d{i}: &d{i} [*d{i - 1}]\n" for i in range(1, 60))
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}{deep}")
    refused(["validate", path], capsys, "nested more than 50")


def test_a_small_alias_is_still_read(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nyears: 1\ndistrict: &d {generate: {estates: 6, seed: 1}}\n")
    status, _, err = cli(["validate", path], capsys)
    assert status == 0, err


def test_a_huge_yaml_file_is_refused_by_size(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\n{TINY}description: {'x' * 10_100_000}\n")
    refused(["validate", path], capsys, str(path), "larger than")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize("field", ["value", "tolerance"])
def test_a_calibration_target_must_be_a_finite_number(tmp_path, capsys, monkeypatch, field, value):
    _no_simulation(monkeypatch)
    target = {"value": "60", "tolerance": "5"}
    target[field] = value
    text = (ROOT / "scenarios" / "calibration" / "ouyang_road.yaml").read_text()
    text = text.replace("scenario: ../integrated.yaml", f"scenario: {ROOT / 'scenarios' / 'integrated.yaml'}")
    head, _, _ = text.partition("targets:")
    first = next(line.split(":")[0].strip() for line in text.partition("targets:")[2].splitlines()
                 if line.strip() and not line.strip().startswith("#"))
    path = tmp_path / "c.yaml"
    path.write_text(f"{head}targets:\n  {first}: {{value: {target['value']}, tolerance: "
                    f"{target['tolerance']}}}\n")
    refused(["calibrate", path, "--out", tmp_path / "out"], capsys, f"targets.{first}.{field}", "finite")


def test_a_long_scenario_name_is_refused_before_a_sweep_folder_exists(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(f"name: {'n' * 300}\n{TINY}")
    (tmp_path / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\n")
    refused(["sweep", tmp_path / "w.yaml", "--out", tmp_path / "out"], capsys, "s.yaml", "name")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("column", ["estate_id", "block"])
def test_a_long_id_or_block_name_is_refused(tmp_path, capsys, column):
    long = "x" * 101
    row = f"{long},120,7000,commodity,0,0,B" if column == "estate_id" else f"A,120,7000,commodity,0,0,{long}"
    (tmp_path / "e.csv").write_text("estate_id,households,floor_area_m2,housing_type,x_m,y_m,block\n"
                                    f"{row}\nC,300,20000,commodity,100,200,B\n")
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: e.csv}\nyears: 1\n")
    err = refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", column, "row 2", "more than 100")
    assert long not in err


def test_a_district_csv_has_a_row_limit_and_a_size_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sim.districts.MAX_ESTATES", 3)
    rows = "".join(f"E{i},120,7000,commodity,{i * 100},0\n" for i in range(5))
    (tmp_path / "e.csv").write_text("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n" + rows)
    (tmp_path / "s.yaml").write_text("name: t\ndistrict: {csv: e.csv}\nyears: 1\n")
    refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", "more than 3 estates")
    monkeypatch.setattr("sim.districts.MAX_CSV_BYTES", 100)
    refused(["validate", tmp_path / "s.yaml"], capsys, "e.csv", "larger than")


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
    status, _, err = cli(["run", tmp_path / "s.yaml", "--out", tmp_path / "out", "--quiet"], capsys)
    assert status == 0, err
    assert not any(folder.exists() for folder in stale)
    assert live.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "out", "s.yaml"])


# --- one run identity for every command (item 1) --------------------------------------------------

def _sweep_folder(tmp_path: Path, capsys) -> tuple[Path, Path]:
    (tmp_path / "s.yaml").write_text(f"name: t\ndescription: first\n{TINY}params: {{merge_support: 0.38}}\n")
    (tmp_path / "w.yaml").write_text("name: w\nscenarios: [s.yaml]\nseed: 1\n")
    out = tmp_path / "out"
    status, _, err = cli(["sweep", tmp_path / "w.yaml", "--out", out, "--quiet"], capsys)
    assert status == 0, err
    return tmp_path / "w.yaml", out


def test_a_changed_parameter_is_named_and_rerun_changed_runs_it_again(tmp_path, capsys):
    sweep_file, out = _sweep_folder(tmp_path, capsys)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(scenario.read_text().replace("0.38", "0.4"))
    refused(["sweep", sweep_file, "--out", out, "--quiet"], capsys,
            "parameter merge_support 0.38 → 0.4", "another --out", "--rerun-changed")
    status, output, err = cli(["sweep", sweep_file, "--out", out, "--rerun-changed"], capsys)
    assert status == 0, err
    assert "0 already stored, 1 run now" in output
    status, output, _ = cli(["sweep", sweep_file, "--out", out], capsys)  # now it is the stored run
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
    status, output, err = cli(["sweep", sweep_file, "--out", out], capsys)
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
                    "[0.2, 0.6]}}\noutputs: [service_quality]\nseed: 1\nengine: vector\n")
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

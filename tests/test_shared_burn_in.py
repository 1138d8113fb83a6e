"""Runs that start from a shared burn-in give exactly the results of runs that do their own.

A sweep runs each burn-in once for the runs that share it (the same seed, district, engine and
parameters; sim/snapshot.py) and continues every run from a copy; ``sim.run(start=...)`` and
``run --start FILE`` do the same for one run. Every comparison here is exact.
"""

import os
import tempfile

import pandas as pd
import pytest
import yaml
from sweep_support import assert_same_results, write_sweep

import sim
from sim.cli import main
from sim.errors import InputError
from sim.experiments.executors import DaskExecutor, ProcessExecutor, SequentialExecutor
from sim.experiments.runner import group_by_burn_in
from sim.experiments.store import RUNS_DIR, RUNS_TABLE
from sim.experiments.sweep import load_sweep, run_sweep
from sim.params import PARAMETER_INDEX, REFORM_ONLY
from sim.scenario import scenario_from_mapping
from sim.snapshot import burn_in_key

FACTORS = {"method": "lhs", "samples": 2,
           "ranges": {"fee_after_sale_public": [0.4, 1.0], "volunteer_fatigue": [0.01, 0.1]}}
TINY = {"name": "tiny", "district": {"generate": {"estates": 6, "seed": 1}}, "years": 1, "seed": 3,
        "policy": {"merge": {"enabled": True}}, "params": {"burn_in_years": 3}}
"""A tiny district and a short burn-in (the Mesa engine's runs below take seconds)."""


@pytest.fixture(scope="module", autouse=True)
def own_burn_ins():
    """No folder of kept burn-ins here (tests/conftest.py sets one): every run below that does its
    own burn-in really does it, or the comparisons would compare a copy with a copy."""
    from sim.snapshot import CACHE_ENV

    kept = os.environ.pop(CACHE_ENV, None)
    yield
    if kept is not None:
        os.environ[CACHE_ENV] = kept


def test_a_folder_of_kept_burn_ins_gives_the_runs_that_did_their_own(tmp_path, monkeypatch, engine):
    """sim.snapshot.CACHE_ENV: the first run writes its burn-in there, the next reads it; both
    give the tables of a run with no folder set, and a damaged file is made again."""
    from sim.snapshot import CACHE_ENV

    scenario = scenario_from_mapping(TINY, "<tiny>", None)
    own = sim.run(scenario, engine)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    first = sim.run(scenario, engine)
    (kept,) = tmp_path.glob("*.burn-in")
    second = sim.run(scenario, engine)
    kept.write_bytes(kept.read_bytes()[:-10])
    remade = sim.run(scenario, engine)
    for run in (first, second, remade):
        _same_tables(own, run)
    assert len(list(tmp_path.glob("*.burn-in"))) == 1
    other = sim.run(scenario, engine, seed=4)
    assert len(list(tmp_path.glob("*.burn-in"))) == 2 and not other.timeseries.equals(own.timeseries)


def test_a_folder_of_kept_burn_ins_that_cannot_be_written_is_a_one_line_error(tmp_path, cli, monkeypatch):
    from sim.snapshot import CACHE_ENV

    (tmp_path / "file").write_text("not a folder")
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "file" / "below"))
    proc = cli("run", path, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and CACHE_ENV in proc.stderr


@pytest.fixture(scope="module")
def unshared(tmp_path_factory):
    """A vector sweep (2 design points × 2 scenarios × 2 replicates) with every burn-in its own."""
    folder = tmp_path_factory.mktemp("unshared")
    sweep = load_sweep(write_sweep(folder, engine="vector", factors=FACTORS))
    summary = run_sweep(sweep, folder / "results", SequentialExecutor(), share_burn_ins=False)
    assert summary.ran == 8 and not summary.failed
    return sweep, folder / "results"


def test_a_sweep_groups_runs_by_what_their_burn_in_reads(unshared):
    sweep, _ = unshared
    groups = group_by_burn_in(sweep.tasks())
    # the two scenarios (status quo, merging) share a burn-in; seeds and design points do not
    assert len(groups) == 4 and all(len(g.tasks) == 2 for g in groups)
    for group in groups:
        assert len({(t.seed, t.design_point) for t in group.tasks}) == 1
        assert {t.scenario.name for t in group.tasks} == {"quiet", "merging"}


@pytest.mark.parametrize("workers", [1, 2])
def test_shared_burn_ins_give_the_results_of_unshared_ones(unshared, tmp_path, workers):
    sweep, reference = unshared
    executor = SequentialExecutor() if workers == 1 else ProcessExecutor(workers)
    summary = run_sweep(sweep, tmp_path / "shared", executor)
    assert summary.ran == 8 and not summary.failed
    assert_same_results(reference, tmp_path / "shared")


def test_shared_burn_ins_on_a_dask_local_cluster(unshared, tmp_path, monkeypatch):
    sweep, reference = unshared
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    summary = run_sweep(sweep, tmp_path / "dask", DaskExecutor(local_workers=2))
    assert summary.ran == 8 and not summary.failed
    assert_same_results(reference, tmp_path / "dask")


def test_a_resumed_sweep_redoes_half_a_group_from_a_new_burn_in(unshared, tmp_path):
    # what a kill can leave: one run of a group stored, the other not
    sweep, reference = unshared
    out = tmp_path / "shared"
    run_sweep(sweep, out, SequentialExecutor())
    victims = [g.tasks[1].run_id for g in group_by_burn_in(sweep.tasks())[:2]]
    for victim in victims:
        (out / RUNS_DIR / f"{victim}.json").unlink()
    (out / RUNS_TABLE).unlink()
    summary = run_sweep(sweep, out, SequentialExecutor())
    assert (summary.skipped, summary.ran) == (6, 2)
    assert_same_results(reference, out)


def _same_tables(a, b) -> None:
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[name], check_exact=True, obj=name)


@pytest.mark.parametrize("engine", ["vector", "mesa"])
def test_a_run_from_a_burn_in_is_the_run_that_did_its_own(engine):
    scenario = scenario_from_mapping(TINY, "<tiny>", None)
    state = sim.burn_in(scenario.with_overrides(policies={"merge": False}), engine)
    for policies in ({}, {"merge": False, "entrust": True})[:2 if engine == "vector" else 1]:
        own = sim.run(scenario, engine, policies=policies)
        started = sim.run(scenario, engine, policies=policies, start=state)
        _same_tables(own, started)
    # each run starts from its own copy: running twice from one burn-in gives the same run twice
    _same_tables(sim.run(scenario, engine, start=state), sim.run(scenario, engine, start=state))


REFORMING = {"name": "reforming",
             "district": {"generate": {"estates": 16, "seed": 5, "estates_per_block": 8}},
             "years": 3, "seed": 11, "params": {"burn_in_years": 4},
             "policy": {name: {"enabled": True} for name in ("merge", "management_merge", "entrust",
                                                             "self_governance", "block_integration")}}
"""Every policy on, on a district with two blocks: each parameter only the reforms read is read."""


def _another_value(name: str):
    """A value of the parameter other than its default, inside its documented range."""
    param = PARAMETER_INDEX[name]
    default = param.default
    if param.kind is bool:
        return not default
    candidates = [default * 1.5, default * 0.5, default + 1] if default else [1, 0.5]
    low = -float("inf") if param.low is None else param.low
    high = float("inf") if param.high is None else param.high
    for value in candidates:
        value = param.kind(round(value)) if param.kind is int else float(value)
        if value != default and low <= value <= high:
            return value
    raise AssertionError(f"no other value for {name}")


MESA_SAMPLE = ("fund_dispute_weight", "merge_max_distance_m", "entrust_reach_m", "merge_friction",
               "block_subsidy_yuan_per_household", "specialised_quality_share",
               "reform_staff_hours_per_month", "organising_join_rate")
"""One or two of each kind for the Mesa engine (a tenth of the vectorized engine's speed): the rules
and the street office that read them are the engines' shared code; the vectorized engine takes
every one."""


@pytest.mark.slow
@pytest.mark.parametrize("engine,names", [("vector", sorted(REFORM_ONLY)), ("mesa", MESA_SAMPLE)])
def test_a_burn_in_made_with_other_reform_parameters_gives_the_run_that_did_its_own(engine, names):
    """sim.params.REFORM_ONLY: the status quo reads none of them, so a burn-in made with another
    value serves the run; the run takes up its own value from month 1 (the compiled month's
    records are made again). Each parameter in turn, every policy on; most of them change the run."""
    assert set(names) <= REFORM_ONLY
    scenario = scenario_from_mapping(REFORMING, "<reforming>", None)
    state = sim.burn_in(scenario, engine)
    default = sim.run(scenario, engine, start=state)
    moved = []
    for name in names:
        params = {name: _another_value(name)}
        own = sim.run(scenario, engine, params=params)
        _same_tables(own, sim.run(scenario, engine, params=params, start=state))
        if not own.timeseries.equals(default.timeseries):
            moved.append(name)
    assert len(moved) >= len(names) // 2, moved


def test_the_burn_in_key_leaves_out_only_the_parameters_the_reforms_read():
    scenario = scenario_from_mapping(TINY, "<tiny>", None)
    key = burn_in_key(scenario, "vector")
    assert burn_in_key(scenario.with_overrides(params={"fund_dispute_weight": 0.0}), "vector") == key
    assert burn_in_key(scenario.with_overrides(params={"volunteer_fatigue": 0.05}), "vector") != key
    assert "fund_dispute_weight" in REFORM_ONLY and "volunteer_fatigue" not in REFORM_ONLY


def test_a_burn_in_for_another_seed_or_parameter_is_refused():
    scenario = scenario_from_mapping(TINY, "<tiny>", None)
    state = sim.burn_in(scenario, "vector")
    with pytest.raises(InputError, match="another seed"):
        sim.run(scenario, "vector", seed=4, start=state)
    with pytest.raises(InputError, match="another seed"):
        sim.run(scenario, "vector", params={"volunteer_fatigue": 0.05}, start=state)
    with pytest.raises(InputError, match="engine"):
        sim.run(scenario, "mesa", start=state)
    with pytest.raises(InputError, match="start"):
        sim.run(scenario, "vector", start=42)


def test_the_command_line_writes_a_burn_in_and_starts_a_run_from_it(tmp_path, capsys, cli):
    """The run from the file is another process, as a user's is (numba's threads start there)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    snapshot = tmp_path / "tiny.burnin"
    assert main(["burn-in", str(path), "--out", str(snapshot)]) == 0
    started = cli("run", path, "--start", snapshot, "--out", tmp_path / "from", "--quiet", "--format", "csv")
    assert started.returncode == 0, started.stderr
    assert main(["run", str(path), "--out", str(tmp_path / "own"), "--quiet", "--format", "csv"]) == 0
    own = pd.read_csv(tmp_path / "own" / "timeseries.csv")
    started = pd.read_csv(tmp_path / "from" / "timeseries.csv")
    pd.testing.assert_frame_equal(own, started, check_exact=True)

    capsys.readouterr()
    for bad in (tmp_path / "missing.burnin", path):
        assert main(["run", str(path), "--start", str(bad), "--out", str(tmp_path / "x"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(bad) in err
    damaged = tmp_path / "damaged.burnin"
    damaged.write_bytes(snapshot.read_bytes()[:-10])
    assert main(["run", str(path), "--start", str(damaged), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "damaged" in capsys.readouterr().err
    assert main(["run", str(path), "--seed", "9", "--start", str(snapshot), "--out", str(tmp_path / "x"),
                 "--quiet"]) == 2
    assert "another seed" in capsys.readouterr().err


def test_a_snapshot_remakes_what_cannot_be_pickled():
    # a model holds a module (the street office's kernels) and, on a district of a million
    # households or more, a thread pool: the copy gets the module and a pool of its own
    import io
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    from sim.snapshot import _Pickler
    from sim.vector_engine import compiled

    pool = ThreadPoolExecutor(2)
    buffer = io.BytesIO()
    _Pickler(buffer).dump({"kernels": compiled, "threads": pool})
    copy = pickle.loads(buffer.getvalue())
    assert copy["kernels"] is compiled
    assert isinstance(copy["threads"], ThreadPoolExecutor) and copy["threads"] is not pool
    assert copy["threads"].submit(sum, [1, 2]).result() == 3
    for executor in (pool, copy["threads"]):
        executor.shutdown()

"""A sweep stores every run's estates, events and firms, and analysis/results.py loads them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sweep_support import write_sweep

import sim
from analysis.results import load_estates, load_events, load_firms, load_results, load_runs, load_table
from sim.errors import InputError
from sim.experiments.executors import make_executor
from sim.experiments.store import KEY_COLUMNS
from sim.experiments.sweep import load_sweep, run_sweep


@pytest.fixture(scope="module")
def sweep_results(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tables")
    path = write_sweep(folder, engine="vector", estates=16, years=2)
    out = folder / "results"
    assert not run_sweep(load_sweep(path), out, make_executor(1, None, None)).failed
    return path, out


@pytest.mark.parametrize("load", [load_estates, load_events, load_firms])
def test_every_ok_run_has_its_table_keyed_like_the_others(sweep_results, load):
    _, out = sweep_results
    table = load(out)

    assert list(table.columns[:len(KEY_COLUMNS)]) == list(KEY_COLUMNS)
    assert set(table["run_id"]) <= set(load_runs(out)["run_id"])
    if load is not load_events:  # a quiet run may have no event; every run has estates and firms
        assert set(table["run_id"]) == set(load_runs(out)["run_id"])


def test_a_stored_run_has_the_tables_of_the_same_run_made_directly(sweep_results):
    path, out = sweep_results
    run = load_runs(out).query("scenario == 'merging'").iloc[0]
    scenario = next(s for s in load_sweep(path).scenarios if s.name == "merging")
    direct = sim.run(scenario, engine="vector", seed=int(run["seed"]), years=2)

    for name in ("estates", "events", "firms"):
        stored = load_table(out, name, scenarios="merging")
        stored = stored[stored["run_id"] == run["run_id"]].drop(columns=list(KEY_COLUMNS))
        pd.testing.assert_frame_equal(stored.reset_index(drop=True), getattr(direct, name),
                                      check_dtype=False, obj=name)


def test_events_can_be_read_by_kind(sweep_results):
    _, out = sweep_results
    events = load_events(out, kinds=["merge", "merge_failed"])

    assert set(events["kind"]) <= {"merge", "merge_failed"}
    assert set(events["scenario"]) == {"merging"}  # the quiet scenario proposes no merger
    assert len(events) == len(load_events(out).query("kind in ['merge', 'merge_failed']"))


def test_load_results_has_one_row_per_run_with_final_values(sweep_results):
    _, out = sweep_results
    table = load_results(out)

    assert list(table["run_id"]) == list(load_runs(out)["run_id"])
    assert {"satisfaction", "fee_collection_rate", "merges_done"} <= set(table.columns)
    assert table["satisfaction"].notna().all()


def test_an_unknown_table_is_refused_naming_it(sweep_results):
    with pytest.raises(InputError, match="no table 'households'"):
        load_table(sweep_results[1], "households")


def test_load_results_keeps_failed_runs_with_empty_outcomes(tmp_path):
    from synthetic_results import make_results

    folder = make_results(tmp_path / "r", replicates=3, failed={("n_in_1", 1)})
    table = load_results(folder)

    assert len(table) == len(load_runs(folder)) == 9
    failed = table[table["status"] == "failed"]
    assert list(failed["run_id"]) == ["n_in_1-d0-r1"]
    assert failed["satisfaction"].isna().all()
    assert table.loc[table["status"] == "ok", "satisfaction"].notna().all()

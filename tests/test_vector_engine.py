"""The vectorized engine's edges: its presets, its memory guard, the bench command."""

from __future__ import annotations

import numpy as np
import pytest

import sim.run
from sim.cli import main
from sim.districts import load_preset
from sim.errors import InputError
from sim.params import Params
from sim.run import make_model
from sim.scenario import scenario_from_mapping

SMALL = {"name": "small", "district": {"generate": {"estates": 20, "seed": 1}}, "years": 1, "seed": 3,
         "policy": {"merge": {"enabled": True}, "block_integration": {"enabled": True}}}


def test_shanghai_preset_has_the_city_scale():
    estates = load_preset("shanghai", Params()).estates
    assert len(estates) == 12_000
    assert 8.5e6 < estates["households"].sum() < 9.5e6
    assert estates["floor_area_m2"].sum() == pytest.approx(620e6, rel=0.01)


def test_a_district_too_large_for_memory_is_refused_before_the_run(monkeypatch):
    monkeypatch.setattr(sim.run, "available_memory_bytes", lambda: 1_000_000)
    scenario = scenario_from_mapping(SMALL, "small.yaml", None)
    with pytest.raises(InputError, match="needs about .* GB on the vector engine"):
        make_model(scenario, "vector")


def test_memory_refusal_is_exit_2_with_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sim.run, "available_memory_bytes", lambda: 1_000_000)
    path = tmp_path / "small.yaml"
    path.write_text("name: small\ndistrict: {generate: {estates: 20, seed: 1}}\nyears: 1\n")
    assert main(["run", str(path), "--engine", "vector", "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "small.yaml: district:" in err and "memory" in err


def test_vector_run_keeps_households_in_their_areas():
    model = make_model(scenario_from_mapping(SMALL, "<small>", None), "vector")
    for _ in range(13):
        model.step()
    table = model.areas_table()
    assert table["households"].sum() == model.n_households
    assert np.array_equal(np.bincount(model.household_area(), minlength=len(table)), table["households"])


def test_bench_rejects_an_unknown_engine(capsys):
    assert main(["bench", "--engines", "mesa,turbo"]) == 2
    assert "--engines" in capsys.readouterr().err


@pytest.mark.parametrize("district", ["nowhere", "generated:", "generated:0", "generated:ten"])
def test_bench_rejects_an_unknown_district(capsys, district):
    assert main(["bench", "--district", district]) == 2
    err = capsys.readouterr().err
    assert "--district" in err and len(err.strip().splitlines()) == 1


def test_bench_runs_a_generated_district(capsys):
    assert main(["bench", "--district", "generated:12", "--years", "1", "--engines", "vector"]) == 0
    out = capsys.readouterr().out
    assert "12 estates" in out and "vector:" in out and "household-months/s" in out


def test_the_cached_arrangement_is_never_stale():
    """After every month (mergers, entrustment, withdrawals, exits, re-tenders), the cached
    arrangement equals one computed afresh from the areas and firms."""
    from dataclasses import fields

    spec = {"name": "cache", "district": {"generate": {"estates": 60, "seed": 5}}, "years": 4, "seed": 3,
            "policy": {b: {"enabled": True} for b in ("merge", "entrust", "self_governance",
                                                        "block_integration")}}
    model = make_model(scenario_from_mapping(spec, "<test>", None), "vector")
    changes = 0
    for _ in range(48):
        before = model.areas.firm.copy()
        model.step()
        changes += len(before) != len(model.areas.firm) or bool((before != model.areas.firm).any())
        cached, fresh = model.arrangement(), model._arrange()
        for field in fields(cached):
            np.testing.assert_array_equal(getattr(cached, field.name), getattr(fresh, field.name),
                                          err_msg=f"month {model.month}: {field.name}")
    assert changes >= 3, "the run should change arrangements for the test to mean something"

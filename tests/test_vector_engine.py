"""The vectorized engine's edges: its presets, its memory guard, the bench command."""

from __future__ import annotations

import numpy as np
import pytest

import sim.run
from sim import rules
from sim.cli import main
from sim.districts import load_preset
from sim.errors import InputError
from sim.params import Params
from sim.run import make_model
from sim.scenario import scenario_from_mapping
from sim.vector_engine import compiled as compiled_module

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


# --- the compiled month (sim.vector_engine.compiled) --------------------------------------------

ALL_POLICIES = {"name": "compiled", "district": {"generate": {"estates": 40, "seed": 4}}, "years": 3,
                "seed": 5,
                "policy": {b: {"enabled": True} for b in ("merge", "entrust", "self_governance",
                                                            "block_integration")}}
needs_numba = pytest.mark.skipif(not compiled_module.AVAILABLE,
                                 reason="numba is not installed (or ESTATE_SIM_COMPILED=0)")


def _run(model, months):
    import pandas as pd

    for _ in range(months):
        model.step()
    return pd.DataFrame([r.__dict__ for r in model.records])


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_month_gives_the_numpy_month(dtype):
    """The same seed gives the same run with the month compiled or in numpy (float64: to rounding;
    float32: the household rules compute in float32 both ways)."""
    import pandas as pd

    from sim.vector_engine import VectorModel

    scenario = scenario_from_mapping(ALL_POLICIES, "<test>", None)
    numpy_month = VectorModel(scenario, dtype=dtype, compiled=False)
    compiled = VectorModel(scenario, dtype=dtype, compiled=True)
    assert compiled.compiled and not numpy_month.compiled
    reference = _run(numpy_month, 36)
    pd.testing.assert_frame_equal(_run(compiled, 36), reference, check_exact=False, rtol=1e-9, atol=1e-9)
    assert compiled.event_log == numpy_month.event_log
    assert len(compiled.event_log) > 10, "the run should hold reforms for the test to mean something"
    np.testing.assert_allclose(compiled.households.satisfaction, numpy_month.households.satisfaction,
                               rtol=0, atol=1e-12 if dtype == np.float64 else 0)
    np.testing.assert_allclose(compiled.households.habit, numpy_month.households.habit,
                               rtol=0, atol=1e-12 if dtype == np.float64 else 0)
    np.testing.assert_array_equal(compiled.households.volunteer, numpy_month.households.volunteer)


@needs_numba
def test_the_compiled_month_runs_the_rulebooks_functions():
    """The compiled loops call sim.rules' own functions: no rule is defined in the compiled module,
    and a rule changed in sim.rules changes the compiled month."""
    import sim.vector_engine.compiled as compiled
    from sim import rules

    for name in compiled.COMPILED_RULES:
        assert getattr(rules, name).__module__ == "sim.rules"
        assert not hasattr(compiled, name)
    scenario = scenario_from_mapping(ALL_POLICIES, "<test>", None)
    before = make_model(scenario, "vector")
    _run(before, 2)
    original = rules.update_satisfaction

    def never_satisfied(satisfaction, perceived, taste, p):
        return 0.0 * satisfaction

    # a new rule object: the compiled loop that calls it must be compiled again (no cache) to see it
    from numba.extending import register_jitable

    try:
        rules.update_satisfaction = register_jitable(never_satisfied)
        household_pass = compiled.numba.njit(compiled._household_pass)
        model = make_model(scenario, "vector")
        pass_before, compiled.household_pass = compiled.household_pass, household_pass
        try:
            _run(model, 1)
        finally:
            compiled.household_pass = pass_before
    finally:
        rules.update_satisfaction = original
    assert model.households.satisfaction.max() == 0.0
    assert before.households.satisfaction.max() > 0.0


def test_params_record_holds_every_number_of_the_table():
    from sim.vector_engine.compiled import params_record

    p = Params({"retender_months": 5})
    record = params_record(p)
    assert len(record) == 1 and record.dtype.names == tuple(p)
    assert record[0]["retender_months"] == 5.0
    assert record[0]["satisfaction_adjust_rate"] == p.satisfaction_adjust_rate
    assert params_record(p, np.float32).dtype[0] == np.float32


@needs_numba
def test_compiled_kernel_is_timed():
    from sim.bench import compiled_kernel

    assert compiled_kernel(5_000, 20, 3) > 0.0


@needs_numba
def test_the_parallel_household_pass_gives_the_serial_one():
    """Large districts step households in parallel over estates: same run (draws are per household)."""
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    scenario = scenario_from_mapping(ALL_POLICIES, "<test>", None)
    serial, parallel = make_model(scenario, "vector"), make_model(scenario, "vector")
    assert serial._threads is None
    parallel._threads = ThreadPoolExecutor(2)
    pd.testing.assert_frame_equal(_run(parallel, 12), _run(serial, 12))
    np.testing.assert_array_equal(parallel.households.habit, serial.households.habit)


SPLITMIX64_SEED_1234567 = (6457827717110365317, 3203168211198807973, 9817491932198370423,
                           4593380528125082431, 16408922859458223821)
"""The first outputs of SplitMix64 seeded with 1234567 (the reference splitmix64.c; Rosetta Code,
"Pseudo-random numbers/Splitmix64")."""


def test_household_draws_are_splitmix64s_outputs_in_both_forms():
    """Household i's draws are SplitMix64's output i + 1: the top 24 bits pay, the next 24 volunteer,
    the low 16 the case; the array form (Mesa engine, numpy month) and the compiled form (household
    pass) agree."""
    expected = np.array(SPLITMIX64_SEED_1234567, dtype=np.uint64)
    pay, volunteer, case = rules.household_draws(np.uint64(1234567), np.arange(5, dtype=np.uint64))
    np.testing.assert_array_equal(pay, (expected >> np.uint64(40)).astype(np.float32) / 2**24)
    np.testing.assert_array_equal(volunteer, ((expected >> np.uint64(16)) % 2**24).astype(np.float32) / 2**24)
    np.testing.assert_array_equal(case, (expected % 2**16).astype(np.float32) / 2**16)
    assert pay.dtype == volunteer.dtype == case.dtype == np.float32
    if compiled_module.numba is None:
        return
    import numba

    @numba.njit
    def one_by_one(key, n):
        out = np.empty((3, n), dtype=np.float32)
        for h in range(n):
            out[0, h], out[1, h], out[2, h] = rules.household_draws(key, h)
        return out

    key = rules.draw_month_key(np.random.default_rng(5))
    many = rules.household_draws(key, np.arange(100_000, dtype=np.uint64))
    np.testing.assert_array_equal(one_by_one(key, 100_000), np.array(many))
    assert 0.0 <= many[0].min() and many[0].max() < 1.0
    correlations = np.corrcoef(many)
    assert np.all(np.abs(correlations[np.triu_indices(3, 1)]) < 0.02)


def whole_view_bidder(area, areas, firms, *, reach_m, min_capability=0.0, exclude=(), room=1):
    """A tender's winner from every firm and every site, in numpy: what best_bidder's band scan must give."""
    x, y = areas.x_m[area], areas.y_m[area]
    distance = np.hypot(firms.x_m - x, firms.y_m - y)
    served = areas.firm >= 0
    np.minimum.at(distance, areas.firm[served], np.hypot(areas.x_m[served] - x, areas.y_m[served] - y))
    ok = (firms.active & (distance <= reach_m) & (firms.sites + room <= firms.max_sites)
          & (firms.capability >= min_capability))
    ok[list(exclude)] = False
    if not ok.any():
        return -1
    return int(np.argmax(np.where(ok, 0.5 * (firms.capability + firms.reputation), -np.inf)))


def test_city_scale_shortcuts_give_the_whole_districts_answers():
    """Tenders (compiled scan of the areas and bases in a band of x) pick the winner a scan of every
    firm and site picks; merge groups found block by block are the groups of the whole district."""
    from sim.policies.common import small_open
    from sim.policies.merge import merge_groups, merge_groups_by_block

    spec = {"name": "city", "district": {"generate": {"estates": 1100, "seed": 2}}, "years": 1, "seed": 1,
            "params": {"burn_in_years": 0}}
    model = make_model(scenario_from_mapping(spec, "<test>", None), "vector")
    model.step()
    office, v, firms = model.street_office, model.area_view(), model.firm_view()
    reach = model.p.firm_reach_m
    rows = range(0, len(v.area_id), 7)
    assert len(v.area_id) >= 1000
    winners = [office.bidder(a, rules.FULL_SERVICE, reform=True) for a in rows]
    assert winners == [whole_view_bidder(a, v, firms, reach_m=reach) for a in rows]
    assert sum(w >= 0 for w in winners) > 10
    model.set_fee(3, 2.5)  # a new view: the sorted index is kept, the answers still the whole view's
    v = model.area_view()
    assert ([office.bidder(a, rules.FULL_SERVICE, reform=True) for a in rows]
            == [whole_view_bidder(a, v, firms, reach_m=reach) for a in rows])
    asks = [(a, {"exclude": (w,) if w >= 0 else (), "min_capability": 0.5, "reach_m": 2 * reach})
            for a, w in zip(rows, winners, strict=True)]
    assert ([office.bidder(a, rules.FULL_SERVICE, reform=True, **ask) for a, ask in asks]
            == [whole_view_bidder(a, v, firms, **ask) for a, ask in asks])
    # a management-only group asks room for all its members: firms short of it cannot bid
    full = firms.max_sites - firms.sites
    roomy = [(a, {"room": int(full[w]) + 1 if w >= 0 else 2}) for a, w in zip(rows, winners, strict=True)]
    picked = [office.bidder(a, rules.FULL_SERVICE, reform=True, **ask) for a, ask in roomy]
    assert picked == [whole_view_bidder(a, v, firms, reach_m=reach, **ask) for a, ask in roomy]
    assert sum(p != w for p, w in zip(picked, winners, strict=True)) > 0  # the room binds somewhere
    # a firm enters (new, longer firm arrays): the index follows
    newcomer = office.enter_market(0, 0.99)
    firms = model.firm_view()
    after = [office.bidder(a, rules.FULL_SERVICE, reform=True) for a in rows]
    assert after == [whole_view_bidder(a, v, firms, reach_m=reach) for a in rows]
    assert newcomer in after
    eligible = small_open(v, 400)
    groups = merge_groups_by_block(v, eligible, model.p)
    assert len(groups) > 10 and groups == merge_groups(v, eligible, model.p)


def test_merge_groups_are_the_same_with_distances_row_by_row(monkeypatch):
    import dataclasses

    import sim.policies.merge as merge
    from sim.policies.common import small_open

    spec = {"name": "one-block",
            "district": {"generate": {"estates": 300, "seed": 4, "estates_per_block": 300}}, "years": 1,
            "seed": 1, "params": {"burn_in_years": 0}}
    model = make_model(scenario_from_mapping(spec, "<test>", None), "vector")
    v = model.area_view()
    v = dataclasses.replace(v, housing_type=np.zeros_like(v.housing_type))  # one pool of candidates
    eligible = small_open(v, 400)
    groups = merge.merge_groups(v, eligible, model.p)
    monkeypatch.setattr(merge, "PAIRWISE_MAX", 0)
    assert len(groups) > 5 and merge.merge_groups(v, eligible, model.p) == groups


def test_merge_groups_remembered_between_months_are_the_groups_found_afresh(monkeypatch):
    """The street office regroups only blocks whose inputs changed: every month, the same groups
    as merge_groups_by_block on the whole district."""
    import sim.policies.merge as merge

    remembered = merge.MergeGroupMemory.groups
    calls = []

    def checked(memory, areas, eligible, p):
        groups = remembered(memory, areas, eligible, p)
        assert groups == merge.merge_groups_by_block(areas, eligible, p)
        calls.append(len(groups))
        return groups

    monkeypatch.setattr(merge.MergeGroupMemory, "groups", checked)
    spec = {"name": "groups", "district": {"generate": {"estates": 300, "seed": 4}}, "years": 4, "seed": 2,
            "params": {"burn_in_years": 0},
            "policy": {"merge": {"enabled": True}, "entrust": {"enabled": True},
                       "self_governance": {"enabled": True}}}
    model = make_model(scenario_from_mapping(spec, "<test>", None), "vector")
    for _ in range(48):
        model.step()
    assert len(calls) > 10 and sum(n > 0 for n in calls) > 5, calls


def test_a_new_fee_updates_the_cached_view_as_a_rebuilt_view_has_it():
    """set_fee mends the cached area view's expected money in place: bit for bit a rebuilt view's."""
    model = make_model(scenario_from_mapping({"name": "fees", "district": {"preset": "ouyang_road"},
                                              "years": 1, "seed": 3, "params": {"burn_in_years": 0}},
                                             "<test>", None), "vector")
    model.step()
    before = model.area_view().expected_money_yuan.copy()
    rng = np.random.default_rng(0)
    for _ in range(100):
        area = int(rng.integers(len(model.area_view().area_id)))
        model.set_fee(area, float(rng.uniform(0.3, 3.0)))
        kept = model.area_view().expected_money_yuan.copy()
        model._view = None
        np.testing.assert_array_equal(kept, model.area_view().expected_money_yuan)
    assert np.count_nonzero(kept != before) > 50

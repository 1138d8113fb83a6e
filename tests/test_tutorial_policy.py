"""The tutorial's own policy (docs/TUTORIAL_POLICY.md): a fee subsidy defined outside sim/, on both engines.

It moves money only through the area-state interface's `set_transfer`; its effects run through the
engines' usual rules, the same on both for one seed; and registering it leaves a stored results
folder resumable.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_support import write_sweep

from sim.experiments.executors import SequentialExecutor
from sim.experiments.sweep import load_sweep, run_sweep
from sim.mesa_engine import EstateGovernanceModel
from sim.params import AFTER_SALE_CODE
from sim.policies import REGISTRY, Policy
from sim.run import run_scenario
from sim.scenario import scenario_from_mapping
from sim.transfers import TRANSFER_COLUMNS
from sim.vector_engine import VectorModel

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
sys.path.insert(0, str(EXAMPLES))
from after_sale_subsidy import PURPOSE, AfterSaleSubsidy  # noqa: E402

SPEC = {"name": "subsidised", "district": {"generate": {"estates": 30, "seed": 3}},
        "policy": {"after_sale_subsidy": {"enabled": True, "yuan_per_m2": 0.5}},
        "years": 2, "seed": 11, "params": {"burn_in_years": 2}}


def _series(model, months: int = 24) -> pd.DataFrame:
    for _ in range(months):
        model.step()
    return pd.DataFrame([r.__dict__ for r in model.records])


@pytest.fixture
def policy():
    with REGISTRY.added(AfterSaleSubsidy()) as added:
        yield added


def test_the_policy_file_touches_nothing_in_sim():
    text = (EXAMPLES / "after_sale_subsidy.py").read_text()
    assert "set_transfer" in text
    assert not (EXAMPLES.parent.parent / "sim" / "policies" / "after_sale_subsidy.py").exists()
    assert "after_sale_subsidy" not in REGISTRY.names()  # registered only for the with block


def test_the_subsidy_runs_the_same_on_both_engines_for_one_seed(policy):
    scenario = scenario_from_mapping(SPEC, "<tutorial>", None)
    mesa = EstateGovernanceModel(scenario)
    reference = _series(mesa)
    for compiled in (True, False):
        vector = VectorModel(scenario, dtype=np.float64, compiled=compiled)
        np.testing.assert_allclose(_series(vector).to_numpy(float), reference.to_numpy(float),
                                   rtol=0, atol=1e-9)
        pd.testing.assert_frame_equal(vector.transfers_table(), mesa.transfers_table(), rtol=1e-9)
        assert vector.event_log == mesa.event_log
    paid = mesa.transfers_table()
    assert list(paid.columns) == list(TRANSFER_COLUMNS)
    assert (paid["purpose"] == PURPOSE).all() and (paid["recipient"] == "households").all()
    assert sorted(paid["month"]) == list(range(1, 25))


def test_the_subsidy_lowers_the_fee_households_owe_and_pays_the_firm_the_difference(policy):
    scenario = scenario_from_mapping(SPEC, "<tutorial>", None)
    subsidised = VectorModel(scenario, compiled=False)
    plain = VectorModel(scenario.with_overrides(policies={"after_sale_subsidy": False}), compiled=False)
    for model in (subsidised, plain):
        model.step()
    a, b = subsidised.areas, plain.areas
    after_sale = (a.housing_type == AFTER_SALE_CODE) & (a.firm >= 0) & (b.fee_due > 0)
    assert after_sale.any()
    np.testing.assert_allclose(a.fee_due[after_sale], np.maximum(b.fee_due[after_sale] - 0.5, 0.0))
    others = ~after_sale & (a.firm >= 0)
    np.testing.assert_array_equal(a.fee_due[others], b.fee_due[others])
    covered = (b.fee_due - a.fee_due)[after_sale] * a.floor_area_m2[after_sale]
    np.testing.assert_allclose(a.subsidy_yuan[after_sale] - b.subsidy_yuan[after_sale], covered)
    booked = subsidised.transfers_table()
    assert booked["yuan"].sum() == pytest.approx(covered.sum())
    assert booked["areas"].iloc[0] == after_sale.sum()


def test_the_money_counts_in_the_cost_and_the_run_writes_the_transfers_table(policy):
    scenario = scenario_from_mapping(dict(SPEC, years=1), "<tutorial>", None)
    with_subsidy = run_scenario(scenario, "vector")
    without = run_scenario(scenario.with_overrides(policies={"after_sale_subsidy": False}), "vector")
    assert "transfers" in with_subsidy.tables() and "transfers" not in without.tables()
    cost = "cost_per_household"
    assert with_subsidy.timeseries[cost].mean() > without.timeseries[cost].mean()


def test_a_transfer_needs_a_purpose_and_no_negative_amount(policy):
    model = VectorModel(scenario_from_mapping(SPEC, "<tutorial>", None))
    with pytest.raises(ValueError, match="purpose"):
        model.set_transfer([0], "", manager_yuan=1.0)
    with pytest.raises(ValueError, match="negative"):
        model.set_transfer([0], "x", manager_yuan=-1.0)


def test_registering_the_policy_leaves_a_stored_results_folder_resumable(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, replicates=1, engine="vector"))
    run_sweep(sweep, tmp_path / "results", SequentialExecutor())
    with REGISTRY.added(AfterSaleSubsidy()):
        summary = run_sweep(load_sweep(write_sweep(tmp_path, replicates=1, engine="vector")),
                            tmp_path / "results", SequentialExecutor())
    assert (summary.total, summary.skipped, summary.ran) == (2, 2, 0)


def test_transfers_stand_follow_a_merger_and_are_booked_by_purpose():
    from sim.transfers import Transfers

    t = Transfers()
    assert not t
    t.set(["a", "b", "c"], "repairs", manager_yuan=[100.0, 0.0, 50.0], household_yuan_per_m2=0.0)
    t.set(["b"], "fees", manager_yuan=0.0, household_yuan_per_m2=0.2)
    manager, per_m2 = t.amounts(["a", "b", "c", "d"])
    np.testing.assert_array_equal(manager, [100.0, 0.0, 50.0, 0.0])
    np.testing.assert_array_equal(per_m2, [0.0, 0.2, 0.0, 0.0])
    t.merged(["a", "b"], "a+b", [1000.0, 3000.0])
    manager, per_m2 = t.amounts(["a", "b", "a+b"])
    np.testing.assert_allclose(manager, [0.0, 0.0, 100.0])
    np.testing.assert_allclose(per_m2, [0.0, 0.0, 0.2 * 3000 / 4000])
    # a month: a+b served (its covered fees 150 yuan), c without a firm (paid nothing)
    t.book(1, ["a+b", "c"], np.array([True, False]), np.array([150.0, 0.0]), households=10)
    booked = t.table().set_index(["purpose", "recipient"])
    assert booked.loc[("repairs", "manager"), "yuan"] == 100.0
    assert booked.loc[("repairs", "manager"), "areas"] == 1
    assert booked.loc[("fees", "households"), "yuan"] == pytest.approx(150.0)
    assert booked.loc[("fees", "households"), "yuan_per_household"] == pytest.approx(15.0)
    t.set(["a+b", "c"], "repairs", manager_yuan=0.0, household_yuan_per_m2=0.0)
    t.set(["a+b"], "fees", manager_yuan=0.0, household_yuan_per_m2=0.0)
    assert not t  # every transfer ended


class ManagerGrant(Policy):
    """A policy of this test: the firm of every area it serves gets a standing monthly grant."""

    name = "manager_grant"
    label = "Manager grant"

    def eligible(self, office, state):
        return state.area_view().firm >= 0

    def run(self, office, state):
        state.set_transfer(self.eligible(office, state), "grant", manager_yuan=20000.0)


def test_a_transfer_to_the_manager_reaches_the_firms_effort_the_same_on_both_engines():
    spec = dict(SPEC, policy={"manager_grant": {"enabled": True}})
    with REGISTRY.added(ManagerGrant()):
        scenario = scenario_from_mapping(spec, "<grant>", None)
        mesa, vector = EstateGovernanceModel(scenario), VectorModel(scenario, dtype=np.float64)
        granted = _series(vector)
        np.testing.assert_allclose(granted.to_numpy(float), _series(mesa).to_numpy(float), rtol=0, atol=1e-9)
        pd.testing.assert_frame_equal(vector.transfers_table(), mesa.transfers_table(), rtol=1e-9)
        plain = _series(VectorModel(scenario.with_overrides(policies={"manager_grant": False}),
                                    dtype=np.float64))
    paid = vector.transfers_table()
    assert set(paid["recipient"]) == {"manager"} and set(paid["purpose"]) == {"grant"}
    assert (paid["yuan"] == 20000.0 * paid["areas"]).all()
    assert granted["service_quality"].mean() > plain["service_quality"].mean()  # through rules.effort
    assert granted["cost_per_household"].mean() > plain["cost_per_household"].mean()

"""Policies are interchangeable blocks: a new one joins through the registry, no engine changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.events import Event
from sim.mesa_engine import EstateGovernanceModel
from sim.policies import REGISTRY, Policy
from sim.rules import FULL_SERVICE
from sim.scenario import scenario_from_mapping
from sim.vector_engine import VectorModel


class WorstAreaRetender(Policy):
    """A toy policy: each year the owners of the least satisfied area vote on a new firm."""

    name = "worst_area_retender"
    label = "Worst area re-tendered"
    keys = {"support_bonus": "briefing_support"}  # an existing parameter, for the key mechanism

    def eligible(self, state):
        v = state.area_view()
        return v.mean_satisfaction == v.mean_satisfaction.min()

    def run(self, office, state):
        v = state.area_view()
        area = int(np.flatnonzero(self.eligible(state))[0])
        exclude = (int(v.firm[area]),) if v.firm[area] >= 0 else ()
        winner = office.tender(area, FULL_SERVICE, exclude=exclude, require_cover=False)
        passed, share = office.hold_vote(area, 0.5 + state.p.briefing_support, briefed=True)
        if passed and winner >= 0:
            state.assign_firm(area, winner, FULL_SERVICE)
        state.log(Event(state.month, "toy", v.area_id[area], v.area_id[area], winner, share, passed,
                        f"toy vote in {v.area_id[area]}"))


SPEC = {"name": "toy", "years": 2, "seed": 3,
        "district": {"generate": {"estates": 20, "seed": 1}},
        "policy": {"worst_area_retender": {"enabled": True, "support_bonus": 0.3},
                   "merge": {"enabled": True}}}


def _run(model, months: int = 24) -> pd.DataFrame:
    for _ in range(months):
        model.step()
    return pd.DataFrame([r.__dict__ for r in model.records])


def test_a_policy_defined_here_runs_on_both_engines_through_the_registry():
    with REGISTRY.added(WorstAreaRetender()):
        scenario = scenario_from_mapping(SPEC, "<toy>", None)
        assert scenario.policies["worst_area_retender"] is True
        assert scenario.params.briefing_support == pytest.approx(0.3)
        mesa, vector = EstateGovernanceModel(scenario), VectorModel(scenario, dtype=np.float64)
        np.testing.assert_allclose(_run(vector).to_numpy(float), _run(mesa).to_numpy(float), atol=1e-9)
    toy = [e for e in mesa.event_log if e.kind == "toy"]
    assert [e.month for e in toy] == [1, 13]  # once a round, in its place in the round
    assert vector.event_log == mesa.event_log
    assert "worst_area_retender" not in REGISTRY.names()  # the with block removed it


def test_an_unregistered_policy_is_an_unknown_scenario_key():
    with pytest.raises(InputError, match="worst_area_retender: unknown key"):
        scenario_from_mapping(SPEC, "<toy>", None)


def test_the_round_follows_the_registry_order():
    assert REGISTRY.names() == ("block_integration", "merge", "entrust", "self_governance")
    with REGISTRY.added(WorstAreaRetender(), before="merge"):
        assert REGISTRY.names()[1] == "worst_area_retender"
        assert [p.name for p in REGISTRY.enabled({"merge": True, "worst_area_retender": True})] == [
            "worst_area_retender", "merge"]

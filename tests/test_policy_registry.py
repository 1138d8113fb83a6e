"""Policies are interchangeable blocks: a new one joins through the registry, no engine changes."""

from __future__ import annotations

import re

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

    def eligible(self, office, state):
        v = state.area_view()
        return v.mean_satisfaction == v.mean_satisfaction.min()

    def run(self, office, state):
        v = state.area_view()
        area = int(np.flatnonzero(self.eligible(office, state))[0])
        exclude = (int(v.firm[area]),) if v.firm[area] >= 0 else ()
        winner = office.procure(area, FULL_SERVICE, exclude=exclude)
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
    shipped = REGISTRY.names()
    assert len(shipped) == len(set(shipped)) >= 1
    every = REGISTRY.enabled(dict.fromkeys(shipped, True))
    assert all(isinstance(p, Policy) and p.name and p.label for p in every)
    for place, neighbour in enumerate(shipped):  # a policy added before any other takes its place
        with REGISTRY.added(WorstAreaRetender(), before=neighbour):
            assert REGISTRY.names() == (*shipped[:place], "worst_area_retender", *shipped[place:])
            switched_on = {neighbour: True, "worst_area_retender": True}
            assert [p.name for p in REGISTRY.enabled(switched_on)] == ["worst_area_retender", neighbour]
    with REGISTRY.added(WorstAreaRetender()):  # by default: last
        assert REGISTRY.names() == (*shipped, "worst_area_retender")
    assert REGISTRY.names() == shipped


def test_the_readme_how_to_names_the_interface_the_code_has():
    import inspect
    from pathlib import Path

    from sim.area_state import AreaState
    from sim.street_office import StreetOffice

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    how_to = readme.split("### How to add a policy", 1)[1].split("\n## ", 1)[0]
    for method in ("eligible", "run"):
        arguments = list(inspect.signature(getattr(Policy, method)).parameters)[1:]
        assert f"`{method}({', '.join(arguments)})`" in how_to
    named = re.findall(r"`office\.(\w+)`", how_to)
    assert {"procure", "hold_vote"} <= set(named)
    for name in named:
        assert hasattr(StreetOffice, name), f"README names office.{name}, which StreetOffice lacks"
    for name in ("assign_firm", "merge_areas", "set_area_flags", "set_reputation", "log"):
        assert f"`{name}`" in how_to and hasattr(AreaState, name)

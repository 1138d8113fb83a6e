"""Rules of sim.rules as specifications: the savings of scale and who keeps them."""

import numpy as np
import pytest

from sim import rules
from sim.params import Params
from sim.rules import ENTRUSTED, FULL_SERVICE, SELF_GOVERNANCE

P = Params()
ESTATES = {"gates": 3.0, "floor_area_m2": 18_000.0, "households": 300}
"""Three small estates of one gate each, together."""


def _merged_need(p: Params = P) -> float:
    gates = ESTATES["gates"] * (1.0 - p.merge_gate_reduction)
    return rules.money_needed(FULL_SERVICE, gates, ESTATES["floor_area_m2"], ESTATES["households"], p)


def _stand_alone(mode: int, needed: float, n_estates: int = 3, p: Params = P) -> float:
    return rules.stand_alone_money_needed(mode, needed, ESTATES["gates"], n_estates,
                                          ESTATES["floor_area_m2"], ESTATES["households"], p)


def test_an_unmerged_area_in_full_service_needs_its_own_cost_stand_alone():
    needed = rules.money_needed(FULL_SERVICE, 1.0, 6_000.0, 100, P)
    stand_alone = rules.stand_alone_money_needed(FULL_SERVICE, needed, 1.0, 1, 6_000.0, 100, P)
    assert stand_alone == pytest.approx(needed)


def test_merged_and_entrusted_areas_need_less_than_their_estates_stand_alone():
    needed = _merged_need()
    assert needed < _stand_alone(FULL_SERVICE, needed)
    entrusted = rules.money_needed(ENTRUSTED, 1.0, 6_000.0, 100, P)
    assert entrusted < rules.stand_alone_money_needed(ENTRUSTED, entrusted, 1.0, 1, 6_000.0, 100, P)


def test_specialised_service_shares_nothing():
    needed = rules.money_needed(SELF_GOVERNANCE, 3.0, 18_000.0, 300, P)
    assert _stand_alone(SELF_GOVERNANCE, needed) == needed


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_a_firm_keeps_its_share_of_the_savings_of_scale(share):
    p = P.replace(scale_savings_firm_share=share, min_effort=0.0)
    needed = _merged_need(p)
    stand_alone = _stand_alone(FULL_SERVICE, needed, p=p)
    available = 0.5 * needed  # an under-funded area: effort below 1
    spend = rules.effort(available, needed, stand_alone, False, p) * needed
    savings = available * (1.0 - p.target_margin) * (1.0 - needed / stand_alone)
    assert available - spend == pytest.approx(p.target_margin * available + share * savings)


def test_without_savings_of_scale_the_firm_keeps_its_target_margin():
    needed = rules.money_needed(FULL_SERVICE, 1.0, 6_000.0, 100, P)
    available = 0.5 * needed
    spend = rules.effort(available, needed, needed, False, P) * needed
    assert available - spend == pytest.approx(P.target_margin * available)


def test_effort_is_the_same_on_scalars_and_arrays():
    needed = np.array([_merged_need(), 40_000.0, 90_000.0])
    stand_alone = np.array([_stand_alone(FULL_SERVICE, needed[0]), 40_000.0, 120_000.0])
    available = np.array([30_000.0, 100_000.0, 2_000.0])
    in_loss = np.array([False, False, True])
    arrays = rules.effort(available, needed, stand_alone, in_loss, P)
    scalars = [rules.effort(float(a), float(n), float(s), bool(x), P)
               for a, n, s, x in zip(available, needed, stand_alone, in_loss, strict=True)]
    assert arrays == pytest.approx(scalars)

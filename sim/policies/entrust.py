"""Strong leads weak (以强带弱): a struggling small area is entrusted to a capable firm nearby.

The firm shares its site staff and patrols, if the area's owners agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import events, rules
from sim.policies.base import Policy
from sim.policies.common import small_open, struggling
from sim.rules import ENTRUSTED

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


class Entrust(Policy):
    """Struggling small areas go to the best strong firm nearby, by tender and owners' vote."""

    name = "entrust"
    label = "Strong leads weak"
    keys = {
        "max_households": "entrust_max_households",
        "min_capability": "entrust_min_capability",
        "reach_m": "entrust_reach_m",
    }

    def eligible(self, state: AreaState) -> np.ndarray:
        """Small, open, struggling areas not yet handled this round, without a capable firm."""
        p = state.p
        v = state.area_view()
        firms = state.firm_view()
        has = v.firm >= 0
        capable = np.zeros(len(v.firm), dtype=bool)
        capable[has] = firms.capability[v.firm[has]] >= p.entrust_min_capability
        return ~v.handled & small_open(v, p.entrust_max_households) & struggling(v, p) & ~capable

    def run(self, office: StreetOffice, state: AreaState) -> None:
        """Tender among capable firms within reach; the owners vote on the winner."""
        p = state.p
        # deciding one area changes only that area, so the candidates can be chosen up front
        for area in np.flatnonzero(self.eligible(state)).tolist():
            lead = office.tender(area, ENTRUSTED, reach_m=p.entrust_reach_m,
                                 min_capability=p.entrust_min_capability, require_cover=False)
            if lead < 0:
                continue
            v = state.area_view()
            passed, share = office.hold_vote(
                area, rules.change_support(float(v.mean_satisfaction[area]), True, p), briefed=True)
            state.set_area_flags(area, handled=True)
            if passed:
                state.assign_firm(area, lead, ENTRUSTED)
                office.record_reform(area, "entrusted")
                state.log(events.entrusted(state.month, v.area_id[area], lead, share))

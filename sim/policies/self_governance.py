"""Specialised service plus self-governance (物业专项管理+居民自治).

A firm provides only repairs; volunteers organised by the residents' Party branch patrol and clean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import events, rules
from sim.policies.base import Policy
from sim.policies.common import small_open, struggling
from sim.rules import SELF_GOVERNANCE

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


class SelfGovernance(Policy):
    """Small struggling areas nothing else reached turn to specialised service plus volunteers."""

    name = "self_governance"
    label = "Specialised service + self-governance"
    keys = {
        "specialised_fee_share": "specialised_fee_share",
        "specialised_quality_share": "specialised_quality_share",
        "organising_join_rate": "organising_join_rate",
        "volunteer_full_rate": "volunteer_full_rate",
    }

    def eligible(self, state: AreaState) -> np.ndarray:
        """Small, open, struggling areas no policy handled this round."""
        v = state.area_view()
        return ~v.handled & small_open(v, state.p.merge_max_households) & struggling(v, state.p)

    def run(self, office: StreetOffice, state: AreaState) -> None:
        """The owners vote; the area's own firm (or a tender's winner) takes the repairs."""
        p = state.p
        for area in np.flatnonzero(self.eligible(state)).tolist():
            v = state.area_view()
            firm = int(v.firm[area])
            if firm < 0:
                firm = office.tender(area, SELF_GOVERNANCE, require_cover=False)
            passed, share = office.hold_vote(
                area, rules.change_support(float(v.mean_satisfaction[area]), True, p), briefed=True)
            state.set_area_flags(area, handled=True)
            if passed:
                state.assign_firm(area, firm, SELF_GOVERNANCE)
                state.set_area_flags(area, organising=True)
                office.record_reform(area, "self_governed")
                state.log(events.self_governed(state.month, v.area_id[area], firm, share))

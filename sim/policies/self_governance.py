"""Specialised service plus self-governance (物业专项管理+居民自治).

A firm provides only repairs; volunteers organised by the residents' Party branch patrol and
clean, covering the staff-hours they can give (rules.volunteer_coverage). A reform case of the
street office: the owners decide, and the switch starts `handover_months` later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import events
from sim.policies.common import HandOverPolicy, small_open, struggling
from sim.rules import SELF_GOVERNANCE

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


class SelfGovernance(HandOverPolicy):
    """Small struggling areas no other reform reached turn to specialised service plus volunteers."""

    name = "self_governance"
    label = "Specialised service + self-governance"
    keys = {
        "specialised_fee_share": "specialised_fee_share",
        "specialised_quality_share": "specialised_quality_share",
        "organising_join_rate": "organising_join_rate",
        "volunteer_hours_per_month": "volunteer_hours_per_month",
    }
    mode = SELF_GOVERNANCE
    how = "self_governed"

    def eligible(self, office: StreetOffice, state: AreaState) -> np.ndarray:
        """Small, open, struggling areas free for a case."""
        v = state.area_view()
        return office.available() & small_open(v, state.p.merge_max_households) & struggling(v, state.p)

    def find_firm(self, office: StreetOffice, state: AreaState, area: int) -> int:
        """The area's own firm takes on the repairs; without one, a tender for the specialised service."""
        firm = int(state.area_view().firm[area])
        return firm if firm >= 0 else office.procure(area, SELF_GOVERNANCE, reform=True)

    def start(self, state: AreaState, area: int) -> None:
        """The Party branch starts organising volunteers."""
        state.set_area_flags(area, organising=True)

    def done_event(self, month: int, area_id: str, firm: int, support: float) -> events.Event:
        """The area switched."""
        return events.self_governed(month, area_id, firm, support)

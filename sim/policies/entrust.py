"""Strong leads weak (以强带弱): a struggling small area is entrusted to a capable firm nearby.

The firm shares its site staff and patrols (lower cost: rules.cost_shares), if the area's owners
agree; a reform case of the street office, handed over `handover_months` after the decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import events
from sim.policies.common import HandOverPolicy, small_open, struggling
from sim.rules import ENTRUSTED

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


class Entrust(HandOverPolicy):
    """Struggling small areas go to the best strong firm nearby whose cost their money covers."""

    name = "entrust"
    label = "Strong leads weak"
    keys = {
        "max_households": "entrust_max_households",
        "min_capability": "entrust_min_capability",
        "reach_m": "entrust_reach_m",
    }
    mode = ENTRUSTED
    how = "entrusted"

    def eligible(self, office: StreetOffice, state: AreaState) -> np.ndarray:
        """Small, open, struggling areas free for a case, without a capable firm already."""
        p = state.p
        v = state.area_view()
        firms = state.firm_view()
        has = v.firm >= 0
        capable = np.zeros(len(v.firm), dtype=bool)
        capable[has] = firms.capability[v.firm[has]] >= p.entrust_min_capability
        return office.available() & small_open(v, p.entrust_max_households) & struggling(v, p) & ~capable

    def find_firm(self, office: StreetOffice, state: AreaState, area: int) -> int:
        """A tender among capable firms within reach, in entrusted mode (its shared cost)."""
        p = state.p
        return office.procure(area, ENTRUSTED, reach_m=p.entrust_reach_m,
                              min_capability=p.entrust_min_capability, reform=True)

    def loss_cause(self, state: AreaState, area: int) -> str:
        """Why the old firm loses the area: its performance, if the area struggled under it.

        Struggling: quality below `struggling_quality` (its owners chose a better firm); otherwise a
        reform moved the area.
        """
        v = state.area_view()
        struggled = v.firm[area] >= 0 and v.quality[area] < state.p.struggling_quality
        return "performance" if struggled else "reform"

    def done_event(self, month: int, area_id: str, firm: int, support: float) -> events.Event:
        """The area is entrusted."""
        return events.entrusted(month, area_id, firm, support)

"""Block integration (街区一体化): supplementary services, reception point, yearly evaluation.

The joint reception point relieves the residents' committee; the yearly evaluation takes a
contract from poorly rated firms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import events, rules
from sim.policies.base import Policy
from sim.policies.common import evaluation_scores
from sim.rules import ENTRUSTED, FULL_SERVICE

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


class BlockIntegration(Policy):
    """Every area joins its block's services; firms are rated by their residents each year."""

    name = "block_integration"
    label = "Block integration"
    keys = {
        "supplement_quality": "block_supplement_quality",
        "subsidy_yuan_per_household": "block_subsidy_yuan_per_household",
        "reception_workload_relief": "reception_workload_relief",
        "evaluation_threshold": "evaluation_threshold",
    }

    def eligible(self, state: AreaState) -> np.ndarray:
        """Every area."""
        return np.ones(len(state.area_view().firm), dtype=bool)

    def run(self, office: StreetOffice, state: AreaState) -> None:
        """Integrate the areas; update firms' reputations; the worst contract of a poor firm is retendered."""
        p = state.p
        state.set_area_flags(self.eligible(state), block_integrated=True)
        v = state.area_view()
        firms = state.firm_view()
        scores = evaluation_scores(v.mean_satisfaction * v.households, v.households, v.firm,
                                   len(firms.active))
        for firm in np.flatnonzero(firms.active).tolist():
            score = scores[firm]
            if np.isnan(score):
                continue
            state.set_reputation(firm, rules.update_reputation(state.firm_view().reputation[firm], score, p))
            if state.month <= 1 or score >= p.evaluation_threshold:
                continue
            v = state.area_view()
            contracts = np.flatnonzero(v.firm == firm)
            if len(contracts) == 0:
                continue
            worst = int(contracts[np.lexsort((contracts, v.mean_satisfaction[contracts]))[0]])
            mode = int(v.mode[worst])
            winner = office.tender(worst, mode if mode <= ENTRUSTED else FULL_SERVICE, exclude=(firm,))
            if winner >= 0:
                state.assign_firm(worst, winner, mode)
                state.log(events.evaluated_out(state.month, v.area_id[worst], firm, float(score), winner))

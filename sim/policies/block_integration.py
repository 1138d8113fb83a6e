"""Block integration (街区一体化): supplementary services, a joint reception point, a yearly evaluation.

Scoped and paid for: the scenario names the blocks (`blocks`, default every block) and how many of
them at most (`max_blocks`, in the list's or the district's order), the year the rollout starts
(`start_year`) and how many blocks join a year (`blocks_per_year`, default all at once). In an
integrated block the subsidy `block_subsidy_yuan_per_household` is paid into the serving firm's
account and buys service through the same effort rule as fees (rules.subsidy, rules.effort); each
integrated block has a joint reception point whose staff-hours (`reception_staff_hours_per_month`,
the residents' committee's share among them) hear the block's residents' cases first, one case at a
time (StreetOffice.hear_cases); what it cannot hear goes on to the owners' committee or the
residents' committee's own desk. The yearly evaluation gathers owners' and residents' ratings
through the reception point (so it runs only where a point is staffed, from the second year on) and
rates firms by their residents' satisfaction; a poorly rated firm's worst contract is put to a
tender and its owners decide (Civil Code Art. 278).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import Field

from sim import events, rules
from sim.policies.base import Policy
from sim.policies.common import evaluation_scores
from sim.rules import ENTRUSTED, FULL_SERVICE

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


class BlockIntegration(Policy):
    """Blocks join in turn; their firms are rated by residents each year."""

    name = "block_integration"
    label = "Block integration"
    keys = {
        "subsidy_yuan_per_household": "block_subsidy_yuan_per_household",
        "reception_staff_hours_per_month": "reception_staff_hours_per_month",
        "evaluation_threshold": "evaluation_threshold",
    }
    options = {
        "blocks": (list[str] | None, None),
        "start_year": (Annotated[int, Field(ge=1, le=100)], 1),
        "blocks_per_year": (Annotated[int, Field(ge=1)] | None, None),
        "max_blocks": (Annotated[int, Field(ge=1)] | None, None),
    }

    def eligible(self, office: StreetOffice, state: AreaState) -> np.ndarray:
        """The areas of the blocks integrated so far."""
        return np.isin(state.area_view().block, office.integrated_blocks)

    def run(self, office: StreetOffice, state: AreaState) -> None:
        """Let this year's blocks join; then evaluate the integrated blocks' firms."""
        self.roll_out(office, state)
        if office.reception_hours > 0:
            self.evaluate(office, state)

    def roll_out(self, office: StreetOffice, state: AreaState) -> None:
        """From `start_year` on, the next `blocks_per_year` blocks of the list join, `max_blocks` at most."""
        options = state.policy_options.get(self.name, {})
        if (state.month - 1) // 12 + 1 < options.get("start_year", 1):
            return
        names = state.block_names()
        wanted = [names.index(b) for b in options.get("blocks") or names][:options.get("max_blocks") or None]
        waiting = [b for b in wanted if b not in office.integrated_blocks]
        joining = waiting[:options.get("blocks_per_year") or len(waiting)]
        for block in joining:
            office.integrated_blocks.append(block)
            state.log(events.block_joined(state.month, names[block]))
        if joining:
            state.set_area_flags(self.eligible(office, state), block_integrated=True)

    def evaluate(self, office: StreetOffice, state: AreaState) -> None:
        """Rate firms by residents' satisfaction; a poor firm's worst contract goes to its owners."""
        p = state.p
        v = state.area_view()
        firms = state.firm_view()
        rated = self.eligible(office, state)
        served = np.where(rated, v.firm, -1)
        scores = evaluation_scores(v.mean_satisfaction * v.households, v.households, served,
                                   len(firms.active))
        for firm in np.flatnonzero(firms.active).tolist():
            score = scores[firm]
            if np.isnan(score):
                continue
            state.set_reputation(firm, rules.update_reputation(state.firm_view().reputation[firm], score, p))
            if score >= p.evaluation_threshold:
                continue
            v = state.area_view()
            contracts = np.flatnonzero((v.firm == firm) & rated)  # no row moves in an evaluation
            contracts = [a for a in contracts.tolist() if not office.busy(v.area_id[a])]
            if not contracts:
                continue
            contracts = np.array(contracts)
            worst = int(contracts[np.lexsort((contracts, v.mean_satisfaction[contracts]))[0]])
            mode = int(v.mode[worst])
            winner = office.procure(worst, mode if mode <= ENTRUSTED else FULL_SERVICE, exclude=(firm,),
                                    reform=True)
            if winner < 0:
                continue
            support = rules.change_support(float(v.mean_satisfaction[worst]), True, p)
            passed, share = office.hold_vote(worst, support, briefed=True)
            if passed:
                office.reassign(worst, winner, mode, "performance")
            state.log(events.evaluated_out(state.month, v.area_id[worst], firm, float(score), winner,
                                           share, passed))

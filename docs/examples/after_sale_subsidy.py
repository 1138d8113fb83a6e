"""A fee subsidy for after-sale estates: the worked example of docs/TUTORIAL_POLICY.md.

A researcher's own policy, in one file outside sim/: the district pays part of the property fee
of the households of after-sale public housing (售后公房) areas, so much per m2 a month, to the
firm that serves them, for as long as the policy runs. It touches no engine: it acts only
through the area-state interface (sim/area_state.py), here `set_transfer`.

Use it from Python::

    from sim.policies import REGISTRY
    from after_sale_subsidy import AfterSaleSubsidy

    with REGISTRY.added(AfterSaleSubsidy()):
        result = sim.run(scenario, policies={"after_sale_subsidy": {"enabled": True, "yuan_per_m2": 0.4}})
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from sim.params import AFTER_SALE_CODE
from sim.policies import Policy

PURPOSE = "after-sale fee subsidy"
"""What the accounts (the run's `transfers` table) call this policy's money."""


class AfterSaleSubsidy(Policy):
    """Each year, the district pays `yuan_per_m2` of the fee of every after-sale area's households."""

    name = "after_sale_subsidy"
    label = "After-sale fee subsidy"
    options = {
        # yuan/m2/month of the fee paid for the households (assumption: about a quarter of a
        # typical after-sale fee standard; a researcher sets their own)
        "yuan_per_m2": (Annotated[float, Field(ge=0.0, le=5.0)], 0.3),
        # only areas up to this size (households); None: every after-sale area
        "max_households": (Annotated[int, Field(ge=1)] | None, None),
    }

    def eligible(self, office, state) -> np.ndarray:
        """After-sale public housing areas (merged ones count by their first estate's type), small enough."""
        v = state.area_view()
        limit = state.policy_options.get(self.name, {}).get("max_households")
        small = v.households <= limit if limit is not None else np.ones(len(v.households), dtype=bool)
        return (v.housing_type == AFTER_SALE_CODE) & small

    def run(self, office, state) -> None:
        """Set this year's subsidy: eligible areas get it, the others (merged away, grown) lose it."""
        per_m2 = state.policy_options.get(self.name, {}).get("yuan_per_m2", 0.3)
        eligible = self.eligible(office, state)
        state.set_transfer(eligible, PURPOSE, household_yuan_per_m2=per_m2)
        state.set_transfer(~eligible, PURPOSE, household_yuan_per_m2=0.0)

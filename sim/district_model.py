"""What both engines' models share above the area-state interface: the burn-in and the logs.

The rules of a month are in sim/rules.py and the street office in sim/street_office.py; this
base class holds the little that is about running a model rather than about the district.
"""

from __future__ import annotations

import numpy as np

from sim.outputs import RunTables
from sim.transfers import Transfers


class DistrictModel(RunTables):
    """Mixed into EstateGovernanceModel (Mesa) and VectorModel (arrays)."""

    recording = True
    """Whether a month's step appends its record (not in the burn-in, whose records are dropped)."""

    @property
    def transfers(self) -> Transfers:
        """The policies' standing transfers and their accounts (sim.transfers)."""
        if "_transfers" not in self.__dict__:
            self._transfers = Transfers()
        return self._transfers

    def set_transfer(self, areas, purpose: str, *, manager_yuan=0.0, household_yuan_per_m2=0.0) -> None:
        """Pay, from next month on, a monthly transfer for `purpose` (sim.area_state.AreaState)."""
        ids = self.area_view().area_id
        rows = np.arange(len(ids))[areas]
        self.transfers.set([ids[i] for i in np.atleast_1d(rows).tolist()], purpose, manager_yuan,
                           household_yuan_per_m2)
        self.transfers_changed()

    def transfers_changed(self) -> None:
        """What an engine drops when transfers change (its cached arrangement, its views)."""

    def transfers_table(self):
        """One row per month, purpose and recipient that a transfer paid (sim.transfers)."""
        return self.transfers.table()

    @property
    def events(self) -> list[tuple[int, str]]:
        """(month, text) of every event (the app's events feed)."""
        return [(e.month, e.text) for e in self.event_log]

    def burn_in(self) -> None:
        """Run `burn_in_years` under status quo before month 1, keeping no monthly record of it.

        The initial state is drawn from plausible ranges, not from the model's own equilibrium:
        the burn-in lets volunteers, habits, fees and the market settle under status quo, so that
        a policy's effect is measured against a baseline at rest. Month 1 is the first month after
        it; the running counts (firm exits, mergers, tenders) and the event log start at zero,
        and firms that entered or left during the burn-in carry negative months.
        """
        months = 12 * int(self.p.burn_in_years)
        if months == 0:
            return
        policies, self.policies = self.policies, {name: False for name in self.policies}
        self.recording = False
        try:
            for _ in range(months):
                self.step()
        finally:
            self.recording = True
        self.policies = policies
        office = self.street_office
        office.firm_entered = {firm: month - months for firm, month in office.firm_entered.items()}
        office.firm_exited = {firm: (month - months, why)
                              for firm, (month, why) in office.firm_exited.items()}
        office.retry_after = {area: month - months for area, month in office.retry_after.items()}
        for case in office.cases:
            case.due_month -= months
        office.reset_counts()
        self.month = 0
        self.event_log.clear()

    def params_changed(self) -> None:
        """What an engine derives from `self.p` once (the compiled month's records): made again."""

    def start_from_burn_in(self, scenario) -> None:
        """Take up `scenario` after a burn-in made for another run with the same burn-in key.

        The burn-in read none of the policies, their options or the years (sim/snapshot.py), and
        its parameters' values are the scenario's but for those only the reforms read
        (sim.params.REFORM_ONLY): the run takes up its own from month 1.
        """
        self.spec = scenario
        self.p = scenario.params
        self.policies = scenario.policies
        self.policy_options = scenario.policy_options
        self.params_changed()

"""The area-state interface: what the street office and the policies may read and change.

Both engines implement it — the Mesa engine over its agents (sim.mesa_engine.model), the
vectorized engine over its arrays (sim.vector_engine.model) — and the one street office
(sim.street_office) with every policy (sim.policies) works over it alone. To add an engine,
implement this protocol and pass tests/test_engine_conformance.py, which runs the same checks
against every engine in sim.run.ENGINES.

Areas are rows 0..n-1 of the views, in the district's order. Rows stay fixed during a policy
round except through `merge_areas` (which adds the merged area as a new row and retires its
members) and `drop_merged_areas` (which removes retired rows and puts each merged area where its
first member was). Firms are indices that never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sim.events import Event
from sim.params import Params
from sim.policies.base import AreaView, FirmView
from sim.transfers import Transfers

AreaRows = int | Sequence[int] | np.ndarray
"""One area's row, several rows, or a boolean mask over all rows."""


@runtime_checkable
class AreaState(Protocol):
    """The district as the street office sees and changes it."""

    p: Params
    month: int
    rng: np.random.Generator
    policies: dict[str, bool]
    policy_options: dict[str, dict[str, Any]]
    event_log: list[Event]
    transfers: Transfers  # the policies' standing transfers and their accounts (set_transfer)

    def area_view(self) -> AreaView:
        """Every area's state (cached until something changes it).

        A change of rows or positions (a merger) always gives a new view object: the street office
        keeps its row and position indexes until the view is another one.
        """

    def firm_view(self) -> FirmView:
        """Every firm's state (cached until something changes it)."""

    def owner_floor_areas(self, area: int) -> np.ndarray:
        """The floor area (m2, float64) of each owner of an area, in member order (who draws which vote)."""

    def estates_of(self, area: int) -> list[int]:
        """The estates (indices into the district) an area holds, in member order."""

    def open_cases(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Households with an open case, in household order.

        Returns (household indices, their areas' rows, months each case has waited: 0 for a case
        brought this month).
        """

    def settle_cases(self, households: np.ndarray, outcome: np.ndarray) -> None:
        """Each household of `households` learns its case's outcome this month (rules.CASE_*).

        As rules.settle_case says: waiting on, or closed with how heard it leaves the household.
        """

    def block_names(self) -> list[str]:
        """The district's block names; a block's code in the views is its index here."""

    def assign_firm(self, area: int, firm: int, mode: int) -> None:
        """Give an area a firm (-1 for none) and a service mode; the old firm loses the contract."""

    def merge_areas(self, members: list[int]) -> int:
        """Merge areas into one (rules.combine_areas) with no firm yet; returns its row."""

    def drop_merged_areas(self) -> None:
        """End a merger round: retired rows go, merged areas take their first member's place."""

    def set_area_flags(self, areas: AreaRows, **flags: bool) -> None:
        """Set flags of areas: `block_integrated`, `organising`."""

    def set_fee(self, area: int, fee_yuan_per_m2: float) -> None:
        """An area's new fee standard (after the owners voted it)."""

    def set_transfer(self, areas: AreaRows, purpose: str, *, manager_yuan: float | np.ndarray = 0.0,
                     household_yuan_per_m2: float | np.ndarray = 0.0) -> None:
        """Pay areas a standing monthly transfer for `purpose` (sim.transfers), until set again (0 ends it).

        `manager_yuan` (yuan/month) goes into the account of the firm serving the area;
        `household_yuan_per_m2` (yuan/m2/month) pays that much of the households' fee for them (to
        the firm). Only areas a firm serves receive anything; the firm's effort and the households'
        payment follow through the usual rules (rules.transfer_terms). What was paid is booked by
        month and purpose in the run's `transfers` table and counts in `cost_per_household`.
        Amounts are a scalar or one per area; the shared implementation is DistrictModel's.
        """

    def set_reputation(self, firm: int, reputation: float) -> None:
        """A firm's reputation after an evaluation."""

    def add_firm(self, *, capability: float, overhead_yuan: float, reserves_yuan: float, max_sites: int,
                 x_m: float, y_m: float, strong: bool) -> int:
        """A firm entering the market (no contract yet); returns its index."""

    def log(self, event: Event) -> None:
        """Record an event (sim.events)."""

    def deactivate_firm(self, firm: int) -> None:
        """A firm that holds no contract any more leaves the market."""

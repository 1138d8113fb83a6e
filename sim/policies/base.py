"""What every policy sees and is: the street office's read views, the Policy contract, the registry.

A policy is data plus two functions: the scenario keys it reads (each one a parameter of the
parameter table), which areas are eligible this round, and what it does to them through the
street office (votes, tenders) and the area-state interface (sim.area_state). The registry fixes
the order of the yearly round; scenario validation, the app's controls, `estate-sim bench`, the ODD
tables and the tests read it instead of lists of policy names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from sim.area_state import AreaState
    from sim.street_office import StreetOffice


@dataclass
class AreaView:
    """What the street office sees of every management area (one entry per area, in row order)."""

    area_id: list[str]
    households: np.ndarray
    estates: np.ndarray  # estates in the area
    housing_type: np.ndarray  # integer code
    block: np.ndarray  # integer code
    x_m: np.ndarray
    y_m: np.ndarray
    fee_yuan_per_m2: np.ndarray
    quality: np.ndarray
    mode: np.ndarray
    firm: np.ndarray  # firm index, -1 for none
    gates: np.ndarray
    floor_area_m2: np.ndarray
    fund_yuan: np.ndarray
    mean_satisfaction: np.ndarray
    committee_active: np.ndarray  # bool
    committee_capacity: np.ndarray  # 0-1: the volunteers the committee can draw on
    block_integrated: np.ndarray  # bool
    organising: np.ndarray  # bool: a self-governance drive recruits volunteers
    collection_rate: np.ndarray  # last month's fees paid over fees due
    expected_money_yuan: np.ndarray  # fees at the current collection rate plus subsidies
    due_yuan: np.ndarray  # fees owed last month
    paid_yuan: np.ndarray  # fees paid last month
    subsidy_yuan: np.ndarray  # subsidy paid to the area's firm last month

    def take(self, rows: np.ndarray) -> AreaView:
        """The view of some areas only (rows in the order given)."""
        ids = self.area_id
        return AreaView(**{f.name: ([ids[i] for i in np.asarray(rows).tolist()] if f.name == "area_id"
                                    else getattr(self, f.name)[rows]) for f in fields(self)})


@dataclass
class FirmView:
    """What the street office sees of every firm (inactive firms included, flagged)."""

    active: np.ndarray
    strong: np.ndarray
    capability: np.ndarray
    reputation: np.ndarray
    sites: np.ndarray
    max_sites: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    revenue_yuan: np.ndarray  # last month's fees and subsidies
    cost_yuan: np.ndarray  # last month's spending and overhead


@dataclass(eq=False)
class ReformCase:
    """One reform the street office carries: its areas (by id), its stage and when it is due.

    Areas are named by id, not row: rows move when other areas merge while the case runs.
    """

    kind: str  # the policy's name
    area_ids: list[str]
    stage: str
    due_month: int
    firm: int = -1  # the firm chosen for it, where one was
    support: float = 0.0  # the lowest support in its owners' votes so far
    notes: dict[str, Any] = field(default_factory=dict)
    case_id: int = 0  # the street office's number for it (events and the estates table name it)


class Policy:
    """One policy (subclass it, set the class fields, register an instance).

    `name` is the scenario's key under `policy:`; `keys` maps each further key of that block to
    the parameter it sets (`policy.merge.max_group` sets `merge_max_group`); `options` are further
    keys that are not parameters, with their type and default (`policy.block_integration.blocks`).

    A policy acts in up to three ways: `run` once a year at the yearly round; `propose`, each month
    while the street office has room for another reform case, opens cases (`office.open_case`);
    `advance` moves one of its cases on when it is due.
    """

    name: ClassVar[str]
    label: ClassVar[str]  # how people call it (the app's control)
    keys: ClassVar[dict[str, str]] = {}
    options: ClassVar[dict[str, tuple[Any, Any]]] = {}

    def eligible(self, office: StreetOffice, state: AreaState) -> np.ndarray:
        """The areas (bool per row) this policy may act on now."""
        raise NotImplementedError

    def run(self, office: StreetOffice, state: AreaState) -> None:
        """The policy's part of the yearly round (nothing by default)."""

    def propose(self, office: StreetOffice, state: AreaState) -> None:
        """Open reform cases while the street office has room (nothing by default)."""

    def advance(self, case: ReformCase, office: StreetOffice, state: AreaState) -> None:
        """Move one of this policy's cases on (it is due)."""
        raise NotImplementedError


class Registry:
    """The policies in the order the yearly round takes them."""

    def __init__(self, policies: list[Policy]):
        self._policies = list(policies)

    def __iter__(self) -> Iterator[Policy]:
        return iter(list(self._policies))

    def __len__(self) -> int:
        return len(self._policies)

    def names(self) -> tuple[str, ...]:
        """The policies' scenario keys, in the round's order."""
        return tuple(p.name for p in self._policies)

    def get(self, name: str) -> Policy:
        """The policy with this scenario key."""
        for policy in self._policies:
            if policy.name == name:
                return policy
        raise KeyError(name)

    def parameters(self) -> dict[str, dict[str, str]]:
        """Each policy's scenario keys and the parameter each one sets."""
        return {p.name: dict(p.keys) for p in self._policies}

    def options(self) -> dict[str, dict[str, tuple[Any, Any]]]:
        """Each policy's further scenario keys (not parameters): type and default."""
        return {p.name: dict(p.options) for p in self._policies}

    def enabled(self, switches: Mapping[str, bool]) -> list[Policy]:
        """The policies a scenario switched on, in the round's order."""
        return [p for p in self._policies if switches.get(p.name, False)]

    @contextmanager
    def added(self, policy: Policy, *, before: str | None = None) -> Iterator[Policy]:
        """Register a policy for the duration of a `with` block (tests, experiments)."""
        if policy.name in self.names():
            raise ValueError(f"a policy named {policy.name!r} is already registered")
        position = self.names().index(before) if before else len(self._policies)
        self._policies.insert(position, policy)
        try:
            yield policy
        finally:
            self._policies.remove(policy)

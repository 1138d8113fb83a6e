"""The vectorized engine's state: one numpy array per attribute of households, areas and firms.

Households are stored in the initial state's order (sorted by estate), so each estate's households
form one contiguous slice. Estates never split, so a household's management area is its estate's
area: a merger rewrites the estate-to-area index, never a household array. Areas are rows in the
Mesa engine's order (a merger puts the merged area where its first member was).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.rules import UNMANAGED

F8 = np.float64

AREA_FIELDS: dict[str, type] = {
    # identity and fixed attributes
    "households": np.int64, "n_estates": np.int64, "housing_type": np.int16, "block": np.int64,
    "x_m": F8, "y_m": F8, "gates": F8, "estate_gates": F8, "floor_area_m2": F8, "fee_yuan_per_m2": F8,
    "fund_yuan": F8, "fund_initial_yuan": F8, "condition": F8, "upkeep_paid_yuan": F8,
    # arrangement
    "mode": np.int8, "firm": np.int32, "block_integrated": bool, "organising": bool, "friction": F8,
    "committee_active": bool, "committee_capacity": F8, "bad_months": np.int64,
    # monthly state
    "quality": F8, "target": F8, "effort": F8, "needed_yuan": F8, "spend_yuan": F8,
    "incidents": np.int64, "incident_rate": F8, "felt_incident_rate": F8, "perceived": F8,
    "collection_rate": F8,
    "revenue_yuan": F8, "subsidy_yuan": F8, "overhead_share_yuan": F8,
    "losing_months": np.int64, "mean_satisfaction": F8, "volunteers": np.int64,
    "due_yuan": F8, "paid_yuan": F8, "satisfaction_sum": F8, "volunteer_count": np.int64,
    "fee_due": F8, "enforcement": F8, "quit_probability": F8,
    # bookkeeping of the yearly round
    "key": np.int64, "alive": bool,
}
"""Every per-area array and its dtype (areas are few: float64 keeps them exact)."""

_NEW_ROW = {"mode": UNMANAGED, "firm": -1, "perceived": 0.5, "alive": True}


class AreaArrays:
    """Management areas as parallel arrays (one row per area), plus their ids and estate lists.

    `estates[i]` lists area i's estates in the order the Mesa engine keeps its members (a merged
    area's households are its members' households, group order), which fixes who gets which vote
    draw. Rows are only added during a merger round (`grow`, `set_row`) and dropped by `compact()`
    after it.
    """

    def __init__(self, n: int):
        for name, dtype in AREA_FIELDS.items():
            setattr(self, name, np.zeros(n, dtype=dtype))
        self.firm[:] = -1
        self.mode[:] = UNMANAGED
        self.perceived[:] = 0.5
        self.alive[:] = True
        self.key[:] = np.arange(n)
        self.area_id: list[str] = [""] * n
        self.estates: list[list[int]] = [[] for _ in range(n)]

    def __len__(self) -> int:
        return len(self.key)

    def grow(self, k: int) -> int:
        """Add k empty (dead) rows for a merger round's results; returns the first new row."""
        first = len(self)
        for name, dtype in AREA_FIELDS.items():
            extra = np.full(k, _NEW_ROW.get(name, 0), dtype=dtype)
            setattr(self, name, np.concatenate([getattr(self, name), extra]))
        self.alive[first:] = False
        self.area_id += [""] * k
        self.estates += [[] for _ in range(k)]
        return first

    def set_row(self, row: int, area_id: str, estates: list[int], **values) -> None:
        """Fill a grown row with a new area (a merger's result); it becomes alive."""
        for name, value in values.items():
            getattr(self, name)[row] = value
        self.alive[row] = True
        self.area_id[row] = area_id
        self.estates[row] = estates

    def compact(self) -> np.ndarray:
        """Drop dead rows, put the rest in `key` order; returns each old row's new row (-1 if dropped)."""
        live = np.flatnonzero(self.alive)
        order = live[np.argsort(self.key[live], kind="stable")]
        new_row = np.full(len(self), -1, dtype=np.int64)
        new_row[order] = np.arange(len(order))
        for name in AREA_FIELDS:
            setattr(self, name, getattr(self, name)[order])
        self.area_id = [self.area_id[i] for i in order]
        self.estates = [self.estates[i] for i in order]
        self.key[:] = np.arange(len(order))
        return new_row


@dataclass
class FirmArrays:
    """Property firms as parallel arrays (inactive firms stay, flagged, so indices never change)."""

    capability: np.ndarray
    reputation: np.ndarray
    overhead_yuan: np.ndarray
    reserves_yuan: np.ndarray
    max_sites: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    strong: np.ndarray
    active: np.ndarray
    loss_months: np.ndarray
    idle_months: np.ndarray
    revenue_yuan: np.ndarray
    cost_yuan: np.ndarray

    def __len__(self) -> int:
        return len(self.capability)


@dataclass
class HouseholdArrays:
    """Households as compact parallel arrays, in the initial state's order (by estate, then type).

    `estate_start[e]:estate_start[e + 1]` are estate e's households, grouped by cooperation type:
    `type_counts[3 e + t]` of them are of type t; `owner_index` lists the
    owners (they vote) in household order, `owner_start[e]` where estate e's owners begin in it.
    """

    estate: np.ndarray  # int32
    floor_m2: np.ndarray
    owner: np.ndarray  # bool
    coop: np.ndarray  # int8: 0 conditional, 1 free rider, 2 unconditional
    taste: np.ndarray
    habit: np.ndarray
    satisfaction: np.ndarray
    volunteer: np.ndarray  # bool
    case_age: np.ndarray  # int8: months the household's open case has waited, -1 for none
    voice: np.ndarray  # how heard (0-1) the household's last case left it (rules.settle_case)
    voice_months: np.ndarray  # int16: months it still remembers that (0: it feels voice_no_case)
    estate_start: np.ndarray  # n_estates + 1 offsets
    owner_index: np.ndarray
    owner_start: np.ndarray  # n_estates + 1 offsets into owner_index
    type_counts: np.ndarray  # households per (estate, cooperation type), 3 per estate

    def __len__(self) -> int:
        return len(self.estate)

    @property
    def estate_households(self) -> np.ndarray:
        """Households per estate."""
        return np.diff(self.estate_start)

    def owners_of(self, estates: list[int]) -> np.ndarray:
        """Owners (household indices) of some estates, estate by estate in the order given."""
        parts = [self.owner_index[self.owner_start[e]:self.owner_start[e + 1]] for e in estates]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

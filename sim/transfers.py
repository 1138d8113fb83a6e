"""Money a policy pays into areas each month: standing transfers, each with a purpose, and their accounts.

A policy sets a transfer through the area-state interface (`AreaState.set_transfer`): for some
areas and a purpose ("after-sale fee subsidy"), so many yuan a month to the area's manager (its
firm) and so many yuan per m2 a month of the households' fee paid for them. It stands, month after
month, until the policy sets another amount (0 ends it). Both engines read the totals per area
through `Transfers.amounts` and apply them with rules.transfer_terms; what was actually paid
(only areas a firm serves receive anything) is booked here, by month, purpose and recipient, and
becomes the run's `transfers` table. The money also shows where all firm revenue does: the firms'
accounts, and `cost_per_household` (rules.spending_yuan).

Transfers are kept by area id: a merged area's transfers are the sum of its members'
(households' per m2 weighted by floor area). Without a transfer nothing here runs and no engine
does anything differently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MANAGER, HOUSEHOLDS = "manager", "households"
TRANSFER_COLUMNS: tuple[str, ...] = ("month", "purpose", "recipient", "areas", "yuan", "yuan_per_household")
"""The `transfers` table: what was paid each month for each purpose, to managers or households."""


class Transfers:
    """The standing transfers, by purpose and area id, and the accounts of what they paid."""

    def __init__(self):
        self._standing: dict[str, dict[str, tuple[float, float]]] = {}
        self._booked: list[tuple] = []
        self.version = 0
        """Counts changes (an engine's cached arrangement is stale when it moved)."""

    def __bool__(self) -> bool:
        return bool(self._standing)

    def set(self, area_ids: Sequence[str], purpose: str, manager_yuan, household_yuan_per_m2) -> None:
        """Stand these monthly amounts (scalars, or one per area) for `purpose` in these areas."""
        if not isinstance(purpose, str) or not purpose:
            raise ValueError("a transfer needs a purpose (a non-empty string)")
        n = len(area_ids)
        manager = np.broadcast_to(np.asarray(manager_yuan, dtype=float), (n,))
        per_m2 = np.broadcast_to(np.asarray(household_yuan_per_m2, dtype=float), (n,))
        if (manager < 0).any() or (per_m2 < 0).any() or not (np.isfinite(manager).all()
                                                            and np.isfinite(per_m2).all()):
            raise ValueError(f"transfer {purpose!r}: amounts must be finite and not negative "
                             "(a charge is a fee: AreaState.set_fee)")
        standing = self._standing.setdefault(purpose, {})
        for area_id, m, t in zip(area_ids, manager.tolist(), per_m2.tolist(), strict=True):
            if m == 0.0 and t == 0.0:
                standing.pop(area_id, None)
            else:
                standing[area_id] = (m, t)
        if not standing:
            del self._standing[purpose]
        self.version += 1

    def merged(self, member_ids: Sequence[str], merged_id: str, floor_area_m2: Sequence[float]) -> None:
        """Members' transfers pass to the area they merged into (per-m2 amounts floor-weighted)."""
        floors = np.asarray(floor_area_m2, dtype=float)
        for standing in self._standing.values():
            held = [standing.pop(area_id, (0.0, 0.0)) for area_id in member_ids]
            if any(m or t for m, t in held):
                per_m2 = float(np.dot([t for _, t in held], floors) / floors.sum())
                standing[merged_id] = (sum(m for m, _ in held), per_m2)
        self.version += 1

    def amounts(self, area_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each area's total (manager yuan/month, households' yuan/m2/month), over every purpose."""
        manager, per_m2 = np.zeros(len(area_ids)), np.zeros(len(area_ids))
        for standing in self._standing.values():
            for row, area_id in enumerate(area_ids):
                if area_id in standing:
                    m, t = standing[area_id]
                    manager[row] += m
                    per_m2[row] += t
        return manager, per_m2

    def book(self, month: int, area_ids: Sequence[str], has_firm: np.ndarray, covered_yuan: np.ndarray,
             households: int) -> None:
        """Book a month's payments: each purpose's manager amounts and its share of the fees covered.

        `covered_yuan` is each area's fees paid for its households (rules.transfer_terms); where
        several purposes pay one area's fees, each is booked its share of the per-m2 amounts.
        """
        if not self._standing:
            return
        has_firm = np.asarray(has_firm, dtype=bool)
        _, total_per_m2 = self.amounts(area_ids)
        for purpose, standing in sorted(self._standing.items()):
            rows = [(row, standing[a]) for row, a in enumerate(area_ids) if a in standing and has_firm[row]]
            manager = sum(m for _, (m, _) in rows)
            fees = sum(covered_yuan[row] * t / total_per_m2[row] for row, (_, t) in rows if t > 0)
            for recipient, yuan, paid in ((MANAGER, manager, [r for r, (m, _) in rows if m > 0]),
                                          (HOUSEHOLDS, fees, [r for r, (_, t) in rows if t > 0])):
                if paid:
                    self._booked.append((month, purpose, recipient, len(paid), float(yuan),
                                         float(yuan) / households))

    def drop_booked(self) -> None:
        """Forget the payments booked so far (the burn-in's)."""
        self._booked.clear()

    def table(self) -> pd.DataFrame:
        """The `transfers` table (TRANSFER_COLUMNS), one row per month, purpose and recipient paid."""
        return pd.DataFrame(self._booked, columns=list(TRANSFER_COLUMNS))

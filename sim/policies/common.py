"""Decisions the policies share, as pure functions over the street office's views.

Who may be reformed, who bids in a tender, how firms are rated.
"""

from __future__ import annotations

import numpy as np

from sim import rules
from sim.params import Params
from sim.policies.base import AreaView, FirmView
from sim.rules import FULL_SERVICE, SELF_MANAGED, UNMANAGED


def small_open(areas: AreaView, max_households: int) -> np.ndarray:
    """Areas below a size whose arrangement is open to reform (full service, self-managed, none)."""
    return (areas.households < max_households) & np.isin(areas.mode, (FULL_SERVICE, SELF_MANAGED, UNMANAGED))


def struggling(areas: AreaView, p: Params) -> np.ndarray:
    """Areas without a firm, or with service below the struggling threshold."""
    return (areas.firm < 0) | (areas.quality < p.struggling_quality)


def site_distances(x_m: float, y_m: float, areas: AreaView, n_firms: int) -> np.ndarray:
    """Distance (m) from a point to each firm's nearest current site (inf for firms with none)."""
    out = np.full(n_firms, np.inf)
    served = areas.firm >= 0
    d = np.hypot(areas.x_m[served] - x_m, areas.y_m[served] - y_m)
    np.minimum.at(out, areas.firm[served], d)
    return out


def best_bidder(area: int, mode: int, areas: AreaView, firms: FirmView, p: Params, *,
                reach_m: float, min_capability: float = 0.0, exclude: tuple[int, ...] = (),
                extra_money_yuan: float = 0.0, require_cover: bool = True) -> int:
    """The firm that wins a tender for an area in a mode, or -1 if nobody bids.

    Bidders are active firms with a site (or their base) within reach, spare capacity and the
    capability asked for, and for whom the area's expected money covers enough of the cost.
    The best score (mean of capability and reputation) wins; ties go to the lower index.
    """
    n = len(firms.active)
    if n == 0:
        return -1
    distance = np.minimum(site_distances(areas.x_m[area], areas.y_m[area], areas, n),
                          np.hypot(firms.x_m - areas.x_m[area], firms.y_m - areas.y_m[area]))
    ok = (firms.active & (distance <= reach_m) & (firms.sites < firms.max_sites)
          & (firms.capability >= min_capability))
    if exclude:
        ok[list(exclude)] = False
    if require_cover:
        needed = rules.money_needed(mode, areas.gates[area], areas.floor_area_m2[area],
                                    areas.households[area], p)
        cover = rules.bid_cover(areas.expected_money_yuan[area] + extra_money_yuan, needed)
        if cover < p.bid_min_cover:
            return -1
    if not ok.any():
        return -1
    score = np.where(ok, 0.5 * (firms.capability + firms.reputation), -np.inf)
    return int(np.argmax(score))


def evaluation_scores(satisfaction_sum: np.ndarray, households: np.ndarray, firm: np.ndarray,
                      n_firms: int) -> np.ndarray:
    """Yearly evaluation score of each firm: household-weighted mean satisfaction of its areas."""
    served = firm >= 0
    total = np.bincount(firm[served], weights=satisfaction_sum[served], minlength=n_firms)
    count = np.bincount(firm[served], weights=households[served], minlength=n_firms)
    return np.divide(total, count, out=np.full(n_firms, np.nan), where=count > 0)

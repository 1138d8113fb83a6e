"""The yearly policies' decisions as pure functions over area and firm arrays.

Both engines gather their areas and firms into these arrays, call the same functions, and apply
the decisions (which areas merge, which firm wins a tender) to their own state. The votes
themselves are held by the engines (households vote) with the rules in sim.rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import rules
from sim.params import Params


@dataclass
class AreaView:
    """What the street office sees of every management area when it plans (one entry per area)."""

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
    expected_money_yuan: np.ndarray  # fees at the current collection rate plus subsidies


@dataclass
class FirmView:
    """What the street office sees of every firm (inactive firms included, flagged)."""

    active: np.ndarray
    capability: np.ndarray
    reputation: np.ndarray
    sites: np.ndarray
    max_sites: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray


def merge_groups(areas: AreaView, eligible: np.ndarray, p: Params) -> list[list[int]]:
    """Candidate N-in-1 groups of adjacent eligible areas.

    Members share a block and a housing type, have similar fees and quality, lie within
    `merge_max_distance_m` of each other, and hold at most `merge_max_group` estates together.
    Greedy and deterministic: the smallest area seeds a group and takes its nearest compatible
    neighbours in turn.
    """
    groups: list[list[int]] = []
    taken = ~eligible.copy()
    order = np.lexsort((np.arange(len(eligible)), areas.households))
    for seed in order:
        if taken[seed]:
            continue
        candidates = np.flatnonzero(
            ~taken & (areas.block == areas.block[seed]) & (areas.housing_type == areas.housing_type[seed])
        )
        candidates = candidates[candidates != seed]
        if len(candidates) == 0:
            continue
        distance = np.hypot(areas.x_m[candidates] - areas.x_m[seed], areas.y_m[candidates] - areas.y_m[seed])
        candidates = candidates[np.lexsort((candidates, distance))]
        group = [int(seed)]
        estates = int(areas.estates[seed])
        for c in candidates:
            if estates + areas.estates[c] > p.merge_max_group:
                continue
            members = np.array(group + [int(c)])
            spread = np.hypot(areas.x_m[members][:, None] - areas.x_m[members][None, :],
                              areas.y_m[members][:, None] - areas.y_m[members][None, :]).max()
            if (spread <= p.merge_max_distance_m
                    and np.ptp(areas.fee_yuan_per_m2[members]) <= p.merge_fee_tolerance
                    and np.ptp(areas.quality[members]) <= p.merge_quality_tolerance):
                group.append(int(c))
                estates += int(areas.estates[c])
        if len(group) >= 2:
            groups.append(group)
            taken[group] = True
    return groups


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

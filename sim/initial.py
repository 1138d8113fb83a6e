"""The starting state both engines build from: firms, committees and households as arrays.

Drawing the initial state once, here, in a fixed order from the run's generator, lets the Mesa
engine (which turns the arrays into agents) and the vectorized engine start from the same state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.districts import District
from sim.params import Params

SMALL_ESTATE_HOUSEHOLDS = 200
"""A 'small estate' (小小区) has fewer households than this (docs/SOURCES.md, Article)."""


@dataclass
class InitialState:
    """Arrays describing the district at month 0 (estates, firms, committees, households)."""

    estates: pd.DataFrame
    estate_firm: np.ndarray  # firm index per estate, -1 for none
    estate_committee: np.ndarray  # owners' committee active at the start
    firm_capability: np.ndarray
    firm_overhead_yuan: np.ndarray
    firm_reserves_yuan: np.ndarray
    firm_max_sites: np.ndarray
    firm_x_m: np.ndarray
    firm_y_m: np.ndarray
    firm_strong: np.ndarray
    household_estate: np.ndarray  # estate index per household, sorted by estate, then by coop type
    household_floor_m2: np.ndarray
    household_owner: np.ndarray
    household_coop: np.ndarray  # 0 conditional, 1 free rider, 2 unconditional
    household_taste: np.ndarray
    household_habit: np.ndarray
    household_volunteer: np.ndarray

    @property
    def n_firms(self) -> int:
        """Firms in the district at the start."""
        return len(self.firm_capability)


def _assign_firms(estates: pd.DataFrame, params: Params, rng: np.random.Generator):
    """Weak local firms run the small estates of each block; strong firms the large estates."""
    n = len(estates)
    households = estates["households"].to_numpy()
    small = households < SMALL_ESTATE_HOUSEHOLDS
    blocks = pd.factorize(estates["block"])[0]
    estate_firm = np.full(n, -1, dtype=np.int64)
    capability, strong, max_sites = [], [], []

    n_strong = max(2, round(households.sum() / 10_000 * params.strong_firms_per_10k_households))
    capability += list(rng.uniform(params.strong_firm_capability_low,
                                   params.strong_firm_capability_high, n_strong))
    strong += [True] * n_strong
    max_sites += [params.firm_site_capacity] * n_strong
    large = np.flatnonzero(~small)
    estate_firm[large] = rng.integers(0, n_strong, size=len(large))

    unmanaged = rng.random(n) < params.unmanaged_share_small
    for b in range(blocks.max() + 1):
        members = np.flatnonzero(small & (blocks == b) & ~unmanaged)
        if len(members) == 0:
            continue
        n_weak = math.ceil(len(members) / params.small_sites_per_weak_firm)
        first = len(capability)
        capability += list(rng.uniform(params.weak_firm_capability_low,
                                       params.weak_firm_capability_high, n_weak))
        strong += [False] * n_weak
        chosen = first + rng.permutation(len(members)) % n_weak
        estate_firm[members] = chosen
        counts = np.bincount(chosen - first, minlength=n_weak)
        max_sites += list(counts + params.weak_firm_spare_sites)
    return estate_firm, np.array(capability), np.array(strong), np.array(max_sites, dtype=np.int64)


def initial_state(district: District, params: Params, rng: np.random.Generator) -> InitialState:
    """Draw the starting state of a run from its generator (the order of draws is fixed)."""
    estates = district.estates
    estate_firm, capability, strong, max_sites = _assign_firms(estates, params, rng)
    n_firms = len(capability)
    overhead = params.firm_overhead_yuan * np.where(strong, 1.0, params.weak_firm_overhead_share)
    x = estates["x_m"].to_numpy(dtype=float)
    y = estates["y_m"].to_numpy(dtype=float)
    has = estate_firm >= 0
    sites = np.bincount(estate_firm[has], minlength=n_firms)
    firm_x = np.bincount(estate_firm[has], weights=x[has], minlength=n_firms) / np.maximum(sites, 1)
    firm_y = np.bincount(estate_firm[has], weights=y[has], minlength=n_firms) / np.maximum(sites, 1)

    households = estates["households"].to_numpy(dtype=np.int64)
    committee_chance = params.committee_coverage_2005 * np.minimum(
        1.0, households / params.committee_full_households)
    committee = rng.random(len(estates)) < committee_chance

    estate_of = np.repeat(np.arange(len(estates)), households)
    n = len(estate_of)
    htype = estates["housing_type"].to_numpy()
    owner_share = np.array([params[f"owner_share_{t}"] for t in htype])[estate_of]
    habit_mean = np.array([params[f"payment_habit_{t}"] for t in htype])[estate_of]
    weights = rng.uniform(1.0 - params.household_floor_spread, 1.0 + params.household_floor_spread, n)
    weight_sum = np.bincount(estate_of, weights=weights, minlength=len(estates))
    floor = weights / weight_sum[estate_of] * estates["floor_area_m2"].to_numpy(dtype=float)[estate_of]
    owner = rng.random(n) < owner_share
    u = rng.random(n)
    coop = np.where(u < params.share_conditional, 0,
                    np.where(u < params.share_conditional + params.share_free_rider, 1, 2))
    taste = rng.normal(0.0, params.taste_sd, n)
    habit = np.clip(habit_mean + rng.normal(0.0, params.habit_sd, n), 0.0, 1.0)
    volunteer = rng.random(n) < params.volunteer_initial_rate
    # within an estate, households are kept grouped by cooperation type (a relabelling: each
    # household keeps its own draws), so an engine reaches a type's share of an area's payment
    # terms through one run of households instead of a gather
    order = np.lexsort((coop, estate_of))
    floor = floor[order]  # one array at a time, so that each old one is freed before the next
    owner = owner[order]
    coop = coop[order]
    taste = taste[order]
    habit = habit[order]
    volunteer = volunteer[order]
    del order
    return InitialState(
        estates=estates, estate_firm=estate_firm, estate_committee=committee,
        firm_capability=capability, firm_overhead_yuan=overhead,
        firm_reserves_yuan=overhead * params.firm_initial_reserve_months,
        firm_max_sites=max_sites, firm_x_m=firm_x, firm_y_m=firm_y, firm_strong=strong,
        household_estate=estate_of, household_floor_m2=floor, household_owner=owner,
        household_coop=coop.astype(np.int8), household_taste=taste, household_habit=habit,
        household_volunteer=volunteer,
    )

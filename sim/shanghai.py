"""The `shanghai` preset: a city-sized synthetic district for the vectorized engine.

Scale from docs/SOURCES.md ("Scale"): Shanghai has more than 12,000 residential estates with about
620 million m2 of floor area (M), and about 9 million households at ~70 m2 each (A). Nothing
city-wide is known about the housing mix or the size of estates, so the preset is the seeded
generator (sim.districts.generate_district) with:

* SHANGHAI_MIX, an assumption: commodity housing (built since the 1990s) is the largest group,
  after-sale public housing the second; old lanes, new lanes and garden houses are the remnants
  of the pre-1949 stock; staff housing and old mixed estates fill the rest.
* SHANGHAI_SIZE_SCALE, calibrated so that the 12,000 estates hold about 9.0 million households
  (2.3 times the Hongkou-like sizes of HOUSING_PROFILES: a median of ~520 households, 14% of
  estates under 200 households).
* Floor areas rescaled by one factor so that they add up to 620 million m2 (~69 m2 per household;
  the housing profiles alone give ~86 m2); maintenance funds are rescaled with them, so fund per
  m2 keeps its housing-type default.
"""

from __future__ import annotations

import numpy as np

from sim.districts import District, generate_district
from sim.params import Params

SHANGHAI_ESTATES = 12_000
"""Residential estates (SOURCES.md Scale: > 12,000)."""
SHANGHAI_FLOOR_AREA_M2 = 620e6
"""Residential floor area (SOURCES.md Scale: ~620 million m2)."""
SHANGHAI_SIZE_SCALE = 2.3
"""Estate sizes relative to HOUSING_PROFILES, calibrated to ~9 million households."""
SHANGHAI_SEED = 2025
"""Seed of the preset's own generator: the district is a fixed input, whatever the run's seed."""
SHANGHAI_MIX: dict[str, float] = {
    "commodity": 0.42, "after_sale_public": 0.30, "high_rise": 0.08, "old_mixed": 0.06,
    "staff_housing": 0.05, "old_lane": 0.04, "garden_house": 0.03, "new_lane": 0.02,
}
"""Share of estates by housing type (assumption; see the module docstring)."""


def shanghai(params: Params | None = None) -> District:
    """The whole city: ~12,000 estates, ~9 million households, 620 million m2."""
    district = generate_district(SHANGHAI_ESTATES, seed=SHANGHAI_SEED, size_scale=SHANGHAI_SIZE_SCALE,
                                 mix=SHANGHAI_MIX, params=params, name="shanghai")
    estates = district.estates.copy()
    factor = SHANGHAI_FLOOR_AREA_M2 / estates["floor_area_m2"].sum()
    estates["floor_area_m2"] = np.round(estates["floor_area_m2"] * factor, -1)
    estates["fund_yuan"] = np.round(estates["fund_yuan"] * factor, -2)
    return District("shanghai", estates)

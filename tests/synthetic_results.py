"""Synthetic sweep results folders for the analysis tests, written through the sweep's own store.

Each run's outcome is ``base + policy effect + replicate effect + noise``: the replicate effect
is shared by every policy of a (design point, replicate), as common random numbers make it, so
that pairing matters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.store import ResultsStore
from sim.outputs import AREA_COLUMNS, TIMESERIES_COLUMNS

OUTCOMES = [c for c in TIMESERIES_COLUMNS if c not in ("run_id", "month", "year")]
EFFECTS = {"status_quo": 0.0, "n_in_1": 0.05, "integrated": 0.10}


def make_results(folder: Path, *, effects: dict[str, float] = EFFECTS, replicates: int = 8,
                 years: int = 2, replicate_sd: float = 0.1, noise_sd: float = 0.01,
                 failed: set[tuple[str, int]] = frozenset(), seed: int = 0) -> Path:
    """Write a results folder: `effects` per scenario, `failed` (scenario, replicate) runs failed."""
    rng = np.random.default_rng(seed)
    scenarios = list(effects)
    resolved = {"name": "synthetic", "replicates": replicates, "seed": seed, "engine": "mesa",
                "years": years, "factors": None, "design_points": 1,
                "scenarios": [{"name": s, "file": f"{s}.yaml", "sha256": "0" * 64} for s in scenarios],
                "runs": len(scenarios) * replicates}
    store = ResultsStore(folder)
    store.open(sweep_sha256="f" * 64, resolved=resolved, engine="mesa", executor="synthetic")
    shared = rng.normal(0.0, replicate_sd, size=replicates)
    months = np.arange(1, 12 * years + 1)
    order = []
    for scenario in scenarios:
        for r in range(replicates):
            run_id = f"{scenario}-d0-r{r}"
            order.append(run_id)
            record = {"run_id": run_id, "scenario": scenario, "replicate": r, "design_point": 0,
                      "seed": 1000 + r, "factors": {}, "status": "ok", "error": None,
                      "wall_time_s": 1.5}
            if (scenario, r) in failed:
                record.update(status="failed", error="RuntimeError: synthetic failure")
                store.add(record)
                continue
            level = 0.5 + effects[scenario] + shared[r]
            ts = pd.DataFrame({c: level + rng.normal(0.0, noise_sd, len(months)) for c in OUTCOMES})
            ts.insert(0, "year", (months - 1) // 12 + 1)
            ts.insert(0, "month", months)
            keys = {"run_id": run_id, "scenario": scenario, "replicate": r, "design_point": 0}
            ts = pd.concat([pd.DataFrame(keys, index=ts.index), ts], axis=1)
            households = np.array([80, 150, 320, 500])
            areas = pd.DataFrame({
                "area_id": [f"E{i}" for i in range(4)], "estates": 1, "households": households,
                "floor_area_m2": households * 60.0,
                "housing_type": ["after_sale_public", "after_sale_public", "commodity", "commodity"],
                "mode": "full_service", "firm_id": "F1",
                **{c: level + rng.normal(0.0, noise_sd, 4)
                   for c in ("service_quality", "fee_collection_rate", "satisfaction", "fund_per_m2",
                             "fee_yuan_per_m2")}})
            assert list(areas.columns) == list(AREA_COLUMNS)
            areas = pd.concat([pd.DataFrame(keys, index=areas.index), areas], axis=1)
            store.add(record, {"timeseries": ts, "areas": areas})
    store.consolidate(order, [])
    return folder

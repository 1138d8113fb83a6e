"""Seeds and designs: paired replicates across scenarios, reproducible designs inside their ranges."""

import numpy as np
import pytest
from sweep_support import write_sweep

from sim.experiments.design import design_size, sample_design
from sim.experiments.seeds import run_seed
from sim.experiments.sweep import load_sweep

RANGES = {"fee_after_sale_public": (0.4, 1.0), "volunteer_fatigue": (0.01, 0.1),
          "retender_months": (3, 12)}


def test_replicate_r_has_one_seed_under_every_scenario(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, replicates=4))
    seeds = {}
    for task in sweep.tasks():
        seeds.setdefault((task.design_point, task.replicate), set()).add(task.seed)
    assert all(len(s) == 1 for s in seeds.values())  # paired across scenarios
    per_replicate = [next(iter(seeds[(0, r)])) for r in range(4)]
    assert len(set(per_replicate)) == 4  # different replicates differ
    assert all(0 <= s < 2**63 for s in per_replicate)


def test_design_points_and_replicates_get_distinct_seeds_from_the_root():
    seeds = {run_seed(12345, d, r) for d in range(20) for r in range(20)}
    assert len(seeds) == 400
    assert run_seed(12345, 3, 5) == run_seed(12345, 3, 5)
    assert run_seed(12345, 3, 5) != run_seed(12346, 3, 5)


def test_adding_replicates_keeps_the_seeds_of_existing_ones():
    child = np.random.SeedSequence(12345).spawn(4)[2].spawn(9)[7]
    expected = int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert run_seed(12345, 2, 7) == expected


def test_the_runs_record_their_seed(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, replicates=2))
    task = sweep.tasks()[1]
    assert task.record("ok", None, 0.0)["seed"] == run_seed(12345, 0, 1)


@pytest.mark.parametrize("method, samples", [("grid", 3), ("lhs", 16), ("sobol", 8), ("morris", 4)])
def test_designs_are_reproducible_sized_and_inside_their_ranges(method, samples):
    points = sample_design(method, samples, RANGES, seed=12345)
    assert points == sample_design(method, samples, RANGES, seed=12345)
    assert len(points) == design_size(method, samples, len(RANGES))
    for name, (low, high) in RANGES.items():
        values = [p[name] for p in points]
        assert low <= min(values) and max(values) <= high
    assert all(isinstance(p["retender_months"], int) for p in points)  # a whole-number parameter


def test_lhs_depends_on_the_sweep_seed():
    assert sample_design("lhs", 8, RANGES, seed=1) != sample_design("lhs", 8, RANGES, seed=2)


def test_lhs_puts_one_point_in_each_stratum():
    points = sample_design("lhs", 10, {"volunteer_fatigue": (0.0, 1.0)}, seed=3)
    strata = sorted(int(p["volunteer_fatigue"] * 10) for p in points)
    assert strata == list(range(10))

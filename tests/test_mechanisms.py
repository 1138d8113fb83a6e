"""The mechanisms docs/ODD.md claims, on the Ouyang Road preset over ten years (slow).

Each claim compares means over seeds, directionally: no fixed numbers. Runs are shared by the
tests of a module and spread over two processes.

On the vectorized engine only. The claims are about the model, and the two engines are one model:
tests/test_docking.py runs them side by side on the same seed (same steps, same draws, the same
tables), and on Ouyang Road under `status_quo` and `integrated` over 24 seeds (the vectorized
engine on the Mesa seeds gives the Mesa means). Here the Mesa engine repeated the same claims on the
same seeds at about forty times the cost: some three CPU-minutes, a sixth of the suite.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from sim.initial import SMALL_ESTATE_HOUSEHOLDS
from sim.run import make_model
from sim.scenario import load_scenario
from sim.snapshot import kept_burn_in

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

SEEDS = (1, 2, 3)
YEARS = 10
VOTE_SEEDS = (1, 2, 3, 4)
VOTE_YEARS = 3  # merger votes happen in the first rounds; three yearly rounds are enough
MEASURES = ("service_quality", "fee_collection_rate", "satisfaction")


def simulate(jobs: list[tuple]) -> list[tuple[tuple, dict]]:
    """Run (scenario, seed, years, params, engine) jobs of one seed, parameters and engine: estate
    outcomes at month 1 and at the end, and the final month's district measures.

    Their burn-ins are the same computation (the status quo on the same seed and parameters): it
    is done once, and each run starts from a copy (sim/snapshot.py; tests/test_shared_burn_in.py).
    """
    out = []
    for job in jobs:
        name, seed, years, params, engine = job
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml").with_overrides(
            seed=seed, years=years, params=dict(params))
        model = make_model(scenario, engine, kept_burn_in(scenario, engine))
        model.step()
        first = model.estate_outcomes()
        for _ in range(12 * years - 1):
            model.step()
        out.append((job, {"first": first, "last": model.estate_outcomes(), "final": model.records[-1]}))
    return out


@pytest.fixture(scope="module")
def engine() -> str:
    """The vectorized engine (the module's docstring says why not both)."""
    return "vector"


@pytest.fixture(scope="module")
def runs(engine) -> dict:
    """Every run the tests below compare, keyed by (scenario, seed, years, params, engine)."""
    jobs = [(name, seed, YEARS, (), engine) for name in ("status_quo", "integrated", "n_in_1")
            for seed in SEEDS]
    jobs += [("n_in_1", seed, VOTE_YEARS, params, engine) for seed in VOTE_SEEDS
             for params in ((), (("fund_dispute_weight", 0.0),))]
    by_burn_in: dict[int, list[tuple]] = {}
    for job in jobs:  # a worker takes all the runs of one burn-in: fund_dispute_weight, which only the
        by_burn_in.setdefault(job[1], []).append(job)  # reforms read, shares it (sim.params.REFORM_ONLY)
    groups = sorted(by_burn_in.values(), key=len, reverse=True)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(pair for group in pool.map(simulate, groups) for pair in group)


def seed_mean(runs: dict, name: str, engine: str, value) -> float:
    """Mean over SEEDS of value(run) for the ten-year runs of a scenario."""
    return sum(value(runs[name, seed, YEARS, (), engine]) for seed in SEEDS) / len(SEEDS)


def small_at_start(outcomes: pd.DataFrame) -> pd.DataFrame:
    return outcomes[outcomes["households"] < SMALL_ESTATE_HOUSEHOLDS]


def small_after_sale(outcomes: pd.DataFrame) -> pd.DataFrame:
    return outcomes[(outcomes["households"] < SMALL_ESTATE_HOUSEHOLDS)
                    & (outcomes["housing_type"] == "after_sale_public")]


def large_commodity(outcomes: pd.DataFrame) -> pd.DataFrame:
    return outcomes[(outcomes["households"] >= SMALL_ESTATE_HOUSEHOLDS)
                    & (outcomes["housing_type"] == "commodity")]


@pytest.mark.parametrize("measure", MEASURES)
def test_integrated_beats_status_quo_for_estates_small_at_the_start(runs, engine, measure):
    def small_mean(r):
        return small_at_start(r["last"])[measure].mean()

    integrated = seed_mean(runs, "integrated", engine, small_mean)
    status_quo = seed_mean(runs, "status_quo", engine, small_mean)

    assert integrated > status_quo, (integrated, status_quo)


def test_merging_lowers_cost_per_household(runs, engine):
    def cost(r):
        return r["final"].cost_per_household

    merged = seed_mean(runs, "n_in_1", engine, cost)
    status_quo = seed_mean(runs, "status_quo", engine, cost)

    assert merged < status_quo, (merged, status_quo)


LOW_FEE_UNSUBSIDISED = ("old_lane", "staff_housing", "old_mixed")
"""Housing types with fees below 1 yuan/m2 and no district subsidy (after-sale housing has one)."""


def small_low_fee(outcomes: pd.DataFrame) -> pd.DataFrame:
    return outcomes[(outcomes["households"] < SMALL_ESTATE_HOUSEHOLDS)
                    & outcomes["housing_type"].isin(LOW_FEE_UNSUBSIDISED)]


def test_status_quo_the_low_fee_spiral_ends_small_low_fee_estates_on_the_fallback(runs, engine):
    """Low fees and collection leave small estates of the low-fee types that no subsidy tops up
    without a firm that can be paid.

    Large commodity estates keep theirs. The street office's fallback service is the floor.
    """
    def on_fallback(group):
        return seed_mean(runs, "status_quo", engine,
                         lambda r: (group(r["last"])["mode"] == "fallback").mean())

    small, large = on_fallback(small_low_fee), on_fallback(large_commodity)
    assert small > large, (small, large)


def test_without_the_fund_dispute_more_merger_votes_pass(runs, engine):
    def pass_share(params) -> float:
        shares = []
        for seed in VOTE_SEEDS:
            final = runs["n_in_1", seed, VOTE_YEARS, params, engine]["final"]
            votes = final.merges_done + final.merge_votes_failed
            assert votes > 0
            shares.append(final.merges_done / votes)
        return sum(shares) / len(shares)

    assert pass_share((("fund_dispute_weight", 0.0),)) > pass_share(())

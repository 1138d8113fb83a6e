"""Docking (Axtell et al. 1996): the Mesa and vectorized engines are the same model.

Two checks:

* Same seed, same district: both engines take the same steps and draw the same random numbers in
  the same order, so their time series agree up to the float32 rounding of the vectorized
  engine's household arrays (and to float64 rounding with float64 households). A schedule drift
  (a step out of order, one draw too many) breaks this at once.
* Distributions (slow): over many seeds, with a *different* seed set for each engine (a genuine
  two-sample comparison, not paired runs), the final-year outcomes of `status_quo` and
  `integrated` on Ouyang Road are statistically indistinguishable.

Thresholds of the distribution test, per scenario and measure (2 scenarios x 5 measures = 10
comparisons), each at about 0.1% per comparison (Bonferroni for a family-wise false-alarm rate of
1-2%), so that a change of the model's defaults fails the test by chance in one or two CI runs in
a hundred:

* two-sample Kolmogorov-Smirnov p > 0.001;
* |standardised mean difference| < 0.75 (difference of means over the pooled standard deviation).
  With MESA_SEEDS and VECTOR_SEEDS below its sampling standard error is sqrt(1/24 + 1/96) =
  0.23, so 0.75 is 3.3 standard errors: two identical engines exceed it on a given measure with
  chance 0.1-0.2% (normal approximation; a simulation of normal samples of 24 and 96 gives
  0.18%), and a real difference of 1.1 standard deviations fails with chance 94% (simulated).
  (At 0.5, the threshold with 40 Mesa seeds, two identical engines would fail a measure with
  chance 2.9% and some of the ten in up to one run in five; an SMD of 0.503 in firm exits once
  came from a 24-seed set alone.) Seeds are fixed, so the outcome is deterministic for a given
  model.
* Identical constant distributions (e.g. 106 areas in every status-quo run) pass; different
  constants fail.

The two-sample test only sees differences of about a standard deviation: it is the coarse,
assumption-free check. The fine one is the paired test (the vectorized engine on the Mesa seeds):
per seed the two runs are the same run but for rare float32 flips, so a difference between the
engines far below the two-sample test's reach shows there as a gap of the means or a paired t.
Why 24 Mesa seeds (about 2.5 s of Mesa engine a run) and four times as many vectorized ones
(0.15 s): for a given cost, 1/n_mesa + 1/n_vector is least with about sqrt(2.5 / 0.15) = 4
vectorized runs a Mesa run. Three years from the district's first month: the engines' outcomes
differ within a year if they differ at all (a schedule drift shows in the first month, and the
same-seed tests below follow them step by step), and every mechanism has acted by then (the
yearly rounds' mergers, firms' losses and exits); five years cost two thirds more CPU for the
same comparison.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from sim.experiments.executors import process_pool
from sim.run import run_scenario
from sim.scenario import load_scenario, scenario_from_mapping
from sim.snapshot import BurnIn
from sim.vector_engine import VectorModel

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("status_quo", "integrated")
MEASURES = ("service_quality", "fee_collection_rate", "satisfaction", "management_areas", "firm_exits")
YEARS = 3
MESA_SEEDS = range(1000, 1024)  # 24 runs per scenario (Mesa: ~1 s per simulated year)
VECTOR_SEEDS = range(50_000, 50_096)  # 96 runs per scenario (disjoint from the Mesa seeds)
KS_MIN_P = 0.001
FLOAT32_SLACK = 1e-5
"""A per-seed difference within this (relative to the value, at least absolute) is float32 rounding, not a
flipped decision: float32 carries about 7 digits, and a year's means add some hundred months and areas."""
MAX_ABS_SMD = 0.75


def _final_year(scenario_name: str, engine: str, seed: int) -> dict[str, float]:
    """Means over the final simulated year of one run.

    Without the burn-in: it is more of the same months for both engines and would double the
    Mesa runs' time (the same-seed test below runs it).
    """
    scenario = load_scenario(ROOT / "scenarios" / f"{scenario_name}.yaml").with_overrides(
        years=YEARS, seed=seed, params={"burn_in_years": 0})
    ts = run_scenario(scenario, engine).timeseries
    last = ts[ts["year"] == YEARS]
    return {"scenario": scenario_name, "engine": engine, "seed": seed,
            **{m: float(last[m].mean()) for m in MEASURES}}


@pytest.fixture(scope="module")
def samples() -> pd.DataFrame:
    """Every run of the two tests below, in one pool: Mesa and vectorized on their own seeds, and the
    vectorized engine on the Mesa seeds (`paired`)."""
    jobs = [(s, "mesa", seed) for s in SCENARIOS for seed in MESA_SEEDS]
    jobs += [(s, "vector", seed) for s in SCENARIOS for seed in (*MESA_SEEDS, *VECTOR_SEEDS)]
    with process_pool(2) as pool:
        rows = list(pool.map(_final_year, *zip(*jobs, strict=True), chunksize=4))
    frame = pd.DataFrame(rows)
    frame["paired"] = (frame["engine"] == "vector") & frame["seed"].isin(MESA_SEEDS)
    return frame


def standardised_mean_difference(x: np.ndarray, y: np.ndarray) -> float:
    """(mean x - mean y) / pooled sd; 0 for identical constants, inf for different constants."""
    nx, ny = len(x), len(y)
    pooled = np.sqrt(((nx - 1) * x.var(ddof=1) + (ny - 1) * y.var(ddof=1)) / (nx + ny - 2))
    diff = x.mean() - y.mean()
    if pooled == 0:
        return 0.0 if diff == 0 else np.inf
    return float(diff / pooled)


def compare(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(KS p-value, SMD) of two samples; identical constants give (1, 0)."""
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return (1.0, 0.0) if x[0] == y[0] else (0.0, np.inf)
    return float(ks_2samp(x, y).pvalue), standardised_mean_difference(x, y)


def test_compare_handles_constants():
    assert compare(np.full(5, 106.0), np.full(7, 106.0)) == (1.0, 0.0)
    assert compare(np.full(5, 106.0), np.full(7, 105.0))[1] == np.inf


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("measure", MEASURES)
def test_engines_dock_over_seeds(samples, scenario, measure):
    data = samples[(samples["scenario"] == scenario) & ~samples["paired"]]
    mesa = data.loc[data["engine"] == "mesa", measure].to_numpy()
    vector = data.loc[data["engine"] == "vector", measure].to_numpy()
    p_value, smd = compare(mesa, vector)
    summary = (f"{scenario}/{measure}: KS p={p_value:.3g}, SMD={smd:.3f}, "
               f"mesa {mesa.mean():.4g}±{mesa.std():.2g} (n={len(mesa)}), "
               f"vector {vector.mean():.4g}±{vector.std():.2g} (n={len(vector)})")
    print(summary)
    assert p_value > KS_MIN_P, summary
    assert abs(smd) < MAX_ABS_SMD, summary


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_vector_engine_on_the_mesa_seeds_gives_the_mesa_means(samples, scenario):
    """Same seeds, same runs: a gap in the two-sample test comes from the seed sets, not the engines.

    The vectorized engine's float32 households may flip a rare draw against the Mesa engine's
    float64 ones, so the means agree to a small fraction of a standard deviation, not exactly.
    Since the market's discrete decisions (fee votes, tenders that a money threshold opens, firm
    entry) a flipped decision sends a run down another path more often: over the 24 seeds the
    means then agree to a fraction of what independent seed sets differ by (about sqrt(2/24) =
    0.29 sd), and the per-seed differences average to zero: a paired t statistic within ±3
    (measured over 40 seeds: the largest gap 0.11 sd, management areas under `integrated`, where
    a flipped merger vote changes the count by one or two).
    """
    runs = samples[samples["scenario"] == scenario]
    mesa = runs[runs["engine"] == "mesa"].set_index("seed")
    same = runs[runs["paired"]].set_index("seed").loc[mesa.index]
    for measure in MEASURES:
        spread = max(float(mesa[measure].std()), 1e-9)
        gap = abs(float(same[measure].mean() - mesa[measure].mean())) / spread
        print(f"{scenario}/{measure}: mesa {mesa[measure].mean():.5g}, vector on the same seeds "
              f"{same[measure].mean():.5g} ({gap:.3f} sd apart)")
        independent = np.sqrt(2 / len(mesa))  # sd units: how far two independent seed sets' means drift
        assert gap < independent, (scenario, measure, gap, independent)
        paired = same[measure].to_numpy() - mesa[measure].to_numpy()
        # float32 households round the same way every run (about +1.5e-8 in satisfaction): a bias far
        # below any effect, but as steady as it is small; the t test asks about flipped decisions
        rounding = np.abs(paired) <= FLOAT32_SLACK * np.maximum(1.0, np.abs(mesa[measure].to_numpy()))
        flipped = np.where(rounding, 0.0, paired)
        if np.count_nonzero(flipped) > 1:
            t = flipped.mean() / (flipped.std(ddof=1) / np.sqrt(len(flipped)))
            assert abs(t) < 3, (scenario, measure, t)


# --- same seed: the schedule ----------------------------------------------------------------

SMALL = {"name": "docking_small", "district": {"generate": {"estates": 30, "seed": 3}},
         "policy": {b: {"enabled": True} for b in
                    ("merge", "management_merge", "entrust", "self_governance", "block_integration")},
         # a five-year burn-in: within it and the two years compared, float32 households have not
         # yet flipped a discrete draw on this district (they do, rarely, over longer horizons)
         "years": 2, "seed": 11, "params": {"burn_in_years": 5}}


def _series(model, months: int) -> pd.DataFrame:
    for _ in range(months):
        model.step()
    return pd.DataFrame([r.__dict__ for r in model.records])


@functools.cache
def _burned_in(kind: str) -> BurnIn:
    """SMALL's burn-in on one model kind, done once for both tests below (the policies act only
    after it: tests/test_shared_burn_in.py shows a run from a copy is the run that did its own)."""
    from sim.mesa_engine import EstateGovernanceModel

    scenario = scenario_from_mapping(SMALL, "<docking>", None)
    model = {"mesa": lambda: EstateGovernanceModel(scenario),
             "float64": lambda: VectorModel(scenario, dtype=np.float64),
             "float32": lambda: VectorModel(scenario)}[kind]()
    return BurnIn.of(model, scenario, "mesa" if kind == "mesa" else "vector")


@pytest.mark.parametrize("policy_on", [True, False], ids=["integrated", "status_quo"])
def test_same_seed_gives_the_same_run(policy_on):
    spec = dict(SMALL, policy={b: {"enabled": policy_on} for b in SMALL["policy"]})
    scenario = scenario_from_mapping(spec, "<docking>", None)
    mesa = _burned_in("mesa").model(scenario, "mesa")
    reference = _series(mesa, 24)
    exact = _burned_in("float64").model(scenario, "vector")
    compact = _burned_in("float32").model(scenario, "vector")
    assert exact.dtype == np.float64 and compact.dtype == np.float32
    np.testing.assert_allclose(_series(exact, 24).to_numpy(float), reference.to_numpy(float),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(_series(compact, 24).to_numpy(float), reference.to_numpy(float),
                               rtol=0, atol=1e-3)
    assert exact.event_log == mesa.event_log
    for table in ("areas_table", "estates_table", "events_table", "firms_table"):
        pd.testing.assert_frame_equal(getattr(exact, table)(), getattr(mesa, table)(), check_dtype=False,
                                      rtol=1e-9, obj=table)


def test_vector_engine_is_reproducible():
    scenario = scenario_from_mapping(SMALL, "<docking>", None)
    first, second = VectorModel(scenario), VectorModel(scenario)
    pd.testing.assert_frame_equal(_series(first, 24), _series(second, 24))
    pd.testing.assert_frame_equal(first.areas_table(), second.areas_table())


def test_a_fee_set_at_its_break_even_pays_its_service_on_both_engines():
    """A fee voted to the break-even fee yields money equal to the least service's cost, so whether it
    covers the cost is decided within rules.BREAK_EVEN_RTOL, not by the last bit of each engine's sums.

    Here (found by a user) an area's fee sat at its break-even: the engines' money differed by 1e-13
    yuan, one held a pointless vote (4.28 -> 4.28 yuan/m2) and their random streams parted at month 17.
    """
    from sim import rules
    from sim.mesa_engine import EstateGovernanceModel

    spec = {"name": "break_even", "district": {"generate": {"estates": 30, "seed": 3}},
            "policy": {"merge": {"enabled": True}, "entrust": {"enabled": True}}, "years": 3, "seed": 11,
            "params": {"burn_in_years": 2}}
    scenario = scenario_from_mapping(spec, "<docking>", None)
    mesa, vector = EstateGovernanceModel(scenario), VectorModel(scenario, dtype=np.float64)
    for _ in range(24):
        mesa.step()
        vector.step()
    assert vector.event_log == mesa.event_log
    assert not [e for e in mesa.event_log if e.kind == "fee_vote" and "4.28 -> 4.28" in e.text]
    p = mesa.p
    needed = 1000.0
    at_break_even = p.min_effort * needed / (1.0 - p.target_margin)
    assert rules.covers_cost(at_break_even * (1 - 1e-14), needed, p)
    assert not rules.covers_cost(at_break_even * (1 - 1e-6), needed, p)

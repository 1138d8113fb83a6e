"""Bootstrap intervals and paired differences (analysis/uncertainty.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.uncertainty import bootstrap_mean_ci, household_weighted, paired_differences


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time(method):
    # 400 samples of 30 normal values; the true mean is 3. With 400 trials the coverage of a
    # correct 95% interval has a standard error of about 0.011: the tolerance [0.92, 0.98] is
    # about ±2.7 standard errors (small samples make bootstrap intervals slightly narrow).
    rng = np.random.default_rng(12345)
    trials, covered = 400, 0
    for _ in range(trials):
        sample = rng.normal(3.0, 2.0, size=30)
        ci = bootstrap_mean_ci(sample, n_resamples=1000, method=method, rng=rng)
        covered += ci.low <= 3.0 <= ci.high
    assert 0.92 <= covered / trials <= 0.98


def test_bootstrap_is_reproducible_with_the_default_seed():
    sample = np.random.default_rng(1).normal(size=20)
    assert bootstrap_mean_ci(sample) == bootstrap_mean_ci(sample)


def test_bootstrap_of_too_few_or_equal_values_says_so():
    assert np.isnan(bootstrap_mean_ci([1.0]).low)
    assert bootstrap_mean_ci([]).n == 0
    equal = bootstrap_mean_ci([2.0, 2.0, 2.0])
    assert (equal.low, equal.high, equal.method) == (2.0, 2.0, "degenerate")


def _runs(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"scenario": s, "design_point": 0, "replicate": r, "y": v}
                         for s, vs in values.items() for r, v in enumerate(vs)])


def test_paired_differences_match_replicates_and_list_the_unpaired():
    values = _runs({"base": [1.0, 2.0, 3.0], "policy": [1.5, 2.5, 3.5]})
    values = values.drop(index=2)  # the baseline's replicate 2 failed
    pairing = paired_differences(values, "base", ["y"])
    assert pairing.differences["y"].tolist() == [0.5, 0.5]
    assert pairing.unpaired[["scenario", "replicate", "side"]].values.tolist() == [["policy", 2, "policy"]]


def test_household_weighted_means_per_group():
    areas = pd.DataFrame({"scenario": "s", "design_point": 0, "replicate": 0,
                          "group": ["a", "a", "b"], "households": [100, 300, 50], "y": [0.0, 1.0, 0.4]})
    out = household_weighted(areas, ["group"], ["y"]).set_index("group")
    assert out.loc["a", "y"] == pytest.approx(0.75)
    assert out.loc["b", "households"] == 50

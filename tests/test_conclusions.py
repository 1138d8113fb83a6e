"""conclusions.csv: P(better) pooled and per variant, the robust flag, and PRIM's box where it flips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.compare import compare_results, comparison_markdown, write_comparison
from analysis.conclusions import COLUMNS, ROBUST, conclusions_text, find_box
from sim.experiments.store import ResultsStore
from sim.outputs import TIMESERIES_COLUMNS

OUTCOMES = [c for c in TIMESERIES_COLUMNS if c not in ("run_id", "month", "year")]
VARIANTS = ("voice_matters", "resolution_only")
POINTS, REPLICATES = 24, 2
CUT = 0.1
"""n_in_1 helps where weight_heard > CUT and harms below it: the planted box."""


def effect(scenario: str, weight_heard: float, variant: str) -> float:
    """The known answer: each policy's effect on every outcome at a design point."""
    if scenario == "integrated":
        return 0.1
    if scenario == "n_in_1":
        return 0.05 if weight_heard > CUT else -0.05
    if scenario == "entrust":
        return 0.1 if variant == VARIANTS[0] else -0.1
    return 0.0


def make_design_results(folder: Path, seed: int = 3) -> Path:
    """A results folder with a design: weight_heard on [0, 0.4] and a variant, known effects."""
    rng = np.random.default_rng(seed)
    scenarios = ["status_quo", "n_in_1", "integrated", "entrust"]
    weights = rng.uniform(0.0, 0.4, POINTS)
    resolved = {"name": "synthetic-design", "replicates": REPLICATES, "seed": seed, "engine": "vector",
                "years": 1, "design_points": POINTS, "runs": POINTS * REPLICATES * len(scenarios),
                "factors": {"method": "lhs", "samples": POINTS, "ranges": {"weight_heard": [0.0, 0.4]},
                            "variants": list(VARIANTS)},
                "scenarios": [{"name": s, "file": f"{s}.yaml", "sha256": "0" * 64} for s in scenarios]}
    store = ResultsStore(folder)
    store.open(sweep_sha256="f" * 64, resolved=resolved, engine="vector", executor="synthetic")
    months = np.arange(1, 13)
    order = []
    for d in range(POINTS):
        variant = VARIANTS[d % 2]
        for scenario in scenarios:
            for r in range(REPLICATES):
                run_id = f"{scenario}-d{d}-r{r}"
                order.append(run_id)
                factors = {"weight_heard": float(weights[d]), "variant": variant}
                record = {"run_id": run_id, "scenario": scenario, "replicate": r, "design_point": d,
                          "seed": 1000 * d + r, "factors": factors, "status": "ok", "error": None,
                          "wall_time_s": 0.1}
                shared = np.random.default_rng([seed, d, r]).normal(0.0, 0.1)  # common random numbers
                level = 0.5 + shared + effect(scenario, weights[d], variant)
                ts = pd.DataFrame({c: level + rng.normal(0.0, 0.005, len(months)) for c in OUTCOMES})
                ts.insert(0, "year", 1)
                ts.insert(0, "month", months)
                keys = {"run_id": run_id, "scenario": scenario, "replicate": r, "design_point": d}
                store.add(record, {"timeseries": pd.concat([pd.DataFrame(keys, index=ts.index), ts], axis=1)})
    store.consolidate(order, ["weight_heard", "variant"])
    return folder


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = make_design_results(tmp_path_factory.mktemp("conclusions") / "results")
    comparison = compare_results(folder, metrics=["committee_coverage", "cost_per_household"])
    out = folder.parent / "cmp"
    write_comparison(comparison, out)
    return comparison, out


def pooled(table: pd.DataFrame, policy: str, metric: str) -> pd.Series:
    rows = table[(table["policy"] == policy) & (table["metric"] == metric) & (table["variant"] == "all")]
    assert len(rows) == 1
    return rows.iloc[0]


def test_conclusions_csv_has_its_columns_and_a_row_per_policy_metric_and_variant(compared):
    _, out = compared
    table = pd.read_csv(out / "conclusions.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == COLUMNS
    # 3 policies × 2 ranked metrics, each pooled and per variant
    assert len(table) == 3 * 2 * (1 + len(VARIANTS))
    assert set(table["variant"]) == {"all", *VARIANTS}


def test_a_policy_better_everywhere_is_robustly_better_and_its_cost_robustly_worse(compared):
    table = compared[0].conclusions
    row = pooled(table, "integrated", "committee_coverage")
    assert row["p_better"] == 1.0 and row["robust"] and row["conclusion"] == "better"
    assert row["pairs"] == POINTS * REPLICATES and row["sets"] == POINTS
    cost = pooled(table, "integrated", "cost_per_household")  # higher cost is worse
    assert cost["p_better"] == 0.0 and cost["robust"] and cost["conclusion"] == "worse"
    assert cost["flip_box"] == ""


def test_a_policy_that_hangs_on_the_variant_is_not_robust_though_each_variant_is(compared):
    table = compared[0].conclusions
    row = pooled(table, "entrust", "committee_coverage")
    assert row["p_better"] == pytest.approx(0.5)
    assert not row["robust"] and row["conclusion"] == "not robust"
    assert (row["p_min"], row["p_max"]) == (0.0, 1.0)
    per = table[(table["policy"] == "entrust") & (table["metric"] == "committee_coverage")
                & (table["variant"] != "all")].set_index("variant")
    assert per.loc[VARIANTS[0], "conclusion"] == "better" and per.loc[VARIANTS[1], "conclusion"] == "worse"
    assert per["robust"].all()
    # the flip is explained by the variant alone
    assert row["flip_box"].startswith("variant in {")


def test_prim_finds_where_a_not_robust_conclusion_flips(compared):
    table = compared[0].conclusions
    row = pooled(table, "n_in_1", "committee_coverage")
    share = row["p_better"]
    assert ROBUST > share > 0.5 and not row["robust"]
    assert row["flipped_sets"] > 0
    assert "weight_heard in [" in row["flip_box"] and "variant" not in row["flip_box"]
    high = float(row["flip_box"].split(",")[1].strip(" ]"))
    assert high < CUT + 0.05
    assert row["box_density"] >= 0.8 and row["box_coverage"] >= 0.8


def test_the_report_section_and_the_text_say_the_conclusions(compared):
    comparison, _ = compared
    markdown = comparison_markdown(comparison)
    assert "# Conclusions that survive the assumptions" in markdown
    text = conclusions_text(comparison.conclusions, comparison.baseline)
    lines = text.splitlines()
    assert len(lines) == 4  # a heading and one line per policy
    assert any("better (P 1.00)" in line for line in lines)
    assert "Not robust" in text and "weight_heard" in text


def test_prim_recovers_a_planted_box():
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.uniform(size=(600, 4)), columns=["a", "b", "c", "d"])
    inside = (x["a"] > 0.6) & (x["c"] < 0.3)
    y = inside.to_numpy() & (rng.uniform(size=600) < 0.95)  # a little noise
    box = find_box(x, y)
    assert set(box.limits) == {"a", "c"}
    assert box.limits["a"][0] == pytest.approx(0.6, abs=0.05)
    assert box.limits["c"][1] == pytest.approx(0.3, abs=0.05)
    assert box.density >= 0.8 and box.coverage >= 0.8


def test_prim_has_nothing_to_find_without_cases_or_with_only_cases():
    x = pd.DataFrame({"a": np.linspace(0, 1, 20)})
    assert find_box(x, np.zeros(20, bool)) is None
    assert find_box(x, np.ones(20, bool)) is None

"""Policy comparison under parameter uncertainty: posterior sweeps, ranking.csv, two bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sweep_support import write_sweep
from synthetic_results import make_results

from analysis.compare import compare_results, comparison_markdown, write_comparison
from analysis.ranking import BETTER, difference_bands, ranking
from analysis.report import report_html
from analysis.results import load_runs
from sim.cli import main
from sim.experiments.executors import make_executor
from sim.experiments.seeds import design_rng
from sim.experiments.sweep import load_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent
FLOAT, WHOLE = "merge_support", "firm_exit_loss_months"
"""Two real parameters the fake calibration 'calibrated': a float and a whole number."""
ACCEPTED = pd.DataFrame({
    FLOAT: [0.25, 0.6, 0.45, 0.33],
    WHOLE: [6.0, 18.0, 12.0, 9.0],  # written as floats, as pandas writes them; must come back int
    "areas": [88.0, 91.0, 90.0, 140.0],  # a summary statistic: not a parameter
    "distance": [0.4, 0.7, 0.5, 9.0],
    "accepted": [True, True, True, False],  # the last set was rejected: never used
})
METRICS = ["service_quality", "satisfaction", "cost_per_household", "active_firms"]


def write_calibration(folder: Path, accepted: pd.DataFrame = ACCEPTED,
                      names: tuple[str, ...] = (FLOAT, WHOLE)) -> Path:
    """A calibration folder as `estate-sim calibrate` writes it (the files a sweep reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    accepted.to_csv(folder / "accepted.csv", index=False)
    pd.DataFrame({"parameter": list(names), "prior_low": 0.0, "prior_high": 1.0, "median": 0.5,
                  "p05": 0.1, "p95": 0.9}).to_csv(folder / "posterior.csv", index=False)
    (folder / "calibration.json").write_text("{}", encoding="utf-8")
    return folder


def posterior_sweep(folder: Path, **factors) -> Path:
    """The two tiny scenarios (quiet, merging) × the fake calibration's sets × 2 seeds, 2 years."""
    write_calibration(folder / "calib")
    return write_sweep(folder, engine="vector", years=2,
                       factors={"method": "posterior", "source": "calib", **factors})


@pytest.fixture(scope="module")
def posterior_results(tmp_path_factory) -> Path:
    """2 policies × 3 accepted parameter sets × 2 seeds, compared by `estate-sim compare`."""
    folder = tmp_path_factory.mktemp("posterior")
    path = posterior_sweep(folder)
    out = folder / "results"
    summary = run_sweep(load_sweep(path), out, make_executor(1, None, None))
    assert summary.total == 12 and not summary.failed
    assert main(["compare", str(out), "--metrics", *METRICS, "--out", str(folder / "cmp")]) == 0
    return folder


def test_each_design_point_is_one_accepted_set_typed_as_its_parameter(posterior_results):
    runs = load_runs(posterior_results / "results")
    points = runs.drop_duplicates("design_point").sort_values("design_point")

    accepted = ACCEPTED[ACCEPTED["accepted"]]
    assert points[FLOAT].tolist() == accepted[FLOAT].tolist()
    assert points[WHOLE].tolist() == [6, 18, 12]
    assert isinstance(load_sweep(posterior_results / "sweep.yaml").design[0][WHOLE], int)
    # common random numbers: replicate r of a set has the same seed under both policies
    seeds = runs.groupby(["design_point", "replicate"])["seed"].nunique()
    assert (seeds == 1).all() and runs["seed"].nunique() == 6


def test_compare_writes_ranking_csv_for_a_posterior_sweep(posterior_results):
    table = pd.read_csv(posterior_results / "cmp" / "ranking.csv")

    assert list(table.columns[:4]) == ["metric", "policy_a", "policy_b", "p_a_better"]
    ranked = [m for m in METRICS if m in BETTER]
    assert "active_firms" not in ranked  # no better direction: not ranked
    assert list(dict.fromkeys(table["metric"])) == ranked
    assert len(table) == 2 * len(ranked)
    assert (table["pairs"] == 6).all() and (table["sets"] == 3).all()
    assert table["p_a_better"].between(0, 1).all()
    # ties count half: every share of 6 pairs is a multiple of 1/12
    twelfths = table["p_a_better"] * 12
    assert np.allclose(twelfths, np.round(twelfths), atol=1e-4)


def test_p_a_better_and_p_b_better_sum_to_one(posterior_results):
    table = pd.read_csv(posterior_results / "cmp" / "ranking.csv")
    forward = table.set_index(["metric", "policy_a", "policy_b"])["p_a_better"]
    backward = table.set_index(["metric", "policy_b", "policy_a"])["p_a_better"]
    backward.index.names = forward.index.names

    assert np.allclose(forward + backward.reindex(forward.index), 1.0)


def test_p_a_better_counts_the_paired_runs_in_the_better_direction(posterior_results):
    comparison = compare_results(posterior_results / "results", metrics=METRICS)
    final = comparison.final
    wide = final.pivot(index=["design_point", "replicate"], columns="scenario",
                       values="cost_per_household")
    lower = (wide["merging"] < wide["quiet"]).mean() + 0.5 * (wide["merging"] == wide["quiet"]).mean()
    row = comparison.ranking.query("metric == 'cost_per_household' and policy_a == 'merging'")

    assert row["p_a_better"].item() == pytest.approx(lower)  # lower cost is better


def test_figures_say_which_uncertainty_their_band_is(posterior_results):
    cmp = posterior_results / "cmp"
    ranking_svg = (cmp / "ranking.svg").read_text(encoding="utf-8")
    bands_svg = (cmp / "differences_under_uncertainty.svg").read_text(encoding="utf-8")
    paired_svg = (cmp / "paired_differences.svg").read_text(encoding="utf-8")
    timeseries_svg = (cmp / "timeseries.svg").read_text(encoding="utf-8")

    assert "uncertainty: parameter sets × seeds" in ranking_svg
    assert "interval over seeds with the parameter sets held" in bands_svg
    assert "pale band: 90% interval over parameter sets × seeds" in bands_svg
    assert "bootstrap CI of the mean over parameter sets × seeds" in paired_svg
    assert "runs: parameter sets × seeds" in timeseries_svg


def test_difference_bands_hold_the_seed_band_and_the_parameter_band(posterior_results):
    bands = pd.read_csv(posterior_results / "cmp" / "difference_bands.csv")
    comparison = compare_results(posterior_results / "results", metrics=["satisfaction"])
    diffs = comparison.pairing.differences["satisfaction"]
    row = bands[(bands["scenario"] == "merging") & (bands["metric"] == "satisfaction")].iloc[0]

    assert row["diff_mean"] == pytest.approx(diffs.mean(), abs=1e-6)
    assert (row["param_low"], row["param_high"]) == pytest.approx(
        tuple(np.quantile(diffs, [0.05, 0.95])), abs=1e-6)
    assert row["diff_low"] <= row["diff_mean"] <= row["diff_high"]


def test_identical_policies_each_win_half_the_time(tmp_path):
    write_calibration(tmp_path / "calib")
    path = write_sweep(tmp_path, engine="vector", years=2, replicates=2,
                       factors={"method": "posterior", "source": "calib"})
    data = yaml.safe_load(path.read_text())
    twin = yaml.safe_load((tmp_path / "scenarios" / "quiet.yaml").read_text())
    twin["name"] = "quiet_twin"
    (tmp_path / "scenarios" / "quiet_twin.yaml").write_text(yaml.safe_dump(twin))
    data["scenarios"] = ["scenarios/quiet.yaml", "scenarios/quiet_twin.yaml"]
    path.write_text(yaml.safe_dump(data))
    run_sweep(load_sweep(path), tmp_path / "results", make_executor(1, None, None))
    comparison = compare_results(tmp_path / "results", metrics=["satisfaction", "service_quality"])

    assert len(comparison.ranking) == 4
    assert (comparison.ranking["p_a_better"] == 0.5).all()
    assert (comparison.ranking["p_a_better_sets"] == 0.5).all()
    assert (comparison.bands[["diff_mean", "diff_low", "diff_high", "param_low", "param_high"]]
            == 0).all().all()


def test_ranking_prefers_the_better_direction_and_counts_ties_half():
    final = pd.DataFrame({
        "scenario": ["a"] * 4 + ["b"] * 4,
        "design_point": [0, 0, 1, 1] * 2,
        "replicate": [0, 1, 0, 1] * 2,
        "satisfaction": [0.6, 0.6, 0.5, 0.4, 0.5, 0.6, 0.5, 0.3],   # a: win, tie, tie, win
        "cost_per_household": [90.0, 80.0, 120.0, 100.0, 100.0, 100.0, 100.0, 100.0],
    })
    table = ranking(final, ["satisfaction", "cost_per_household"], ["a", "b"]).set_index(
        ["metric", "policy_a"])

    assert table.loc[("satisfaction", "a"), "p_a_better"] == pytest.approx(0.75)   # 2 wins, 2 ties
    assert table.loc[("satisfaction", "b"), "p_a_better"] == pytest.approx(0.25)
    # lower cost is better: a wins, wins, loses, ties
    assert table.loc[("cost_per_household", "a"), "p_a_better"] == pytest.approx(0.625)
    # by set: set 0 a's mean cost 85 < 100 (a better), set 1 110 > 100 (b better)
    assert table.loc[("cost_per_household", "a"), "p_a_better_sets"] == pytest.approx(0.5)
    assert table.loc[("satisfaction", "a"), "p_a_better_sets"] == pytest.approx(1.0)


def test_one_design_point_has_no_parameter_band():
    differences = pd.DataFrame({"scenario": "b", "design_point": 0, "replicate": range(20),
                                "satisfaction": np.linspace(-1, 1, 20)})
    bands = difference_bands(differences, ["satisfaction"], ["a", "b"]).iloc[0]

    assert np.isnan(bands["param_low"]) and np.isnan(bands["param_high"])
    assert (bands["diff_low"], bands["diff_high"]) == pytest.approx(
        tuple(np.quantile(np.linspace(-1, 1, 20), [0.05, 0.95])))


def test_a_sweep_of_one_policy_writes_no_ranking(tmp_path):
    write_calibration(tmp_path / "calib")
    path = write_sweep(tmp_path, engine="vector", years=1, replicates=1,
                       factors={"method": "posterior", "source": "calib"})
    data = yaml.safe_load(path.read_text())
    data["scenarios"] = data["scenarios"][:1]
    path.write_text(yaml.safe_dump(data))
    run_sweep(load_sweep(path), tmp_path / "results", make_executor(1, None, None))
    comparison = compare_results(tmp_path / "results", metrics=["satisfaction"])

    assert comparison.ranking.empty
    written = {p.name for p in write_comparison(comparison, tmp_path / "cmp")}
    assert "ranking.csv" not in written and "comparison_table.csv" in written


def test_sets_picks_the_same_accepted_sets_every_time_and_grows_by_keeping_them(tmp_path):
    rows = pd.DataFrame({FLOAT: np.round(np.linspace(0.2, 0.7, 9), 4), WHOLE: np.arange(6, 15),
                         "distance": 0.1, "accepted": True})
    write_calibration(tmp_path / "calib", rows)
    write_sweep(tmp_path, engine="vector")

    def design(sets, seed=12345):
        data = yaml.safe_load((tmp_path / "sweep.yaml").read_text())
        data.update(seed=seed, factors={"method": "posterior", "source": "calib", "sets": sets})
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
        sweep = load_sweep(tmp_path / "s.yaml")
        return sweep.design, sweep.factors["rows"]

    three, picked = design(3)
    assert design(3) == (three, picked)                                       # reproducible
    assert picked == [int(i) for i in design_rng(12345).permutation(9)[:3]]   # the design generator
    assert [p[FLOAT] for p in three] == rows[FLOAT].iloc[picked].tolist()
    assert design(5)[0][:3] == three                                          # growing keeps them
    assert design(3, seed=99)[1] != picked                                    # another seed, others
    everything, in_order = design(None)[0], design(None)[1]
    assert in_order == list(range(9)) and [p[WHOLE] for p in everything] == list(range(6, 15))


def _bad(tmp_path: Path, case: str) -> tuple[Path, str, str]:
    """Make one bad case; return the sweep file, the file the error must name and the key."""
    calib = write_calibration(tmp_path / "calib")
    factors = {"method": "posterior", "source": "calib"}
    source, key = None, "factors.source"
    if case == "missing_folder":
        factors["source"] = "nowhere"
    elif case == "missing_accepted":
        (calib / "accepted.csv").unlink()
    elif case == "missing_posterior":
        (calib / "posterior.csv").unlink()
    elif case == "unknown_parameter":
        write_calibration(calib, ACCEPTED.rename(columns={FLOAT: "merge_suport"}),
                          names=("merge_suport", WHOLE))
        source, key = calib / "posterior.csv", "parameter (row 1)"
    elif case == "parameter_column_missing":
        write_calibration(calib, ACCEPTED.drop(columns=[WHOLE]))
        source, key = calib / "accepted.csv", WHOLE
    elif case == "value_out_of_range":
        write_calibration(calib, ACCEPTED.assign(**{FLOAT: [0.2, 1.7, 0.4, 0.3]}))
        source, key = calib / "accepted.csv", f"{FLOAT} (row 2)"
    elif case == "not_a_whole_number":
        write_calibration(calib, ACCEPTED.assign(**{WHOLE: [6, 18.5, 12, 9]}))
        source, key = calib / "accepted.csv", f"{WHOLE} (row 2)"
    elif case == "unknown_key":
        factors["samples"] = 3
        key = "factors.samples"
    elif case == "too_many_sets":
        factors["sets"] = 4  # 3 accepted (the fourth row was rejected)
        key = "factors.sets"
    elif case == "zero_sets":
        factors["sets"] = 0
        key = "factors.sets"
    elif case == "source_missing":
        del factors["source"]
    elif case == "ranges_with_posterior":
        factors["ranges"] = {FLOAT: [0.2, 0.5]}
        key = "factors.ranges"
    elif case == "unknown_method":
        factors["method"] = "posterior_draws"
        key = "factors.method"
    path = write_sweep(tmp_path, engine="vector", factors=factors)
    return path, str(source or path), key


BAD = ["missing_folder", "missing_accepted", "missing_posterior", "unknown_parameter",
       "parameter_column_missing", "value_out_of_range", "not_a_whole_number", "unknown_key",
       "too_many_sets", "zero_sets", "source_missing", "ranges_with_posterior", "unknown_method"]


@pytest.mark.parametrize("case", BAD)
def test_a_bad_posterior_design_exits_2_naming_the_file_and_the_key(case, tmp_path, capsys):
    path, source, key = _bad(tmp_path, case)
    assert main(["sweep", str(path), "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"{source}: {key}:") or f"{source}: {key}:" in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_the_shipped_posterior_sweep_is_valid(capsys):
    assert main(["validate", str(ROOT / "scenarios" / "sweeps" / "posterior_comparison.yaml")]) == 0
    out = capsys.readouterr().out
    assert "5 scenarios × 12 design points × 3 replicates" in out


def test_a_posterior_sweep_grows_by_more_sets_reusing_the_stored_runs(tmp_path):
    path = posterior_sweep(tmp_path, sets=2)
    data = yaml.safe_load(path.read_text())
    data.update(years=1, replicates=1)
    path.write_text(yaml.safe_dump(data))
    first = run_sweep(load_sweep(path), tmp_path / "results", make_executor(1, None, None))
    data["factors"]["sets"] = 3
    path.write_text(yaml.safe_dump(data))
    grown = run_sweep(load_sweep(path), tmp_path / "results", make_executor(1, None, None))

    assert (first.total, first.ran) == (4, 4)
    assert (grown.total, grown.skipped, grown.ran) == (6, 4, 2) and not grown.failed


def test_the_demo_ranks_the_policies_of_its_posterior_sweep(tmp_path, monkeypatch, capsys):
    import sim.demo

    path = posterior_sweep(tmp_path, sets=2)
    data = yaml.safe_load(path.read_text())
    data.update(years=1, replicates=2)
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setattr(sim.demo, "POSTERIOR_FILE", path)

    assert sim.demo.run_posterior_demo(tmp_path / "out", workers=1, quiet=True) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "posterior" / "ranking.csv")
    assert {"ranking.png", "differences_under_uncertainty.png"} <= {
        p.name for p in (tmp_path / "out" / "posterior").iterdir()}
    assert set(table["policy_a"]) == {"quiet", "merging"} and (table["pairs"] == 4).all()
    assert "P(policy beats Quiet) over parameter sets × seeds" in out
    # and the robust conclusions, in a few lines (a heading and one line per policy)
    lines = out[out.index("Conclusions against Quiet"):].split("\n\n")[0].splitlines()
    assert len(lines) == 2 and lines[1].strip().startswith("Merging:")
    assert (tmp_path / "out" / "posterior" / "conclusions.csv").is_file()


def test_a_clearly_better_policy_wins_every_pair_and_figures_say_seeds(tmp_path):
    # integrated is 0.10 above the status quo on every outcome; run noise sd 0.005: it always wins
    folder = make_results(tmp_path / "results", replicates=6, replicate_sd=0.2, noise_sd=0.005)
    comparison = compare_results(folder, metrics=["satisfaction", "cost_per_household"])
    write_comparison(comparison, tmp_path / "cmp")
    table = comparison.ranking.set_index(["metric", "policy_a", "policy_b"])["p_a_better"]

    assert table[("satisfaction", "integrated", "status_quo")] == 1.0
    assert table[("satisfaction", "status_quo", "integrated")] == 0.0
    assert table[("cost_per_household", "integrated", "status_quo")] == 0.0  # higher cost is worse
    assert comparison.scope == "seeds"
    assert "bootstrap CI of the mean over seeds" in (tmp_path / "cmp" / "paired_differences.svg").read_text()
    assert "uncertainty: seeds" in (tmp_path / "cmp" / "ranking.svg").read_text()
    bands = pd.read_csv(tmp_path / "cmp" / "difference_bands.csv")
    assert bands["param_low"].isna().all()  # one design point: no parameter band
    assert "# Ranking over seeds" in comparison_markdown(comparison)
    assert "the probability of beating the baseline, over seeds" in report_html(comparison, tmp_path / "cmp")

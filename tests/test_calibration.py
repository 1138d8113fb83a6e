"""ABC calibration: it recovers parameters from data the model itself generated; bad specs exit 2."""

import numpy as np
import pandas as pd
import pytest
import yaml
from sweep_support import calibration_files, write_calibration

from sim.calibration import abc_rejection, load_calibration, simulate, summary_statistics

SCENARIO = {
    "name": "synthetic",
    "district": {"generate": {"estates": 60, "seed": 11, "estates_per_block": 10}},
    "policy": {"merge": {"enabled": True}, "entrust": {"enabled": True},
               "block_integration": {"enabled": True}},
    "years": 2,
    "seed": 1,
    # every merger put to the vote at once, in month 1: the votes carry merge_support to the targets
    "params": {"reform_staff_hours_per_month": 100000.0, "merge_briefing_months": 0, "fund_merge_months": 0,
               "committee_reorganise_months": 0, "burn_in_years": 0,
               # pinned, not the calibrated defaults: a failed vote is retried within the two years
               "vote_retry_months": 12, "merge_max_attempts": 10, "fund_dispute_weight": 1.0,
               "briefing_support": 0.0},
}
TRUTH = {"merge_support": 0.45}  # where the statistics respond to it (below ~0.3 no merger passes)


def _write(tmp_path, spec: dict) -> str:
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
    path = tmp_path / "calibration.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _spec(targets: dict) -> dict:
    return {"name": "synthetic-truth", "scenario": "scenario.yaml", "engine": "vector", "seed": 5,
            "samples": 40, "seeds_per_sample": 3, "accept": 0.2,
            "priors": {"merge_support": [0.05, 0.8]}, "targets": targets}


@pytest.mark.slow
def test_abc_recovers_a_parameter_from_model_generated_data(tmp_path):
    # the "record": the model's own output at a known parameter value, over other seeds
    probe = load_calibration(_write(tmp_path, _spec({"areas": {"value": 0, "tolerance": 1}})))
    observed = simulate(probe.scenario, "vector", pd.DataFrame([TRUTH]), [101, 102, 103, 104])
    means = observed.drop(columns=["sample", "seed"]).mean()
    targets = {name: {"value": float(means[name]), "tolerance": tol}
               for name, tol in (("areas", 1.0), ("merge_votes_failed", 1.0))}
    calibration = load_calibration(_write(tmp_path, _spec(targets)))
    frames = abc_rejection(calibration, workers=1)
    posterior = frames["posterior"].set_index("parameter").loc["merge_support"]
    assert abs(posterior["median"] - TRUTH["merge_support"]) < 0.1
    assert posterior["p05"] <= TRUTH["merge_support"] <= posterior["p95"]
    assert posterior["p95"] - posterior["p05"] < 0.5 * (0.8 - 0.05)  # the data narrowed the prior


def test_summary_statistics_read_the_output_contract():
    timeseries = pd.DataFrame({"management_areas": [10, 8], "areas_lt200": [6, 4], "areas_lt100": [3, 2],
                               "firm_exits": [0, 2], "merge_votes_failed": [0, 1]})
    areas = pd.DataFrame({
        "estates": [3, 1, 1, 2], "households": [500, 150, 90, 300],
        "mode": ["full_service", "entrusted", "entrusted", "full_service"],
        "housing_type": ["after_sale_public", "commodity", "commodity", "commodity"],
        "floor_area_m2": [44_000.0, 9_000.0, 5_000.0, 20_000.0]})
    stats = summary_statistics(timeseries, areas)
    assert stats["areas"] == 8 and stats["firms_eliminated"] == 2
    assert stats["merge_share"] == pytest.approx(5 / 7)  # 5 estates merged, 2 small ones entrusted
    assert stats["hongyi_like"] == 1.0
    assert np.isnan(stats["hongyi_trio"])  # no area ids here: the named estates cannot be found


@pytest.mark.parametrize("area_ids, together", [
    (["Hongyi+Hongtie+Xiangde-3", "A"], 1.0),
    (["Hongyi+Hongtie", "Xiangde-3", "A"], 0.0),
    (["Hongyi+Hongtie+A", "Xiangde-3+B"], 0.0),
    (["Hongyi", "Hongtie", "A"], float("nan")),  # Xiangde-3 missing from the district
])
def test_the_named_trio_counts_only_when_all_three_share_one_area(area_ids, together):
    from sim.calibration import HONGYI_TRIO, _trio_together

    value = _trio_together(pd.DataFrame({"area_id": area_ids}), HONGYI_TRIO)
    assert value == together or (np.isnan(value) and np.isnan(together))


@pytest.mark.parametrize("change, key", [
    ({"priors": {"no_such_parameter": [0, 1]}}, "priors.no_such_parameter"),
    ({"priors": {"merge_support": [0.5, 2.0]}}, "priors.merge_support"),
    ({"targets": {"happiness": {"value": 1, "tolerance": 1}}}, "targets.happiness"),
    ({"samples": "many"}, "samples"),
    ({"surprise": 1}, "surprise"),
    ({"holdout": {"areas": {"value": 30, "tolerance": 2}}}, "holdout.areas"),
    ({"holdout": {"luck": {"value": 1, "tolerance": 1}}}, "holdout.luck"),
])
def test_bad_calibration_spec_names_the_key(tmp_path, cli, change, key):
    spec = {**_spec({"areas": {"value": 30, "tolerance": 2}}), **change}
    path = _write(tmp_path, spec)
    proc = cli("calibrate", path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and key in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_held_out_pattern_is_predicted_not_fitted(tmp_path):
    spec = {**_spec({"areas": {"value": 50, "tolerance": 2}}),
            "holdout": {"merge_votes_failed": {"value": 0, "tolerance": 1}}}
    spec["samples"] = 8
    calibration = load_calibration(_write(tmp_path, spec))
    frames = abc_rejection(calibration, workers=1)
    # the distance ignores the held-out statistic: it is the distance to the fitted target alone
    samples = frames["samples"]
    assert np.allclose(samples["distance"], np.abs(samples["areas"] - 50) / 2)
    prediction = frames["prediction"].set_index("pattern").loc["merge_votes_failed"]
    accepted = frames["runs"][frames["runs"]["sample"].isin(samples.index[samples["accepted"]])]
    assert prediction["predicted_median"] == accepted["merge_votes_failed"].median()


def test_seeds_are_shared_by_every_sample():
    from sim.calibration import Calibration

    cal = Calibration("x", None, None, "vector", 7, 4, 3, 0.5, {"merge_support": (0.1, 0.9)}, {})
    assert cal.seeds() == cal.seeds() and len(set(cal.seeds())) == 3
    design = cal.design()
    assert len(design) == 4 and design["merge_support"].between(0.1, 0.9).all()
    assert np.unique(np.floor(design["merge_support"].to_numpy() * 4 / 0.8)).size >= 3  # spread (LHS)


# --- the runs are stored as a sweep's (issue 31): resumed, changed inputs named ---------------------

def test_a_stopped_calibration_resumes_to_the_same_files(tmp_path):
    from sim.calibration import run_calibration
    from sim.experiments.sweep import SweepInterrupted

    spec = write_calibration(tmp_path)
    run_calibration(spec, tmp_path / "reference", quiet=True)

    def stop_after_three(done, total):
        if done == 3:
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(SweepInterrupted, match="3 of 8 runs are stored"):
        abc_rejection(load_calibration(spec), runs=out / "runs", progress=stop_after_three)
    stored = {p.name: p.read_bytes() for p in (out / "runs" / "samples" / "runs").glob("*.json")}
    assert len(stored) == 3
    run_calibration(spec, out, quiet=True)
    assert calibration_files(out) == calibration_files(tmp_path / "reference")
    assert set(calibration_files(out)) >= {"accepted.csv", "samples.csv", "runs.csv", "refined.csv",
                                          "calibration.json"}
    # the three runs stored before the stop were kept, not made again
    for name, data in stored.items():
        assert (out / "runs" / "samples" / "runs" / name).read_bytes() == data


def test_a_calibration_refuses_an_edited_district_or_model_naming_it(tmp_path, capsys, monkeypatch):
    from sim.cli import main
    from sim.experiments.identity import model_version

    spec = write_calibration(tmp_path)
    out = tmp_path / "out"
    assert main(["calibrate", str(spec), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    before = (out / "samples.csv").read_bytes()
    capsys.readouterr()
    assert main(["calibrate", str(spec), "--out", str(out), "--quiet", "--workers", "1"]) == 0  # resumes
    assert (out / "samples.csv").read_bytes() == before
    csv = tmp_path / "e.csv"
    csv.write_text(csv.read_text().replace("A,120", "A,150"))
    capsys.readouterr()
    assert main(["calibrate", str(spec), "--out", str(out), "--quiet", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "district csv sha256" in err and "--rerun-changed" in err, err
    assert main(["calibrate", str(spec), "--out", str(out), "--quiet", "--workers", "1",
                 "--rerun-changed"]) == 0
    version = model_version()
    monkeypatch.setattr("sim.experiments.identity.model_version", lambda: "0123456789ab")
    capsys.readouterr()
    assert main(["calibrate", str(spec), "--out", str(out), "--quiet", "--workers", "1"]) == 2
    assert f"model version {version} → 0123456789ab" in capsys.readouterr().err


def test_a_change_to_the_code_that_computes_the_statistics_is_named(tmp_path, monkeypatch):
    from sim.errors import InputError
    from sim.experiments import stored

    spec = write_calibration(tmp_path)
    calibration = load_calibration(spec)
    abc_rejection(calibration, runs=tmp_path / "runs")
    before = stored._code_digest("sim.calibration")
    monkeypatch.setattr(stored, "_code_digest", lambda module: "0123456789ab")  # calibration.py edited
    with pytest.raises(InputError, match=f"code of sim.calibration {before} → 0123456789ab"):
        abc_rejection(calibration, runs=tmp_path / "runs")

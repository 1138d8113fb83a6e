"""Series by group: `record: [estates, areas, groups]` in scenarios, sweeps and sim.run, on both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from sweep_support import write_sweep

import sim
from analysis.plots import by_group_figure
from analysis.results import load_series, load_timeseries
from sim.errors import InputError
from sim.experiments.executors import SequentialExecutor
from sim.experiments.sweep import load_sweep, run_sweep
from sim.outputs import AREA_SERIES_COLUMNS, ESTATE_SERIES_COLUMNS, group_columns
from sim.scenario import scenario_from_mapping

SPEC = {"name": "grouped", "district": {"generate": {"estates": 12, "seed": 3}},
        "policy": {"merge": {"enabled": True}}, "years": 1, "seed": 5, "params": {"burn_in_years": 1}}


@pytest.fixture(scope="module")
def runs():
    scenario = scenario_from_mapping(SPEC, "<series>", None)
    plain = sim.run(scenario, "vector")
    recorded = {engine: sim.run(scenario, engine, record=["estates", "areas", "groups"])
                for engine in ("mesa", "vector")}
    return plain, recorded


def test_recording_changes_no_result_and_adds_only_the_series(runs):
    plain, recorded = runs
    vector = recorded["vector"]
    assert plain.estate_series is None and plain.area_series is None
    assert list(plain.tables()) == ["timeseries", "areas", "estates", "events", "firms"]
    pd.testing.assert_frame_equal(vector.timeseries[plain.timeseries.columns], plain.timeseries)
    pd.testing.assert_frame_equal(vector.areas, plain.areas)
    assert list(vector.timeseries.columns[len(plain.timeseries.columns):]) == list(group_columns())


def test_the_series_have_the_usual_keys_and_one_row_per_month_and_estate_or_area(runs):
    series = runs[1]["vector"]
    estates, areas = series.estate_series, series.area_series
    assert list(estates.columns) == list(ESTATE_SERIES_COLUMNS)
    assert list(areas.columns) == list(AREA_SERIES_COLUMNS)
    assert len(estates) == 12 * 12 and estates.groupby("month").size().eq(12).all()
    last = areas[areas["month"] == 12].drop(columns=["run_id", "month"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(last, series.areas)  # the last month's areas are the areas table
    final = estates[estates["month"] == 12].set_index("estate_id")
    end = series.estates.set_index("estate_id")
    np.testing.assert_allclose(final["satisfaction"], end.loc[final.index, "satisfaction"])


def test_both_engines_give_the_same_series(runs):
    mesa, vector = runs[1]["mesa"], runs[1]["vector"]
    for name in ("estate_series", "area_series"):
        pd.testing.assert_frame_equal(getattr(mesa, name), getattr(vector, name), rtol=1e-3,
                                      check_dtype=False, obj=name)
    pd.testing.assert_frame_equal(mesa.timeseries, vector.timeseries, rtol=1e-3, check_dtype=False)


def test_group_columns_are_household_weighted_means_of_the_estates(runs):
    result = runs[1]["vector"]
    estates = result.estate_series
    month = estates[(estates["month"] == 7) & (estates["housing_type"] == "after_sale_public")]
    expected = np.average(month["satisfaction"], weights=month["households"])
    row = result.timeseries.set_index("month").loc[7]
    assert row["satisfaction_after_sale_public"] == pytest.approx(expected)
    everyone = estates[estates["month"] == 7]
    assert row["satisfaction"] == pytest.approx(np.average(everyone["satisfaction"],
                                                           weights=everyone["households"]))


def test_size_class_columns_are_household_weighted_means_of_their_estates(runs):
    result = runs[1]["vector"]
    month = result.estate_series[result.estate_series["month"] == 7]
    row = result.timeseries.set_index("month").loc[7]
    assert month["size_class"].nunique() >= 2
    for name, part in month.groupby("size_class"):
        assert row[f"satisfaction_size_{name}"] == pytest.approx(
            np.average(part["satisfaction"], weights=part["households"]))


def test_an_unknown_series_is_refused():
    with pytest.raises(InputError, match="record"):
        scenario_from_mapping(dict(SPEC, record=["estate"]), "<series>", None)
    with pytest.raises(InputError, match="unknown series"):
        sim.run(scenario_from_mapping(SPEC, "<series>", None), record=["firms"])


def test_a_sweep_keeps_the_series_and_the_analysis_plots_any_measure_by_group(tmp_path):
    sweep_file = write_sweep(tmp_path, replicates=2, engine="vector", record=["estates", "areas"])
    run_sweep(load_sweep(sweep_file), tmp_path / "results", SequentialExecutor())
    by_type = load_series(tmp_path / "results", "housing_type", "volunteer_rate")
    assert set(by_type.columns) == {"run_id", "scenario", "replicate", "design_point", "month",
                                    "housing_type", "volunteer_rate"}
    assert len(by_type.groupby(["run_id", "month"])) == 4 * 12
    by_area = sim.load_series(tmp_path / "results", "area", ["satisfaction"], scenarios=["merging"])
    assert set(by_area["scenario"]) == {"merging"}
    timeseries = load_timeseries(tmp_path / "results", ["satisfaction"])
    overall = load_series(tmp_path / "results", "size_class", "satisfaction")
    # the groups' household-weighted mean is the district's mean
    sizes = sim.load_series(tmp_path / "results", "estate", "satisfaction")
    assert len(sizes) == 4 * 12 * 6 and len(overall) <= 4 * 12 * 3
    assert timeseries["satisfaction"].notna().all()
    fig = by_group_figure(by_type, "volunteer_rate", "housing_type")
    assert len(fig.axes[0].lines) == by_type["housing_type"].nunique()
    with pytest.raises(InputError, match="no measure"):
        load_series(tmp_path / "results", "housing_type", "nonsense")


def test_a_sweep_without_the_series_says_how_to_get_them(tmp_path):
    run_sweep(load_sweep(write_sweep(tmp_path, replicates=1, engine="vector")), tmp_path / "r",
              SequentialExecutor())
    with pytest.raises(InputError, match=r"record: \[estates\]"):
        load_series(tmp_path / "r", "housing_type", "satisfaction")
    assert yaml.safe_load((tmp_path / "sweep.yaml").read_text()).get("record") is None


def test_the_volunteering_pattern_is_measured_in_the_merged_estates_own_series():
    from sim.validation import merged_volunteering

    months = np.arange(1, 37)

    def series(dips: dict[str, tuple[int, float]]) -> pd.DataFrame:
        rows = []
        for estate, households in (("A", 100), ("B", 300), ("C", 50)):
            joined, dip = dips.get(estate, (0, 0.0))
            for m in months:
                fell = joined and joined < m <= joined + 11
                rows.append({"estate_id": estate, "month": m, "households": households,
                             "volunteer_rate": 0.05 - (dip if fell else 0.0)})
        return pd.DataFrame(rows)

    estates = pd.DataFrame({"estate_id": ["A", "B", "C"], "how": ["merged", "merged", "none"],
                            "joined_month": [3, 13, 0]})
    merging = {"estate_series": series({"A": (3, 0.02), "B": (13, 0.04)}), "estates": estates}
    status_quo = {"estate_series": series({})}
    early, late = merged_volunteering(merging, status_quo)
    assert early == pytest.approx(-(100 * 0.02 + 300 * 0.04) / 400)  # each estate after its own merger
    assert late == pytest.approx(0.0)


def test_asking_a_stored_sweep_for_series_it_did_not_keep_names_record(tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "results"
    run_sweep(load_sweep(write_sweep(tmp_path, replicates=1, engine="vector")), out, SequentialExecutor())
    grown = write_sweep(tmp_path, name="grown.yaml", replicates=1, engine="vector", record=["estates"])
    assert main(["sweep", str(grown), "--out", str(out), "--quiet"]) == 2
    assert "record (none) → " in capsys.readouterr().err

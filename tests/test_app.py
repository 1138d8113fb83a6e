"""The teaching app without a browser: its model, controls, presets, pictures, monitors, page and server."""

from __future__ import annotations

import html
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.app.controls import (
    LESSON_PRESETS,
    NO_COMPARISON,
    SLIDERS,
    changed_settings,
    default_settings,
    policy_blocks,
    preset_of,
    preset_settings,
)
from sim.app.model import (
    POLICY_SETS,
    UPLOADED_CSV,
    TeachingModel,
    build_scenario,
    estate_table,
    month_label,
    policy_set_name,
)
from sim.cli import build_parser, main
from sim.errors import InputError
from sim.policies import REGISTRY
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_month_label_counts_years_and_months_from_one():
    assert month_label(0) == "Start"
    assert month_label(1) == "Year 1, month 1"
    assert month_label(12) == "Year 1, month 12"
    assert month_label(13) == "Year 2, month 1"


@pytest.mark.parametrize("name, blocks", POLICY_SETS.items())
def test_policy_sets_name_themselves(name, blocks):
    assert policy_set_name({block: block in blocks for block in REGISTRY.names()}) == name


def test_policy_sets_match_the_shipped_scenarios():
    shipped = {}
    for stem in ("status_quo", "n_in_1", "strong_leads_weak", "self_governance", "integrated"):
        scenario = load_scenario(ROOT / "scenarios" / f"{stem}.yaml")
        shipped[stem] = {block for block, on in scenario.policies.items() if on}
    assert sorted(map(sorted, shipped.values())) == sorted(map(sorted, map(set, POLICY_SETS.values())))


def test_every_policy_block_of_the_model_has_a_control():
    assert set(policy_blocks()) == set(REGISTRY.names())


def test_the_page_opens_on_the_status_quo_preset():
    model = TeachingModel(**default_settings())
    assert preset_of(model.settings) == "Status quo"
    assert model.main.spec.name == "status quo" and model.comparison is None


@pytest.mark.parametrize("name", LESSON_PRESETS)
def test_each_lesson_preset_builds_and_is_recognised(name):
    current = {**default_settings(), "rng": 7, "fee_commodity": 4.0}
    settings = preset_settings(name, current)
    assert preset_of(settings) == name
    assert settings["rng"] == 7, "a preset keeps the class's seed"
    assert settings["fee_commodity"] == default_settings()["fee_commodity"], "other controls go to defaults"
    model = TeachingModel(**settings)
    model.step()
    assert model.month == 1
    assert (model.comparison is not None) == (settings["compare_with"] != NO_COMPARISON)


def test_presets_set_what_the_lesson_says():
    base = default_settings()
    assert preset_settings("Harder votes", base)["approval_area_share"] == 0.75
    assert preset_settings("Tired volunteers", base)["volunteer_fatigue"] == 0.15
    assert preset_settings("Fund dispute", base)["fund_dispute_weight"] == 0.0  # the dispute switched off
    assert base["fund_dispute_weight"] > 0
    group_a = preset_settings("Group A: N-in-1 merger", base)
    assert [b for b in policy_blocks() if group_a[b]] == ["merge"] and group_a["compare_with"] == "status quo"


def test_changed_settings_names_the_controls_that_differ():
    running = default_settings()
    assert changed_settings(running, running) == []
    assert set(changed_settings({**running, "merge": True, "rng": 3}, running)) == {"merge", "rng"}


@pytest.mark.parametrize("engine", ["vector", "mesa"])
def test_model_builds_on_either_engine_from_settings(engine):
    settings = {**default_settings(), "engine": engine, "merge": True, "fee_after_sale_public": 0.8,
                "rng": 3}
    model = TeachingModel(**settings)
    assert model.main.spec.name == "N-in-1 merger"
    assert model.main.p.fee_after_sale_public == 0.8
    assert len(model.estates) == 106 and model.comparison is None
    model.step()
    assert model.month == 1 and model.main.records
    assert TeachingModel(**model.settings).settings == model.settings
    table = estate_table(model.main)
    assert len(table) == 106 and table["quality"].between(0, 1).all()
    assert {"households", "housing_type", "firm", "mode_name", "fund_per_m2", "committee",
            "satisfaction", "area_id"} <= set(table.columns)


def test_estate_table_agrees_between_engines_at_the_start():
    """The app's estate table reads either engine alike: after the burn-in of the app's scenario, the
    vectorized engine with float64 households (the docking precision; the app's float32 may flip a
    rare draw, docs/ODD.md) and the Mesa engine give the same table."""
    from sim.mesa_engine import EstateGovernanceModel
    from sim.vector_engine import VectorModel

    # the app's own scenario, with a short burn-in: the engines agree to the last bits of a float,
    # and over many years a last bit may flip a Poisson or household draw (docs/ODD.md, Docking)
    scenario = TeachingModel(engine="vector", rng=4).main.spec.with_overrides(params={"burn_in_years": 2})
    vector = estate_table(VectorModel(scenario, rng=4, dtype=np.float64))
    mesa = estate_table(EstateGovernanceModel(scenario, rng=4))
    for column in ("estate_id", "households", "area_id", "mode", "firm", "committee"):
        assert (vector[column].to_numpy() == mesa[column].to_numpy()).all(), column
    assert np.allclose(vector["fund_per_m2"], mesa["fund_per_m2"])


def play_until_a_merger(model: TeachingModel, months: int = 24) -> None:
    """Step until the main run completes a merger (a reform case: briefings, vote, funds, merger)."""
    for _ in range(months):
        model.step()
        if model.main.records[-1].merges_done:
            return
    raise AssertionError(f"no merger completed in {months} months")


def test_estate_table_shows_merged_estates_as_one_area():
    model = TeachingModel(merge=True, rng=1)
    play_until_a_merger(model)
    assert model.month > 1, "a merger takes months (briefings, vote, funds), not one step"
    table = estate_table(model.main)
    merged = table[table["area_size"] > 1]
    assert not merged.empty
    for _, members in merged.groupby("area_id"):
        assert len(members) == members["area_size"].iloc[0]
        assert members["firm"].nunique() == 1 and members["mode"].nunique() == 1


def test_unknown_setting_district_or_policy_set_is_an_input_error():
    with pytest.raises(InputError, match="district"):
        build_scenario("atlantis")
    with pytest.raises(InputError, match="compare_with"):
        TeachingModel(compare_with="anarchy")
    with pytest.raises(InputError, match="no CSV file uploaded"):
        build_scenario(UPLOADED_CSV)
    with pytest.raises(InputError, match="not a setting"):
        TeachingModel(use_threads=True)
    with pytest.raises(InputError, match="engine"):
        TeachingModel(engine="netlogo")


def test_side_by_side_runs_the_same_district_and_seed_under_another_policy():
    model = TeachingModel(**preset_settings("Integrated vs status quo", {**default_settings(), "rng": 5}))
    other = model.comparison
    assert other is not None and other.spec.name == "status quo"
    assert not any(other.spec.policies.values()) and all(model.main.spec.policies.values())
    assert other.estates.equals(model.main.estates) and other.spec.seed == model.main.spec.seed == 5
    model.step()
    assert model.main.month == other.month == 1
    play_until_a_merger(model)
    assert model.main.month == other.month
    assert len(model.main.areas) < len(other.areas), "the integrated run merged nothing"


def test_side_by_side_with_the_same_policy_gives_the_same_run():
    model = TeachingModel(**{**preset_settings("Integrated vs status quo", default_settings()),
                             "compare_with": "integrated", "rng": 2})
    for _ in range(3):
        model.step()
    assert model.main.records == model.comparison.records


def test_a_run_stops_at_the_scenario_horizon():
    model = TeachingModel()
    assert model.horizon_months == 240
    for _ in range(model.horizon_months + 5):
        model.step()
    assert model.month == 240 and model.at_horizon


def test_uploaded_csv_becomes_the_district(tmp_path):
    sample = build_scenario("ouyang_road").load_district().estates.head(12)
    path = tmp_path / "twelve.csv"
    sample.to_csv(path, index=False)
    model = TeachingModel(district=UPLOADED_CSV, csv_path=str(path), rng=1)
    assert len(model.estates) == 12
    bad = tmp_path / "bad.csv"
    bad.write_text("estate_id,households\nA,10\n")
    with pytest.raises(InputError, match="floor_area_m2"):
        build_scenario(UPLOADED_CSV, csv_path=str(bad))


def test_an_uploaded_districts_names_label_its_estates_on_the_map(tmp_path):
    from sim.app.views import map_rows

    sample = build_scenario("ouyang_road").load_district().estates.head(6).copy()
    sample.insert(1, "name", ["虹仪小区", "", "Hongtie", "祥德三村", "", "Block 5"])
    path = tmp_path / "named.csv"
    sample.to_csv(path, index=False)
    model = TeachingModel(district=UPLOADED_CSV, csv_path=str(path), rng=1)
    cards = {r["id"]: r["card_0"] for r in _rows(map_rows(model.main, "zh", "service quality")[0])}
    first, second = sample["estate_id"].iloc[0], sample["estate_id"].iloc[1]
    assert cards[first].startswith(f"虹仪小区 · {first} (")
    assert cards[second].startswith(f"{second} (")  # no name: its id alone


def test_an_uploaded_csv_is_kept_in_its_folder_and_checked(tmp_path):
    from sim.app.app import save_district_csv

    data = build_scenario("ouyang_road").load_district().estates.head(5).to_csv(index=False)
    path = save_district_csv("../../elsewhere/mine.csv", data.encode(), tmp_path)
    assert path == tmp_path / "mine.csv" and path.read_text() == data
    with pytest.raises(InputError, match="required columns? (?:is|are) missing"):
        save_district_csv("bad.csv", b"estate_id,households\nA,10\n", tmp_path)


def _refused_uploads(tmp_path) -> list[InputError]:
    """What the app says to a dozen kinds of bad district file (each refused for another reason)."""
    from sim.app.app import save_district_csv

    good = build_scenario("ouyang_road").load_district().estates.head(3)
    header = ",".join(good.columns)

    def changed(column, value):
        table = good.astype(object).copy()
        table.loc[1, column] = value
        return table.to_csv(index=False).encode()

    files = {
        "missing.csv": b"estate_id,households\nA,10\n",
        "words.csv": changed("households", "many"), "percent.csv": changed("households", "12%"),
        "spaces.csv": changed("households", "1 200"), "empty.csv": changed("households", ""),
        "negative.csv": changed("households", -4), "half.csv": changed("households", 10.5),
        "twice.csv": changed("estate_id", good["estate_id"][0]), "plus.csv": changed("estate_id", "A+B"),
        "castle.csv": changed("housing_type", "castle"),
        "long_row.csv": good.to_csv(index=False).encode() + b"x,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n",
        "no_header.csv": b"\n", "no_rows.csv": header.encode() + b"\n",
        "same_column.csv": (header + ",households\n").encode(),
        "typo.csv": good.rename(columns={"gates": "gatess"}).to_csv(index=False).encode(),
        "nul.csv": b"estate_id\0,households\n",
    }
    refused = []
    for name, data in files.items():
        with pytest.raises(InputError) as caught:
            save_district_csv(name, data, tmp_path)
        refused.append(caught.value)
    return refused


def test_upload_errors_read_in_both_languages(tmp_path):
    """Every refused file is explained in Chinese from the translation table, its own values kept."""
    import re

    from sim.app.i18n import error_text, tr_error
    from sim.districts import COLUMNS
    from sim.params import HOUSING_TYPES

    kept = {*COLUMNS, *HOUSING_TYPES, "CSV", "UTF", "GBK", "GB18030", "MB", "NUL", "Excel"}
    refused = _refused_uploads(tmp_path)
    assert len({e.message for e in refused}) == len(refused), "each file is refused for its own reason"
    for exc in refused:
        assert tr_error(exc.message, "en") == exc.message
        chinese = tr_error(exc.message, "zh")
        assert not chinese.startswith("文件有误"), f"no Chinese for: {exc.message}"
        # what is left once the file's own words (quoted values, column names, codes) are taken out
        unquoted = re.sub(r"'[^']*'", "", chinese)
        words = set(re.findall(r"[A-Za-z_0-9]*[A-Za-z]{2,}[A-Za-z_0-9]*", unquoted)) - kept
        assert not words, f"English left in {chinese!r}: {sorted(words)}"
    shown = error_text("mine.csv", refused[0].message, refused[0].key, "zh")
    assert shown.startswith("mine.csv：缺少必需的列") and "（列或键：" in shown
    assert error_text("mine.csv", "file not found", None, "en") == "mine.csv: file not found"


def test_session_upload_folders_live_under_the_servers_folder(tmp_path, monkeypatch):
    from sim.app.app import UPLOADS_ENV, session_folder

    monkeypatch.setenv(UPLOADS_ENV, str(tmp_path / "uploads"))
    folder = session_folder()
    assert folder.parent == tmp_path / "uploads" and folder.is_dir()


# --- what the browser draws -------------------------------------------------------------------
def _rows(dataset) -> list[dict]:
    return [dict(zip(dataset["columns"], row, strict=True)) for row in dataset["rows"]]


def test_the_page_gets_data_that_changes_with_the_month_and_no_picture():
    import json

    from sim.app.views import CHARTS, MEASURES, charts_data, charts_spec, map_data, map_spec

    model = TeachingModel(**preset_settings("Integrated vs status quo", default_settings()))
    names = [run.spec.name for run in model.runs]
    for measure in MEASURES:
        spec = map_spec(model.estates, measure, names, "en")
        assert len(spec["hconcat"]) == 2 and json.dumps(spec)  # two maps, one key; plain JSON
    before = map_data(model.runs, "service quality", "en", 0)
    charts_before = charts_data(model.runs, names, "en", 0, model.start_records)
    for _ in range(2):
        model.step()
    after = map_data(model.runs, "service quality", "en", 1)
    charts_after = charts_data(model.runs, names, "en", 1, model.start_records)
    assert after["tables"]["estates_0"] != before["tables"]["estates_0"]
    assert len(charts_after["tables"]["series"]["rows"]) == 2 * 3  # two runs: the start and two months
    assert len(charts_before["tables"]["series"]["rows"]) == 2  # the start is charted before month 1
    # a month is a few kilobytes of data, not a picture
    assert len(json.dumps(after)) + len(json.dumps(charts_after)) < 60_000
    assert {"reform_cases_open", "firm_entries", "fallback_areas", "reception_cases_handled"} <= {
        column for column, _, _ in CHARTS}
    assert charts_spec(names, "en")["data"] == {"name": "series"}


def test_the_map_data_has_one_row_per_estate_with_its_card():
    from sim.app.views import map_rows

    model = TeachingModel(merge=True, entrust=True)
    model.step()
    estates, firms = map_rows(model.main, "en", "service quality")
    rows = _rows(estates)
    assert len(rows) == 106 and len(_rows(firms)) == int(model.main.firm_view().active.sum())
    card = next(r for r in rows if r["id"] == "Hongyi")
    assert card["card_0"].startswith("Hongyi (") and card["card_2"] == "after-sale public housing"
    assert all(0 <= r["value"] <= 1 for r in rows)


def test_the_map_and_its_card_speak_chinese_without_codes():
    from sim.app.views import map_rows, map_spec

    model = TeachingModel()
    estates, _ = map_rows(model.main, "zh", "management mode")
    card = next(r for r in _rows(estates) if r["id"] == "Hongyi")
    assert card["card_2"] == "售后公房" and "_" not in card["card_4"]
    spec = map_spec(model.estates, "management mode", ["现状"], "zh")
    dots = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    assert "无人管理" in dots["encoding"]["color"]["scale"]["domain"]
    titles = [t["title"] for layer in spec["layer"] for t in layer["encoding"].get("tooltip", [])]
    assert "小区" in titles and all(re.search(r"[\u4e00-\u9fff]", t) for t in titles)


def test_the_districts_firms_get_distinct_colours():
    from sim.app.views import firm_colour

    model = TeachingModel()
    firms = len(model.main.firms)
    assert firms >= 22
    assert len({firm_colour(i) for i in range(firms)}) == firms


def test_this_months_events_name_the_estates_to_highlight():
    from sim.app.views import estates_named

    events = [(1, "Merger of 2 areas (OY-075, OY-076) passed"), (1, "Firm 3 withdrew from Xiangde-3+OY-004"),
              (2, "OY-010 entrusted to firm 1")]
    named = estates_named(events, 1, ["OY-075", "OY-076", "OY-004", "Xiangde-3", "OY-010", "OY-07"])
    assert named.tolist() == [True, True, True, True, False, False]


def test_runs_start_from_one_kept_burn_in_and_step_on_exactly_as_runs_that_did_their_own():
    from sim.app import model as app_model
    from sim.run import make_model

    settings = preset_settings("Integrated vs status quo", default_settings())
    app_model._burn_ins.clear()
    kept = TeachingModel(**settings)
    assert len(app_model._burn_ins) == 1, "both runs of a comparison share the district's burn-in"
    again = TeachingModel(**settings)  # Reset: from the kept state, not a new burn-in
    assert again.main is not kept.main and len(app_model._burn_ins) == 1
    own = [make_model(run.spec, "vector") for run in kept.runs]  # each did its own burn-in
    for _ in range(14):
        for run in [*kept.runs, *again.runs, *own]:
            run.step()
    for i, run in enumerate(own):
        assert kept.runs[i].records == run.records and kept.runs[i].events == run.events
        assert again.runs[i].records == run.records
    assert kept.main.votes == again.main.votes


def test_kept_burn_ins_are_bounded_in_memory(monkeypatch):
    from sim.app import model as app_model

    app_model._burn_ins.clear()
    monkeypatch.setattr(app_model, "BURN_INS_BYTES", 1)  # room for one state only
    TeachingModel(rng=1)
    last = TeachingModel(rng=2, fee_after_sale_public=default_settings()["fee_after_sale_public"] + 0.1)
    assert list(app_model._burn_ins) == [app_model.burn_in_key(last.main.spec, "vector")]


def test_slider_positions_hold_the_default_and_every_presets_value_on_a_readable_grid():
    """A default between two slider positions would show one value and run another."""
    from sim.app.controls import slider_positions

    defaults = default_settings()
    for name in SLIDERS:
        positions = slider_positions(name)
        assert defaults[name] in positions, name
        for preset in LESSON_PRESETS.values():
            assert preset.get(name, defaults[name]) in positions, name
        assert len(positions) <= 45, f"{name}: {len(positions)} positions"
        assert SLIDERS[name].get("help"), f"{name} has no help text"


def test_a_setup_link_restores_the_lesson_settings_and_seed():
    from sim.app.controls import settings_from_link, setup_link

    settings = {**preset_settings("Fund dispute", default_settings()), "rng": 7}
    link = setup_link(settings)
    assert link.startswith("?") and "rng=7" in link
    assert settings_from_link(link) == settings
    assert settings_from_link("?rng=x&nonsense=1") == default_settings()


# --- monitors and exports --------------------------------------------------------------------
def test_tiles_show_every_worksheet_measure_and_the_difference():
    from sim.app.monitors import TILES, format_difference, format_tile, small_estates_quality, tile_values

    model = TeachingModel(**preset_settings("Integrated vs status quo", default_settings()))
    for _ in range(18):  # the reforms take their cases' months: by the second year they show
        model.step()
    keys = {key for key, _, _ in TILES}
    assert {"rc_workload", "small_estates_quality", "fund_per_m2", "service_quality", "active_firms",
            "management_areas", "fee_collection_rate", "satisfaction", "reform_cases_open",
            "firm_entries", "fallback_areas"} <= keys
    first, second = (tile_values(run) for run in model.runs)
    assert first["fallback_areas"] < second["fallback_areas"], "the integrated run finds firms for them"
    assert second["reform_cases_open"] == 0, "the status quo opens no reform case"
    assert first["management_areas"] < second["management_areas"]
    assert format_difference("management_areas", first["management_areas"],
                             second["management_areas"]).startswith("-")
    assert format_tile("fee_collection_rate", 0.5) == "50%"
    assert format_tile("rc_workload", float("nan")) == "–"
    table = estate_table(model.main)
    small = table[table["households"] < 100]
    assert small_estates_quality(model.main) == pytest.approx(
        np.average(small["quality"], weights=small["households"]))


def test_failed_mergers_show_each_estates_turnout_support_and_the_rule_that_decided():
    from sim.app.monitors import event_kind, events_frame, notable_events, round_summary

    model = TeachingModel(**preset_settings("Integrated vs status quo", default_settings()))
    for _ in range(12):
        model.step()
    events = events_frame(model.main)
    failed = events[events["kind"] == "vote failed"]
    assert not failed.empty
    for votes in failed["votes"]:
        assert re.search(r"turnout \d+%", votes)
        assert "said no" in votes or ": no vote" in votes
    # a merger's owners vote after its briefings; it passes months later, once the funds are pooled
    voted_for = events[events["text"].str.contains("voted for the merger")]
    assert not voted_for.empty and voted_for["kind"].eq("reform step").all()
    for votes in voted_for["votes"]:
        assert re.search(r"\d+% for: yes", votes) and "said no" not in votes and "no vote" not in votes
    passed = events[events["kind"] == "merger passed"]
    assert not passed.empty and passed["month"].min() > voted_for["month"].min()
    assert event_kind("Firm 4 left the market (no contract for a year)") == "firm left"
    assert event_kind("New firm 22 entered the market to serve OY-029") == "firm entered"
    assert event_kind("No firm for OY-075: the street office's fallback service took over") == "fallback"
    assert round_summary(model.main)[0][0] == 1 and "merger passed" in round_summary(model.main)[0][1]
    notable = notable_events(events)
    assert set(notable["kind"]) <= {"merger passed", "vote failed", "firm left", "fallback"}
    assert not notable.empty and list(notable["month"]) == sorted(notable["month"], reverse=True)


def test_the_replayed_turnout_decides_every_vote_as_the_engine_did():
    """The app re-draws each vote's numbers to read its turnout: Civil Code Art. 278 on them gives
    the engine's outcome, and the run itself steps exactly as one not watched."""
    from sim.app.event_text import vote_line
    from sim.vector_engine import VectorModel

    model = TeachingModel(**preset_settings("Harder votes", default_settings()))
    for _ in range(12):
        model.step()
    run, p = model.main, model.main.p
    assert len(run.votes) > 20
    for vote in run.votes:
        rule = (vote.turnout >= p.quorum_owner_share and vote.area_turnout >= p.quorum_area_share
                and vote.share > p.approval_owner_share and vote.yes_area > p.approval_area_share)
        assert rule == vote.passed, vote
        assert vote_line(vote, p).endswith(": yes") == vote.passed
    assert any(not v.passed for v in run.votes)
    unwatched = VectorModel(run.spec, rng=int(model.settings["rng"]))
    for _ in range(12):
        unwatched.step()
    assert [e.text for e in unwatched.event_log] == [e.text for e in run.event_log]


def test_every_event_line_reads_in_chinese():
    """The engine's English lines become Chinese from their kind and fields: no English word left
    but the district's own names; the English page shows the engine's text as it is."""
    from sim.app.event_text import event_line

    model = TeachingModel(**preset_settings("Integrated vs status quo", default_settings()))
    for _ in range(36):
        model.step()
    estates = model.estates
    names = {w for value in [*estates["estate_id"], *estates["block"]]
             for w in re.findall(r"[A-Za-z]+", value)}
    kinds = set()
    for run in model.runs:
        for event in run.event_log:
            assert event_line(event, "en") == event.text
            line = event_line(event, "zh")
            assert not set(re.findall(r"[A-Za-z]{2,}", line)) - names, (event.text, line)
            assert "?" not in line, (event.text, line)
            kinds.add(event.kind)
    assert {"merge", "merge_failed", "merge_proposal", "fee_vote", "firm_exit"} <= kinds


def test_csv_exports_hold_the_time_series_and_the_events():
    from sim.app.monitors import events_csv, timeseries_csv

    model = TeachingModel(**preset_settings("Integrated vs status quo", default_settings()))
    for _ in range(3):
        model.step()
    series = pd.read_csv(io.StringIO(timeseries_csv(model.runs)))
    assert len(series) == 6 and set(series["run"]) == {"integrated", "status quo"}
    assert {"month", "service_quality", "rc_workload", "fund_per_m2"} <= set(series.columns)
    events = pd.read_csv(io.StringIO(events_csv(model.runs)))
    assert len(events) == len(model.main.events) + len(model.comparison.events)
    assert {"run", "month", "kind", "text", "votes"} <= set(events.columns)


def test_events_panel_filters_by_kind_and_escapes():
    from sim.app.app import events_html

    table = pd.DataFrame([(1, "Year 1, month 1", "merger passed", "Merger of <b>A</b> passed", ""),
                          (14, "Year 2, month 2", "firm left", "Firm 7 left the market", "")],
                         columns=["month", "when", "kind", "text", "votes"])
    both = events_html(table, ["merger passed", "firm left"])
    assert "&lt;b&gt;A&lt;/b&gt;" in both and "<b>" not in both
    assert both.index("Year 2, month 2") < both.index("Year 1, month 1")
    assert "Firm 7" not in events_html(table, ["merger passed"])


# --- play ------------------------------------------------------------------------------------
def test_play_stops_at_the_horizon():
    from sim.app.app import play_loop

    model = TeachingModel()
    frames = []
    reason = play_loop(model, threading.Event(), months_per_second=1e6,
                       on_frame=lambda: frames.append(model.month), frame_seconds=0.0)
    assert reason == "horizon" and model.month == 240 and frames[-1] == 240


def test_play_stops_when_no_page_is_connected_and_steps_no_more():
    from sim.app.app import play_loop

    model = TeachingModel()
    connected = threading.Event()
    connected.set()

    def frame():
        if model.month >= 3:
            connected.clear()  # the tab closes after month 3

    reason = play_loop(model, threading.Event(), months_per_second=1e6, on_frame=frame,
                       connected=connected.is_set, frame_seconds=0.0, grace_seconds=0.05)
    assert reason == "page closed"
    assert 3 <= model.month < 240


def test_play_stops_when_cancelled():
    from sim.app.app import play_loop

    model = TeachingModel()
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    reason = play_loop(model, cancel, months_per_second=20, on_frame=lambda: None)
    assert reason == "paused" and model.month < 240


def test_play_cancelled_with_its_session_closing_says_so_and_draws_nothing_more():
    """Closing the tab closes the session: Solara cancels the play thread, no page is connected."""
    from sim.app.app import play_loop

    model = TeachingModel()
    cancel = threading.Event()
    cancel.set()
    frames = []
    assert play_loop(model, cancel, months_per_second=20, on_frame=lambda: frames.append(1),
                     connected=lambda: False) == "page closed"
    assert frames == [] and model.month == 0


def test_play_sends_no_new_frame_before_the_page_drew_the_last():
    from sim.app.app import play_loop
    from sim.app.frames import FrameGate

    model = TeachingModel()
    gate = FrameGate(ack_timeout_s=60, in_flight=0)
    sent = []

    def frame():
        sent.append(model.month)
        gate.sending(len(sent))
        if len(sent) == 1:  # the page draws the first frame late: 20 months later, however loaded
            threading.Thread(target=draw_late, daemon=True).start()
        elif len(sent) == 2:
            cancel.set()

    def draw_late():
        while model.month < sent[0] + 20 and not cancel.is_set():
            time.sleep(0.001)
        gate.on_drawn(1)

    cancel = threading.Event()
    play_loop(model, cancel, months_per_second=200, on_frame=frame, frame_seconds=0.0, page_ready=gate.ready)
    # months went on while the page drew, with no frame in between
    assert len(sent) == 3 and sent[1] - sent[0] >= 20, sent


def test_frame_gate_waits_for_the_page_or_its_timeout():
    from sim.app.frames import FrameGate

    gate = FrameGate(ack_timeout_s=0.2, in_flight=1)
    assert gate.ready()
    gate.sending(1)
    assert gate.ready(), "the next frame may be on its way while the page draws"
    gate.sending(2)
    assert not gate.ready()
    gate.on_drawn("not a number")
    assert not gate.ready()
    gate.on_drawn(1)
    assert gate.ready()
    gate.sending(3)
    time.sleep(0.25)
    assert gate.ready(), "a page that never says so gets its next frame after the timeout"


def test_sessions_draw_in_turn_first_asked_first_served():
    from sim.app.frames import FrameTurns

    turns = FrameTurns(concurrent=1, share=1.0)
    order, inside = [], []
    first_in = threading.Event()

    def draw(name: str) -> None:
        with turns.turn() as mine:
            assert mine
            inside.append(name)
            assert len(inside) == 1, "one frame at a time"
            order.append(name)
            first_in.set()
            time.sleep(0.05)
            inside.remove(name)

    threads = [threading.Thread(target=draw, args=("a",))]
    threads[0].start()
    first_in.wait(5)
    for name in "bcd":  # ask in this order while "a" draws
        threads.append(threading.Thread(target=draw, args=(name,)))
        threads[-1].start()
        while turns.waiting < len(threads) - 1:
            time.sleep(0.001)
    for thread in threads:
        thread.join(5)
    assert order == ["a", "b", "c", "d"]


def test_a_cancelled_session_leaves_the_queue_and_the_next_draws():
    from sim.app.frames import FrameTurns

    turns = FrameTurns(concurrent=1, share=0.5)
    cancel = threading.Event()
    got = []
    with turns.turn() as mine:
        assert mine
        waiter = threading.Thread(target=lambda: got.append(turns.turn(cancel).__enter__()))
        waiter.start()
        while turns.waiting < 1:
            time.sleep(0.001)
        cancel.set()
        waiter.join(5)
    assert got == [False] and turns.waiting == 0
    started = time.monotonic()
    with turns.turn() as mine:  # drawing keeps to half the time: the next waits about as long as it drew
        assert mine
    assert time.monotonic() - started < 1


def test_no_frame_starts_while_a_page_opens_until_it_drew_its_first_map():
    from sim.app.app import opening_gate
    from sim.app.frames import FrameTurns

    turns = FrameTurns(concurrent=2, share=1.0)
    gate = opening_gate(turns)
    got = []

    def draw() -> None:
        with turns.turn() as mine:
            got.append(mine)

    waiter = threading.Thread(target=draw)
    waiter.start()
    while turns.waiting < 1:
        time.sleep(0.001)
    time.sleep(0.2)
    assert got == [], "a frame started while a page was opening"
    gate.on_drawn(0)  # the new page drew its first map
    waiter.join(5)
    assert got == [True]
    gate.on_drawn(1)  # later frames hold nothing
    with turns.turn() as mine:
        assert mine


def test_a_page_that_never_draws_holds_the_frames_only_for_a_while():
    from sim.app.frames import FrameTurns

    turns = FrameTurns(concurrent=1, share=1.0)
    turns.opening(hold_s=0.3)
    started = time.monotonic()
    with turns.turn() as mine:
        assert mine
    assert 0.25 <= time.monotonic() - started < 5


def test_charts_and_events_change_every_few_frames_while_playing_and_at_every_frame_paused():
    from sim.app.app import SLOW_PARTS_EVERY, slow_part_due

    now = time.monotonic()
    assert slow_part_due(5, now, 6, live=False, every_s=2.0)
    assert not slow_part_due(5, now - 10, 5 + SLOW_PARTS_EVERY - 1, live=True, every_s=2.0)
    assert not slow_part_due(5, now, 5 + SLOW_PARTS_EVERY, live=True, every_s=2.0)
    assert slow_part_due(5, now - 10, 5 + SLOW_PARTS_EVERY, live=True, every_s=2.0)


def test_charts_send_only_the_months_since_the_page_drew_and_add_up_to_the_whole():
    from sim.app.views import charts_data, charts_months

    model = TeachingModel(**preset_settings("Integrated vs status quo", default_settings()))
    names = ["integrated", "status quo"]
    page = charts_data(model.runs, names, "en", 0, model.start_records)["tables"]["series"]["rows"]
    for _ in range(5):
        held = charts_months(model.runs)
        for _ in range(3):
            model.step()
        part = charts_data(model.runs, names, "en", 1, model.start_records, since=held)["tables"]["series"]
        assert part["from"] == len(page) and len(part["rows"]) == 2 * 3
        page = page[:part["from"]] + part["rows"]
    whole = charts_data(model.runs, names, "en", 2, model.start_records)["tables"]["series"]["rows"]
    assert page == whole and len(whole) == 2 * 16
    assert [row[0] for row in whole[:4]] == ["integrated", "status quo"] * 2, "month by month, runs together"


# --- About, maths, language --------------------------------------------------------------------
def test_odd_maths_is_drawn_on_the_server_and_code_is_left_alone():
    from sim.app.markdown import markdown_html, render_math

    page = markdown_html((ROOT / "docs" / "ODD.md").read_text(encoding="utf-8"))
    text = re.sub(r"<svg.*?</svg>", "", page, flags=re.DOTALL)
    assert page.count("<svg") > 50
    assert "$\\mathrm{clip}(x)$" not in text and "\\mathrm{clip}" not in re.sub(r'title="[^"]*"', "", text)
    assert render_math("`$x$` costs $5 and $6") == "`$x$` costs $5 and $6"


def test_no_part_of_the_page_uses_solaras_markdown():
    """Solara's Markdown fetches mermaid and KaTeX from a CDN on every page that shows it."""
    for path in (ROOT / "sim" / "app").glob("*.py"):
        assert "solara.Markdown(" not in path.read_text(encoding="utf-8"), path.name


def test_chinese_labels_cover_the_presets_tiles_and_policies():
    from sim.app.controls import policy_controls
    from sim.app.i18n import tr
    from sim.app.monitors import TILES

    for label in [*LESSON_PRESETS, *(label for _, label, _ in TILES),
                  *(c["label"] for c in policy_controls().values()), "Changes not applied — press Reset"]:
        assert re.search(r"[\u4e00-\u9fff]", tr(label, "zh")), label
        assert tr(label, "en") == label


# --- the page in process --------------------------------------------------------------------
def _readouts(box) -> list[str]:
    found = re.findall(r'estate-readout">((?:Start|Year \d+, month \d+) · [^<]*)<', repr(box))
    return [html.unescape(text) for text in found]


def test_page_steps_applies_presets_and_shows_unapplied_changes():
    """The Solara page without a browser: Step, a preset, a changed control, Reset."""
    import ipyvuetify as v
    import solara

    from sim.app.app import Page

    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert _readouts(box)[0].startswith("Start · status quo")
        rc.find(v.Btn, children=["Step"]).widget.click()
        rc.find(v.Btn, children=["Step"]).widget.click()
        assert _readouts(box)[0].startswith("Year 1, month 2 · status quo")
        rc.find(v.Btn, children=["Integrated vs status quo"]).widget.click()
        assert [r.split(":")[0] for r in _readouts(box)] == ["Start · integrated", "Start · status quo"]
        assert "Changes not applied" not in repr(box)
        rc.find(v.Btn, children=["☰ Controls"]).widget.click()
        rc.find(v.Checkbox, label="N-in-1 merger").widget.v_model = False
        assert "Changes not applied — press Reset" in repr(box)
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert "Changes not applied" not in repr(box)
        assert _readouts(box)[0].startswith("Start · management merger & strong leads weak & "
                                            "self-governance & block integration")
    finally:
        rc.close()


# --- the command and the server ---------------------------------------------------------------
def test_app_command_defaults_to_loopback_and_port_8765():
    from sim.app.server import DEFAULT_HOST, server_command

    args = build_parser().parse_args(["app"])
    assert (args.host, args.port) == ("127.0.0.1", 8765) == (DEFAULT_HOST, 8765)
    command = server_command()
    assert command[command.index("--host") + 1] == "127.0.0.1"


def test_server_environment_culls_idle_sessions_and_hides_the_badge(monkeypatch):
    from sim.app.server import IDLE_TIMEOUT, server_environment

    monkeypatch.delenv("SOLARA_KERNEL_CULL_TIMEOUT", raising=False)
    env = server_environment()
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == IDLE_TIMEOUT
    assert env["SOLARA_THEME_SHOW_BANNER"] == "False"
    assert "samesite" in env["PYTHONWARNINGS"]


def test_server_environment_hands_a_closed_sessions_memory_back(monkeypatch):
    from sim.app.server import STACK_CACHE_TUNABLE, server_environment

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=4")
    env = server_environment()
    assert env["ARROW_DEFAULT_MEMORY_POOL"] == "system"
    assert env["GLIBC_TUNABLES"] == f"glibc.malloc.tcache_count=4:{STACK_CACHE_TUNABLE}"


@pytest.mark.parametrize("port", ["0", "65536", "-3", "http", "80.5"])
def test_app_command_refuses_a_bad_port_with_exit_2(port, capsys):
    assert main(["app", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err.startswith("estate-sim: error: command line: --port") and len(err.splitlines()) == 1


def test_app_command_refuses_a_port_in_use_with_exit_2(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    assert "--port: cannot listen on 127.0.0.1:" in capsys.readouterr().err


def test_app_command_bad_port_from_the_shell_exits_2_without_traceback(cli):
    done = cli("app", "--port", "70000", timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "--port" in done.stderr


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_app_command_stopped_by_a_signal_stops_its_server_and_removes_uploads(stop, tmp_path):
    import socket

    from sim.app.server import server_environment

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)], cwd=ROOT,
                           env=server_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    try:
        deadline = time.monotonic() + 60
        server = None
        while server is None and time.monotonic() < deadline:
            children = _children(app.pid)
            server = children[0] if children else None
            time.sleep(0.2)
        assert server is not None, "estate-sim app started no server"
        environ = Path(f"/proc/{server}/environ").read_bytes().split(b"\0")
        uploads = Path(next(e for e in environ if e.startswith(b"ESTATE_SIM_UPLOADS=")).split(b"=", 1)[1]
                       .decode())
        assert uploads.is_dir()
        (uploads / "estate-sim-app-x").mkdir()
        assert os.getpgid(server) != os.getpgid(app.pid), "the server has no process group of its own"
        app.send_signal(stop)
        output, _ = app.communicate(timeout=30)
        assert app.returncode == 0, output
        deadline = time.monotonic() + 10
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(server), "the Solara server outlived `estate-sim app`"
        assert not uploads.exists(), "the upload folders were left behind"
        assert f"stopped by {stop.name}" in output
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def test_a_newly_registered_policy_gets_its_checkbox_and_runs_in_the_app():
    from sim.app.controls import policy_controls
    from sim.policies import Policy

    class Idle(Policy):
        """A policy that does nothing: enough to see the app follow the registry."""

        name = "idle_policy"
        label = "An idle policy"
        keys = {}

        def eligible(self, state):
            return np.zeros(len(state.area_view().firm), dtype=bool)

        def run(self, office, state):
            state.idle_policy_ran = True

    with REGISTRY.added(Idle()):
        assert policy_controls()["idle_policy"] == {"label": "An idle policy", "params": {}}
        assert default_settings()["idle_policy"] is False
        model = TeachingModel(**{**default_settings(), "idle_policy": True})
        model.step()
        assert model.main.spec.policies["idle_policy"] and model.main.idle_policy_ran
    assert "idle_policy" not in policy_controls()


def test_block_integration_rolls_out_as_the_controls_say():
    from sim.app.controls import OPTION_SLIDERS, policy_controls

    params = policy_controls()["block_integration"]["params"]
    assert {"block_start_year", "blocks_per_year", "reception_staff_hours_per_month",
            "block_subsidy_yuan_per_household"} <= set(params)
    defaults = default_settings()
    for name, control in OPTION_SLIDERS.items():
        assert control["min"] <= defaults[name] <= control["max"], name
    all_at_once = TeachingModel(block_integration=True, rng=1)
    rolled = TeachingModel(block_integration=True, block_start_year=2, blocks_per_year=3, rng=1,
                           compare_with="status quo")
    options = rolled.main.spec.policy_options["block_integration"]
    assert options["start_year"] == 2 and options["blocks_per_year"] == 3
    blocks = len(set(all_at_once.estates["block"]))
    assert blocks > 3
    integrated = {}
    for month in range(1, 25):
        all_at_once.step()
        rolled.step()
        integrated[month] = (all_at_once.main.records[-1].blocks_integrated,
                             rolled.main.records[-1].blocks_integrated)
    assert integrated[1] == (blocks, 0) and integrated[12] == (blocks, 0)
    assert integrated[13] == (blocks, 3) and integrated[24] == (blocks, 3)
    assert rolled.comparison.records[-1].blocks_integrated == 0


def test_the_reception_points_staff_hours_limit_the_cases_it_hears():
    def heard(hours: int) -> tuple[float, int]:
        model = TeachingModel(block_integration=True, reception_staff_hours_per_month=hours, rng=1)
        for _ in range(3):
            model.step()
        return model.main.records[-1].reception_cases_handled, model.main.records[-1].blocks_integrated

    assert heard(0)[0] == 0
    few, blocks = heard(5)  # two cases a block at 2.5 hours a case
    assert 0 < few <= 2 * blocks < heard(300)[0]


def test_seeds_run_in_a_worker_process_as_they_would_here():
    from sim.app.seeds import SEED_MEASURES, seed_outcomes, spread_rows, submit_seeds
    from sim.experiments.executors import process_pool, stop_pool

    settings = {**preset_settings("Integrated vs status quo", default_settings()),
                "district": "generated, 40 estates"}
    pool = process_pool(1)
    try:
        got = [future.result(timeout=300) for future in submit_seeds(settings, seeds=3, years=1, pool=pool)]
    finally:
        stop_pool(pool)
    assert got[0] == seed_outcomes(settings, settings["rng"], years=1)
    assert got[2] == seed_outcomes(settings, settings["rng"] + 2, years=1)
    assert got[0] != got[1] and all(len(seed) == 2 for seed in got)
    rows = spread_rows(got, ["integrated", "status quo"])
    assert [row["measure"] for row in rows] == [label for _, label, _ in SEED_MEASURES]
    areas = next(row for row in rows if row["measure"] == "Management areas")
    counts = sorted(seed[0]["management_areas"] for seed in got)
    assert areas["integrated"] == f"{counts[1]:.0f} [{counts[0]:.0f}, {counts[2]:.0f}]"
    ahead = sum(seed[0]["management_areas"] > seed[1]["management_areas"] for seed in got)
    assert areas["first ahead"] == f"{ahead}/3"

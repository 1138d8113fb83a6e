"""docs/TEACHING.md's expected answers, each produced by running the model the way the lesson does.

Every run is what the app shows after the lesson's preset: the vectorized engine (the app's), the
app's default seed (1), Ouyang Road, ten years unless the lesson says otherwise. When a
mechanism changes and one of these fails, the lesson's notes must change with it.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from sim.app.controls import default_settings, preset_settings
from sim.app.model import TeachingModel, estate_table
from sim.app.monitors import TILES, event_kind, format_tile, tile_values

TEACHING = Path(__file__).resolve().parents[1] / "docs" / "TEACHING.md"

YEARS = 10


@cache
def played(preset: str, years: int = YEARS, **changes) -> TeachingModel:
    """The model of a lesson preset (with some controls changed) after `years` years."""
    model = TeachingModel(**{**preset_settings(preset, default_settings()), **changes})
    for _ in range(12 * years):
        model.step()
    return model


def measures(run) -> dict[str, float]:
    return tile_values(run)


def kinds(run, month: int | None = None) -> Counter:
    return Counter(event_kind(text) for m, text in run.events if month is None or m == month)


# --- 5-13 min: the status quo -----------------------------------------------------------------
def test_q3_in_the_status_quo_the_smallest_estates_are_served_worst():
    run = played("Status quo", 5).main
    values = measures(run)
    assert values["small_estates_quality"] < values["service_quality"] - 0.2


def test_q5_in_the_status_quo_firms_leave_the_market():
    run = played("Status quo").main
    assert run.records[-1].active_firms < run.records[0].active_firms
    assert kinds(run)["firm left"] > 0


# --- 13-23 min: integrated side by side with the status quo ---------------------------------------
def test_q6_year_one_month_one_mergers_pass_and_fail_and_estates_are_entrusted():
    model = played("Integrated vs status quo", 1)
    month_one = kinds(model.main, month=1)
    assert month_one["merger passed"] >= 5 and month_one["vote failed"] >= 1
    assert month_one["entrusted"] >= 20


def test_q6_merged_estates_are_neighbours_of_one_housing_type():
    table = estate_table(played("Integrated vs status quo", 1).main)
    merged = table[table["area_size"] > 1]
    assert not merged.empty
    for _, members in merged.groupby("area_id"):
        assert members["housing_type"].nunique() == 1 and members["block"].nunique() == 1


def test_q7_integrated_beats_the_status_quo_most_on_workload_least_on_fee_collection():
    integrated, status_quo = (measures(run) for run in played("Integrated vs status quo").runs)
    gains = {key: integrated[key] - status_quo[key]
             for key in ("service_quality", "fee_collection_rate", "satisfaction")}
    assert gains["service_quality"] > 0.1 and gains["satisfaction"] > 0.1
    assert 0 < gains["fee_collection_rate"] < min(gains["service_quality"], gains["satisfaction"])
    assert integrated["rc_workload"] < 0.5 * status_quo["rc_workload"]
    assert integrated["management_areas"] < status_quo["management_areas"]


def test_q8_satisfaction_lags_behind_service_quality():
    integrated, status_quo = played("Integrated vs status quo").runs

    def gap(month: int, column: str) -> float:
        return (getattr(integrated.records[month - 1], column)
                - getattr(status_quo.records[month - 1], column))

    last = 12 * YEARS
    assert gap(3, "service_quality") / gap(last, "service_quality") > \
        2 * gap(3, "satisfaction") / gap(last, "satisfaction")


def test_q9_integrated_ends_with_fewer_firms_many_leaving_at_the_end_of_year_one():
    integrated, status_quo = played("Integrated vs status quo").runs
    assert integrated.records[-1].active_firms < status_quo.records[-1].active_firms
    exits_month_12 = sum(1 for m, text in integrated.events if m == 12 and "left the market" in text)
    assert exits_month_12 >= 5


# --- 23-33 min: which part does the work? --------------------------------------------------------
GROUPS = ("Group A: N-in-1 merger", "Group B: strong leads weak", "Group C: self-governance",
          "Group D: block integration")


def test_q10_self_governance_alone_does_most_for_the_smallest_estates_more_than_all_four():
    small = {group: measures(played(group).main)["small_estates_quality"] for group in GROUPS}
    assert max(small, key=small.get) == "Group C: self-governance"
    all_four = measures(played("Integrated vs status quo").main)["small_estates_quality"]
    assert small["Group C: self-governance"] > all_four + 0.1
    status_quo = measures(played("Integrated vs status quo").comparison)["small_estates_quality"]
    assert all(value > status_quo for value in small.values())


def test_q10_all_four_together_give_the_best_district_wide_quality():
    quality = {group: measures(played(group).main)["service_quality"] for group in GROUPS}
    assert measures(played("Integrated vs status quo").main)["service_quality"] > max(quality.values())


def test_group_d_block_integration_lightens_the_committees_workload_most():
    workload = {group: measures(played(group).main)["rc_workload"] for group in GROUPS}
    assert min(workload, key=workload.get) == "Group D: block integration"


def test_group_d_the_yearly_evaluation_takes_no_contract_at_the_default_threshold():
    assert kinds(played("Group D: block integration").main)["evaluation"] == 0


def test_group_a_merging_leaves_fewer_areas_under_200_households():
    merged, status_quo = played("Group A: N-in-1 merger").runs
    assert merged.records[-1].areas_lt200 < status_quo.records[-1].areas_lt200


def test_group_b_entrusting_shows_purple_estates_and_fewer_firms():
    entrusted, status_quo = played("Group B: strong leads weak").runs
    assert (estate_table(entrusted)["mode_name"] == "entrusted").sum() >= 20
    assert entrusted.records[-1].active_firms < status_quo.records[-1].active_firms


# --- 33-40 min: what can go wrong -------------------------------------------------------------
def test_q11_harder_votes_let_at_most_one_merger_through_and_entrustments_collapse():
    harder = played("Harder votes", 1).main
    default = played("Integrated vs status quo", 1).main
    assert harder.records[-1].merges_done <= 1 and harder.records[-1].merge_votes_failed >= 10
    assert kinds(default, month=1)["entrusted"] >= 30 and kinds(harder, month=1)["entrusted"] <= 3


def test_q12_a_strong_fund_dispute_lets_fewer_mergers_through():
    dispute = played("Fund dispute", 1).main.records[-1].merges_done
    default = played("Integrated vs status quo", 1).main.records[-1].merges_done
    assert 0 < dispute < default


# --- the notes' numbers ---------------------------------------------------------------------
def year_one_counts() -> str:
    """The notes' sentence on year one, from the model."""
    integrated = kinds(played("Integrated vs status quo", 1).main, month=1)
    harder = played("Harder votes", 1).main
    dispute = played("Fund dispute", 1).main.records[-1].merges_done
    words = {1: "one", 4: "four", 7: "seven", 9: "nine", 15: "fifteen"}

    def say(n: int) -> str:
        return words.get(n, str(n))

    last = harder.records[-1]
    return (f"{say(integrated['merger passed'])} mergers pass, {say(integrated['vote failed'])} fail and "
            f"{integrated['entrusted']} estates are entrusted to strong firms. With approval share 0.75 "
            f"{say(last.merges_done)} merger still passes ({say(last.merge_votes_failed)} "
            f"fail) and entrustments fall from {integrated['entrusted']} to "
            f"{say(kinds(harder, month=1)['entrusted'])}; with a fund dispute of strength 3, "
            f"{say(dispute)} mergers pass instead of {say(integrated['merger passed'])}.")


TABLE_MEASURES = ("service_quality", "fee_collection_rate", "satisfaction", "small_estates_quality",
                  "management_areas", "active_firms", "rc_workload", "fund_per_m2")


def teaching_table() -> list[str]:
    """The notes' table: the tiles after ten years, status quo, integrated and groups A-D."""
    integrated = played("Integrated vs status quo")
    runs = [integrated.comparison, integrated.main, *(played(group).main for group in GROUPS)]
    values = [measures(run) for run in runs]
    labels = {key: label for key, label, _ in TILES}
    return [f"  | {labels[key]} | " + " | ".join(format_tile(key, v[key]) for v in values) + " |"
            for key in TABLE_MEASURES]


def _normalised(text: str) -> str:
    return " ".join(text.split())


def test_the_notes_quote_the_models_year_one_numbers():
    assert _normalised(year_one_counts()) in _normalised(TEACHING.read_text(encoding="utf-8"))


def test_the_notes_table_is_the_models_tiles_after_ten_years():
    text = TEACHING.read_text(encoding="utf-8")
    for row in teaching_table():
        assert row in text.splitlines(), f"docs/TEACHING.md lacks the row\n{row}"


def test_q13_tired_volunteers_thin_out_and_the_smallest_estates_lose_service():
    tired = measures(played("Tired volunteers", 5).main)
    rested = measures(played("Group C: self-governance", 5).main)
    assert tired["volunteer_rate"] < 0.5 * rested["volunteer_rate"]
    assert tired["small_estates_quality"] < rested["small_estates_quality"] - 0.1


# --- 40-45 min: debrief ------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [2, 3])
def test_q14_the_direction_holds_with_other_seeds(seed):
    integrated, status_quo = played("Integrated vs status quo", rng=seed).runs
    assert measures(integrated)["service_quality"] > measures(status_quo)["service_quality"] + 0.1
    assert measures(integrated)["satisfaction"] > measures(status_quo)["satisfaction"] + 0.1

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
from sim.params import Params

P = Params()

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


def test_q5_in_the_status_quo_firms_leave_the_market_and_others_enter():
    """The status quo is at rest: its market turns over (firms leave, others enter) at about its size."""
    run = played("Status quo").main
    counts = kinds(run)
    assert counts["firm left"] > 0 and counts["firm entered"] > 0
    start, end = run.records[0].active_firms, run.records[-1].active_firms
    assert abs(end - start) <= 0.15 * start


def test_q5_in_the_status_quo_the_street_office_serves_the_areas_no_firm_will_take():
    run = played("Status quo").main
    for record in (run.records[0], run.records[-1]):  # "about one area in twenty"
        assert 0.02 < record.fallback_areas / record.management_areas < 0.1
    table = estate_table(run)
    fallback = table[table["mode_name"] == "fallback"]
    assert fallback["households"].median() < table["households"].median()
    texts = [text for month, text in run.events if month == 1]
    assert any("above the guided cap" in text for text in texts)
    assert any("drew no bid" in text for text in texts)


# --- 13-23 min: integrated side by side with the status quo ---------------------------------------
def reform_timeline(run) -> dict[str, int]:
    """When the integrated run's reforms happen: proposals, votes, first merger, cases open."""
    passed = [m for m, text in run.events if event_kind(text) == "merger passed"]
    return {"proposed_month_1": sum(1 for m, text in run.events
                                    if m == 1 and text.startswith("Merger of") and "proposed" in text),
            "first_vote": min(m for m, text in run.events
                              if "voted for the merger" in text or "failed its owners' vote" in text),
            "first_merger": min(passed), "merger_years": len({(m - 1) // 12 for m in passed}),
            "most_cases_open": max(r.reform_cases_open for r in run.records)}


def test_q6_reforms_are_cases_that_take_months_and_spread_over_years():
    run = played("Integrated vs status quo").main
    timeline = reform_timeline(run)
    capacity = int(run.p.reform_staff_hours_per_month // run.p.briefing_hours_per_month)  # cases at once
    assert timeline["proposed_month_1"] == capacity
    # later stages take fewer staff-hours (fund merging, hand-over), so more cases can be open then,
    # but never more hours than the office has
    assert max(r.reform_hours for r in run.records) <= run.p.reform_staff_hours_per_month + 1e-9
    assert timeline["most_cases_open"] <= run.p.reform_staff_hours_per_month // run.p.handover_hours_per_month
    assert kinds(run, month=1)["merger passed"] == 0 and kinds(run, month=1)["entrusted"] == 0
    assert kinds(run, month=1)["block integration"] > 0
    assert timeline["first_vote"] == 1 + run.p.merge_briefing_months
    assert timeline["first_merger"] > timeline["first_vote"]
    assert timeline["merger_years"] >= 3


def test_q6_merged_estates_are_neighbours_of_one_housing_type():
    table = estate_table(played("Integrated vs status quo").main)
    merged = table[table["area_size"] > 1]
    assert not merged.empty
    for _, members in merged.groupby("area_id"):
        assert members["housing_type"].nunique() == 1 and members["block"].nunique() == 1


def test_q7_integrated_changes_the_arrangements_most_and_the_averages_a_little():
    """Areas, firms and the fallback change most; quality and satisfaction rise a little; the
    residents' committee spends more hours, its staff sitting at the reception points."""
    integrated, status_quo = (measures(run) for run in played("Integrated vs status quo").runs)
    gains = {key: integrated[key] - status_quo[key] for key in ("service_quality", "satisfaction")}
    assert 0 < gains["satisfaction"] < 0.05 and 0 < gains["service_quality"] < 0.05
    assert integrated["rc_workload"] > status_quo["rc_workload"] > 0
    assert integrated["management_areas"] < status_quo["management_areas"]
    assert integrated["fallback_areas"] < status_quo["fallback_areas"]


def test_q8_satisfaction_rises_less_than_service_quality():
    """Being heard moves only the households whose own case was heard: few a year."""
    integrated, status_quo = (measures(run) for run in played("Integrated vs status quo").runs)
    assert 0 < integrated["satisfaction"] - status_quo["satisfaction"] < \
        integrated["service_quality"] - status_quo["service_quality"]
    run = played("Integrated vs status quo").main
    brought = sum(r.cases_brought for r in run.records[-12:])
    assert brought < 0.1 * run.records[-1].management_areas * 250  # a few per cent of households a year


def test_q9_integrated_ends_with_fewer_firms_and_fewer_areas_on_the_fallback_service():
    integrated, status_quo = played("Integrated vs status quo").runs
    assert integrated.records[-1].active_firms < status_quo.records[-1].active_firms
    assert kinds(integrated)["firm left"] > 0 and integrated.records[-1].firm_entries > 0
    assert 4 * integrated.records[-1].fallback_areas <= status_quo.records[-1].fallback_areas


# --- 23-33 min: which part does the work? --------------------------------------------------------
GROUPS = ("Group A: N-in-1 merger", "Group B: strong leads weak", "Group C: self-governance",
          "Group D: block integration")


def test_q10_merging_alone_does_most_for_the_smallest_estates_self_governance_alone_least():
    small = {group: measures(played(group).main)["small_estates_quality"] for group in GROUPS}
    all_four = measures(played("Integrated vs status quo").main)["small_estates_quality"]
    status_quo = measures(played("Integrated vs status quo").comparison)["small_estates_quality"]
    assert max(small, key=small.get) == "Group A: N-in-1 merger"
    assert status_quo < all_four
    assert min(small, key=small.get) == "Group C: self-governance"
    assert small["Group C: self-governance"] < status_quo
    assert all(value > status_quo for group, value in small.items() if group != "Group C: self-governance")


def test_q10_all_four_together_give_the_best_district_wide_quality():
    quality = {group: measures(played(group).main)["service_quality"] for group in GROUPS}
    assert measures(played("Integrated vs status quo").main)["service_quality"] > max(quality.values())


def test_group_d_block_integration_asks_most_of_the_residents_committees_hours():
    workload = {group: measures(played(group).main)["rc_workload"] for group in GROUPS}
    assert max(workload, key=workload.get) == "Group D: block integration"


def test_group_d_a_small_reception_point_hears_fewer_cases_and_costs_fewer_hours():
    full = played("Group D: block integration").main.records[-1]
    small = played("Group D: block integration", reception_staff_hours_per_month=20).main.records[-1]
    assert small.reception_hours < full.reception_hours
    assert small.reception_cases_handled < full.reception_cases_handled
    assert small.reception_cases_handled <= full.blocks_integrated * 8  # 20 hours: 8 cases a block
    assert small.rc_workload < full.rc_workload


def test_group_d_the_yearly_evaluation_runs_from_year_two_and_takes_contracts():
    run = played("Group D: block integration").main
    evaluations = [m for m, text in run.events if event_kind(text) == "evaluation"]
    assert evaluations and min(evaluations) > 12
    assert any("lost" in text for _, text in run.events if event_kind(text) == "evaluation")


def test_group_a_merging_leaves_fewer_areas_under_200_households():
    merged, status_quo = played("Group A: N-in-1 merger").runs
    assert merged.records[-1].areas_lt200 < status_quo.records[-1].areas_lt200


def test_group_b_entrusting_shows_purple_estates_and_fewer_firms():
    entrusted, status_quo = played("Group B: strong leads weak").runs
    assert (estate_table(entrusted)["mode_name"] == "entrusted").sum() >= 5  # several purple estates
    assert entrusted.records[-1].active_firms < status_quo.records[-1].active_firms


# --- 33-40 min: what can go wrong -------------------------------------------------------------
def test_q11_harder_votes_fail_more_often_and_let_no_more_mergers_through():
    harder = played("Harder votes").main
    default = played("Integrated vs status quo").main
    assert harder.records[-1].merges_done <= default.records[-1].merges_done
    assert harder.records[-1].merge_votes_failed > 1.2 * default.records[-1].merge_votes_failed


def test_q12_without_the_fund_dispute_more_mergers_pass():
    no_dispute = played("Fund dispute").main.records[-1].merges_done
    default = played("Integrated vs status quo").main.records[-1].merges_done
    assert 0 < default < no_dispute


# --- the notes' numbers ---------------------------------------------------------------------
WORDS = {0: "no", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
         8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}


def say(n: int) -> str:
    """A small count in words, a larger one in digits."""
    return WORDS.get(n, str(n))


def shared(run) -> int:
    """Management-only mergers done in a run (their events)."""
    return sum(1 for _, text in run.events if "management-only merger; each keeps" in text)


def reform_counts() -> str:
    """The notes' sentence on the reforms over ten years, from the model."""
    integrated = played("Integrated vs status quo").main
    timeline = reform_timeline(integrated)
    last = integrated.records[-1]
    harder = played("Harder votes").main
    dispute = played("Fund dispute").main.records[-1].merges_done
    entrusted_words = "estate is" if kinds(harder)["entrusted"] == 1 else "estates are"
    return (f"In month 1 of the integrated run the street office opens {say(timeline['proposed_month_1'])} "
            f"merger cases (as many as its staff-hours allow); the owners vote in month "
            f"{timeline['first_vote']}, after the briefings, and the first merger completes in month "
            f"{timeline['first_merger']}. In ten years {say(last.merges_done)} mergers pass (in "
            f"{say(timeline['merger_years'])} different years), {last.merge_votes_failed} merger votes "
            f"fail (a failed merger is put to the vote again {P.vote_retry_months} months later) and "
            f"{say(kinds(integrated)['entrusted'])} estates are entrusted to strong firms, "
            f"{say(shared(integrated))} {'group' if shared(integrated) == 1 else 'groups'} of neighbours "
            f"{'comes' if shared(integrated) == 1 else 'come'} to share one firm (merged in management "
            "only); the district "
            f"ends with {last.management_areas} management areas. With approval share 0.75 "
            f"{say(harder.records[-1].merges_done)} "
            f"{'merger passes' if harder.records[-1].merges_done == 1 else 'mergers pass'} in ten years "
            f"({harder.records[-1].merge_votes_failed} votes fail) and "
            f"{say(kinds(harder)['entrusted'])} {entrusted_words} entrusted; "
            "with no fund dispute, "
            f"{say(dispute)} mergers pass instead of {say(last.merges_done)}.")


TABLE_MEASURES = ("service_quality", "fee_collection_rate", "satisfaction", "small_estates_quality",
                  "management_areas", "active_firms", "rc_workload", "fund_per_m2", "fallback_areas",
                  "firm_entries")


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


def test_the_notes_quote_the_models_reform_numbers():
    assert _normalised(reform_counts()) in _normalised(TEACHING.read_text(encoding="utf-8"))


def test_the_notes_table_is_the_models_tiles_after_ten_years():
    text = TEACHING.read_text(encoding="utf-8")
    for row in teaching_table():
        assert row in text.splitlines(), f"docs/TEACHING.md lacks the row\n{row}"


def test_q13_tired_volunteers_thin_out_and_the_smallest_estates_lose_service():
    tired = measures(played("Tired volunteers", 5).main)
    rested = measures(played("Group C: self-governance", 5).main)
    assert tired["volunteer_rate"] < 0.5 * rested["volunteer_rate"]
    assert tired["small_estates_quality"] < rested["small_estates_quality"] - 0.01
    assert tired["service_quality"] < rested["service_quality"] - 0.05


# --- 40-45 min: debrief ------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [2, 3])
def test_q14_the_direction_holds_with_other_seeds(seed):
    integrated, status_quo = (measures(run) for run in played("Integrated vs status quo", rng=seed).runs)
    assert integrated["service_quality"] > status_quo["service_quality"]
    assert integrated["satisfaction"] > status_quo["satisfaction"]
    assert integrated["rc_workload"] > status_quo["rc_workload"]
    assert integrated["fallback_areas"] < status_quo["fallback_areas"]
    assert integrated["management_areas"] < status_quo["management_areas"]

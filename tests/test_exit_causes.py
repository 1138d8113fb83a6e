"""Why a firm loses a contract at a merger (docs/ODD.md, 7.10 and the firms table): outbid when the
merged area's tender was open to it and a better firm won, lost to the reform when it could not bid."""

from __future__ import annotations

import pandas as pd

from sim.calibration import MARKET_EXITS
from sim.run import make_model
from sim.scenario import scenario_from_mapping

SMALL_NEIGHBOURS = pd.DataFrame({
    # three small after-sale estates of one block, each with a firm of its own at the start, and a
    # large commodity estate whose firm may bid for the merged area
    "estate_id": ["A", "B", "C", "D"], "households": [120, 90, 150, 900],
    "floor_area_m2": [7000.0, 5000.0, 9500.0, 60000.0],
    "housing_type": ["after_sale_public"] * 3 + ["commodity"],
    "x_m": [0.0, 120.0, 60.0, 400.0], "y_m": [0.0, 30.0, 140.0, 400.0], "block": ["X"] * 4,
})
MERGING = {"merge_support": 0.95, "vote_participation": 0.95, "burn_in_years": 1}


def _lost_at_the_merger(tmp_path, engine: str, reach_m: float) -> tuple[dict, list]:
    SMALL_NEIGHBOURS.to_csv(tmp_path / "neighbours.csv", index=False)
    scenario = scenario_from_mapping({"name": "merging", "district": {"csv": "neighbours.csv"},
                                      "policy": {"merge": {"enabled": True}}, "years": 2, "seed": 4,
                                      "params": {**MERGING, "firm_reach_m": reach_m}},
                                     str(tmp_path / "s.yaml"), tmp_path)
    model = make_model(scenario, engine)
    for _ in range(24):
        model.step()
    merges = [e for e in model.event_log if e.kind == "merge"]
    lost = model.street_office.lost_contracts  # both engines share the street office (sim/street_office.py)
    return {firm: dict(causes) for firm, causes in lost.items()}, merges


def test_an_incumbent_that_could_bid_in_the_merged_areas_tender_and_lost_was_outbid(tmp_path, engine):
    lost, merges = _lost_at_the_merger(tmp_path, engine, reach_m=1500.0)
    assert len(merges) == 1  # the precondition: the merger happened
    assert lost and all(set(causes) == {"outbid"} for causes in lost.values()), lost


def test_an_incumbent_out_of_the_tenders_reach_lost_its_site_to_the_reform(tmp_path, engine):
    """With a reach of 1 m no firm can bid: the merged area keeps its most capable incumbent, and the
    other incumbent, which could not bid, lost its site to the reform, not to competition."""
    lost, merges = _lost_at_the_merger(tmp_path, engine, reach_m=1.0)
    assert len(merges) == 1
    assert lost and all(set(causes) == {"reform"} for causes in lost.values()), lost


def test_the_record_counts_firms_outbid_as_eliminated_by_the_market_and_not_those_a_reform_moved():
    assert {"outbid", "performance", "withdrawal", "losses"} == set(MARKET_EXITS)

"""What `estate-sim run` writes (the output contract, docs/ODD.md section 8); a seed reproduces it."""

import json

import pandas as pd
import pytest
import yaml

TIMESERIES_CONTRACT = [
    "run_id", "month", "year", "service_quality", "fee_collection_rate", "satisfaction",
    "management_areas", "areas_lt100", "areas_lt200", "active_firms", "firm_exits",
    "incidents_per_1000hh", "fund_per_m2", "cost_per_household", "firm_margin",
    "committee_coverage", "rc_workload", "volunteer_rate", "merges_done", "merge_votes_failed",
    "volunteer_hours_per_household", "blocks_integrated", "reform_cases_open", "reception_cases_handled",
    "tenders_held", "tenders_awarded", "fee_votes_held", "fee_votes_passed", "firm_entries",
    "fallback_areas", "unmanaged_areas", "mean_fee_yuan_per_m2", "cases_brought", "cases_heard",
    "cases_resolved", "rc_hours", "reception_hours", "estates_with_firm_share", "reform_hours",
]
AREAS_CONTRACT = [
    "area_id", "estates", "households", "floor_area_m2", "housing_type", "mode", "firm_id",
    "service_quality", "fee_collection_rate", "satisfaction", "fund_per_m2", "fee_yuan_per_m2",
]
ESTATES_CONTRACT = [
    "estate_id", "area_id", "households", "housing_type", "block", "how", "joined_month", "mode",
    "firm_id", "service_quality", "satisfaction", "fee_collection_rate", "case_id", "routes",
]
EVENTS_CONTRACT = ["month", "kind", "area_id", "estates", "firm_id", "support", "passed", "text", "case_id"]
FIRMS_CONTRACT = [
    "firm_id", "strong", "capability", "entered_month", "exited_month", "exit_reason", "contracts",
    "margin", "exit_cause",
]
TABLES = ["timeseries", "areas", "estates", "events", "firms"]
RUN_JSON_KEYS = ["scenario", "scenario_hash", "seed", "engine", "package_version", "wall_time_s"]
YEARS = 2
ALL_POLICIES_ON = {block: {"enabled": True}
                   for block in ("merge", "management_merge", "entrust", "self_governance",
                                 "block_integration")}


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    """A small generated district with every policy on, so merges and votes happen."""
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(yaml.safe_dump({
        "name": "small", "years": YEARS, "seed": 11,
        "district": {"generate": {"estates": 12, "seed": 5, "size_scale": 0.5}},
        "policy": ALL_POLICIES_ON,
    }))
    return path


@pytest.fixture(scope="module")
def run_once(scenario_file, tmp_path_factory, cli):
    """`estate-sim run` on an engine, in a format, with a seed, into a new folder; each distinct
    run (repeat counts as distinct) is done once for the module."""
    done = {}

    def run(engine: str, fmt: str = "parquet", seed: int = 3, repeat: int = 0):
        key = (engine, fmt, seed, repeat)
        if key not in done:
            out = tmp_path_factory.mktemp("run")
            proc = cli("run", scenario_file, "--out", out, "--quiet", "--engine", engine,
                       "--format", fmt, "--seed", seed)
            assert proc.returncode == 0, proc.stderr
            assert proc.stderr == ""
            done[key] = out
        return done[key]

    return run


def read(path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


# --- the contract -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_run_writes_exactly_its_five_tables_and_run_json(run_once, engine, fmt):
    out = run_once(engine, fmt)

    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{table}.{fmt}" for table in TABLES] + ["run.json"])


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_estates_events_and_firms_have_the_contract_columns(run_once, engine, fmt):
    out = run_once(engine, fmt)
    estates, events, firms = (read(out / f"{t}.{fmt}") for t in ("estates", "events", "firms"))

    assert list(estates.columns) == ESTATES_CONTRACT
    assert list(events.columns) == EVENTS_CONTRACT
    assert list(firms.columns) == FIRMS_CONTRACT
    assert len(estates) == 12  # every estate of the district, merged or not
    assert set(estates["how"]) <= {"merged", "management_merged", "entrusted", "self_governed", "none"}


def test_the_estates_table_says_which_estates_merged_when_and_by_which_vote(run_once, engine):
    out = run_once(engine)
    estates, events = read(out / "estates.parquet"), read(out / "events.parquet")
    merges = events[events["kind"] == "merge"]
    merged = estates[estates["how"] == "merged"]

    assert len(merges) > 0, "the fixture's district should see a merger in two years"
    voted = {estate for group in merges["estates"] for estate in group.split("+")}
    assert set(merged["estate_id"]) <= voted
    month_of = {e: m for group, m in zip(merges["estates"], merges["month"], strict=True)
                for e in group.split("+")}
    assert all(merged["joined_month"] == merged["estate_id"].map(month_of))
    assert (merges["passed"] == True).all() and merges["support"].between(0, 1).all()  # noqa: E712
    assert (estates.loc[estates["how"] == "none", "joined_month"] == 0).all()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_timeseries_has_the_contract_columns_in_order_one_row_per_month(run_once, engine, fmt):
    ts = read(run_once(engine, fmt) / f"timeseries.{fmt}")

    assert list(ts.columns) == TIMESERIES_CONTRACT
    assert list(ts["month"]) == list(range(1, 12 * YEARS + 1))
    assert ts["run_id"].nunique() == 1


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_areas_has_the_contract_columns_in_order(run_once, engine, fmt):
    areas = read(run_once(engine, fmt) / f"areas.{fmt}")

    assert list(areas.columns) == AREAS_CONTRACT
    assert len(areas) >= 1


def test_run_json_says_what_made_the_run(run_once, engine, scenario_file):
    meta = json.loads((run_once(engine) / "run.json").read_text())

    for key in RUN_JSON_KEYS:
        assert key in meta
    assert meta["engine"] == engine
    assert meta["seed"] == meta["scenario"]["seed"] == 3  # --seed overrides the file's 11
    assert meta["scenario"]["years"] == YEARS
    assert meta["scenario"]["policies"] == {name: True for name in ALL_POLICIES_ON}
    assert meta["scenario"]["params"]["merge_max_group"] == 3  # every parameter, resolved
    assert len(meta["scenario_hash"]) == 64


# --- reproducibility ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_scenario_and_seed_give_byte_identical_tables(run_once, engine, fmt):
    first = run_once(engine, fmt)
    again = run_once(engine, fmt, repeat=1)

    for table in TABLES:
        assert (first / f"{table}.{fmt}").read_bytes() == (again / f"{table}.{fmt}").read_bytes()


def test_same_scenario_and_seed_give_the_same_run_json_but_wall_time(run_once, engine):
    first = json.loads((run_once(engine) / "run.json").read_text())
    again = json.loads((run_once(engine, repeat=1) / "run.json").read_text())

    first.pop("wall_time_s")
    again.pop("wall_time_s")
    assert first == again


def test_another_seed_gives_different_output(run_once, engine):
    one = run_once(engine, "csv", seed=3)
    other = run_once(engine, "csv", seed=4)

    assert (one / "timeseries.csv").read_bytes() != (other / "timeseries.csv").read_bytes()
    ts_one, ts_other = read(one / "timeseries.csv"), read(other / "timeseries.csv")
    assert not ts_one["satisfaction"].equals(ts_other["satisfaction"])
    meta_one = json.loads((one / "run.json").read_text())
    meta_other = json.loads((other / "run.json").read_text())
    assert meta_one["scenario_hash"] == meta_other["scenario_hash"]  # the seed is not in the hash
    assert (meta_one["seed"], meta_other["seed"]) == (3, 4)

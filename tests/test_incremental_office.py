"""The incremental street office against the full scan it replaces, after random changes.

What the street office keeps between calls (the free areas, the exhausted areas, each block's
management-only groups) must be, after any sequence of changes, exactly what scanning every area
afresh gives; and whole runs with what is kept must be the runs that scan every month.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.params import Params
from sim.policies.base import ReformCase
from sim.policies.management_merge import ManagementGroupMemory, management_groups
from sim.policies.merge import MergeGroupMemory, merge_groups_by_block
from sim.street_office import StreetOffice

# --- the free and the exhausted areas --------------------------------------------------------


class FakeState:
    """What StreetOffice.available and .exhausted read: rows (a new view when they change), month."""

    def __init__(self, n: int):
        self.month = 1
        self.p = SimpleNamespace(vote_retry_months=3)
        self.view = SimpleNamespace(area_id=[f"A{i}" for i in range(n)])

    def area_view(self):
        return self.view

    def new_rows(self, ids: list[str]) -> None:
        self.view = SimpleNamespace(area_id=ids)  # the engines make a new view when rows change


def free_by_scan(office: StreetOffice) -> np.ndarray:
    """available() as it was written before it kept its answer: every case and wait, every call."""
    s = office.state
    blocked = {area_id for case in office.cases for area_id in case.area_ids}
    blocked.update(x for x, until in office.retry_after.items() if until > s.month)
    ids = s.area_view().area_id
    rows = {x: i for i, x in reversed(list(enumerate(ids)))}
    free = np.ones(len(rows), dtype=bool)
    free[[rows[x] for x in blocked if x in rows]] = False
    return free


def exhausted_by_scan(office: StreetOffice) -> np.ndarray:
    ids = np.array(office.state.area_view().area_id, dtype=object)
    return np.isin(ids, list(office.merge_exhausted))


OPERATIONS = ("open", "close", "fail", "wait", "month", "merge", "exhaust", "shrink_case", "edit_waits",
              "burn_in")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(3, 30))
def test_free_and_exhausted_areas_are_the_full_scan_after_any_changes(data, n):
    state = FakeState(n)
    office = StreetOffice(state)
    for step in range(data.draw(st.integers(1, 40), label="steps")):
        ids = state.area_view().area_id
        operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
        some = data.draw(st.lists(st.integers(0, len(ids) - 1), min_size=1, max_size=3, unique=True))
        if operation == "open":
            office.open_case("merge", some, "vote", 2)
        elif operation in ("close", "fail") and office.cases:
            office.close_case(office.cases[data.draw(st.integers(0, len(office.cases) - 1))],
                              failed=operation == "fail")
        elif operation == "wait":
            office.wait(ids[some[0]])
        elif operation == "month":
            state.month += data.draw(st.integers(1, 4))
        elif operation == "merge" and len(ids) > 3:  # members go, the merged area takes the first's place
            members = sorted(some)
            new = [x for i, x in enumerate(ids) if i not in members]
            new.insert(min(members[0], len(new)), f"M{step}")
            state.new_rows(new)
        elif operation == "exhaust":
            office.merge_exhausted.update(ids[i] for i in some)
        elif operation == "shrink_case" and office.cases:  # a case narrowed to the members who said yes
            office.cases[-1].area_ids = office.cases[-1].area_ids[:1]
        elif operation == "edit_waits":  # a caller may set the waits itself
            office.retry_after[ids[some[0]]] = state.month + data.draw(st.integers(-2, 5))
        elif operation == "burn_in":  # the months start again after the burn-in, the waits shifted
            office.retry_after = {x: until - state.month for x, until in office.retry_after.items()}
            state.month = 0
        for _ in range(data.draw(st.integers(1, 2))):  # asked again with nothing changed: the same
            free = office.available()
            np.testing.assert_array_equal(free, free_by_scan(office), err_msg=f"step {step}, {operation}")
            np.testing.assert_array_equal(office.exhausted(), exhausted_by_scan(office))
            free[:] = False  # a caller may change the array it got


def test_a_wait_ending_frees_its_area_in_the_month_it_ends():
    state = FakeState(4)
    office = StreetOffice(state)
    office.wait("A2")  # until month 1 + 3
    assert not office.available()[2]
    state.month = 3
    assert not office.available()[2]
    state.month = 4
    assert office.available()[2]


def test_a_case_holds_its_areas_until_it_closes():
    state = FakeState(5)
    office = StreetOffice(state)
    case = office.open_case("merge", [1, 3], "vote", 2)
    assert office.available().tolist() == [True, False, True, False, True]
    case.area_ids = ["A1"]  # the case goes on with one of them
    assert office.available().tolist() == [True, False, True, True, True]
    office.close_case(case)
    assert office.available().all()
    assert isinstance(case, ReformCase)


# --- management-only groups, block by block ---------------------------------------------------

SETTINGS = Params().replace(management_merge_max_group=3, management_merge_max_distance_m=250.0)


def district(rng: np.random.Generator, n: int) -> dict:
    block = rng.integers(0, 5, n)
    return {
        "area_id": [f"A{i}" for i in range(n)],
        "households": rng.integers(30, 250, n).astype(np.int64),
        "quality": rng.uniform(0.4, 0.9, n),
        "block": block.astype(np.int64),
        "x_m": block * 2000.0 + rng.uniform(0, 500, n),
        "y_m": rng.uniform(0, 500, n),
    }


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 60), grouping=st.sampled_from([0, 1]))
def test_remembered_management_groups_are_the_groups_found_afresh(seed, n, grouping):
    rng = np.random.default_rng(seed)
    p = SETTINGS.replace(merge_grouping=grouping)
    columns = district(rng, n)
    eligible = rng.random(n) < 0.6
    memory = ManagementGroupMemory()
    for step in range(60):
        n = len(columns["area_id"])
        kind = int(rng.integers(0, 7))
        some = rng.choice(n, size=min(n, int(rng.integers(1, 4))), replace=False)
        if kind == 0:
            eligible[some] = ~eligible[some]
        elif kind == 1:  # an eligible area or an ineligible one moves a little
            columns["x_m"][some] += rng.normal(0, 80, len(some))
        elif kind == 2:  # sizes and quality change (the seed keys of either grouping)
            columns["households"][some] += rng.integers(-20, 20, len(some))
            columns["quality"][some] = rng.uniform(0.4, 0.9, len(some))
        elif kind == 3 and n > 4:  # a merger: the members' rows go, one new area in the first's place
            members = sorted(some.tolist())
            keep = np.ones(n, dtype=bool)
            keep[members[1:]] = False
            columns = {name: ([x for x, k in zip(values, keep, strict=True) if k] if name == "area_id"
                              else values[keep]) for name, values in columns.items()}
            columns["area_id"][members[0]] = f"M{step}"
            eligible = eligible[keep]
            eligible[members[0]] = False
        elif kind == 4:  # an area changes block
            columns["block"][some[0]] = (columns["block"][some[0]] + 1) % 5
        elif kind == 5:  # a group stops being eligible (a case opened on it)
            groups = management_groups(SimpleNamespace(**columns), eligible, p)
            if groups:
                eligible[groups[0]] = False
        elif kind == 6:  # the settings change
            p = p.replace(management_merge_max_distance_m=float(rng.choice([150.0, 250.0, 400.0])))
        areas = SimpleNamespace(**{name: list(v) if name == "area_id" else v.copy()
                                   for name, v in columns.items()})
        expected = management_groups(areas, eligible.copy(), p)
        assert memory.groups(areas, eligible.copy(), p) == expected, (step, kind)
        if step % 20 == 0:
            eligible |= rng.random(len(eligible)) < 0.3


# --- merger groups: the month's usual call, with nothing but fees and quality moving -------------

MERGE_SETTINGS = Params().replace(merge_max_group=4, merge_max_distance_m=300.0, merge_fee_tolerance=0.5,
                                  merge_quality_tolerance=0.1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 50))
def test_remembered_merger_groups_hold_only_while_the_eligible_pairs_test_the_same(seed, n):
    rng = np.random.default_rng(seed)
    columns = district(rng, n)
    columns.update(estates=rng.integers(1, 3, n).astype(np.int64), housing_type=rng.integers(0, 2, n),
                   fee_yuan_per_m2=rng.uniform(1.0, 2.0, n))
    eligible = rng.random(n) < 0.7
    memory = MergeGroupMemory()
    for step in range(60):
        kind = int(rng.integers(0, 5))
        some = rng.choice(n, size=min(n, int(rng.integers(1, 4))), replace=False)
        if kind == 0:  # quality drifts a little everywhere (every month does this)
            columns["quality"] += rng.normal(0, 0.01, n)
        elif kind == 1:  # an area's fee or quality jumps (eligible or not)
            columns["fee_yuan_per_m2"][some] += rng.normal(0, 0.4, len(some))
            columns["quality"][some] += rng.normal(0, 0.1, len(some))
        elif kind == 2:
            eligible[some] = ~eligible[some]
        elif kind == 3:  # a group's areas are taken by a case
            groups = merge_groups_by_block(SimpleNamespace(**columns), eligible, MERGE_SETTINGS)
            if groups:
                eligible[groups[-1]] = False
        # kind 4: nothing changed
        areas = SimpleNamespace(**{name: list(v) if name == "area_id" else v.copy()
                                   for name, v in columns.items()})
        expected = merge_groups_by_block(areas, eligible.copy(), MERGE_SETTINGS)
        got = memory.groups(areas, eligible.copy(), MERGE_SETTINGS)
        assert got == expected, (step, kind)
        if got:
            got[0].append(-1)  # a caller may change what it got; the memory keeps its own
        if step % 15 == 0:
            eligible |= rng.random(n) < 0.3


# --- whole runs ---------------------------------------------------------------------------------


def full_scan_office(monkeypatch) -> None:
    """Make the street office scan every area every call, as before it kept anything."""
    monkeypatch.setattr(StreetOffice, "available", free_by_scan)
    monkeypatch.setattr(StreetOffice, "exhausted", exhausted_by_scan)
    monkeypatch.setattr(ManagementGroupMemory, "groups",
                        lambda self, areas, eligible, p: management_groups(areas, eligible, p))
    monkeypatch.setattr(MergeGroupMemory, "groups",
                        lambda self, areas, eligible, p: merge_groups_by_block(areas, eligible, p))


@pytest.mark.parametrize("scenario", ["integrated", "n_in_1"])
def test_a_run_with_the_incremental_office_is_the_run_that_scans_every_month(scenario, monkeypatch):
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(f"scenarios/{scenario}.yaml").with_overrides(years=4)
    kept = run_scenario(scenario, "vector")
    with monkeypatch.context() as patched:
        full_scan_office(patched)
        scanned = run_scenario(scenario, "vector")
    assert len(kept.events) > 0
    for name in ("events", "areas", "estates", "firms"):
        a, b = getattr(kept, name), getattr(scanned, name)
        assert a.equals(b), name
    assert kept.timeseries.drop(columns=[c for c in kept.timeseries if "wall" in c]).equals(
        scanned.timeseries.drop(columns=[c for c in scanned.timeseries if "wall" in c]))

"""The teaching app's model: one run (or two, side by side) of either engine, built from the controls.

`TeachingModel(**settings)` turns the app's settings (sim.app.controls.default_settings) into a
Scenario and runs it on the vectorized engine (default: fast enough for a class of 30 on one
server) or the Mesa engine. In side-by-side mode a second run takes the same district and seed
under another policy set, stepped together with the first. Runs stop at the scenario's horizon.

What the app shows beyond the engines' own outputs is read here through the area-state interface
both engines implement (sim/area_state.py: `area_view`, `firm_view`, `estates_of`): `estate_table`
(one row per estate: its area, firm, mode, fund, committee, satisfaction), and `observe_votes`
(each member's share of owners for a merger, from the street office's `hold_vote`).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.app.controls import ENGINES, NO_COMPARISON, default_settings, policy_blocks, policy_options
from sim.districts import LABEL_COLUMN
from sim.errors import InputError
from sim.params import MODES, PARAMETER_INDEX
from sim.policies import REGISTRY
from sim.scenario import Scenario, scenario_from_mapping
from sim.snapshot import BurnIn, burn_in_key, make_burn_in

POLICY_SETS: dict[str, tuple[str, ...]] = {
    "status quo": (),
    "N-in-1 merger": ("merge",),
    "strong leads weak": ("entrust",),
    "self-governance": ("self_governance",),
    "integrated": ("merge", "management_merge", "entrust", "self_governance", "block_integration"),
}
"""The shipped scenarios' policy sets (scenarios/*.yaml), by the names the app shows."""

UPLOADED_CSV = "uploaded CSV"
DISTRICTS: dict[str, dict[str, Any]] = {
    "ouyang_road": {"preset": "ouyang_road"},
    "generated, 40 estates": {"generate": {"estates": 40, "seed": 7, "estates_per_block": 10}},
    "generated, 200 estates": {"generate": {"estates": 200, "seed": 7}},
}
"""Districts small enough to watch live (the Shanghai preset is for `estate-sim run`)."""

MAX_APP_HOUSEHOLDS = 150_000
"""Largest district the app runs; larger ones belong to `estate-sim run`."""

HORIZON_YEARS = 20
"""Every app run is a 20-year scenario: play stops there."""


def policy_set_name(policies: dict[str, bool]) -> str:
    """A policy set's name ("status quo", ...), or its policies' ("N-in-1 merger & strong leads weak")."""
    enabled = tuple(block for block in policy_blocks() if policies.get(block))
    for name, blocks in POLICY_SETS.items():
        if set(blocks) == set(enabled):
            return name
    return CUSTOM_JOIN.join(SHORT_NAMES.get(block, REGISTRY.get(block).label) for block in enabled)


SHORT_NAMES = {"merge": "N-in-1 merger", "management_merge": "management merger",
               "entrust": "strong leads weak", "self_governance": "self-governance",
               "block_integration": "block integration"}
"""Each policy's short name in a run's name (a scenario's name holds at most 100 characters)."""


CUSTOM_JOIN = " & "
"""Joins the policies of a set that is not one of POLICY_SETS ("Block integration & Strong leads weak")."""


def run_display_name(name: str, lang: str) -> str:
    """A run's name as the page shows it: a policy set, or its policies, in the page's language."""
    from sim.app.i18n import tr

    return CUSTOM_JOIN.join(tr(part, lang) for part in name.split(CUSTOM_JOIN))


def month_label(month: int) -> str:
    """Month 1, 2, ... of a run as "Year 1, month 1" (month 0 is the start)."""
    if month <= 0:
        return "Start"
    return f"Year {(month - 1) // 12 + 1}, month {(month - 1) % 12 + 1}"


def build_scenario(district: str = "ouyang_road", *, csv_path: str | None = None,
                   policies: dict[str, bool] | None = None, params: dict[str, Any] | None = None,
                   seed: int = 1, name: str | None = None,
                   options: dict[str, dict[str, Any]] | None = None) -> Scenario:
    """A Scenario from the app's controls; bad values raise InputError naming the control.

    `options` are the policies' further options by block (block integration's rollout:
    `start_year`, `blocks_per_year`), passed to an enabled block only.
    """
    policies = {block: bool((policies or {}).get(block, False)) for block in policy_blocks()}
    if district == UPLOADED_CSV:
        if not csv_path:
            raise InputError("app", "district", "no CSV file uploaded yet")
        district_spec: dict[str, Any] = {"csv": str(Path(csv_path).resolve())}
    elif district in DISTRICTS:
        district_spec = DISTRICTS[district]
    else:
        raise InputError("app", "district", f"unknown district {district!r} "
                         f"(known: {', '.join([*DISTRICTS, UPLOADED_CSV])})")
    data = {
        "name": name or policy_set_name(policies),
        "district": district_spec,
        "policy": {block: {"enabled": on, **((options or {}).get(block, {}) if on else {})}
                   for block, on in policies.items()},
        "years": HORIZON_YEARS,
        "seed": int(seed),
        "params": dict(params or {}),
    }
    scenario = scenario_from_mapping(data, "app", None)
    households = scenario.load_district().households
    if households > MAX_APP_HOUSEHOLDS:
        raise InputError("app", "district", f"{households:,} households is too many to watch live "
                         f"(at most {MAX_APP_HOUSEHOLDS:,}); use `estate-sim run` instead")
    return scenario


def observe_votes(run) -> list:
    """Record every owners' vote of a run (sim.app.event_text.Vote: area, outcome, support, turnout).

    A failed merger's event gives only the lowest member's support; the street office's
    `hold_vote(area, support, briefed=...)` returns each member's, so the app wraps it (on this
    run only). The turnout is read by drawing the vote's random numbers again from a copy of the
    run's generator as it was before the vote (the run's own draws are untouched). "Events
    before it" is the length of the run's event log when the vote was held, so a merger's votes
    are those held just before its event (it is logged after its votes).
    """
    from sim import rules
    from sim.app.event_text import replayed_vote

    votes: list = []
    office = run.street_office
    hold_vote = office.hold_vote

    def recorded(area, support, **kwargs):
        state = office.state
        floor = np.asarray(state.owner_floor_areas(area), dtype=float)
        before = copy.deepcopy(state.rng.bit_generator.state)
        passed, share = hold_vote(area, support, **kwargs)
        replay = np.random.Generator(type(state.rng.bit_generator)())
        replay.bit_generator.state = before
        participation = float(rules.participation(kwargs.get("briefed", False), state.p))
        votes.append(replayed_vote(len(run.event_log), str(run.area_view().area_id[area]), passed, share,
                                   floor, replay.random((len(floor), 2)), participation, float(support)))
        return passed, share

    office.hold_vote = recorded
    return votes


BURN_INS_BYTES = 64 * 2**20
"""The server keeps post-burn-in states up to this size in all (Ouyang Road's is ~0.9 MB on the
vectorized engine, ~4 MB on Mesa's): the most recently used go last."""
_burn_ins: OrderedDict[str, BurnIn] = OrderedDict()
_burn_ins_lock = threading.Lock()
_building: dict[str, threading.Lock] = {}


def kept_burn_in(scenario: Scenario, engine: str) -> BurnIn:
    """The scenario's shared burn-in (sim/snapshot.py), made the first time the server needs its key.

    Its key is the district, seed, engine and parameters, not the policies: both runs of a
    comparison, every lesson on one district and seed, and Reset start from one stored state. Two
    sessions asking for a key being made wait for the one burn-in; kept states are bounded by
    BURN_INS_BYTES in all.
    """
    key = burn_in_key(scenario, engine)
    with _burn_ins_lock:
        if key in _burn_ins:
            _burn_ins.move_to_end(key)
            return _burn_ins[key]
        building = _building.setdefault(key, threading.Lock())
    with building:
        with _burn_ins_lock:
            if key in _burn_ins:  # made by the session this one waited for
                return _burn_ins[key]
        state = make_burn_in(scenario, engine, key)
        with _burn_ins_lock:
            _burn_ins[key] = state
            _building.pop(key, None)
            while len(_burn_ins) > 1 and sum(len(s.payload) for s in _burn_ins.values()) > BURN_INS_BYTES:
                _burn_ins.popitem(last=False)
    return state


def make_run(engine: str, scenario: Scenario, seed: int):
    """One engine's model of a scenario from its kept burn-in, its owners' votes recorded in `run.votes`.

    The run steps on exactly as one that did its own burn-in (sim/snapshot.py; tests/test_app.py).
    """
    if engine not in ENGINES:
        raise InputError("app", "engine", f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if int(seed) != scenario.seed:
        raise ValueError(f"the run's seed {seed} is not its scenario's ({scenario.seed})")
    scenario.check_policy_options()
    run = kept_burn_in(scenario, engine).model(scenario, engine)
    run.votes = observe_votes(run)
    run.estate_labels = estate_labels(scenario)
    return run


def estate_labels(scenario: Scenario) -> dict[str, str]:
    """Each estate's label from its district file's `name` column (the map's hover card), if it has one."""
    attributes = scenario.load_district().attributes
    if attributes is None or LABEL_COLUMN not in attributes:
        return {}
    names = attributes[LABEL_COLUMN].fillna("").astype(str).str.strip()
    return {str(e): n for e, n in zip(attributes["estate_id"], names, strict=True) if n}


class TeachingModel:
    """The run(s) on show, built from the app's settings (sim.app.controls.default_settings).

    Policy blocks are booleans by block name; numeric settings are model parameters by their
    documented names (sim/params.py). With `compare_with` naming a policy set, a second run takes
    that set on the same district and seed, stepped together with the first.
    """

    def __init__(self, **settings: Any):
        unknown = set(settings) - set(default_settings())
        if unknown:
            raise InputError("app", sorted(unknown)[0], "not a setting of the app")
        self.settings = {**default_settings(), **settings}
        s = self.settings
        params = {name: value for name, value in s.items() if name in PARAMETER_INDEX}
        policies = {block: bool(s[block]) for block in policy_blocks()}
        seed = int(s["rng"])
        options = policy_options(s)
        main = make_run(s["engine"], build_scenario(s["district"], csv_path=s["csv_path"],
                                                    policies=policies, params=params, seed=seed,
                                                    options=options), seed)
        self.runs = [main]
        if s["compare_with"] != NO_COMPARISON:
            if s["compare_with"] not in POLICY_SETS:
                raise InputError("app", "compare_with", f"unknown policy set {s['compare_with']!r}")
            other = {block: block in POLICY_SETS[s["compare_with"]] for block in policy_blocks()}
            scenario = build_scenario(s["district"], csv_path=s["csv_path"], policies=other,
                                      params=params, seed=seed, name=s["compare_with"],
                                      options=options)
            self.runs.append(make_run(s["engine"], scenario, seed))
        self.horizon_months = main.spec.years * 12
        self.start_records = [run.record() for run in self.runs]
        """Each run's measures at the start (after the burn-in): the tiles and charts before month 1."""
        # the play thread steps while the page draws: both hold this lock
        self.lock = threading.RLock()

    @property
    def main(self):
        """The first run (the settings' policies)."""
        return self.runs[0]

    @property
    def comparison(self):
        """The side-by-side run, or None."""
        return self.runs[1] if len(self.runs) > 1 else None

    @property
    def month(self) -> int:
        """Months simulated so far."""
        return self.main.month

    @property
    def at_horizon(self) -> bool:
        """Whether the runs have reached the scenario's last month (play stops there)."""
        return self.month >= self.horizon_months

    @property
    def estates(self) -> pd.DataFrame:
        """The district's estates at the start."""
        return self.main.estates

    def step(self) -> None:
        """One month of every run; nothing past the horizon."""
        if self.at_horizon:
            return
        for run in self.runs:
            run.step()


def area_rows(run) -> tuple[list[str], list[list[int]], dict[str, np.ndarray]]:
    """The run's management areas: ids, estates of each, per-area arrays (the area-state interface)."""
    v = run.area_view()
    due = np.asarray(v.due_yuan, dtype=float)
    collection = np.divide(v.paid_yuan, due, out=np.zeros(len(due)), where=due > 0)
    return [str(i) for i in v.area_id], [run.estates_of(row) for row in range(len(v.firm))], {
        "mode": np.asarray(v.mode, dtype=int), "firm": np.asarray(v.firm, dtype=int),
        "quality": np.asarray(v.quality, dtype=float),
        "satisfaction": np.asarray(v.mean_satisfaction, dtype=float), "collection": collection,
        "fund_per_m2": np.asarray(v.fund_yuan, dtype=float) / np.asarray(v.floor_area_m2, dtype=float),
        "committee": np.asarray(v.committee_active, dtype=bool),
        "x_m": np.asarray(v.x_m, dtype=float), "y_m": np.asarray(v.y_m, dtype=float)}


def estate_arrays(run) -> dict[str, Any]:
    """Per estate of the district, its management area's state now, as numpy arrays (no pandas).

    `area` is the row of the estate's area in `area_ids`; `area_size` counts the estates in that
    area (> 1: merged); the other arrays are the area's values (area_rows) read for each estate.
    What a frame of the page reads (the map, the tiles): computed once a month per run and kept on
    the run, since a frame reads it more than once and a table of strings in pandas cost a frame
    tens of milliseconds.
    """
    kept = run.__dict__.get("_app_estates")
    if kept is not None and kept[0] == (run.month, len(run.event_log)):
        return kept[1]
    ids, members, values = area_rows(run)
    n = len(run.estates)
    area_of = np.empty(n, dtype=int)
    size = np.empty(n, dtype=int)
    for row, estates in enumerate(members):
        area_of[estates] = row
        size[estates] = len(estates)
    arrays: dict[str, Any] = {"area_ids": ids, "area": area_of, "area_size": size}
    for name in ("mode", "firm", "quality", "satisfaction", "collection", "fund_per_m2", "committee"):
        arrays[name] = values[name][area_of]
    arrays["area_x_m"] = values["x_m"][area_of]
    arrays["area_y_m"] = values["y_m"][area_of]
    run._app_estates = ((run.month, len(run.event_log)), arrays)
    return arrays


def estate_table(run) -> pd.DataFrame:
    """One row per estate of the district: who manages it now and how it is doing (estate_arrays).

    Area-level values (mode, firm, quality, fund, committee, satisfaction) are the estate's
    management area's; `area_size` counts the estates in that area (> 1: merged).
    """
    arrays = estate_arrays(run)
    table = run.estates[["estate_id", "households", "housing_type", "block", "x_m", "y_m"]].copy()
    table["area_id"] = [arrays["area_ids"][r] for r in arrays["area"]]
    table["area_size"] = arrays["area_size"]
    for name in ("mode", "firm", "quality", "satisfaction", "collection", "fund_per_m2", "committee"):
        table[name] = arrays[name]
    table["mode_name"] = [MODES[m] for m in table["mode"]]
    table["area_x_m"] = arrays["area_x_m"]
    table["area_y_m"] = arrays["area_y_m"]
    return table.reset_index(drop=True)


def active_firms(run) -> list[tuple[int, float, float]]:
    """Firms still in the market as (index, x, y)."""
    f = run.firm_view()
    return [(int(i), float(f.x_m[i]), float(f.y_m[i])) for i in np.flatnonzero(f.active)]

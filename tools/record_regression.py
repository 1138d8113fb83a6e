"""Record the shipped scenarios' outputs on both engines as the regression reference.

    python tools/record_regression.py     # rewrites tests/data/regression/

tests/test_regression.py compares every run against these files: a refactoring that must not
change behaviour keeps them; a change of behaviour (a new mechanism) re-records them in the same
commit, so the diff shows what moved.
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.run import run_scenario
from sim.scenario import load_scenario
from sim.snapshot import kept_burn_in

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "regression"
SCENARIOS = ("status_quo", "n_in_1", "strong_leads_weak", "self_governance", "integrated")
ENGINES = ("mesa", "vector")
YEARS = 3
SEED = 7


def event_log(result) -> list[list]:
    """The run's events as recorded: [month, text] per event."""
    return [[int(month), text] for month, text in zip(result.events["month"], result.events["text"],
                                                      strict=True)]


def regression_run(scenario_name: str, engine: str, *, shared_burn_in: bool = False):
    """One shipped scenario on Ouyang Road, YEARS years, seed SEED.

    `shared_burn_in`: start from this process's burn-in for the seed and engine (sim.snapshot.
    kept_burn_in), the same for every shipped scenario; the same tables, byte for byte.
    """
    scenario = load_scenario(ROOT / "scenarios" / f"{scenario_name}.yaml").with_overrides(
        years=YEARS, seed=SEED)
    start = kept_burn_in(scenario, engine) if shared_burn_in else None
    return run_scenario(scenario, engine, start=start)


def main() -> None:
    """Record every shipped scenario on every engine."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        for engine in ENGINES:
            result = regression_run(name, engine)
            stem = OUT / f"{name}-{engine}"
            result.timeseries.drop(columns=["run_id"]).to_csv(f"{stem}-timeseries.csv", index=False,
                                                              float_format="%.12g")
            result.areas.to_csv(f"{stem}-areas.csv", index=False, float_format="%.12g")
            stem.with_name(f"{stem.name}-events.json").write_text(
                json.dumps(event_log(result), ensure_ascii=False, indent=0) + "\n")
            print(f"recorded {stem.name}")


if __name__ == "__main__":
    main()

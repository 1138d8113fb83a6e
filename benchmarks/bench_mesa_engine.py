"""Benchmark: `integrated` on `ouyang_road`, 10 years, Mesa engine.

Reports wall time, microseconds per household-month and peak memory (max RSS of this process).
Usage: python benchmarks/bench_mesa_engine.py [--scenario scenarios/integrated.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

from sim.run import run_scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "integrated.yaml")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario).with_overrides(years=args.years)
    walls = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = run_scenario(scenario, "mesa")
        walls.append(time.perf_counter() - started)
    households = result.meta["households"]
    household_months = households * 12 * args.years
    best = min(walls)
    report = {
        "scenario": scenario.name,
        "engine": "mesa",
        "years": args.years,
        "households": households,
        "wall_s_best": round(best, 2),
        "wall_s_all": [round(w, 2) for w in walls],
        "us_per_household_month": round(best / household_months * 1e6, 3),
        "household_months_per_s": round(household_months / best),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Sweep throughput: N runs of a shipped Ouyang Road scenario through an executor.

Reports the total wall time, the sum of the runs' own times, the scheduling overhead per run
(wall - sum of run times / workers, divided by runs) and the round trip of an empty task through
the same executor. The target (docs/PERFORMANCE.md) is 1,000 vector-engine runs of 10 years in
at most 5 minutes on 2 workers:

    python benchmarks/bench_sweep.py --engine vector --runs 1000 --workers 2
    python benchmarks/bench_sweep.py --engine mesa --runs 8 --years 1 --workers 2

`--paired SEEDS` times instead the paired sweep of the five shipped policies on Ouyang Road
(SEEDS x 5 runs, vector engine; the issue's target is 200 seeds on 2 workers), with shared
burn-ins (or each run its own, `--own-burn-ins`), against the compiled roofline's time for the
household-months it simulates (each seed's burn-in counted once), measured in the same run; then
the profile of one of its runs (bench_month_floor.sweep_profile), also against the roofline:

    python benchmarks/bench_sweep.py --paired 200 --workers 2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.results import load_runs  # noqa: E402
from sim.experiments.executors import make_executor  # noqa: E402
from sim.experiments.sweep import load_sweep, run_sweep  # noqa: E402

EMPTY_TASKS = 200


def paired(args) -> int:
    """The paired sweep against the roofline, then the profile of its run (docs/PERFORMANCE.md)."""
    from bench_month_floor import (
        paired_sweep_file,
        print_profile,
        roofline_s_per_household_month,
        sweep_profile,
    )

    with tempfile.TemporaryDirectory(prefix="bench_paired_") as tmp:
        sweep = load_sweep(paired_sweep_file(Path(tmp), args.paired, args.years))
        executor = make_executor(args.workers, None, args.dask_local)
        started = time.perf_counter()
        summary = run_sweep(sweep, Path(tmp) / "results", executor, share_burn_ins=not args.own_burn_ins)
        wall = time.perf_counter() - started
    model_scenario = sweep.scenarios[0]
    households = int(model_scenario.load_district().households)
    areas = len(model_scenario.load_district())
    per_household_month = roofline_s_per_household_month(households, areas)
    burn_in_months = 12 * int(model_scenario.params.burn_in_years)
    simulated = households * (sweep.runs * 12 * args.years + args.paired * burn_in_months)
    roofline = per_household_month * simulated
    print(json.dumps({
        "sweep": f"5 policies x {args.paired} seeds, {args.years} years, ouyang_road, vector",
        "executor": executor.name, "burn_ins": "each its own" if args.own_burn_ins else "shared",
        "failed": len(summary.failed), "wall_s": round(wall, 2),
        "household_months": simulated, "roofline_s": round(roofline, 2),
        "wall_over_roofline": round(wall / roofline, 2), "target": "<= 2.5"}, indent=2))
    print_profile(sweep_profile(args.profile_seeds, args.years), per_household_month)
    return 1 if summary.failed else 0


def empty_task_round_trip_s(executor) -> float:
    """Seconds per empty task (a builtin on an int) through the executor, after a warm-up."""
    with executor:
        list(executor.map_unordered(abs, range(4 * max(1, getattr(executor, "workers", 1)))))
        started = time.perf_counter()
        list(executor.map_unordered(abs, range(EMPTY_TASKS)))
        return (time.perf_counter() - started) / EMPTY_TASKS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="vector", choices=["mesa", "vector"])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask-local", type=int, default=None,
                        help="use a Dask LocalCluster of N workers instead of processes")
    parser.add_argument("--scenario", default="integrated", help="a scenario in scenarios/")
    parser.add_argument("--paired", type=int, metavar="SEEDS", help="the paired five-policy sweep instead")
    parser.add_argument("--own-burn-ins", action="store_true",
                        help="--paired: every run does its own burn-in")
    parser.add_argument("--profile-seeds", type=int, default=4, help="--paired: seeds of the profile")
    args = parser.parse_args()
    if args.paired:
        return paired(args)

    workers = args.dask_local or args.workers
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        sweep_file = Path(tmp) / "bench.yaml"
        sweep_file.write_text(
            f"name: bench\nscenarios: [{ROOT / 'scenarios' / (args.scenario + '.yaml')}]\n"
            f"replicates: {args.runs}\nseed: 1\nengine: {args.engine}\nyears: {args.years}\n")
        sweep = load_sweep(sweep_file)
        executor = make_executor(args.workers, None, args.dask_local)
        started = time.perf_counter()
        summary = run_sweep(sweep, Path(tmp) / "results", executor)
        wall = time.perf_counter() - started
        runs = load_runs(Path(tmp) / "results")
        empty = empty_task_round_trip_s(make_executor(args.workers, None, args.dask_local))

    busy = float(runs["wall_time_s"].sum())
    figures = {
        "engine": args.engine, "scenario": args.scenario, "years": args.years, "runs": args.runs,
        "executor": executor.name, "failed": len(summary.failed),
        "wall_s": round(wall, 2),
        "mean_run_s": round(busy / args.runs, 3),
        "overhead_per_run_s": round((wall - busy / workers) / args.runs, 4),
        "empty_task_s": round(empty, 5),
        "projected_1000_runs_s": round(wall / args.runs * 1000, 1),
    }
    print(json.dumps(figures, indent=2))
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())

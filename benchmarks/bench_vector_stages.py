"""Benchmark: where the vectorized engine's month goes (docs/PERFORMANCE.md, "Where the month goes").

Runs the integrated policy on a district in this process, `--repeat` times, timing each stage of
VectorModel.step (the numpy stages, or the compiled ones where the month is compiled,
and the street office) with time.perf_counter; prints the run time and
microseconds per month of each stage for the fastest repeat. The stage timers add about 1 µs per
call, so the stages sum to a little more than an untimed run.
Usage: python benchmarks/bench_vector_stages.py [--district ouyang_road] [--years 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from sim.bench import bench_scenario, timed
from sim.street_office import StreetOffice
from sim.vector_engine import VectorModel
from sim.vector_engine import compiled as kernels

STAGES = {
    VectorModel: ("firms_serve", "update_quality_and_buildings", "prepare_for_households",
                  "households_step", "close_month", "settle_accounts", "firms_withdraw", "firms_exit",
                  "committees_step", "record"),
    StreetOffice: ("run_policies", "step"),
    # the compiled month (VectorModel._step_compiled) calls these instead of the numpy stages
    kernels: ("serve", "buildings_and_terms", "household_pass", "household_pass_parallel", "area_tallies",
              "accounts", "committees"),
}


def _timed(cls: type, name: str, totals: Counter):
    """cls.name timed in wall time under the label "Class.name"."""
    label = f"{getattr(cls, '__name__', cls)}.{name}".replace("sim.vector_engine.", "")
    return timed(getattr(cls, name), totals, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--district", default="ouyang_road", help="preset name or generated:N")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scenario = bench_scenario(args.district, args.years)
    months = 12 * args.years

    untimed = []
    for _ in range(args.repeat):
        model = VectorModel(scenario)
        started = time.perf_counter()
        for _ in range(months):
            model.step()
        untimed.append(time.perf_counter() - started)

    totals: Counter = Counter()
    for cls, names in STAGES.items():
        for name in names:
            setattr(cls, name, _timed(cls, name, totals))
    best: tuple[float, Counter] | None = None
    for _ in range(args.repeat):
        model = VectorModel(scenario)
        totals.clear()  # not the burn-in's months (the constructor runs them)
        started = time.perf_counter()
        for _ in range(months):
            model.step()
        run = time.perf_counter() - started
        if best is None or run < best[0]:
            best = (run, Counter(totals))

    print(f"{args.district}, integrated, {args.years} years, {model.n_households:,} households: "
          f"run {min(untimed):.4f} s untimed (best of {args.repeat}), "
          f"{min(untimed) / months * 1e6:.0f} µs a month")
    run, stages = best
    print(f"with stage timers: run {run:.4f} s; per month:")
    for label, seconds in stages.most_common():
        print(f"  {label:45s} {seconds / months * 1e6:8.1f} µs")
    # the stages do not nest, so what they leave is step's own work: draws, incidents
    rest = run - sum(stages.values())
    print(f"  {'the rest of step (incidents, the key)':45s} {rest / months * 1e6:8.1f} µs")
    print(f"(month compiled: {model.compiled}; ESTATE_SIM_COMPILED=0 times the numpy month)")


if __name__ == "__main__":
    main()

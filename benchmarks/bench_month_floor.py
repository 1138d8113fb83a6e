"""The floor under the compiled month: how fast it could be if the street office cost nothing.

Times the vectorized engine's month on a district as it is, then with parts of it replaced by
no-ops, one more at each row (their outputs are wrong: only the time means anything):

  1. the street office's monthly step (StreetOffice.step: complaints, reform cases, proposals),
  2. the monthly record (VectorModel.record),
  3. the yearly round (StreetOffice.run_policies: entry, renewals, tenders, the policies' year),
  4. and the household pass on two threads (as districts of a million households run it).

Then the Mesa engine's month on the same district, for the vector/Mesa ratio each row would
give; and one sweep run as a sweep's worker runs it (sim.experiments.runner.execute_run: set-up,
burn-in, the run, its tables), as it is and with the street office free, for the sweep's bound.
What the rows say (docs/PERFORMANCE.md): the issue's ratio and sweep targets need more than the
compiled month, whatever the Python around it costs.

    python benchmarks/bench_month_floor.py [--district ouyang_road] [--years 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sim.vector_engine.model as vector_model  # noqa: E402
from sim.bench import bench_scenario  # noqa: E402
from sim.experiments.runner import execute_run  # noqa: E402
from sim.experiments.sweep import load_sweep  # noqa: E402
from sim.run import make_model  # noqa: E402
from sim.street_office import StreetOffice  # noqa: E402
from sim.vector_engine import VectorModel  # noqa: E402

FREE = [
    ("the street office's month free", StreetOffice, "step", lambda self, requests: None),
    ("... and the record", VectorModel, "record", lambda self: None),
    ("... and the yearly round", StreetOffice, "run_policies", lambda self: None),
    ("... and the household pass on threads", vector_model, "THREADED_HOUSEHOLDS", 0),
]
"""Each row frees one more part (object, attribute, what replaces it)."""


def vector_month_s(scenario, months: int, repeat: int) -> float:
    """The best of `repeat` runs' seconds a month (the burn-in, in the constructor, untimed)."""
    best = float("inf")
    for _ in range(repeat):
        model = VectorModel(scenario)
        started = time.perf_counter()
        for _ in range(months):
            model.step()
        best = min(best, (time.perf_counter() - started) / months)
    return best


def mesa_month_s(scenario, months: int) -> float:
    """The Mesa engine's seconds a month over `months` months after its burn-in."""
    model = make_model(scenario, "mesa")
    started = time.perf_counter()
    for _ in range(months):
        model.step()
    return (time.perf_counter() - started) / months


def sweep_run_s(district: str, years: int, runs: int) -> float:
    """Seconds a sweep run takes as a worker runs it (after two warm-up runs), mean of `runs`."""
    with tempfile.TemporaryDirectory(prefix="bench_floor_") as tmp:
        sweep_file = Path(tmp) / "floor.yaml"
        sweep_file.write_text(f"name: floor\nscenarios: [{ROOT / 'scenarios' / 'integrated.yaml'}]\n"
                              f"replicates: {runs + 2}\nseed: 1\nengine: vector\nyears: {years}\n")
        tasks = load_sweep(sweep_file).tasks()
    for task in tasks[:2]:
        execute_run(task)
    started = time.perf_counter()
    for task in tasks[2:]:
        if not execute_run(task).ok:
            raise RuntimeError(f"sweep run {task.run_id} failed")
    return (time.perf_counter() - started) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--district", default="ouyang_road", help="preset name or generated:N")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mesa-months", type=int, default=24)
    parser.add_argument("--sweep-runs", type=int, default=20)
    args = parser.parse_args()
    scenario = bench_scenario(args.district, args.years)
    months = 12 * args.years

    mesa = mesa_month_s(scenario, args.mesa_months)
    print(f"{args.district}, integrated, {args.years} years; Mesa engine {mesa * 1e3:.1f} ms a month "
          f"(over {args.mesa_months} months)")
    print(f"  {'vectorized month':45s} {'µs a month':>10s}  vector/Mesa")
    rows = [("as it is", vector_month_s(scenario, months, args.repeat))]
    with ExitStack() as freed:
        for label, owner, name, replacement in FREE:
            freed.enter_context(mock.patch.object(owner, name, replacement))
            rows.append((label, vector_month_s(scenario, months, args.repeat)))
    for label, month in rows:
        print(f"  {label:45s} {month * 1e6:10.0f}  {mesa / month:8.0f}x")

    if args.district != "ouyang_road":
        return
    as_is = sweep_run_s(args.district, args.years, args.sweep_runs)
    with mock.patch.object(StreetOffice, "step", FREE[0][3]), \
            mock.patch.object(StreetOffice, "run_policies", FREE[2][3]):
        free = sweep_run_s(args.district, args.years, args.sweep_runs)
    print(f"one sweep run ({args.years} years, burn-in, set-up, tables), mean of {args.sweep_runs}:")
    for label, seconds in (("as it is", as_is), ("the street office free (month and year)", free)):
        print(f"  {label:45s} {seconds * 1e3:7.1f} ms   1,000 runs on 2 workers at best "
              f"{seconds * 500:5.1f} s")


if __name__ == "__main__":
    main()

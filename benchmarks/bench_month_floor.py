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

`--profile` prints only where a paired sweep's run goes (`sweep_profile`: set-up, burn-in,
household pass, area stages, street office month, yearly round, record, tables), each line
against the compiled roofline's time for the run's household-months (sim.bench.compiled_kernel);
benchmarks/bench_sweep.py --paired prints it too, in the same run as the sweep it times.

`--office` prints only the street office's month, part by part (hearing cases, the policies'
proposals, the rest; the yearly round per month), for each of the paired sweep's five scenarios:
CPU time of this thread, the least of `--repeat` runs, so that a loaded machine disturbs it less.
Run in two checkouts, it compares two versions of the street office (docs/PERFORMANCE.md).

    python benchmarks/bench_month_floor.py [--district ouyang_road] [--years 10] [--repeat 5]
    python benchmarks/bench_month_floor.py --profile [--seeds 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sim.run  # noqa: E402
import sim.vector_engine.model as vector_model  # noqa: E402
from sim.bench import bench_scenario, compiled_kernel, timed  # noqa: E402
from sim.district_model import DistrictModel  # noqa: E402
from sim.experiments.runner import execute_group, execute_run, group_by_burn_in  # noqa: E402
from sim.experiments.sweep import load_sweep  # noqa: E402
from sim.run import make_model  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.snapshot import BurnIn  # noqa: E402
from sim.street_office import StreetOffice  # noqa: E402
from sim.vector_engine import VectorModel  # noqa: E402
from sim.vector_engine import compiled as kernels  # noqa: E402

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


POLICIES = ("status_quo", "n_in_1", "strong_leads_weak", "self_governance", "integrated")
"""The paired sweep's scenarios (scenarios/sweeps/policy_comparison.yaml)."""


def paired_sweep_file(folder: Path, seeds: int, years: int, seed: int = 1) -> Path:
    """A sweep file of the five shipped policies on Ouyang Road, `seeds` replicates each."""
    path = Path(folder) / "paired.yaml"
    scenarios = ", ".join(str(ROOT / "scenarios" / f"{name}.yaml") for name in POLICIES)
    path.write_text(f"name: paired\nscenarios: [{scenarios}]\nreplicates: {seeds}\nseed: {seed}\n"
                    f"engine: vector\nyears: {years}\n")
    return path


class _Profile:
    """Seconds spent in each stage; inside the burn-in only the burn-in's own line counts."""

    def __init__(self):
        self.spent: Counter[str] = Counter()
        self.in_burn_in = False

    def timed(self, label: str, fn, *, burn_in: bool = False):
        def wrapper(*args, **kwargs):
            if self.in_burn_in:
                return fn(*args, **kwargs)
            started = time.perf_counter()
            self.in_burn_in = burn_in
            try:
                return fn(*args, **kwargs)
            finally:
                self.in_burn_in = False
                self.spent[label] += time.perf_counter() - started
        return wrapper


def roofline_s_per_household_month(households: int, areas: int, months: int = 120) -> float:
    """The compiled roofline kernel's seconds per household-month on a district of that size."""
    seconds = compiled_kernel(households, areas, months)
    if seconds is None:
        raise RuntimeError("the roofline needs numba")
    return seconds / (households * months)


def sweep_profile(seeds: int = 8, years: int = 10) -> dict:
    """Where a paired sweep's run goes, in seconds per run, as a worker runs it (shared burn-ins).

    The five policies on `seeds` seeds, each seed's burn-in done once (runner.execute_group);
    one warm-up group first. Stages: set-up (the copy of the burn-in, or a new model), burn-in
    (its share per run), household pass, area stages (the rest of the month), street office
    month (of which: hearing residents' cases, the policies' proposals), yearly round, record,
    tables (the run's tables, keyed). Also `households`, `areas`.
    """
    with tempfile.TemporaryDirectory(prefix="bench_profile_") as tmp:
        groups = group_by_burn_in(load_sweep(paired_sweep_file(Path(tmp), seeds + 1, years)).tasks())
    execute_group(groups[0])
    profile = _Profile()
    timed = profile.timed
    patches = [(DistrictModel, "burn_in", timed("burn-in", DistrictModel.burn_in, burn_in=True)),
               (BurnIn, "of", classmethod(timed("burn-in", BurnIn.of.__func__, burn_in=True))),
               (sim.run, "make_model", timed("make_model", sim.run.make_model)),
               (VectorModel, "step", timed("month", VectorModel.step)),
               (kernels, "household_pass", timed("household pass", kernels.household_pass)),
               (StreetOffice, "step", timed("street office month", StreetOffice.step)),
               (StreetOffice, "hear_cases", timed("hearing cases", StreetOffice.hear_cases)),
               (StreetOffice, "propose_reforms", timed("proposals", StreetOffice.propose_reforms)),
               (StreetOffice, "run_policies", timed("yearly round", StreetOffice.run_policies)),
               (VectorModel, "record", timed("record", VectorModel.record))]
    runs = 0
    started = time.perf_counter()
    with ExitStack() as patched:
        for owner, name, replacement in patches:
            patched.enter_context(mock.patch.object(owner, name, replacement))
        for group in groups[1:]:
            for outcome in execute_group(group):
                if not outcome.ok:
                    raise RuntimeError(f"sweep run {outcome.record['run_id']} failed: "
                                       f"{outcome.record['error']}")
                runs += 1
    total = time.perf_counter() - started
    s = profile.spent
    parts = ("household pass", "street office month", "yearly round", "record")
    stages = {
        "set-up": s["make_model"] - s["burn-in"],
        "burn-in": s["burn-in"],
        "household pass": s["household pass"],
        "area stages": s["month"] - sum(s[p] for p in parts),
        "street office month": s["street office month"],
        "  of which hearing cases": s["hearing cases"],
        "  of which proposals": s["proposals"],
        "yearly round": s["yearly round"],
        "record": s["record"],
        "tables": total - s["make_model"] - s["month"],
    }
    model = make_model(groups[0].tasks[0].scenario.with_overrides(years=1), "vector")
    return {"runs": runs, "seeds": seeds, "years": years, "households": model.n_households,
            "areas": len(model.estates), "total_s": total / runs,
            "stages_s": {name: value / runs for name, value in stages.items()}}


def print_profile(profile: dict, roofline_s: float) -> None:
    """The profile as a table: ms per run, and each line over the roofline's time for the run's months."""
    run_roofline = roofline_s * profile["households"] * 12 * profile["years"]
    print(f"one run of a paired sweep (5 policies x {profile['seeds']} seeds, {profile['years']} years, "
          f"{profile['households']:,} households, burn-in shared by the 5): "
          f"{profile['total_s'] * 1e3:.1f} ms; "
          f"the roofline for its household-months {run_roofline * 1e3:.2f} ms")
    print(f"  {'stage':26s} {'ms a run':>9s} {'x roofline':>11s}")
    for name, seconds in profile["stages_s"].items():
        print(f"  {name:26s} {seconds * 1e3:9.2f} {seconds / run_roofline:11.1f}")
    print(f"  {'total':26s} {profile['total_s'] * 1e3:9.2f} {profile['total_s'] / run_roofline:11.1f}")


OFFICE_PARTS = (("office month", "step"), ("hearing cases", "hear_cases"), ("proposals", "propose_reforms"),
                ("yearly round", "run_policies"))
"""The street office's parts office_profile times (label, StreetOffice method)."""


def office_profile(years: int, repeat: int) -> dict[str, dict[str, float]]:
    """Each paired scenario's street office, part by part: CPU seconds a month, the least of `repeat` runs.

    The months after the first (the first loads compiled code); thread CPU time, not wall time.
    """
    spent: Counter[str] = Counter()

    best: dict[str, dict[str, float]] = {}
    months = 12 * years - 1
    with ExitStack() as patched:
        for label, name in OFFICE_PARTS:
            replacement = timed(getattr(StreetOffice, name), spent, label, clock=time.thread_time)
            patched.enter_context(mock.patch.object(StreetOffice, name, replacement))
        for _ in range(repeat):
            for name in POLICIES:
                scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml").with_overrides(years=years)
                model = make_model(scenario, "vector")
                model.step()
                spent.clear()
                started = time.thread_time()
                for _ in range(months):
                    model.step()
                spent["month"] = time.thread_time() - started
                for label, seconds in spent.items():
                    row = best.setdefault(name, {})
                    row[label] = min(row.get(label, np.inf), seconds / months)
    return best


def print_office_profile(best: dict[str, dict[str, float]]) -> None:
    """office_profile as a table, µs a month, with the five scenarios' mean."""
    labels = ["month", *(label for label, _ in OFFICE_PARTS)]
    print(f"  {'µs a month (CPU, least of runs)':32s}" + "".join(f"{label:>14s}" for label in labels))
    for name, row in [*best.items(), ("mean", {label: np.mean([r.get(label, 0.0) for r in best.values()])
                                               for label in labels})]:
        print(f"  {name:32s}" + "".join(f"{row.get(label, 0.0) * 1e6:14.0f}" for label in labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--district", default="ouyang_road", help="preset name or generated:N")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mesa-months", type=int, default=24)
    parser.add_argument("--sweep-runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="only the paired sweep run's profile")
    parser.add_argument("--seeds", type=int, default=8, help="seeds of the profile's paired sweep")
    parser.add_argument("--office", action="store_true", help="only the street office's parts, by scenario")
    args = parser.parse_args()
    if args.office:
        print_office_profile(office_profile(args.years, args.repeat))
        return
    if args.profile:
        profile = sweep_profile(args.seeds, args.years)
        print_profile(profile, roofline_s_per_household_month(profile["households"], profile["areas"]))
        return
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

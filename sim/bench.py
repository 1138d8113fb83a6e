"""`estate-sim bench`: both engines on one district, household-months per second and peak memory.

Each engine runs in its own subprocess (`python -m sim.bench ENGINE PRESET YEARS`), so its peak
resident memory (ru_maxrss) is its own. The vectorized engine's child also times a minimal numpy
kernel on arrays of the same size (a minimal household-month: satisfaction, a payment chance from
satisfaction and habit, one draw, habit, sums by area): the floor that memory traffic and random
draws put under any array engine; and the same month compiled and fused into one pass
(`compiled_kernel`, numba, counter-based draws): the roofline.
docs/PERFORMANCE.md reports the figures.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time

import numpy as np

from sim.errors import InputError, shown

ENGINES = ("mesa", "vector")


GENERATED = "generated:"
"""`--district generated:N` benchmarks a synthetic district of N estates (generator seed 0)."""


def timed(fn, totals, label: str, clock=time.perf_counter):
    """`fn` wrapped to add the `clock` time of each call to totals[label] (a benchmark's stage timer).

    `clock`: time.perf_counter for wall time, time.thread_time for the calling thread's CPU time.
    """
    def wrapper(*args, **kwargs):
        started = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label] += clock() - started
    return wrapper


def district_spec(name: str) -> dict:
    """The scenario `district` mapping of a preset name or `generated:N` (N a positive integer).

    Any other name is an InputError naming `--district`.
    """
    from sim.districts import MAX_ESTATES, PRESETS

    if name.startswith(GENERATED):
        count = name[len(GENERATED):]
        # isdigit() alone takes '²' and other digits int() refuses
        if not (count.isascii() and count.isdigit() and 0 < int(count) <= MAX_ESTATES):
            raise InputError("command line", "--district", f"{shown(name)}: give generated:N with N "
                             f"a whole number from 1 to {MAX_ESTATES:,}")
        return {"generate": {"estates": int(count), "seed": 0}}
    if name not in PRESETS:
        raise InputError("command line", "--district",
                         f"unknown preset {shown(name)} (known: {', '.join(sorted(PRESETS))}, "
                         "or generated:N)")
    return {"preset": name}


def bench_scenario(preset: str, years: int):
    """The integrated policy (all blocks on) on a built-in or generated district, for benchmarking."""
    from sim.policies import REGISTRY
    from sim.scenario import scenario_from_mapping

    spec = {"name": "bench", "district": district_spec(preset), "years": years, "seed": 1,
            "policy": {name: {"enabled": True} for name in REGISTRY.names()}}
    return scenario_from_mapping(spec, "command line", None)


# The minimal household-month both kernels run (float32 households, as the engine's): satisfaction
# moves toward the area's quality; the chance to pay is a logistic of satisfaction and habit; one
# uniform draw decides payment; habit moves toward it; payments are summed by area and feed back to
# quality. The issue that set the roofline target measured this month (satisfaction, draw, payment,
# habit, sums by estate); the constants are arbitrary (the engine's rules are not called).
ADJUST = np.float32(0.12)
HABIT_RATE = np.float32(0.1)
PAY_WEIGHTS = (np.float32(4.0), np.float32(2.0), np.float32(-2.0))  # satisfaction, habit, intercept


def numpy_kernel(n_households: int, n_areas: int, months: int, seed: int = 0) -> float:
    """Seconds the minimal household-month (above) takes in numpy over `months`, on arrays of that size.

    Per month: gather area quality to households (np.take), the month's rules as array operations,
    one generator draw per household, payments summed by area (np.bincount).
    """
    rng = np.random.default_rng(seed)
    area = np.sort(rng.integers(0, n_areas, n_households)).astype(np.int32)
    households = np.maximum(np.bincount(area, minlength=n_areas), 1)
    quality = rng.random(n_areas)
    satisfaction = np.full(n_households, 0.5, dtype=np.float32)
    habit = np.full(n_households, 0.5, dtype=np.float32)
    gathered = np.empty(n_households, dtype=np.float64)
    draws = np.empty(n_households, dtype=np.float32)
    w_s, w_h, w_0 = PAY_WEIGHTS
    started = time.perf_counter()
    for _ in range(months):
        np.take(quality, area, out=gathered)
        satisfaction += ADJUST * (gathered.astype(np.float32) - satisfaction)
        chance = np.float32(1.0) / (np.float32(1.0) + np.exp(-(w_s * satisfaction + w_h * habit + w_0)))
        rng.random(out=draws, dtype=np.float32)
        paid = draws < chance
        habit += HABIT_RATE * (paid - habit)
        quality = 0.5 * quality + 0.5 * np.bincount(area, weights=paid, minlength=n_areas) / households
    return time.perf_counter() - started


def _kernel_month(area_start, quality, households, satisfaction, habit, seed, month):  # pragma: no cover
    """The minimal household-month compiled into one pass, in parallel over areas; counter-based draws."""
    n_areas = len(quality)
    paid = np.zeros(n_areas)
    w_s, w_h, w_0 = PAY_WEIGHTS
    one = np.float32(1.0)
    for a in prange(n_areas):
        target = np.float32(quality[a])
        count = 0
        for h in range(area_start[a], area_start[a + 1]):
            s = satisfaction[h] + ADJUST * (target - satisfaction[h])
            satisfaction[h] = s
            chance = one / (one + math.exp(-(w_s * s + w_h * habit[h] + w_0)))
            # splitmix64 of (seed, month, household): a uniform in [0, 1) from 24 bits
            z = np.uint64(seed) + np.uint64(month) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(h)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            draw = np.float32(z >> np.uint64(40)) * np.float32(1.0 / 16777216.0)
            pays = draw < chance
            habit[h] += HABIT_RATE * (pays - habit[h])
            count += pays
        paid[a] = count
    for a in range(n_areas):
        quality[a] = 0.5 * quality[a] + 0.5 * paid[a] / households[a]


try:
    import numba
    from numba import prange

    from sim.vector_engine.compiled import named_copy

    _kernel_month_parallel = numba.njit(cache=True, parallel=True, nogil=True)(
        named_copy(_kernel_month, "_kernel_month_parallel"))
    _kernel_month = numba.njit(cache=True, nogil=True)(_kernel_month)
except ImportError:  # pragma: no cover
    numba = None
    prange = range


def compiled_kernel(n_households: int, n_areas: int, months: int, seed: int = 0) -> float | None:
    """Seconds the minimal household-month (above) takes compiled over `months` (None without numba).

    The roofline: one numba pass (in parallel over areas from the engine's threading threshold,
    THREADED_HOUSEHOLDS, as the engine's household pass): per household the month's rules, one
    counter-based uniform draw (splitmix64 of seed, month and household, no generator state), and
    payments summed by area as they are made. The first month (compilation or the cache's load)
    is not timed.
    """
    if numba is None:
        return None
    rng = np.random.default_rng(seed)
    area = np.sort(rng.integers(0, n_areas, n_households))
    households = np.maximum(np.bincount(area, minlength=n_areas), 1)
    area_start = np.zeros(n_areas + 1, dtype=np.int64)
    np.cumsum(np.bincount(area, minlength=n_areas), out=area_start[1:])
    quality = rng.random(n_areas)
    satisfaction = np.full(n_households, 0.5, dtype=np.float32)
    habit = np.full(n_households, 0.5, dtype=np.float32)
    from sim.vector_engine.model import THREADED_HOUSEHOLDS

    month_pass = _kernel_month_parallel if n_households >= THREADED_HOUSEHOLDS else _kernel_month
    month_pass(area_start, quality, households, satisfaction, habit, seed, 0)
    started = time.perf_counter()
    for month in range(1, months + 1):
        month_pass(area_start, quality, households, satisfaction, habit, seed, month)
    return time.perf_counter() - started


def run_child(engine: str, preset: str, years: int) -> dict:
    """Run one engine here (the subprocess) and measure it."""
    from sim.progress import ProgressBar
    from sim.run import make_model

    scenario = bench_scenario(preset, years)
    started = time.perf_counter()
    model = make_model(scenario, engine)
    built = time.perf_counter()
    cpu_started = time.process_time()
    months = 12 * years
    with ProgressBar(months, label=f"{engine} {preset}") as bar:
        for month in range(months):
            model.step()
            bar.update(month + 1)
    finished = time.perf_counter()
    cpu_s = time.process_time() - cpu_started
    step_s = finished - built
    household_months = model.n_households * months
    result = {
        "engine": engine, "district": preset, "years": years, "households": model.n_households,
        "areas_at_start": len(scenario.load_district()), "setup_s": round(built - started, 3),
        "run_s": round(step_s, 3), "run_cpu_s": round(cpu_s, 3), "wall_s": round(finished - started, 3),
        "household_months_per_s": household_months / step_s,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if engine == "vector":
        kernel_s = numpy_kernel(model.n_households, len(scenario.load_district()), months)
        result["kernel_household_months_per_s"] = household_months / kernel_s
        result["engine_over_kernel"] = kernel_s / step_s
        compiled_s = compiled_kernel(model.n_households, len(scenario.load_district()), months)
        if compiled_s is not None:
            result["compiled_kernel_household_months_per_s"] = household_months / compiled_s
            result["engine_over_compiled_kernel"] = compiled_s / step_s
        result["compiled_month"] = bool(getattr(model, "compiled", False))
    return result


def measure(engine: str, preset: str, years: int) -> dict:
    """Run one engine in a subprocess; its stderr (progress bar) passes through."""
    proc = subprocess.run([sys.executable, "-m", "sim.bench", engine, preset, str(years)],
                          stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the {engine} benchmark failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_bench(preset: str, years: int, engines: tuple[str, ...] = ENGINES, out=None) -> list[dict]:
    """Benchmark the engines on a district; print a table to `out` (stdout) and return the measurements."""
    from sim.run import check_memory

    out = sys.stdout if out is None else out

    scenario = bench_scenario(preset, years)
    district = scenario.load_district()
    print(f"bench: integrated policy on {preset} ({len(district):,} estates, "
          f"{district.households:,} households), {years} years", file=out)
    results = []
    for engine in engines:
        try:
            check_memory(scenario, engine)
        except InputError as exc:
            print(f"{engine:>7}: skipped ({exc.message})", file=out)
            continue
        r = measure(engine, preset, years)
        results.append(r)
        print(f"{engine:>7}: {r['household_months_per_s']:>14,.0f} household-months/s  "
              f"run {r['run_s']:.2f} s (CPU {r['run_cpu_s']:.2f} s)  set-up {r['setup_s']:.2f} s  "
              f"peak memory {r['peak_rss_mb']:,.0f} MB", file=out)
        if "kernel_household_months_per_s" in r:
            print(f"{'kernel':>7}: {r['kernel_household_months_per_s']:>14,.0f} household-months/s  "
                  f"(minimal numpy month on arrays of the same size; vector engine reaches "
                  f"{r['engine_over_kernel']:.2f} of it)", file=out)
        if "compiled_kernel_household_months_per_s" in r:
            print(f"{'roof':>7}: {r['compiled_kernel_household_months_per_s']:>14,.0f} household-months/s  "
                  f"(minimal compiled month, counter-based draws; vector engine reaches "
                  f"{r['engine_over_compiled_kernel']:.2f} of it)", file=out)
    speed = {r["engine"]: r["household_months_per_s"] for r in results}
    if len(speed) == 2:
        print(f"  ratio: vector / mesa = {speed['vector'] / speed['mesa']:.0f}x", file=out)
    return results


if __name__ == "__main__":
    print(json.dumps(run_child(sys.argv[1], sys.argv[2], int(sys.argv[3]))))

"""`estate-sim bench`: both engines on one district, household-months per second and peak memory.

Each engine runs in its own subprocess (`python -m sim.bench ENGINE PRESET YEARS`), so its peak
resident memory (ru_maxrss) is its own. The vectorized engine's child also times a minimal numpy
kernel on arrays of the same size (gather area quality to households, update satisfaction, draw
payment, sum by area): the floor that memory traffic and random draws put under any array engine.
docs/PERFORMANCE.md reports the figures.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np

from sim.errors import InputError

ENGINES = ("mesa", "vector")


GENERATED = "generated:"
"""`--district generated:N` benchmarks a synthetic district of N estates (generator seed 0)."""


def district_spec(name: str) -> dict:
    """The scenario `district` mapping of a preset name or `generated:N` (N a positive integer).

    Any other name is an InputError naming `--district`.
    """
    from sim.districts import PRESETS

    if name.startswith(GENERATED):
        count = name[len(GENERATED):]
        if not (count.isdigit() and int(count) > 0):
            raise InputError("command line", "--district",
                             f"{name!r}: give generated:N with N a positive integer")
        return {"generate": {"estates": int(count), "seed": 0}}
    if name not in PRESETS:
        raise InputError("command line", "--district",
                         f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))}, or generated:N)")
    return {"preset": name}


def bench_scenario(preset: str, years: int):
    """The integrated policy (all blocks on) on a built-in or generated district, for benchmarking."""
    from sim.policies import REGISTRY
    from sim.scenario import scenario_from_mapping

    spec = {"name": "bench", "district": district_spec(preset), "years": years, "seed": 1,
            "policy": {name: {"enabled": True} for name in REGISTRY.names()}}
    return scenario_from_mapping(spec, "command line", None)


def numpy_kernel(n_households: int, n_areas: int, months: int, seed: int = 0) -> float:
    """Seconds a minimal numpy month takes over `months` on arrays of the given size.

    Per month: gather area quality to households (np.take), move satisfaction toward it, draw
    one uniform per household to pay, sum payments by area (np.bincount), feed back to quality.
    """
    rng = np.random.default_rng(seed)
    area = np.sort(rng.integers(0, n_areas, n_households)).astype(np.int32)
    households = np.maximum(np.bincount(area, minlength=n_areas), 1)
    quality = rng.random(n_areas)
    satisfaction = np.full(n_households, 0.5, dtype=np.float32)
    gathered = np.empty(n_households, dtype=np.float64)
    draws = np.empty(n_households, dtype=np.float64)
    started = time.perf_counter()
    for _ in range(months):
        np.take(quality, area, out=gathered)
        satisfaction += np.float32(0.12) * (gathered.astype(np.float32) - satisfaction)
        rng.random(out=draws)
        paid = draws < satisfaction
        quality = 0.5 * quality + 0.5 * np.bincount(area, weights=paid, minlength=n_areas) / households
    return time.perf_counter() - started


def run_child(engine: str, preset: str, years: int) -> dict:
    """Run one engine here (the subprocess) and measure it."""
    from sim.progress import ProgressBar
    from sim.run import make_model

    scenario = bench_scenario(preset, years)
    started = time.perf_counter()
    model = make_model(scenario, engine)
    built = time.perf_counter()
    months = 12 * years
    with ProgressBar(months, label=f"{engine} {preset}") as bar:
        for month in range(months):
            model.step()
            bar.update(month + 1)
    finished = time.perf_counter()
    step_s = finished - built
    household_months = model.n_households * months
    result = {
        "engine": engine, "district": preset, "years": years, "households": model.n_households,
        "areas_at_start": len(scenario.load_district()), "setup_s": round(built - started, 3),
        "run_s": round(step_s, 3), "wall_s": round(finished - started, 3),
        "household_months_per_s": household_months / step_s,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if engine == "vector":
        kernel_s = numpy_kernel(model.n_households, len(scenario.load_district()), months)
        result["kernel_household_months_per_s"] = household_months / kernel_s
        result["engine_over_kernel"] = kernel_s / step_s
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
              f"run {r['run_s']:.2f} s  set-up {r['setup_s']:.2f} s  "
              f"peak memory {r['peak_rss_mb']:,.0f} MB", file=out)
        if "kernel_household_months_per_s" in r:
            print(f"{'kernel':>7}: {r['kernel_household_months_per_s']:>14,.0f} household-months/s  "
                  f"(minimal numpy month on arrays of the same size; vector engine reaches "
                  f"{r['engine_over_kernel']:.2f} of it)", file=out)
    speed = {r["engine"]: r["household_months_per_s"] for r in results}
    if len(speed) == 2:
        print(f"  ratio: vector / mesa = {speed['vector'] / speed['mesa']:.0f}x", file=out)
    return results


if __name__ == "__main__":
    print(json.dumps(run_child(sys.argv[1], sys.argv[2], int(sys.argv[3]))))

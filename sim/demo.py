"""`make demo`: the five shipped policies on Ouyang Road over several seeds, a figure and a table.

Replicate r runs every policy with the same seed (common random numbers), so the differences
between policies are paired.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from sim.outputs import write_table
from sim.progress import ProgressBar
from sim.scenario import load_scenario

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
POLICIES = ("status_quo", "n_in_1", "strong_leads_weak", "self_governance", "integrated")


def _run_one(task: tuple[str, int, int | None]) -> pd.DataFrame:
    from sim.run import run_scenario

    name, seed, years = task
    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml").with_overrides(seed=seed, years=years)
    frame = run_scenario(scenario).timeseries
    frame.insert(1, "scenario", name)
    frame.insert(2, "replicate", seed - scenario_seed_base())
    return frame


def scenario_seed_base() -> int:
    """Seed of replicate 0: the shipped scenarios' own seed."""
    return load_scenario(SCENARIO_DIR / "status_quo.yaml").seed


def run_demo(out: Path, *, seeds: int = 5, years: int | None = None, workers: int = 2) -> int:
    """Run the comparison, write out/demo_timeseries.parquet and the figure, print the table."""
    from analysis.plots import policy_comparison_figure
    from analysis.tables import final_year_table

    base = scenario_seed_base()
    tasks = [(name, base + r, years) for r in range(seeds) for name in POLICIES]
    frames = []
    print(f"Running {len(POLICIES)} policies x {seeds} seeds on ouyang_road "
          f"({workers} worker{'s' if workers > 1 else ''})...")
    with ProgressBar(len(tasks), label="demo", delay_s=0.0) as bar, \
            ProcessPoolExecutor(max_workers=workers) as pool:
        for i, frame in enumerate(pool.map(_run_one, tasks), start=1):
            frames.append(frame)
            bar.update(i)
    timeseries = pd.concat(frames, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    data_path = write_table(timeseries, out / "demo_timeseries", "parquet")
    figure_paths = policy_comparison_figure(timeseries, out / "policy_comparison", order=POLICIES)
    print()
    print(final_year_table(timeseries, order=POLICIES))
    print()
    print("wrote " + ", ".join(str(p) for p in [data_path, *figure_paths]))
    return 0

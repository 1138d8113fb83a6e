"""Several seeds in the app: the compared runs' spread over 10 seeds, as BehaviorSpace would give.

The button runs the page's setup (both runs when comparing) once per seed — the page's seed and
the next nine — for SEED_YEARS years, in one worker process that the whole server shares
(sim.experiments.executors.process_pool): the server's own process only waits, so the other
sessions play on, and a class asking for seeds at once queues there instead of taking every core.
The worker dies with the server.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

import numpy as np

SEEDS = 10
SEED_YEARS = 10
"""Each seed runs ten years (the lesson's horizon for comparisons)."""
SEED_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("service_quality", "Service quality", "{:.2f}"),
    ("fee_collection_rate", "Fee collection", "{:.0%}"),
    ("satisfaction", "Satisfaction", "{:.2f}"),
    ("management_areas", "Management areas", "{:.0f}"),
    ("active_firms", "Firms in the market", "{:.0f}"),
    ("rc_workload", "Residents' committee workload (per 1000 households)", "{:.2f}"),
)
"""The measures (MonthRecord fields) whose spread over seeds the page shows, in year SEED_YEARS."""

_pool = None
_pool_lock = threading.Lock()


def seed_outcomes(settings: dict[str, Any], seed: int, years: int = SEED_YEARS) -> list[dict[str, float]]:
    """One seed of the setup: each run's measures after `years` years (runs in the worker)."""
    from sim.app.model import TeachingModel

    model = TeachingModel(**{**settings, "rng": int(seed)})
    for _ in range(years * 12):
        model.step()
    return [{key: float(getattr(run.records[-1], key)) for key, _, _ in SEED_MEASURES} for run in model.runs]


def seed_pool():
    """The server's one worker process for seeds (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from sim.experiments.executors import process_pool, stop_pool

            _pool = process_pool(1)
            # the pool's own exit hook would wait for every queued seed: end the worker first
            # (threading's exit hooks run newest first, before the pool's)
            register = getattr(threading, "_register_atexit", None)
            pool = _pool
            if register is not None:
                register(lambda: stop_pool(pool))
        return _pool


def submit_seeds(settings: dict[str, Any], seeds: int = SEEDS, years: int = SEED_YEARS,
                 pool=None) -> list[Future]:
    """Queue the page's seed and the next ones; one future per seed."""
    pool = pool or seed_pool()
    first = int(settings["rng"])
    return [pool.submit(seed_outcomes, dict(settings), first + i, years) for i in range(seeds)]


def spread_rows(results: list[list[dict[str, float]]], names: list[str]) -> list[dict[str, str]]:
    """Per measure: each run's median and range over the seeds; with two runs, the difference's.

    The difference is taken seed by seed (the runs of one seed share their district and draws), and
    `first ahead` counts the seeds where the first run's value is higher.
    """
    rows = []
    for key, label, fmt in SEED_MEASURES:
        values = np.array([[seed[r][key] for r in range(len(names))] for seed in results])
        row = {"measure": label}
        for r, name in enumerate(names):
            column = values[:, r]
            row[name] = (f"{fmt.format(np.median(column))} "
                         f"[{fmt.format(column.min())}, {fmt.format(column.max())}]")
        if len(names) == 2:
            diff = values[:, 0] - values[:, 1]
            row["difference"] = (f"{fmt.format(np.median(diff))} "
                                 f"[{fmt.format(diff.min())}, {fmt.format(diff.max())}]")
            row["first ahead"] = f"{int((diff > 0).sum())}/{len(diff)}"
        rows.append(row)
    return rows

"""The runs a command makes for its own analysis (calibrate, validate-model), stored as a sweep's are.

Each run is a task with its identity (sim/experiments/identity.py) stored in a results folder
(sim/experiments/store.py) as it finishes, so that a stopped command resumes where it stopped,
a changed input (a district's file, a parameter, the model's code) is refused naming what
differs (or, with ``rerun_changed``, its runs are made again), stored tables are checked and
results of two versions never mix. The command then reads every run's tables back from the
folder, whichever invocation made them: the same numbers as one uninterrupted invocation.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.executors import make_executor
from sim.experiments.identity import identity_digest
from sim.experiments.runner import RunTask
from sim.experiments.store import KEY_COLUMNS, TABLE_DIRS, ResultsStore, check_out_folder, sha256_json
from sim.experiments.sweep import SweepInterrupted, input_files, make_task, runs_to_do, store_runs
from sim.scenario import Scenario

ANALYSIS_TABLES = ("timeseries", "areas", "estates", "firms")
KEEP_ANALYSIS_TABLES = "sim.experiments.stored:analysis_tables"
"""A task's `keep` for validate-model's runs: every output table but the events (the largest), and
the estates' and areas' series where the scenario records them (`record:`)."""
SERIES_TABLES = ("estate_series", "area_series")


def analysis_tables(result, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """A run's timeseries, areas, estates and firms, and its recorded series (RunTask.keep)."""
    return {name: frame for name, frame in result.tables().items()
            if name in ANALYSIS_TABLES or name in SERIES_TABLES}


def task(run_id: str, scenario: Scenario, replicate: int, design_point: int, seed: int, engine: str,
         params: dict[str, Any], keep: str | None) -> RunTask:
    """One run of a command's own set: `params` over the scenario's, `keep` what of it is stored.

    `run_id` is made of slug_name's pieces joined by ``-`` (never ``~``: the store's temporaries).
    """
    made = make_task(run_id, scenario, replicate, design_point, seed, engine, None, params,
                     input_files(scenario))
    if keep is None:
        return made
    # what is stored is computed by the keep function's module too: its code is part of the identity
    module = keep.partition(":")[0]
    parts = {**made.identity_parts, f"code of {module}": _code_digest(module)}
    return dataclasses.replace(made, keep=keep, identity_parts=parts, identity=identity_digest(parts))


@functools.cache
def _code_digest(module: str) -> str:
    """The SHA-256 of a module's source, 12 hex characters."""
    origin = importlib.util.find_spec(module).origin
    return hashlib.sha256(Path(origin).read_bytes()).hexdigest()[:12]


def stored_tables(folder: Path, tasks: Sequence[RunTask], tables: Sequence[str], *, resolved: dict[str, Any],
                  engine: str, workers: int = 1, flag: str = "--out", rerun_changed: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  optional: Sequence[str] = ()) -> dict[str, dict[str, pd.DataFrame]]:
    """Run the tasks not yet stored ok in `folder`, then every task's `tables` read back, by run id.

    `optional` tables are read back for the runs that stored them (a series some scenarios record).

    `resolved` describes the set for the folder's manifest. A run that fails stops the command
    (RuntimeError naming it) once every other run is stored: the next invocation retries it.
    """
    folder = Path(folder)
    check_out_folder(folder, flag)
    started = False
    store = ResultsStore(folder, flag)
    try:
        with make_executor(workers) as executor, store:
            records = store.open(sweep_sha256=sha256_json(resolved), resolved=resolved, engine=engine,
                                 executor=executor.name, rerun_changed=rerun_changed,
                                 identities={t.run_id: t.identity_parts for t in tasks})
            _, todo = runs_to_do(store, records, list(tasks))
            # a run stored with other tables (another command's kind of task) is made again
            redo = {t.run_id for t in todo}
            todo += [t for t in tasks if t.run_id not in redo
                     and not set(tables) <= set(records[t.run_id].get("tables", {}))]
            started = True
            for _ in store_runs(store, todo, executor,
                                None if progress is None else lambda done, total, _: progress(done, total)):
                pass
            runs = store.consolidate([t.run_id for t in tasks], [])
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        done = (f"{store.stored(t.run_id for t in tasks)} of {len(tasks)} runs are stored" if started
                else "before any run started")
        raise SweepInterrupted(f"interrupted: {done} in {folder}; run the same command again to resume",
                               signum) from None
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        first = failed.iloc[0]
        raise RuntimeError(f"{len(failed)} of {len(tasks)} runs failed (e.g. {first['run_id']}: "
                           f"{first['error']}); the others are stored in {folder}: fix the failure and "
                           "run the same command again")
    def path(name: str, run_id: str) -> Path:
        return folder / TABLE_DIRS[name] / f"{run_id}.parquet"

    return {t.run_id: {name: pd.read_parquet(path(name, t.run_id)).drop(columns=list(KEY_COLUMNS))
                       for name in (*tables, *optional) if name in tables or path(name, t.run_id).exists()}
            for t in tasks}

"""Shared helpers: the real command line, small scenario files, and the engines under test."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ENGINES = ["mesa", "vector"]
"""Engines every engine-agnostic test runs on (the same property tests hold for both)."""

_KEPT_BURN_INS: Path | None = None


def pytest_configure(config):
    """One folder of kept burn-ins for the whole run, its workers and the commands they start.

    Many tests run the same seed, district and parameters: each burn-in is made once, then every
    run starts from a copy (sim.snapshot.CACHE_ENV; a run from a copy is the run that did its own:
    tests/test_shared_burn_in.py, which runs without it). Set ESTATE_SIM_BURN_IN_CACHE yourself
    (empty: none) to choose; the folder made here goes when the run ends.
    """
    global _KEPT_BURN_INS
    from sim.snapshot import CACHE_ENV

    if hasattr(config, "workerinput") or CACHE_ENV in os.environ:
        return
    import tempfile

    _KEPT_BURN_INS = Path(tempfile.mkdtemp(prefix="estate-sim-burn-ins-"))
    os.environ[CACHE_ENV] = str(_KEPT_BURN_INS)


def pytest_unconfigure(config):
    global _KEPT_BURN_INS
    if _KEPT_BURN_INS is not None:
        import shutil

        from sim.snapshot import CACHE_ENV

        shutil.rmtree(_KEPT_BURN_INS, ignore_errors=True)
        os.environ.pop(CACHE_ENV, None)
        _KEPT_BURN_INS = None


def pytest_sessionstart(session):
    """Compile the vectorized engine's month once, before any worker starts (numba's cache).

    On a fresh clone the first run compiles (sim.vector_engine.compiled) and writes numba's cache
    in the source tree; under xdist the controller does it here, so the workers only load it.
    """
    if hasattr(session.config, "workerinput"):
        return
    from sim.vector_engine.compiled import warm_cache

    warm_cache()


HEAVY_FIRST = ("test_docking", "test_fault_kills", "test_app_browser", "test_shared_burn_in",
               "test_bad_input", "test_app", "test_ablation", "test_fault_injection",
               "test_compare_ranking", "test_sweep_resume", "test_fuzz_input", "test_calibration",
               "test_regression", "test_engine_conformance", "test_outputs", "test_validation",
               "test_docs", "test_processes", "test_conclusions", "test_at_rest", "test_fast_analysis",
               "test_mechanisms", "test_analysis_compare", "test_sweep_executors", "test_cases",
               "test_analysis_sensitivity")
"""The modules that take longest, longest first (`pytest --durations=0`, summed by file).

`make test` hands whole modules to two workers (`--dist loadfile`, so a module's shared runs are
made once) in collection order (`--no-loadscope-reorder`): the long ones start first and the short
ones fill in behind them, so neither worker is left with a long module at the end while the other
idles (longest-first scheduling). The random SIGKILLs have a module of their own
(tests/test_fault_kills.py) so that the longest two, it and the docking runs, start together on
the two workers; the browser tests, which time what a page shows, start when one of them is done."""


def pytest_collection_modifyitems(session, config, items):
    """Put the modules of HEAVY_FIRST first, in that order; every other test keeps its place."""
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: the rest keep their place


def run_cli(*args, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m sim ARGS` in a fresh process, the package importable from the repository root."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ESTATE_SIM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session", params=ENGINES)
def engine(request) -> str:
    """Each engine in ENGINES in turn (session-scoped, so hypothesis tests can take it)."""
    return request.param


@pytest.fixture(scope="session")
def cli():
    """The command line as a function: cli("run", path, "--out", out) -> CompletedProcess."""
    return run_cli

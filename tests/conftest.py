"""Shared helpers: the real command line, small scenario files, and the engines under test."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ENGINES = ["mesa", "vector"]
"""Engines every engine-agnostic test runs on (the same property tests hold for both)."""

def pytest_sessionstart(session):
    """Compile the vectorized engine's month once, before any worker starts (numba's cache).

    On a fresh clone the first run compiles (sim.vector_engine.compiled) and writes numba's cache
    in the source tree; under xdist the controller does it here, so the workers only load it.
    """
    if hasattr(session.config, "workerinput"):
        return
    from sim.vector_engine.compiled import warm_cache

    warm_cache()


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

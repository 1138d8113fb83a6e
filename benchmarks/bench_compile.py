"""Compile cost of the vectorized engine's month: a first run with an empty numba cache, then again.

Each pass runs in a fresh process with NUMBA_CACHE_DIR set to one new temporary folder: one year of
`integrated` on Ouyang Road (float32 households), a float64 model's month, the parallel household
pass and the compiled roofline kernel. The first pass compiles and writes the cache; the second
only loads it (what every later run and every sweep worker pays).
Usage: python benchmarks/bench_compile.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import time
t0 = time.perf_counter()
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from sim.bench import compiled_kernel
from sim.run import run_scenario
from sim.scenario import load_scenario
from sim.vector_engine import VectorModel
scenario = load_scenario("scenarios/integrated.yaml").with_overrides(years=1, seed=1)
t1 = time.perf_counter(); run_scenario(scenario, "vector"); t2 = time.perf_counter()
VectorModel(scenario, dtype=np.float64).step(); t3 = time.perf_counter()
model = VectorModel(scenario.with_overrides(params={"burn_in_years": 0}))
with ThreadPoolExecutor(2) as model._threads:
    model.step()
t4 = time.perf_counter(); compiled_kernel(1000, 10, 1); t5 = time.perf_counter()
print(f"import {t1 - t0:.1f} s, float32 run {t2 - t1:.1f} s, float64 month {t3 - t2:.1f} s, "
      f"parallel pass {t4 - t3:.1f} s, roofline {t5 - t4:.1f} s: total {t5 - t0:.1f} s")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        for label in ("empty cache", "cache loaded"):
            done = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True,
                                  text=True, check=True)
            print(f"{label:>12}: {done.stdout.strip()}")


if __name__ == "__main__":
    main()

"""Benchmark: the Mesa and vectorized engines on one district (docs/PERFORMANCE.md, "Vectorized engine").

Each engine runs the integrated policy in its own subprocess; prints household-months per second,
the vector/Mesa ratio, peak memory, and the vector engine against a minimal numpy kernel.
Usage: python benchmarks/bench_engines.py [--district ouyang_road] [--years 2] [--engines mesa,vector]
       [--json out.json]
(the same as `estate-sim bench`, plus the raw measurements as JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from sim.bench import run_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--district", default="ouyang_road")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--engines", default="mesa,vector")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    results = run_bench(args.district, args.years, tuple(args.engines.split(",")))
    if args.json:
        machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
                   "processor": platform.processor() or platform.machine()}
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()

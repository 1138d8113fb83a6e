"""Analysis speed: `estate-sim compare` then `estate-sim report` of a 150-run sweep, as a user runs them.

Each command runs in a fresh process (imports included). The results folder is a synthetic
sweep written through the sweep's own store (tests/synthetic_results.py: 5 policies × 30
replicates × 10 years, the shipped policy sweep's shape), or a real one given with --folder.
The target (issue 28, docs/PERFORMANCE.md) is compare plus report in at most 10 s on this
2-core machine; `report` after `compare` reuses the comparison compare wrote:

    python benchmarks/bench_analysis.py
    python benchmarks/bench_analysis.py --folder out/policy-comparison
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

POLICIES = {"status_quo": 0.0, "n_in_1": 0.02, "strong_leads_weak": 0.03, "self_governance": 0.01,
            "integrated": 0.05}
TARGET_S = 10.0


CPU_S: dict[str, tuple[float, float]] = {}
"""CPU time (user + system) of each command timed, by its first argument: its own process's and
its figure helper's (analysis/drawing.py). On a machine other sessions load, the wall time
measures the load as much as the command; the CPU times do not, and on two idle cores the wall
time approaches the larger of the two (the helper starts with the command and runs beside it)."""
RUN = """import resource, sys
from sim.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:  # --help
    code = stop.code
times = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print("cpu", *(t.ru_utime + t.ru_stime for t in times), file=sys.stderr)
sys.exit(code)
"""
"""`python -m sim ARGS`, then its CPU time and its children's (the helper) on stderr's last line."""


def timed(*args: str) -> float:
    """Wall time of `python -m sim ARGS` in a fresh process (its CPU times into CPU_S); exits if it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"estate-sim {' '.join(args)} failed:\n{done.stderr}")
    own, helper = map(float, done.stderr.strip().splitlines()[-1].split()[1:])
    CPU_S[args[0]] = (own, helper)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a sweep's results folder (default: a synthetic one)")
    parser.add_argument("--replicates", type=int, default=30, help="synthetic: replicates per policy")
    parser.add_argument("--years", type=int, default=10, help="synthetic: years per run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            from synthetic_results import make_results

            folder = make_results(Path(tmp) / "results", effects=POLICIES, replicates=args.replicates,
                                  years=args.years)
        else:
            copy = Path(tmp) / "results"  # compare and report write into the folder: work on a copy
            shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("comparison", "report"))
            folder = copy
        from analysis.results import load_runs

        runs = len(load_runs(folder))
        timed("--help")  # the interpreter and the package's files in the page cache
        compare = timed("compare", str(folder))
        report = timed("report", str(folder))
        compare_cpu, report_cpu = CPU_S["compare"], CPU_S["report"]
        alone = timed("report", str(folder), "--out", str(Path(tmp) / "report-alone"),
                      "--metrics", "service_quality", "satisfaction")
        help_s = timed("--help")
    total = compare + report
    print(f"{runs} runs: compare {compare:.1f} s, report after compare {report:.1f} s, "
          f"total {total:.1f} s (target {TARGET_S:.0f} s: {'met' if total <= TARGET_S else 'MISSED'}); "
          f"report with no comparison to reuse (2 metrics) {alone:.1f} s; `--help` {help_s:.2f} s")
    idle = max(compare_cpu) + max(report_cpu)
    print(f"CPU time (user + system), own process + figure helper: compare {compare_cpu[0]:.1f} + "
          f"{compare_cpu[1]:.1f} s, report after compare {report_cpu[0]:.1f} + {report_cpu[1]:.1f} s; "
          f"the busier process of each, summed (a lower bound of the wall time on two idle cores): "
          f"{idle:.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

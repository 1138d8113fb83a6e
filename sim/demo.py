"""`make demo`: the shipped policy sweep on Ouyang Road, its headline figure, table and report.

It runs (or resumes) scenarios/sweeps/policy_comparison.yaml: the five policies, 30 replicates
each, replicate r with the same seed under every policy (common random numbers), then draws the
headline figure (service quality, fee collection and satisfaction over the years, a band over
replicates), prints the table of final values (mean of the last 12 months) and writes the full
comparison report. Then it runs scenarios/sweeps/posterior_comparison.yaml — the same policies
under parameter uncertainty: 12 of the calibration's accepted parameter sets (docs/calibration) ×
3 seeds — and writes, into OUT/posterior, the probability that each policy beats each other one
over parameter sets × seeds (ranking.csv, ranking.png) and each policy's difference from the
status quo with a band over seeds and a band over parameter sets × seeds, and prints the ranking
and, in a few lines, the conclusions that hold in every model variant (conclusions.csv: each set
is paired with a draw of the assumptions from their priors, analysis/conclusions.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from sim.progress import ProgressBar
from sim.text import plural

ROOT = Path(__file__).resolve().parent.parent
SWEEP_FILE = ROOT / "scenarios" / "sweeps" / "policy_comparison.yaml"
POSTERIOR_FILE = ROOT / "scenarios" / "sweeps" / "posterior_comparison.yaml"
POLICIES = ("status_quo", "n_in_1", "strong_leads_weak", "self_governance", "integrated")


def run_demo(out: Path, *, workers: int = 2, quiet: bool = False) -> int:
    """Sweep, figure, table, report; returns 1 if any run failed (they are reported), else 0."""
    from analysis.plots import DEMO_METRICS, policy_comparison_figure
    from analysis.report import run_report
    from analysis.results import load_timeseries
    from analysis.tables import TABLE_METRICS, final_year_table
    from sim.experiments.executors import make_executor
    from sim.experiments.sweep import load_sweep, run_sweep

    sweep = load_sweep(SWEEP_FILE)
    results = out / "policy-comparison"
    print(f"Running {SWEEP_FILE.relative_to(ROOT)}: {len(sweep.scenarios)} policies x "
          f"{plural(sweep.replicates, 'replicate')} on ouyang_road, engine {sweep.engine}, "
          f"{plural(workers, 'worker')}")
    with ProgressBar(1, label="demo", enabled=not quiet, delay_s=0.0) as bar:
        summary = run_sweep(sweep, results, make_executor(workers, None, None),
                            progress=lambda done, total, failed: bar.update(done, total),
                            rerun_changed=True)  # the demo's own folder: after an update, re-run what changed
    print(summary.text())
    columns = sorted(set(DEMO_METRICS) | set(TABLE_METRICS))
    timeseries = load_timeseries(results, columns=columns)
    labels = {scenario.name: scenario.label for scenario in sweep.scenarios}
    figure = policy_comparison_figure(timeseries, out / "policy_comparison", order=POLICIES,
                                      district=sweep.scenarios[0].load_district().name, labels=labels)
    report_dir = out / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    with open(report_dir / "report.log", "w") as log, contextlib.redirect_stdout(log):
        run_report(results, report_dir)
    print()
    print(final_year_table(timeseries, order=POLICIES, labels=labels))
    print()
    print("wrote " + ", ".join(str(p) for p in figure))
    print(f"      {report_dir / 'report.html'} (comparison figures, paired differences, provenance)")
    print(f"      results of every run in {results}")
    failed = len(summary.failed)
    if failed:
        print(f"{failed} of {summary.total} runs failed: see {report_dir / 'report.html'}")
    print()
    failed += run_posterior_demo(out, workers=workers, quiet=quiet)
    return 1 if failed else 0


def run_posterior_demo(out: Path, *, workers: int = 2, quiet: bool = False) -> int:
    """The policies over the calibration's accepted parameter sets × seeds: ranking and bands.

    Returns how many runs failed (they are reported).
    """
    from analysis.compare import DEFAULT_METRICS, compare_results, write_ranking
    from analysis.conclusions import conclusions_text
    from analysis.ranking import summary_text
    from sim.experiments.executors import make_executor
    from sim.experiments.sweep import load_sweep, run_sweep

    sweep = load_sweep(POSTERIOR_FILE)
    results = out / "posterior-comparison"
    shown = POSTERIOR_FILE.relative_to(ROOT) if POSTERIOR_FILE.is_relative_to(ROOT) else POSTERIOR_FILE
    print(f"Running {shown}: {len(sweep.scenarios)} policies x "
          f"{len(sweep.design)} accepted parameter sets of {sweep.factors['source']} x "
          f"{plural(sweep.replicates, 'seed')}, engine {sweep.engine}, {workers} worker(s)")
    with ProgressBar(1, label="demo (parameter uncertainty)", enabled=not quiet, delay_s=0.0) as bar:
        summary = run_sweep(sweep, results, make_executor(workers, None, None),
                            progress=lambda done, total, failed: bar.update(done, total),
                            rerun_changed=True)  # the demo's own folder: after an update, re-run what changed
    print(summary.text())
    comparison = compare_results(results, metrics=DEFAULT_METRICS)
    written = write_ranking(comparison, out / "posterior")
    print()
    print(summary_text(comparison.ranking, comparison.baseline, comparison.scope, comparison.points_name,
                       comparison.labels))
    print()
    print(conclusions_text(comparison.conclusions, comparison.baseline, comparison.labels))
    print()
    print("wrote " + ", ".join(str(p) for p in written))
    if summary.failed:
        print(f"{len(summary.failed)} of {summary.total} runs failed (they are left out of the ranking)")
    return len(summary.failed)

"""The `estate-sim` command line (also `python -m sim`): the imperative shell around the model.

Exit status: 0 success, 2 bad input (one line on stderr naming the file and the key), 1 an
internal error or failed runs (one line; set ESTATE_SIM_DEBUG=1 for the traceback), 128 + N
when stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP). docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from sim import __version__
from sim.errors import InputError, printable
from sim.text import plural

SUMMARY_COLUMNS = {
    "service_quality": "quality",
    "fee_collection_rate": "collection",
    "satisfaction": "satisfaction",
    "management_areas": "areas",
    "areas_lt200": "areas<200",
    "active_firms": "firms",
    "firm_exits": "firm exits",
    "cost_per_household": "cost/hh (yuan)",
    "rc_workload": "RC workload",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit status 2."""

    def error(self, message: str):
        flag, _, detail = message.partition(": ")
        if flag.startswith("argument ") and detail:
            raise InputError("command line", flag.removeprefix("argument "), detail)
        raise InputError("command line", None, message)


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be zero or more")
    return value


def _positive_int(text: str) -> int:
    value = _nonnegative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _port(text: str) -> int:
    value = _nonnegative_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return value


RERUN_HELP = ("run again, into the same folder, the stored runs whose inputs or model version "
              "changed (without it such a folder is refused, naming what differs)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="estate-sim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"estate-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write its tables (timeseries, areas, "
                         "estates, events, firms) and run.json")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--engine",
                     help="vector (arrays; the default) or mesa (one agent per household, for "
                          "when the agents are wanted); both give the same tables for a seed")
    run.add_argument("--seed", type=_nonnegative_int, help="override the scenario's seed")
    run.add_argument("--years", type=_positive_int, help="override the scenario's years")
    run.add_argument("--out", type=Path, default=Path("out/run"), help="output folder")
    run.add_argument("--format", default="parquet", help="table format: parquet (the default) or csv")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    run.add_argument("--start", type=Path, metavar="FILE",
                     help="start from a stored burn-in (`estate-sim burn-in`) instead of doing the run's "
                          "own; same seed, district and parameters, any policies; the same tables")

    burn = sub.add_parser("burn-in", help="run a scenario's burn-in once and store its end state, to start "
                          "runs from (run --start FILE, sim.run(start=...))")
    burn.add_argument("scenario", type=Path, help="scenario YAML file (its policies do not matter)")
    burn.add_argument("--engine", help="vector (the default) or mesa")
    burn.add_argument("--seed", type=_nonnegative_int, help="override the scenario's seed")
    burn.add_argument("--out", type=Path,
                      help="the burn-in file (default out/burn-in/NAME-seedSEED.ENGINE.burnin)")
    burn.add_argument("--quiet", action="store_true", help="no summary")

    validate = sub.add_parser("validate", help="check a scenario, sweep or sensitivity file; "
                              "say how many runs a sweep makes")
    validate.add_argument("scenario", type=Path, metavar="FILE",
                          help="scenario, sweep or sensitivity YAML file")

    demo = sub.add_parser("demo", help="compare the five shipped policies on Ouyang Road")
    demo.add_argument("--out", type=Path, default=Path("out"))
    demo.add_argument("--workers", type=_positive_int, default=min(2, os.cpu_count() or 1))
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    sweep = sub.add_parser("sweep", help="run scenarios x replicates x a parameter design, resumably")
    sweep.add_argument("sweep", type=Path, help="sweep YAML file")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, default=1,
                       help="local worker processes (1: run in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--dask-local", type=_positive_int, metavar="N",
                       help="start a Dask LocalCluster of N worker processes on 127.0.0.1")
    sweep.add_argument("--out", type=Path, help="results folder (default out/sweeps/NAME)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sweep.add_argument("--rerun-changed", action="store_true", help=RERUN_HELP)

    app = sub.add_parser("app", help="serve the teaching app (Solara) in a web browser")
    app.add_argument("--port", type=_port, default=8765, help="port to serve on (default 8765)")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this computer only)")

    bench = sub.add_parser("bench", help="time both engines on one district (household-months/s, memory)")
    bench.add_argument("--district", default="ouyang_road",
                       help="built-in district (preset name), or generated:N for N synthetic estates")
    bench.add_argument("--years", type=_positive_int, default=2, help="simulated years per engine")
    bench.add_argument("--engines", default="mesa,vector", help="comma-separated engines to time")

    compare = sub.add_parser("compare", help="compare a sweep's policies: figures and tables with 95%% CIs")
    compare.add_argument("results", type=Path, help="a sweep's results folder")
    compare.add_argument("--baseline", help="scenario the others are paired with (default: status_quo if "
                         "the sweep has it, else its first scenario)")
    compare.add_argument("--metrics", nargs="+", metavar="METRIC",
                         help="timeseries columns to compare (space- or comma-separated)")
    compare.add_argument("--band", choices=("ci", "envelope"), default="ci",
                         help="time-series band: 95%% CI of the mean, or 95%% envelope of the runs")
    compare.add_argument("--scenarios", nargs="+", metavar="NAME",
                         help="compare only these scenarios (and the baseline), space- or comma-separated")
    compare.add_argument("--out", type=Path, help="output folder (default RESULTS/comparison)")

    sensitivity = sub.add_parser("sensitivity", help="Sobol' or Morris sensitivity of final-year outputs")
    sensitivity.add_argument("spec", type=Path, help="sensitivity YAML file")
    sensitivity.add_argument("--workers", type=_positive_int, default=1, help="local worker processes")
    sensitivity.add_argument("--out", type=Path, help="output folder (default out/sensitivity/NAME)")
    sensitivity.add_argument("--rerun-changed", action="store_true", help=RERUN_HELP)

    report = sub.add_parser("report", help="one self-contained HTML report of a sweep's comparison")
    report.add_argument("results", type=Path, help="a sweep's results folder")
    report.add_argument("--baseline", help="scenario the others are paired with (default: status_quo if "
                         "the sweep has it, else its first scenario)")
    report.add_argument("--metrics", nargs="+", metavar="METRIC", help="timeseries columns to compare")
    report.add_argument("--scenarios", nargs="+", metavar="NAME",
                        help="report only these scenarios (and the baseline), space- or comma-separated")
    report.add_argument("--out", type=Path, help="output folder (default RESULTS/report)")
    calibrate = sub.add_parser("calibrate", help="ABC calibration against the Ouyang Road record")
    calibrate.add_argument("spec", type=Path, help="calibration YAML (scenario, priors, targets)")
    calibrate.add_argument("--out", type=Path, default=None, help="output folder")
    calibrate.add_argument("--workers", type=_positive_int, default=min(2, os.cpu_count() or 1))
    calibrate.add_argument("--quiet", action="store_true")
    calibrate.add_argument("--runs", type=Path, default=None,
                           help="results folder of the runs, kept to resume (default OUT/runs)")
    calibrate.add_argument("--rerun-changed", action="store_true", help=RERUN_HELP)

    check = sub.add_parser("validate-model", help="check the model against the record; write VALIDATION.md")
    check.add_argument("--out", type=Path, default=Path("docs/VALIDATION.md"))
    check.add_argument("--seeds", type=_positive_int, default=20,
                       help="how many fresh seeds (default 20)")
    check.add_argument("--seed", type=_nonnegative_int, default=None, metavar="ROOT",
                       help="root of the validation seeds (default 20230116); any root gives seeds "
                            "disjoint from the calibration's")
    check.add_argument("--no-ablation", action="store_true",
                       help="skip the mechanism-ablation section (faster)")
    check.add_argument("--engine", choices=("mesa", "vector"), default="vector")
    check.add_argument("--workers", type=_positive_int, default=min(2, os.cpu_count() or 1))
    check.add_argument("--runs", type=Path, default=None,
                       help="folder of the runs' results folders, kept to resume (default "
                            "out/validate-model/ENGINE-ROOT)")
    check.add_argument("--rerun-changed", action="store_true", help=RERUN_HELP)
    return parser


def _summary(timeseries) -> str:
    from sim.outputs import FINAL_MONTHS, final_values

    final = final_values(timeseries, list(SUMMARY_COLUMNS)).iloc[0]
    first = timeseries.iloc[0]
    lines = [f"{'measure':<16}{'month 1':>12}{'final':>12}   (final: mean of the last "
             f"{FINAL_MONTHS} months)"]
    for column, label in SUMMARY_COLUMNS.items():
        lines.append(f"{label:<16}{first[column]:>12.3g}{final[column]:>12.3g}")
    return "\n".join(lines)


def _engine_flag(args) -> str:
    from sim.run import DEFAULT_ENGINE, ENGINES

    engine = args.engine or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise InputError("command line", "--engine", f"unknown engine {engine!r} "
                         f"(choose from {', '.join(ENGINES)})")
    return engine


def cmd_run(args) -> int:
    """`estate-sim run`: validate everything, run, then write the three outputs."""
    from sim.outputs import FORMATS, write_run
    from sim.progress import ProgressBar
    from sim.run import run_scenario
    from sim.scenario import load_scenario
    from sim.snapshot import BurnIn

    args.engine = _engine_flag(args)
    if args.format not in FORMATS:
        raise InputError("command line", "--format", f"invalid choice: {args.format!r} "
                         f"(choose from {', '.join(FORMATS)})")
    _check_run_folder(args.out)  # before the simulation (main checked the place): a bad --out
    # must not cost a run
    scenario = load_scenario(args.scenario)
    try:
        scenario = scenario.with_overrides(years=args.years, seed=args.seed)
    except InputError as exc:  # only the flags change here: say so
        raise InputError("command line", f"--{exc.key}", exc.message) from None
    start = BurnIn.load(args.start) if args.start is not None else None
    if start is not None:  # a burn-in for another seed or parameters: refused before the run
        start.check(scenario, args.engine)
    _warn_implausible((scenario,), sys.stderr)  # as `validate` does, on stderr: quiet or not
    with ProgressBar(12 * scenario.years, label=printable(scenario.name), enabled=not args.quiet) as bar:
        result = run_scenario(scenario, args.engine, progress=bar.update, start=start)
    written = write_as_one_set(args.out, lambda folder: write_run(
        folder, result.tables(), result.meta, args.format))
    if not args.quiet:
        print(f"{printable(scenario.name)}: {plural(scenario.years, 'year')}, seed {scenario.seed}, "
              f"engine {args.engine}, {result.meta['households']:,} households, "
              f"{result.meta['wall_time_s']:.1f} s")
        print(_summary(result.timeseries))
        if not any(scenario.policies.values()):  # the status quo: is it at rest after its burn-in?
            from sim.at_rest import drift, rest_report

            for line in rest_report(drift(result.timeseries), scenario.params.burn_in_years):
                print(line)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_burn_in(args) -> int:
    """`estate-sim burn-in`: the scenario's burn-in, run once and written to a file."""
    import time

    from sim.experiments.sweep import slug_name
    from sim.run import DEFAULT_ENGINE
    from sim.scenario import load_scenario
    from sim.snapshot import make_burn_in

    engine = _engine_flag(args)
    scenario = load_scenario(args.scenario)
    try:
        scenario = scenario.with_overrides(seed=args.seed)
    except InputError as exc:
        raise InputError("command line", f"--{exc.key}", exc.message) from None
    out = args.out
    if out is None:
        from sim.experiments.store import check_out_folder

        out = Path("out") / "burn-in" / f"{slug_name(scenario.name)}-seed{scenario.seed}.{engine}.burnin"
        check_out_folder(out, file=True)
    started = time.perf_counter()
    state = make_burn_in(scenario, engine)
    state.save(out)
    if not args.quiet:
        print(f"{printable(scenario.name)}: the {scenario.params.burn_in_years}-year burn-in of seed "
              f"{scenario.seed}, engine {engine}, in {time.perf_counter() - started:.1f} s; wrote {out} "
              f"(start runs from it with `estate-sim run SCENARIO --seed {scenario.seed} "
              f"{'' if engine == DEFAULT_ENGINE else f'--engine {engine} '}--start {out}`)")
    return 0


def run_outputs() -> tuple[str, ...]:
    """What `run` writes into --out; a folder holding anything else is not replaced."""
    from sim.outputs import FORMATS, RUN_TABLES

    return (*(f"{table}.{fmt}" for table in RUN_TABLES for fmt in FORMATS), "run.json")


def _check_run_folder(out: Path) -> None:
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in run_outputs())
        if others:
            raise InputError("command line", "--out", f"{out} holds other files than a run's "
                             f"outputs (e.g. {others[0]!r}); use another --out folder")


def write_as_one_set(out: Path, write) -> list[Path]:
    """Write a run's files into a temporary sibling folder, then put it in place of `out`.

    A reader (or a failed rename) never finds a new table beside an old one: `out` holds the
    old set or the new one. Returns the paths written, inside `out`.
    """
    import shutil
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_sets(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-{os.getpid()}-", dir=out.parent))
    old = None
    try:
        written = write(staging)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
            os.replace(out, old / out.name)
        try:
            os.replace(staging, out)
        except OSError:
            if old is not None:  # put the old set back
                os.replace(old / out.name, out)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return [out / Path(p).name for p in written]


def _sweep_rest_report(sweep, out: Path) -> list[str]:
    """For each status-quo scenario of a sweep (no policy on): its drift after the burn-in, over its runs."""
    from analysis.results import load_timeseries
    from sim.at_rest import REST_OUTCOMES, drift, rest_report

    lines = []
    for scenario in sweep.scenarios:
        if any(scenario.policies.values()):
            continue
        timeseries = load_timeseries(out, REST_OUTCOMES, scenarios=[scenario.name])
        if not timeseries.empty:
            lines += rest_report(drift(timeseries), scenario.params.burn_in_years,
                                 label=f"status quo {printable(scenario.name)!r}")
    return lines


def _remove_stale_sets(out: Path) -> None:
    # `.NAME.new-PID-*` and `.NAME.old-PID-*` left beside `out` by a `run` killed while writing
    # (its pid dead); another `run` writing the same --out right now keeps its own.
    import glob
    import shutil

    from sim.experiments.executors import process_alive

    for kind in ("new", "old"):
        for path in out.parent.glob(f".{glob.escape(out.name)}.{kind}-*"):
            pid = path.name.rsplit(f".{kind}-", 1)[1].split("-", 1)[0]
            if pid.isdigit() and not process_alive(int(pid)) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)


def cmd_validate(args) -> int:
    """`estate-sim validate`: check a scenario (and its district), a sweep or a sensitivity file.

    Runs nothing. For a sweep or sensitivity file, says how many runs it makes and a rough
    estimate of their time; warns (without refusing) on implausible district data.
    """
    from sim.scenario import read_yaml_mapping

    kind = _spec_kind(read_yaml_mapping(args.scenario))
    if kind == "sweep":
        from sim.experiments.sweep import load_sweep

        sweep = load_sweep(args.scenario)
        seconds = sum(_run_seconds(s, sweep.engine, sweep.years) for s in sweep.scenarios)
        seconds *= len(sweep.design) * sweep.replicates
        print(f"{args.scenario}: ok — sweep {sweep.name!r}: {plural(len(sweep.scenarios), 'scenario')} "
              f"× {plural(len(sweep.design), 'design point')} × {plural(sweep.replicates, 'replicate')} "
              f"= {plural(sweep.runs, 'run')} on the {sweep.engine} engine, about {_duration(seconds)} "
              "on one worker (a rough estimate)")
        scenarios = sweep.scenarios
    elif kind == "sensitivity":
        from analysis.sensitivity import load_study

        study = load_study(args.scenario)
        scenarios = tuple(study.scenarios)  # the scenario, and its baseline when there is one
        runs = study.runs
        seconds = len(study.design) * study.replicates * sum(
            _run_seconds(s, study.engine, study.years) for s in scenarios)
        print(f"{args.scenario}: ok — sensitivity study {study.name!r}: "
              f"{plural(len(study.design), 'design point')} × {plural(study.replicates, 'replicate')} × "
              f"{plural(len(scenarios), 'scenario')}"
              f"{' (the scenario and its baseline)' if study.baseline else ''} = {plural(runs, 'run')} on "
              f"the {study.engine} engine, about {_duration(seconds)} on one worker (a rough estimate)")
    else:
        from sim.scenario import load_scenario

        scenario = load_scenario(args.scenario)
        district = scenario.load_district()
        enabled = [name for name, on in scenario.policies.items() if on] or ["none"]
        print(f"{args.scenario}: ok — scenario {scenario.name!r}, district {printable(district.name)} "
              f"({plural(len(district), 'estate')}, {plural(district.households, 'household')}), "
              f"policies: {', '.join(enabled)}, {plural(scenario.years, 'year')}, seed {scenario.seed}")
        scenarios = (scenario,)
    _warn_implausible(scenarios)
    return 0


def _spec_kind(data: dict) -> str:
    if "scenarios" in data:
        return "sweep"
    if "scenario" in data and "outputs" in data:
        return "sensitivity"
    return "scenario"


RUN_COST = {"mesa": (0.5, 1 / 800_000), "vector": (0.1, 1 / 20_000_000)}
"""Rough cost of a run on each engine: (fixed seconds, seconds per household-month), rounded
from docs/PERFORMANCE.md (Mesa ~830,000 household-months/s; vector tens of millions)."""


def _run_seconds(scenario, engine: str, years: int | None) -> float:
    fixed, per_household_month = RUN_COST.get(engine, RUN_COST["mesa"])
    months = 12 * (years or scenario.years)
    return fixed + per_household_month * scenario.load_district().households * months


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _warn_implausible(scenarios, stream=None) -> None:
    """Warn (stdout for `validate`, stderr for the commands that run) about odd district data."""
    from sim.districts import plausibility_warnings

    prefix = "warning" if stream is None else "estate-sim: warning"

    seen = set()
    for scenario in scenarios:
        source = scenario.district.get("csv")
        if source is None or source in seen:
            continue
        seen.add(source)
        district = scenario.load_district()
        for note in district.notes:
            print(f"note: {printable(note)}", file=stream or sys.stdout)
        for warning in plausibility_warnings(district, source):
            print(f"{prefix}: {printable(warning)}", file=stream or sys.stdout)


def cmd_demo(args) -> int:
    """`estate-sim demo`: the shipped policy sweep on Ouyang Road, its figure, table and report."""
    from sim.demo import run_demo

    return run_demo(args.out, workers=args.workers, quiet=args.quiet)


def cmd_sweep(args) -> int:
    """`estate-sim sweep`: run (or resume) a sweep into its results folder; 1 if any run failed."""
    from sim.experiments.executors import make_executor
    from sim.experiments.sweep import load_sweep, run_sweep
    from sim.progress import ProgressBar

    sweep = load_sweep(args.sweep)
    out = args.out or Path("out") / "sweeps" / sweep.name
    _warn_implausible(sweep.scenarios, sys.stderr)
    executor = make_executor(args.workers, args.scheduler, args.dask_local)
    with ProgressBar(1, label=sweep.name, enabled=not args.quiet) as bar:
        summary = run_sweep(sweep, out, executor, progress=lambda done, total, failed: bar.update(
            done, total, extra=f"{failed} failed" if failed else ""), rerun_changed=args.rerun_changed)
    if not args.quiet:
        print(f"{sweep.name}: engine {sweep.engine}, {executor.name}")
        print(summary.text())
        for line in _sweep_rest_report(sweep, out):
            print(line)
    if summary.failed:
        print(f"estate-sim: {len(summary.failed)} of {plural(summary.total, 'run')} failed", file=sys.stderr)
        return 1
    return 0


def cmd_app(args) -> int:
    """`estate-sim app`: serve the teaching app until Ctrl-C."""
    from sim.app.server import serve

    return serve(args.host, args.port)


def cmd_bench(args) -> int:
    """`estate-sim bench`: both engines on the same district, each in its own process."""
    from sim.bench import district_spec, run_bench
    from sim.run import ENGINES

    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise InputError("command line", "--engines", f"unknown engine {unknown[0] if unknown else ''!r} "
                         f"(choose from {', '.join(ENGINES)})")
    district_spec(args.district)  # a bad name is refused before any engine starts
    run_bench(args.district, args.years, engines)
    return 0


def _names(values: list[str] | None) -> tuple[str, ...] | None:
    """A flag's names, given space- or comma-separated (None when the flag is absent)."""
    if values is None:
        return None
    return tuple(m for value in values for m in value.split(",") if m)


def _metrics(values: list[str] | None) -> tuple[str, ...]:
    from analysis.compare import DEFAULT_METRICS

    return _names(values) or DEFAULT_METRICS


def cmd_compare(args) -> int:
    """`estate-sim compare`: policies of a results folder compared with the baseline."""
    from analysis.compare import run_compare

    return run_compare(args.results, args.out, args.baseline, _metrics(args.metrics), args.band,
                       _names(args.scenarios))


def cmd_sensitivity(args) -> int:
    """`estate-sim sensitivity`: run a Sobol' or Morris design and write indices, figures, JSON."""
    from analysis.sensitivity import run_sensitivity

    out = _default_out(args, Path("out") / "sensitivity" / args.spec.stem)
    return run_sensitivity(args.spec, out, args.workers, rerun_changed=args.rerun_changed)


def cmd_report(args) -> int:
    """`estate-sim report`: the comparison as one self-contained HTML file with provenance."""
    from analysis.report import run_report

    return run_report(args.results, args.out, args.baseline, _metrics(args.metrics), _names(args.scenarios))


def cmd_calibrate(args) -> int:
    """`estate-sim calibrate`: ABC rejection; accepted sets, posterior, fit to each target."""
    from sim.calibration import run_calibration

    out = _default_out(args, Path("out") / "calibration" / args.spec.stem)
    _check_runs_flag(args)
    return run_calibration(args.spec, out, workers=args.workers, quiet=args.quiet, runs=args.runs,
                           rerun_changed=args.rerun_changed)


def cmd_validate_model(args) -> int:
    """`estate-sim validate-model`: each target's median and 90% interval over seeds, pass/fail."""
    from sim.validation import VALIDATION_ROOT, run_validate_model

    root = VALIDATION_ROOT if args.seed is None else args.seed
    if args.runs is None:
        args.runs = Path("out") / "validate-model" / f"{args.engine}-{root}"
    _check_runs_flag(args)
    return run_validate_model(args.out, seeds=args.seeds, root=root, engine=args.engine, workers=args.workers,
                              ablation=not args.no_ablation, runs=args.runs, rerun_changed=args.rerun_changed)


def _check_runs_flag(args) -> None:
    # --runs, where the runs are kept, is checked before any work as --out is
    if args.runs is not None:
        from sim.experiments.store import check_out_folder

        check_out_folder(args.runs, "--runs")


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "demo": cmd_demo, "sweep": cmd_sweep,
            "app": cmd_app, "burn-in": cmd_burn_in,
            "bench": cmd_bench,
            "compare": cmd_compare, "sensitivity": cmd_sensitivity, "report": cmd_report,
            "calibrate": cmd_calibrate, "validate-model": cmd_validate_model}


def _default_out(args, default: Path) -> Path:
    # --out, or the default, checked as --out is (main checks only a given one)
    if args.out is not None:
        return args.out
    from sim.experiments.store import check_out_folder

    check_out_folder(default)
    return default


def _check_out_flag(args) -> None:
    # Every command's --out is checked before any work: a file in the way costs nothing.
    out = getattr(args, "out", None)
    if isinstance(out, Path):
        from sim.experiments.store import check_out_folder

        check_out_folder(out, replaced=args.command == "run",
                         file=args.command in ("validate-model", "burn-in"))


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals handled like Ctrl-C: the command stops its workers, keeps what it stored, exits."""


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C's KeyboardInterrupt."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum, frame):
    raise Stopped(signum)


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise Stopped (a KeyboardInterrupt), as SIGINT does.

    SIGINT too, if the command was started with it ignored (a parent that ignores it, such as a
    pool worker or a background job, passes that on): every stop signal stops the command and
    keeps what it has written.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_stopped) for signum in STOP_SIGNALS}
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stopped_while_exiting(signum, frame):
    # The command has finished; the interpreter is tearing down (multiprocessing's fork server and
    # resource tracker, temporary folders). Default handling would end the process silently.
    name = signal.Signals(signum).name
    os.write(2, f"estate-sim: stopped by {name} while exiting; the command had finished and "
                "its results are complete\n".encode())
    os._exit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `estate-sim`; returns the exit status.

    Called as the program (no `argv`), a stop signal that arrives after the command, while the
    process exits, still ends it with one line and 128 + N.
    """
    status = _command(argv)
    if argv is None and threading.current_thread() is threading.main_thread():
        for signum in (*STOP_SIGNALS, signal.SIGINT):
            signal.signal(signum, _stopped_while_exiting)
    return status


def _command(argv: Sequence[str] | None) -> int:
    try:
        with stop_signals_raise():
            args = build_parser().parse_args(argv)
            _check_out_flag(args)
            return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"estate-sim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        message = getattr(exc, "message", None) or "interrupted"
        print(f"estate-sim: {printable(message)}", file=sys.stderr)
        return 128 + int(signum)
    except Exception as exc:  # the shell's last line of defence: one line, exit 1
        if os.environ.get("ESTATE_SIM_DEBUG"):
            traceback.print_exc()
        print(f"estate-sim: internal error: {type(exc).__name__}: {printable(exc)} "
              "(set ESTATE_SIM_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

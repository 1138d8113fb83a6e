"""The `estate-sim` command line (also `python -m sim`): the imperative shell around the model.

Exit status: 0 success, 2 bad input (one line on stderr naming the file and the key), 1 an
internal error (one line; set ESTATE_SIM_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from sim.errors import InputError
from sim.outputs import FORMATS

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="estate-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write timeseries, areas and run.json")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--engine", default="mesa", help="mesa (agents) or vector (arrays)")
    run.add_argument("--seed", type=_nonnegative_int, help="override the scenario's seed")
    run.add_argument("--years", type=_positive_int, help="override the scenario's years")
    run.add_argument("--out", type=Path, default=Path("out/run"), help="output folder")
    run.add_argument("--format", choices=FORMATS, default="parquet", help="table format")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")

    validate = sub.add_parser("validate", help="check a scenario file (and its district)")
    validate.add_argument("scenario", type=Path)

    demo = sub.add_parser("demo", help="compare the five shipped policies on Ouyang Road")
    demo.add_argument("--out", type=Path, default=Path("out"))
    demo.add_argument("--seeds", type=_positive_int, default=5, help="replicates per policy")
    demo.add_argument("--years", type=_positive_int, default=None)
    demo.add_argument("--workers", type=_positive_int, default=min(2, os.cpu_count() or 1))
    return parser


def _summary(timeseries) -> str:
    last = timeseries[timeseries["month"] == timeseries["month"].max()].iloc[0]
    first = timeseries.iloc[0]
    lines = [f"{'measure':<16}{'month 1':>12}{'final':>12}"]
    for column, label in SUMMARY_COLUMNS.items():
        lines.append(f"{label:<16}{first[column]:>12.3g}{last[column]:>12.3g}")
    return "\n".join(lines)


def cmd_run(args) -> int:
    """`estate-sim run`: validate everything, run, then write the three outputs."""
    from sim.outputs import write_run
    from sim.progress import ProgressBar
    from sim.run import ENGINES, run_scenario
    from sim.scenario import load_scenario

    if args.engine not in ENGINES:
        raise InputError("command line", "--engine", f"unknown engine {args.engine!r} "
                         f"(choose from {', '.join(ENGINES)})")
    if args.out.exists() and not args.out.is_dir():
        raise InputError("command line", "--out", f"{args.out} exists and is not a folder")
    scenario = load_scenario(args.scenario).with_overrides(years=args.years, seed=args.seed)
    with ProgressBar(12 * scenario.years, label=scenario.name, enabled=not args.quiet) as bar:
        result = run_scenario(scenario, args.engine, progress=bar.update)
    written = write_run(args.out, result.timeseries, result.areas, result.meta, args.format)
    if not args.quiet:
        print(f"{scenario.name}: {scenario.years} years, seed {scenario.seed}, engine {args.engine}, "
              f"{result.meta['households']:,} households, {result.meta['wall_time_s']:.1f} s")
        print(_summary(result.timeseries))
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_validate(args) -> int:
    """`estate-sim validate`: read and check a scenario and its district, run nothing."""
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    district = scenario.load_district()
    enabled = [name for name, on in scenario.policies.items() if on] or ["none"]
    print(f"{args.scenario}: ok — scenario {scenario.name!r}, district {district.name} "
          f"({len(district)} estates, {district.households:,} households), "
          f"policies: {', '.join(enabled)}, {scenario.years} years, seed {scenario.seed}")
    return 0


def cmd_demo(args) -> int:
    """`estate-sim demo`: the five policies on Ouyang Road over several seeds, figure and table."""
    from sim.demo import run_demo

    return run_demo(args.out, seeds=args.seeds, years=args.years, workers=args.workers)


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `estate-sim`; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"estate-sim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("estate-sim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the shell's last line of defence: one line, exit 1
        if os.environ.get("ESTATE_SIM_DEBUG"):
            traceback.print_exc()
        print(f"estate-sim: internal error: {type(exc).__name__}: {exc} "
              "(set ESTATE_SIM_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

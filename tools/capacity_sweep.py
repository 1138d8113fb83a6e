"""Where the desks' capacities bind: a sweep of the reception point's staff-hours, written into docs/ODD.md.

On `ouyang_road`, the status quo plus a reception point in every block (block integration with no
subsidy), from 0 to 2x the default staff-hours, at the default case rate and at three times it
(the upper end of the hotline-multiple assumption): cases brought, heard at the points, heard
anywhere, and the residents' committee's hours, a month, over years 1-3, mean over seeds.

    python tools/capacity_sweep.py            # rewrite the table in docs/ODD.md
    python tools/capacity_sweep.py --check    # exit 1 if the table is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from sim.params import PARAMETER_INDEX  # noqa: E402
from sim.run import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

ODD = ROOT / "docs" / "ODD.md"
START, END = "<!-- capacity-sweep:start -->", "<!-- capacity-sweep:end -->"
SHARES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
SEEDS = (1, 2, 3)


def sweep() -> list[str]:
    """The table's lines."""
    default = float(PARAMETER_INDEX["reception_staff_hours_per_month"].default)
    base_rate = float(PARAMETER_INDEX["case_rate"].default)
    status_quo = load_scenario(ROOT / "scenarios" / "status_quo.yaml")
    point = {"block_integration": {"enabled": True, "subsidy_yuan_per_household": 0.0}}
    lines = [
        "| case rate | point staff-hours / block | cases brought / month | heard at the points | "
        "heard anywhere | residents' committee hours |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rate in (base_rate, 3 * base_rate):
        for share in SHARES:
            rows = []
            for seed in SEEDS:
                scenario = status_quo.with_overrides(
                    seed=seed, years=3, policies=point,
                    params={"reception_staff_hours_per_month": share * default, "case_rate": rate})
                ts = run_scenario(scenario, "vector").timeseries
                columns = ["cases_brought", "reception_cases_handled", "cases_heard", "rc_hours"]
                rows.append(ts[columns].mean())
            mean = np.mean([r.to_numpy() for r in rows], axis=0)
            lines.append(f"| {rate:g} | {share * default:.0f} ({share:g}x) | {mean[0]:.0f} | {mean[1]:.0f} | "
                         f"{mean[2]:.0f} | {mean[3]:.0f} |")
    return lines


def rewritten(text: str, table: list[str]) -> str:
    """The ODD's text with the table between the markers."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + START + "\n" + "\n".join(table) + "\n" + END + tail


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or check) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/ODD.md is out of date")
    args = parser.parse_args(argv)
    text = ODD.read_text(encoding="utf-8")
    new = rewritten(text, sweep())
    if args.check:
        if new != text:
            print(f"capacity_sweep: {ODD} is out of date; run: python tools/capacity_sweep.py",
                  file=sys.stderr)
            return 1
        return 0
    ODD.write_text(new, encoding="utf-8")
    print(f"capacity_sweep: rewrote the capacity table in {ODD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

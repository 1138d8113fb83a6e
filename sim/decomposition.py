"""What each mechanism of the integrated policy buys, and what it costs: `validate-model`'s decomposition.

For each mechanism, two paired runs against the status quo (same seed, same district, same years):
the integrated policy with that mechanism off, and the status quo with that mechanism alone. The
outcomes are final values (the mean of the last twelve months): service quality, fee collection,
satisfaction, the residents' committee's staff-hours, what the district's service costs a household
(yuan a month, everything counted where it falls: sim.rules.spending_yuan) and the paid staff-hours
a household of the residents' committee, the reception points and the street office's reforms.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import rules
from sim.outputs import final_values
from sim.scenario import Scenario, load_scenario

OUTCOMES = ("service_quality", "fee_collection_rate", "satisfaction", "rc_hours_per_1000hh",
            "cost_per_household", "staff_hours_per_household")
LABELS = {"service_quality": "quality", "fee_collection_rate": "collection", "satisfaction": "satisfaction",
          "rc_hours_per_1000hh": "RC staff-hours /1000 hh", "cost_per_household": "cost yuan/hh",
          "staff_hours_per_household": "paid staff-hours /hh"}


@dataclass(frozen=True)
class Mechanism:
    """One mechanism of the integrated policy: how to switch it off in it, and to run it alone."""

    name: str
    off: dict  # scenario overrides: {"policies": …, "params": …} applied to the integrated scenario
    alone: dict  # the same, applied to the status quo (integrated with every policy off)


def mechanisms(integrated: Scenario) -> tuple[Mechanism, ...]:
    """The integrated policy's mechanisms, with the block options of the scenario itself."""
    block = {"enabled": True, **integrated.policy_options.get("block_integration", {})}
    block = {k: v for k, v in block.items() if v is not None}
    return (
        Mechanism("reception point", {"params": {"reception_staff_hours_per_month": 0.0}},
                  {"policies": {"block_integration": block},
                   "params": {"block_subsidy_yuan_per_household": 0.0}}),
        Mechanism("block subsidy", {"params": {"block_subsidy_yuan_per_household": 0.0}},
                  {"policies": {"block_integration": block},
                   "params": {"reception_staff_hours_per_month": 0.0}}),
        Mechanism("N-in-1 merger", {"policies": {"merge": False}}, {"policies": {"merge": True}}),
        Mechanism("management-only merger", {"policies": {"management_merge": False}},
                  {"policies": {"management_merge": True}}),
        Mechanism("strong leads weak", {"policies": {"entrust": False}}, {"policies": {"entrust": True}}),
        Mechanism("self-governance", {"policies": {"self_governance": False}},
                  {"policies": {"self_governance": True}}),
    )


def final_row(result, scenario: Scenario, *, at_rest: bool = False) -> dict:
    """A run's OUTCOMES (final values); `at_rest`: also the status quo's slopes and who serves its estates."""
    ts = result.timeseries.copy()
    households = float(result.meta["households"])
    p = scenario.params
    ts["rc_hours_per_1000hh"] = 1000.0 * ts["rc_hours"] / households
    ts["staff_hours_per_household"] = rules.paid_staff_hours(ts["rc_hours"], ts["reception_hours"],
                                                             ts["reform_hours"], p) / households
    final = final_values(ts.assign(run_id="run"), list(OUTCOMES)).iloc[0]
    row = {c: float(final[c]) for c in OUTCOMES}
    if at_rest:  # is it at rest, and who serves its estates
        from sim.at_rest import REST_OUTCOMES, yearly_slopes

        slopes = yearly_slopes(ts.assign(run_id="run"), REST_OUTCOMES).iloc[0]
        row.update({f"slope_{c}": float(slopes[c]) for c in REST_OUTCOMES})
        last = ts.iloc[-12:]
        row["estates_with_firm_share"] = float(last["estates_with_firm_share"].mean())
        row["fallback_share"] = float(last["fallback_areas"].mean() / last["management_areas"].mean())
        row["firm_margin"] = float(last["firm_margin"].mean())  # the face validity's margin
    return row


def final_table(result, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """A variant's run as its store keeps it (RunTask.keep): one row of final values."""
    return {"statistics": pd.DataFrame([final_row(result, scenario)])}


def status_quo_table(result, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """The status quo's run as its store keeps it: final values, slopes, who serves its estates."""
    return {"statistics": pd.DataFrame([final_row(result, scenario, at_rest=True)])}


def run_decomposition(integrated_path, seeds: list[int], engine: str = "vector",
                      workers: int = 2, *, runs: Path | None = None,
                      rerun_changed: bool = False) -> pd.DataFrame:
    """Final values of every variant over every seed (rows: variant, seed, OUTCOMES).

    The runs are stored in the results folder `runs` (sim/experiments/stored.py: a stopped
    validation resumes); without it, a temporary folder.
    """
    if runs is None:
        with tempfile.TemporaryDirectory(prefix="esim-decomposition-") as temp:
            return run_decomposition(integrated_path, seeds, engine, workers, runs=Path(temp) / "runs")
    from sim.experiments.stored import stored_tables, task
    from sim.experiments.sweep import slug_name

    integrated = load_scenario(integrated_path)
    off_all = {name: False for name in integrated.policies}
    status_quo = integrated.with_overrides(policies=off_all)
    variants = {"integrated": integrated, "status quo": status_quo}
    for m in mechanisms(integrated):
        variants[f"integrated without {m.name}"] = integrated.with_overrides(**m.off)
        variants[f"status quo + {m.name} only"] = status_quo.with_overrides(**m.alone)
    plan = [(name, seed, task(f"{slug_name(name)}-r{r}", scenario, r, 0, seed, engine, {},
                              f"sim.decomposition:{'status_quo' if name == 'status quo' else 'final'}_table"))
            for r, seed in enumerate(seeds) for name, scenario in variants.items()]
    resolved = {"decomposition of": str(integrated_path), "variants": list(variants), "engine": engine,
                "seeds": list(seeds)}
    tables = stored_tables(runs, [t for _, _, t in plan], ["statistics"], resolved=resolved, engine=engine,
                           workers=workers, flag="--runs", rerun_changed=rerun_changed)
    return pd.DataFrame([{"variant": name, "seed": seed, **tables[t.run_id]["statistics"].iloc[0].to_dict()}
                         for name, seed, t in plan])


def paired_differences(final: pd.DataFrame) -> pd.DataFrame:
    """Each variant minus the status quo of the same seed: mean and 95% half-width over seeds."""
    base = final[final["variant"] == "status quo"].set_index("seed")[list(OUTCOMES)]
    rows = []
    for variant, group in final[final["variant"] != "status quo"].groupby("variant", sort=False):
        diff = group.set_index("seed")[list(OUTCOMES)] - base
        n = len(diff)
        half = 1.96 * diff.std(ddof=1) / np.sqrt(n) if n > 1 else diff.mean() * np.nan
        rows.append({"variant": variant, **{c: diff[c].mean() for c in OUTCOMES},
                     **{f"{c}_ci": half[c] for c in OUTCOMES}})
    return pd.DataFrame(rows)


def decomposition_section(differences: pd.DataFrame, seeds: int, years: int) -> list[str]:
    """The generated table and the paragraph of what each mechanism buys for what it costs."""
    header = "| configuration | " + " | ".join(LABELS[c] for c in OUTCOMES) + " |"
    lines = [
        "## What each mechanism buys, and what it costs",
        "",
        f"Integrated minus status quo, each mechanism off, and each alone, on `ouyang_road` (vector "
        f"engine, {seeds} paired seeds, the mean of year {years}; ± the 95% interval over seeds). "
        "Costs are counted where they fall (docs/ODD.md, 7.5): firms' revenue, the fallback, the "
        "street office's and the residents' committee's staff-hours and the reception points' at the "
        "worker's wage, owners' fund top-ups and the district's renovations, volunteers' hours at a "
        "shadow wage. Paid staff-hours are the residents' committee's (its desk and its staff at the "
        "reception points), the points' other staff, and the street office's reform cases.",
        "",
        header,
        "| --- |" + " --- |" * len(OUTCOMES),
    ]
    for row in differences.itertuples(index=False):
        cells = [f"{getattr(row, c):+.3f} ± {getattr(row, c + '_ci'):.3f}" for c in OUTCOMES]
        lines.append(f"| {row.variant} | " + " | ".join(cells) + " |")
    alone = differences[differences["variant"].str.endswith(" only")]
    lines += ["", "What each mechanism alone buys for what it costs (a household, a month):", ""]
    for row in alone.itertuples(index=False):
        name = row.variant.removeprefix("status quo + ").removesuffix(" only")
        lines.append(f"- **{name}**: satisfaction {row.satisfaction:+.3f}, "
                     f"quality {row.service_quality:+.3f}, "
                     f"collection {row.fee_collection_rate:+.3f}, for {row.cost_per_household:+.2f} yuan and "
                     f"{row.staff_hours_per_household:+.4f} paid staff-hours a household a month.")
    return lines

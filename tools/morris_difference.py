"""Morris screening of assumption parameters on a policy difference (docs/ODD.md, "Screening").

    python tools/morris_difference.py --trajectories 10 --years 10 --replicates 3 --workers 2 \
        [--ranges priors|half] [--json out.json]

The outcome is the paired difference integrated − status quo in mean satisfaction over the final
year, on Ouyang Road with the vectorized engine, averaged over `--replicates` paired seeds (3 by
default): replicate r runs with the same seed under both scenarios and at every design point
(common random numbers, as `estate-sim sensitivity` does). The noise share — how much of the
variance of the averaged difference across design points is replicate noise (two-way ANOVA
residual over the replicates, analysis/sensitivity.py ``noise_share``) — is printed; above about
0.1 the ranking of mu* is blurred by noise. Each parameter varies over its prior range
(sim/params.py PRIORS; `--ranges priors`, the default, where it has one, else ±50%) or over ±50%
of its default (`--ranges half`, the older screening), clipped to its documented range (SALib's
Morris method, 4 levels). It uses only `load_scenario`, `with_overrides` and `run_scenario`, so the
same file screens an older checkout of the model too (run it with that checkout first on
PYTHONPATH); parameters the model does not know are left out and listed.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

import sim
from sim.params import PARAMETER_INDEX
from sim.run import run_scenario
from sim.scenario import load_scenario

SCENARIOS = Path(sim.__file__).resolve().parent.parent / "scenarios"
"""The shipped scenarios of the checkout being screened (the one `sim` is imported from)."""
CANDIDATES = (
    "weight_heard", "weight_quality", "voice_no_case", "voice_resolved", "voice_unresolved", "case_rate",
    "hours_per_case", "case_resolution_max", "committee_case_hours_per_month",
    "rc_case_hours_per_month", "satisfaction_adjust_rate", "quality_elasticity",
    "merge_support", "fund_dispute_weight", "retender_support", "firm_overhead_yuan",
    "volunteer_join_rate", "organising_join_rate", "volunteer_fatigue", "specialised_quality_share",
    "specialised_fee_share", "block_subsidy_yuan_per_household", "evaluation_threshold",
    "self_managed_quality", "unmanaged_quality",
    # one model or the other
    "block_supplement_quality", "reception_workload_relief", "reception_staff_hours_per_month",
    "fallback_quality", "volunteer_hours_per_month", "reform_capacity_cases",
)


def _bounds(name: str, ranges: str = "half") -> list[float]:
    param = PARAMETER_INDEX[name]
    if ranges == "priors" and getattr(param, "prior_low", None) is not None:
        return [float(param.prior_low), float(param.prior_high)]
    low, high = 0.5 * float(param.default), 1.5 * float(param.default)
    if param.low is not None:
        low = max(low, param.low)
    if param.high is not None:
        high = min(high, param.high)
    return [low, high]


def _difference(args: tuple[dict, int, int, dict | None]) -> float:
    params, seed, years, district = args
    final = {}
    for name in ("integrated", "status_quo"):
        scenario = load_scenario(SCENARIOS / f"{name}.yaml")
        if district is not None:
            scenario = scenario.with_district(district, None)
        scenario = scenario.with_overrides(years=years, seed=seed, params=params)
        ts = run_scenario(scenario, "vector").timeseries
        final[name] = float(ts[ts["year"] == years]["satisfaction"].mean())
    return final["integrated"] - final["status_quo"]


def main() -> None:
    """Screen, print mu* per parameter (largest first), optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=10)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replicates", type=int, default=3, help="paired seeds per design point")
    parser.add_argument("--ranges", choices=("priors", "half"), default="priors")
    parser.add_argument("--district", help="a generated district instead of Ouyang Road: ESTATES,SEED")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names = [n for n in CANDIDATES if n in PARAMETER_INDEX]
    problem = {"num_vars": len(names), "names": names, "bounds": [_bounds(n, args.ranges) for n in names]}
    design = morris_sample.sample(problem, args.trajectories, num_levels=4, seed=args.seed)
    seeds = [args.seed + r for r in range(args.replicates)]  # the same at every design point
    district = ({"generate": {"estates": int(args.district.split(",")[0]),
                              "seed": int(args.district.split(",")[1])}} if args.district else None)
    jobs = [({n: (int(round(v)) if PARAMETER_INDEX[n].kind is int else float(v))
              for n, v in zip(names, row, strict=True)}, seed, args.years, district)
            for row in design for seed in seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        per_run = np.array(list(pool.map(_difference, jobs, chunksize=4))).reshape(len(design), len(seeds))
    outcome = per_run.mean(axis=1)
    noise = replicate_noise_share(per_run)
    result = morris_analyze.analyze(problem, design, outcome, num_levels=4, seed=args.seed)
    order = np.argsort(-np.asarray(result["mu_star"]))
    print(f"{len(design)} design points x {len(seeds)} paired seeds ({args.ranges} ranges), mean difference "
          f"{outcome.mean():+.4f} (sd over points {outcome.std(ddof=1):.4f}); noise share {noise:.3f}; "
          f"left out: {', '.join(n for n in CANDIDATES if n not in PARAMETER_INDEX) or 'none'}")
    rows = []
    for i in order:
        rows.append({"parameter": names[i], "mu_star": float(result["mu_star"][i]),
                     "mu": float(result["mu"][i]), "sigma": float(result["sigma"][i])})
        print(f"{names[i]:36s} mu* {result['mu_star'][i]:.4f}  mu {result['mu'][i]:+.4f}  "
              f"sigma {result['sigma'][i]:.4f}")
    if args.json:
        args.json.write_text(json.dumps({"mean_difference": float(outcome.mean()), "noise_share": noise,
                                         "replicates": len(seeds), "ranges": args.ranges,
                                         "design_points": len(design), "rows": rows}, indent=1))


def replicate_noise_share(per_run: np.ndarray) -> float:
    """The replicate-noise share of the variance of the averaged outcome (points x replicates array).

    analysis/sensitivity.py's ``noise_share`` where the checkout has it; NaN with one replicate.
    """
    try:
        from analysis.sensitivity import noise_share
    except ImportError:  # an older checkout: no noise share
        return float("nan")
    points, replicates = per_run.shape
    frame = pd.DataFrame({"design_point": np.repeat(np.arange(points), replicates),
                          "replicate": np.tile(np.arange(replicates), points), "y": per_run.ravel()})
    return float(noise_share(frame, "y"))


if __name__ == "__main__":
    sys.exit(main())

"""Conclusions that survive the assumptions: P(better) per policy and metric, robust or not, and why.

From a comparison (analysis/compare.py) this makes ``conclusions.csv``: for each policy against
the baseline and each ranked metric (analysis/ranking.py ``BETTER``),

- ``p_better``: the share of the paired (design point, replicate) runs in which the policy's
  final value is better than the baseline's (ties count half): over the posterior × the
  assumptions' priors × the model variants × seeds, as far as the sweep varied them;
- ``p_min`` and ``p_max``: the lowest and highest of that share within each model variant (the
  ``variant`` factor of a sweep, sim/variants.py; one variant when the sweep has none);
- ``robust``: true when the share is ≥ ``ROBUST`` (0.9) in every variant, or ≤ 1 − ``ROBUST`` in
  every variant; ``conclusion``: ``better``, ``worse`` or ``not robust``;
- where it is not robust and the sweep has a design, scenario discovery with PRIM (the ``prim``
  package, the EMA Workbench's algorithm): the box of factors (parameters, assumptions, variant)
  in which the conclusion flips, with its ``coverage`` (the share of all flipped design points it
  holds), ``density`` (the share of flipped points inside it) and ``mass`` (its share of all
  points). A design point flips when its mean paired difference over the seeds goes the other
  way from the pooled conclusion (its majority).

One row per (policy, metric) with ``variant`` "all", then one row per variant when there are
several (their own P, robust on their own).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.ranking import BETTER, ranked_metrics
from analysis.style import label, metric_title

ROBUST = 0.9
"""A conclusion is robust when P(better) is at least this, or at most 1 − this, in every variant."""
VARIANT = "variant"
"""The factor (runs' column) naming a run's model variant (sim/variants.py)."""
ALL = "all"
"""The ``variant`` of the pooled rows."""
MIN_DENSITY = 0.8
"""PRIM's box is the point of its peeling trajectory with the most coverage at this density or more."""
MIN_POINTS = 10
"""Fewest design points PRIM is run on."""
COLUMNS = ["policy", "metric", "better", "variant", "p_better", "pairs", "sets", "p_min", "p_max",
           "robust", "conclusion", "flip_box", "box_coverage", "box_density", "box_mass", "flipped_sets"]


@dataclass(frozen=True)
class Box:
    """A PRIM box: per restricted factor its [low, high], and the box's coverage, density and mass."""

    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float

    def text(self, categories: Mapping[str, Sequence[str]] | None = None) -> str:
        """'name in [low, high]; ...', categorical factors as the set of their levels inside."""
        parts = []
        for name, (low, high) in self.limits.items():
            levels = (categories or {}).get(name)
            if levels is not None:
                inside = [v for i, v in enumerate(levels) if low <= i <= high]
                parts.append(f"{name} in {{{', '.join(inside)}}}")
            else:
                parts.append(f"{name} in [{low:.3g}, {high:.3g}]")
        return "; ".join(parts) if parts else "(no restriction)"


def find_box(x: pd.DataFrame, y: np.ndarray, min_density: float = MIN_DENSITY) -> Box | None:
    """The PRIM box (prim.Prim, peeled and pasted) of the cases where `y` is true; None without any.

    Along the peeling trajectory the box kept is the one with the most coverage among those of
    density ≥ `min_density` (the densest when none reaches it). Only the dimensions it restricts
    are listed, with the box's bounds on them.
    """
    import prim

    y = np.asarray(y, dtype=bool)
    if not y.any() or y.all():
        return None
    x = x.astype(float).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("prim").setLevel(logging.WARNING)
        box = prim.Prim(x, y, threshold=0.5, threshold_type=">").find_box()
        trajectory = box.peeling_trajectory
        dense = trajectory[trajectory["density"] >= min_density]
        choice = (dense["coverage"].idxmax() if not dense.empty else trajectory["density"].idxmax())
        box.select(int(choice))
        limits = box.limits
    chosen = trajectory.loc[choice]
    bounds = {str(name): (float(row["min"]), float(row["max"])) for name, row in limits.iterrows()}
    return Box(bounds, float(chosen["coverage"]), float(chosen["density"]), float(chosen["mass"]))


def _p_better(gain: np.ndarray) -> float:
    return float(np.mean(gain > 0) + 0.5 * np.mean(gain == 0)) if len(gain) else np.nan


def _factor_frame(runs: pd.DataFrame, factors: Sequence[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    # One row per design point: numeric factors as they are, text factors (the variant) as codes.
    points = runs.drop_duplicates("design_point").set_index("design_point")[list(factors)]
    categories = {}
    for name in factors:
        if not pd.api.types.is_numeric_dtype(points[name]):
            levels = list(dict.fromkeys(points[name].astype(str)))
            categories[name] = levels
            points[name] = points[name].astype(str).map({v: i for i, v in enumerate(levels)})
    varying = [name for name in factors if points[name].nunique() > 1]
    return points[varying].astype(float), categories


def conclusions(differences: pd.DataFrame, runs: pd.DataFrame, metrics: Sequence[str],
                order: Sequence[str], baseline: str, factors: Sequence[str] = ()) -> pd.DataFrame:
    """The conclusions table (``COLUMNS``) from the pairing's run-by-run differences.

    `differences` has scenario, design_point, replicate and the metrics (policy minus baseline);
    `runs` has design_point and the factor columns (and ``variant`` when the sweep varied it).
    """
    variants = (runs.drop_duplicates("design_point").set_index("design_point")[VARIANT].astype(str)
                if VARIANT in runs.columns else None)
    factor_x, categories = (_factor_frame(runs, factors) if factors else (pd.DataFrame(), {}))
    rows = []
    for policy in order:
        if policy == baseline:
            continue
        part = differences[differences["scenario"] == policy]
        if part.empty:
            continue
        variant = (part["design_point"].map(variants) if variants is not None
                   else pd.Series(ALL, index=part.index))
        for metric in ranked_metrics(metrics):
            direction = BETTER[metric]
            gain = direction * part[metric].to_numpy(dtype=float)
            ok = np.isfinite(gain)
            groups = {name: _p_better(gain[ok & (variant == name).to_numpy()])
                      for name in dict.fromkeys(variant)}
            p_all = _p_better(gain[ok])
            shares = np.array(list(groups.values()))
            robust = bool(np.all(shares >= ROBUST) or np.all(shares <= 1 - ROBUST))
            row = {"policy": policy, "metric": metric, "better": "higher" if direction > 0 else "lower",
                   "variant": ALL, "p_better": p_all, "pairs": int(ok.sum()),
                   "sets": int(part.loc[ok, "design_point"].nunique()),
                   "p_min": float(shares.min()), "p_max": float(shares.max()), "robust": robust,
                   "conclusion": _verdict(p_all, robust), "flip_box": "", "box_coverage": np.nan,
                   "box_density": np.nan, "box_mass": np.nan, "flipped_sets": np.nan}
            if not robust and not factor_x.empty:
                row.update(_discover(part.loc[ok], metric, direction, p_all, factor_x, categories))
            rows.append(row)
            if len(groups) > 1:
                for name, share in groups.items():
                    mask = ok & (variant == name).to_numpy()
                    alone = bool(share >= ROBUST or share <= 1 - ROBUST)
                    rows.append({**{k: row[k] for k in ("policy", "metric", "better")}, "variant": name,
                                 "p_better": share, "pairs": int(mask.sum()),
                                 "sets": int(part.loc[mask, "design_point"].nunique()),
                                 "p_min": share, "p_max": share, "robust": alone,
                                 "conclusion": _verdict(share, alone), "flip_box": "",
                                 "box_coverage": np.nan, "box_density": np.nan, "box_mass": np.nan,
                                 "flipped_sets": np.nan})
    return pd.DataFrame(rows, columns=COLUMNS)


def _verdict(p: float, robust: bool) -> str:
    if not robust:
        return "not robust"
    return "better" if p >= 0.5 else "worse"


def _discover(part: pd.DataFrame, metric: str, direction: int, p_all: float, x: pd.DataFrame,
              categories: dict[str, list[str]]) -> dict:
    # The design points whose mean difference goes against the pooled majority, boxed by PRIM.
    means = direction * part.groupby("design_point")[metric].mean()
    flipped = (means <= 0) if p_all >= 0.5 else (means >= 0)
    points = x.loc[x.index.intersection(means.index)]
    out = {"flipped_sets": int(flipped.sum())}
    if len(points) < MIN_POINTS or points.empty:
        return out
    box = find_box(points, flipped.reindex(points.index).to_numpy())
    if box is None:
        return out
    out.update(flip_box=box.text(categories), box_coverage=box.coverage, box_density=box.density,
               box_mass=box.mass)
    return out


def conclusions_text(table: pd.DataFrame, baseline: str, labels: Mapping[str, str] | None = None,
                     limit: int | None = None) -> str:
    """A few lines: each policy's robust conclusions, and what the others hang on."""
    pooled = table[table["variant"] == ALL]
    if pooled.empty:
        return "No conclusions: no policy was paired with the baseline on a ranked metric."
    variants = table.loc[table["variant"] != ALL, "variant"].nunique()
    scope = f" in every one of {variants} model variants" if variants > 1 else ""
    lines = [f"Conclusions against {label(baseline, labels)} (robust: P(better) ≥ {ROBUST:g} or "
             f"≤ {1 - ROBUST:.1g}{scope}):"]
    for policy, part in pooled.groupby("policy", sort=False):
        robust = part[part["robust"]]
        said = [f"{metric_title(r.metric).lower()} {r.conclusion} (P {r.p_better:.2f})"
                for r in robust.itertuples()]
        unsure = [f"{metric_title(r.metric).lower()} (P {r.p_better:.2f}"
                  + (f"; flips where {r.flip_box}" if r.flip_box else "") + ")"
                  for r in part[~part["robust"]].itertuples()]
        text = f"  {label(policy, labels)}: " + ("; ".join(said) if said else "nothing robust")
        if unsure:
            text += ". Not robust: " + "; ".join(unsure)
        lines.append(text)
    return "\n".join(lines[: limit + 1] if limit else lines)


def conclusions_note(baseline: str, labels: Mapping[str, str] | None = None) -> str:
    """What the conclusions table shows, in one paragraph."""
    return (f"P(better than {label(baseline, labels)}) over every (design point, seed) pair; robust when "
            f"it is ≥ {ROBUST:g} (or ≤ {1 - ROBUST:.1g}) in every model variant. Where not, PRIM's box "
            "of the factors in which the design points' mean difference flips (coverage: the share of "
            "the flipped points in the box; density: the share of the box's points that flip).")


def conclusions_display(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The pooled conclusions as a table to show: one row per policy and metric, rounded."""
    rows = []
    for r in table[table["variant"] == ALL].itertuples():
        rows.append({
            "policy": label(r.policy, labels), "metric": metric_title(r.metric),
            "P(better)": f"{r.p_better:.2f}",
            "per variant": f"{r.p_min:.2f}–{r.p_max:.2f}" if r.p_min != r.p_max else f"{r.p_min:.2f}",
            "conclusion": r.conclusion, "flips where": r.flip_box,
            "coverage": "" if pd.isna(r.box_coverage) else f"{r.box_coverage:.2f}",
            "density": "" if pd.isna(r.box_density) else f"{r.box_density:.2f}"})
    return pd.DataFrame(rows, columns=["policy", "metric", "P(better)", "per variant", "conclusion",
                                       "flips where", "coverage", "density"])

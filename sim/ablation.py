"""Mechanism ablation: switch each mechanism off in turn and see which pattern of the record it carries.

Each entry of ABLATIONS names a mechanism, says what "off" means and gives the parameter overrides
that switch it off (every one a parameter of sim/params.py, inside its range; the defaults are the
full model). `ablation_frame` runs the validation set (sim.validation.run_validation_set: the
scenarios integrated, status_quo, n_in_1 and integrated without the fund dispute) for the full
model and for each ablation over the same seeds, and evaluates it as validate-model does
(sim.validation.evaluate): each numeric target's median against its band, and each qualitative
pattern's median and pass. `ablation_section` writes the "Mechanism ablation" section of
docs/VALIDATION.md from it. docs/ODD.md (section 9, Mechanism ablation) describes the design.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import validation
from sim.validation import VARIANTS, evaluate, run_validation_set

FULL_MODEL = "full model"

NEVER_MONTHS = 1200
"""A month count beyond any run (100 years): a threshold set to it never triggers."""

UNLIMITED_HOURS = 100_000.0
"""Staff-hours a month no reception point of the district can use (the range's end): it hears every case."""


@dataclass(frozen=True)
class Ablation:
    """One mechanism switched off: its name, what "off" means, and the overrides that do it."""

    name: str
    off: str
    overrides: dict[str, float | int]


ABLATIONS: tuple[Ablation, ...] = (
    Ablation("fund dispute",
             "owners whose fund per m² would fall on pooling do not object to a merger",
             {"fund_dispute_weight": 0.0}),
    Ablation("conditional cooperation",
             "conditional cooperators ignore their neighbours' payment, and neighbours who volunteer "
             "draw nobody in (they keep their type, shift and enforcement response)",
             {"conditional_slope": 0.0, "volunteer_neighbour_weight": 0.0}),
    Ablation("volunteer fatigue",
             "volunteers stop at the base rate only: no extra fatigue from a merged committee's "
             "friction or from the hours asked of them",
             {"friction_fatigue": 0.0, "volunteer_workload_fatigue": 0.0}),
    Ablation("firm withdrawal",
             "a firm in loss neither asks for a fee rise nor withdraws from a losing contract (it "
             "still exits the market when its reserves stay negative)",
             {"firm_withdraw_months": NEVER_MONTHS}),
    Ablation("fallback service",
             "an area with no firm and no active committee stays unmanaged (no 托底)",
             {"fallback_service": 0}),
    Ablation("market entry",
             "no new firm enters the market",
             {"firm_entry_probability": 0.0}),
    Ablation("fee votes",
             "no fee revision is put to the owners: fee standards stay as they are",
             {"fee_revision_votes": 0}),
    Ablation("reception capacity",
             "the joint reception point of an integrated block has staff-hours for every case its "
             "residents bring",
             {"reception_staff_hours_per_month": UNLIMITED_HOURS}),
    Ablation("reception point",
             "no joint reception point at all (no staff-hours): the cases of the integrated blocks go "
             "to their owners' committees and the residents' committee as elsewhere",
             {"reception_staff_hours_per_month": 0.0}),
    Ablation("reform pipeline",
             "reform cases take no time (no briefing, fund-merging, reorganising or hand-over lag) "
             "and the street office carries any number at once",
             {"reform_staff_hours_per_month": UNLIMITED_HOURS, "merge_briefing_months": 0,
              "fund_merge_months": 0, "committee_reorganise_months": 0, "handover_months": 0}),
)
"""The mechanisms, in the order of the issue (#14, part 5)."""

ABLATION_INDEX: dict[str, Ablation] = {a.name: a for a in ABLATIONS}


def _targets() -> tuple:
    """The numeric targets of sim.validation: those fitted (TARGETS) and the held-out one."""
    return (*validation.TARGETS, validation.HOLDOUT)


PATTERN_SHIFT = 0.25
"""A pattern that keeps its pass is reported as grown or shrunk when its median moves by more than
this share of the full model's (patterns have no tolerance; only a flip counts as carried)."""

HONGYI = "hongyi_like"
SHORT_LABELS = {
    "areas": "areas",
    "areas_lt200": "areas < 200 hh",
    "areas_lt100": "areas < 100 hh",
    "firms_eliminated": "firms eliminated",
    "merge_share": "merge share",
    HONGYI: "New Hongyi-like merger",
}
"""Column headings of the section's table."""


def _variants(overrides: dict[str, float | int]) -> dict[str, tuple[str, dict]]:
    """The validation set (sim.validation.VARIANTS) with a mechanism's overrides under each variant's own."""
    return {name: (scenario, {**overrides, **params}) for name, (scenario, params) in VARIANTS.items()}


def run_ablations(seeds: list[int], engine: str = "vector", workers: int = 2,
                  ablations: tuple[Ablation, ...] = ABLATIONS, **stored) -> dict[str, list[dict]]:
    """The validation set's runs for the full model and each ablation, over the same seeds.

    Returns, per mechanism (FULL_MODEL first), runs whose `variant` is the validation set's name,
    ready for sim.validation.evaluate (`stored`: run_validation_set's `runs` and
    `rerun_changed`). Identical runs (same scenario and parameters, e.g. the
    integrated run without the fund dispute when the dispute is switched off) are made once.
    """
    plans = {FULL_MODEL: _variants({})} | {a.name: _variants(a.overrides) for a in ablations}
    unique: dict[tuple, str] = {}
    for plan in plans.values():
        for scenario, params in plan.values():
            unique.setdefault((scenario, tuple(sorted(params.items()))), f"run{len(unique)}")
    tasks = {name: (scenario, dict(params)) for (scenario, params), name in unique.items()}
    results = {(r["variant"], r["seed"]): r
               for r in run_validation_set(seeds, engine, workers, tasks, **stored)}
    out = {}
    for mechanism, plan in plans.items():
        out[mechanism] = [
            {**results[unique[(scenario, tuple(sorted(params.items())))], seed], "variant": variant}
            for seed in seeds for variant, (scenario, params) in plan.items()]
    return out


def _rows(mechanism: str, numeric: pd.DataFrame, checks: pd.DataFrame) -> list[dict]:
    rows = []
    for t in _targets():
        median = float(numeric[t.statistic].dropna().median())
        rows.append({"mechanism": mechanism, "kind": "target", "measure": t.statistic, "median": median,
                     "passes": bool(abs(median - t.value) <= t.tolerance), "threshold": t.tolerance})
    share = float(numeric[HONGYI].mean())
    rows.append({"mechanism": mechanism, "kind": "target", "measure": HONGYI, "median": share,
                 "passes": bool(share >= 0.5), "threshold": 0.5})
    for column in checks.columns.drop("seed"):
        rows.append({"mechanism": mechanism, "kind": "pattern", "measure": column,
                     "median": float(checks[column].median()),
                     "passes": validation.pattern_passes(checks[column]),
                     "threshold": np.nan})
    return rows


def ablation_frame(seeds: list[int], engine: str = "vector", workers: int = 2,
                   ablations: tuple[Ablation, ...] = ABLATIONS, **stored) -> pd.DataFrame:
    """Per mechanism (the full model first) and measure: the median over seeds, pass, and the change.

    Columns: mechanism, kind ("target": the numeric targets and the New Hongyi-like merger, whose
    "median" is the share of seeds that have one; "pattern": the multi-party win and the
    difficulties), measure (the target's statistic or the pattern's label), median, passes (the
    target within its band, or the pattern passing as in docs/VALIDATION.md), threshold (the
    target's tolerance; 0.5 for the Hongyi share), change (median less the full model's),
    full_passes (the full model's pass) and carried (a target's change exceeds its threshold, or
    a pattern's pass flips). `stored`: where the runs are kept (run_ablations).
    """
    rows = []
    for mechanism, runs in run_ablations(seeds, engine, workers, ablations, **stored).items():
        rows += _rows(mechanism, *evaluate(runs))
    frame = pd.DataFrame(rows)
    full = frame[frame["mechanism"] == FULL_MODEL].set_index("measure")
    frame["change"] = frame["median"] - frame["measure"].map(full["median"])
    frame["full_passes"] = frame["measure"].map(full["passes"]).astype(bool)
    moved = (frame["change"].abs() > frame["threshold"]).fillna(False)
    flipped = (frame["kind"] == "pattern") & (frame["passes"] != frame["full_passes"])
    frame["carried"] = (moved | flipped) & (frame["mechanism"] != FULL_MODEL)
    return frame


def _cell(row: pd.Series) -> str:
    """A target's median with a mark: ↑/↓ a move beyond its tolerance, (out)/(in) of its band."""
    text = _number(row["measure"], row["median"])
    if row["mechanism"] == FULL_MODEL:
        return text + ("" if row["passes"] else " (out)")
    if abs(row["change"]) > row["threshold"]:
        text += " ↑" if row["change"] > 0 else " ↓"
    if row["passes"] != row["full_passes"]:
        text += " (in)" if row["passes"] else " (out)"
    return text


def _pattern_label(measure: str, patterns: list[str]) -> str:
    """A pattern's label; one that continues the previous ("... and recovers") gets it prefixed."""
    i = patterns.index(measure)
    return f"{patterns[i - 1]} {measure}" if measure.startswith("...") and i > 0 else measure


def _flips(rows: pd.DataFrame, *, medians: bool = False) -> list[str]:
    """The patterns whose pass flips, with the direction (and, asked, the medians before and after)."""
    patterns = rows.loc[rows["kind"] == "pattern", "measure"].tolist()
    out = []
    for r in rows[(rows["kind"] == "pattern") & (rows["passes"] != rows["full_passes"])].itertuples():
        how = "pass → FAIL" if r.full_passes else "FAIL → pass"
        if medians:
            how = f"median {r.full_median:.3g} → {r.median:.3g}, {how}"
        out.append(f"{_pattern_label(r.measure, patterns)} ({how})")
    return out


def _sentence(name: str, rows: pd.DataFrame) -> str:
    """What one mechanism carries, in words."""
    targets, crossed = [], []
    for r in rows[rows["kind"] == "target"].itertuples():
        band = ("" if r.passes == r.full_passes else
                ", out of its band" if r.full_passes else ", into its band")
        text = (f"{SHORT_LABELS.get(r.measure, r.measure)} ({_number(r.measure, r.full_median)} → "
                f"{_number(r.measure, r.median)}{band})")
        if r.carried:
            targets.append(text)
        elif band:
            crossed.append(text)
    flips = _flips(rows, medians=True)
    near = ("" if not crossed else
            "; within its tolerance it moves " + ", ".join(crossed))
    shifted = _shifted(rows)
    tail = "" if not shifted else " Without it " + "; ".join(shifted) + "."
    if not targets and not flips:
        return (f"- **{name}** carries no target and no pattern here (no target moves by more than its "
                f"tolerance, no pattern flips){near}.{tail}")
    parts = []
    if targets:
        parts.append("the target" + ("s " if len(targets) > 1 else " ") + ", ".join(targets))
    if flips:
        parts.append("the pattern" + ("s " if len(flips) > 1 else " ") + "; ".join(flips))
    return f"- **{name}** carries " + " and ".join(parts) + near + "." + tail


def _shifted(rows: pd.DataFrame) -> list[str]:
    """Patterns that keep their pass but whose median moves by more than PATTERN_SHIFT of its size."""
    patterns = rows.loc[rows["kind"] == "pattern", "measure"].tolist()
    out = []
    for r in rows[(rows["kind"] == "pattern") & (rows["passes"] == rows["full_passes"])].itertuples():
        if abs(r.change) > PATTERN_SHIFT * abs(r.full_median) and r.full_median != 0:
            how = "grows" if abs(r.median) > abs(r.full_median) else "shrinks"
            out.append(f"{_pattern_label(r.measure, patterns)} {how} ({r.full_median:.3g} → {r.median:.3g})")
    return out


def _number(measure: str, value: float) -> str:
    return f"{value:.0%}" if measure == HONGYI else f"{value:.3g}"


def section_lines(frame: pd.DataFrame, seeds: list[int], engine: str,
                  ablations: tuple[Ablation, ...] = ABLATIONS) -> list[str]:
    """The markdown lines of "## Mechanism ablation" from an ablation_frame."""
    frame = frame.copy()
    full = frame[frame["mechanism"] == FULL_MODEL].set_index("measure")["median"]
    frame["full_median"] = frame["measure"].map(full)
    measures = [t.statistic for t in _targets()] + [HONGYI]
    lines = [
        "## Mechanism ablation",
        "",
        f"Each mechanism switched off in turn (`sim/ablation.py`, engine `{engine}`, the same "
        f"{len(seeds)} seeds for every row, each running the whole validation set above). A target's "
        "median is marked ↑ or ↓ where it moves by more than the target's tolerance from the full "
        "model's (for the New Hongyi-like merger: the share of seeds moves by more than 50 points), "
        "and (out) or (in) where it leaves or enters its band; the last column lists the patterns of "
        "the previous section whose pass flips. A mechanism *carries* a target or pattern that moves "
        "so when it is switched off; the sentences below the table also name the patterns that keep "
        f"their pass but whose median moves by more than {PATTERN_SHIFT:.0%} of the full model's.",
        "",
        "| mechanism | " + " | ".join(SHORT_LABELS.get(m, m) for m in measures) + " | patterns that flip |",
        "| --- | " + " | ".join("---" for _ in measures) + " | --- |",
    ]
    for name in [FULL_MODEL] + [a.name for a in ablations]:
        rows = frame[frame["mechanism"] == name]
        cells = [_cell(rows[rows["measure"] == m].iloc[0]) for m in measures]
        flips = "; ".join(_flips(rows)) or ("" if name == FULL_MODEL else "none")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {flips} |")
    lines += ["", "What \"off\" means (the parameter overrides, every one in its documented range):", ""]
    for a in ablations:
        overrides = ", ".join(f"`{k}` = {v:g}" for k, v in a.overrides.items())
        lines.append(f"- **{a.name}**: {a.off} ({overrides}).")
    lines += ["", "What each mechanism carries:", ""]
    for a in ablations:
        lines.append(_sentence(a.name, frame[frame["mechanism"] == a.name]))
    lines.append("")
    return lines


def ablation_section(seeds: list[int], engine: str = "vector", workers: int = 2, **stored) -> list[str]:
    """The markdown lines of the "## Mechanism ablation" section of docs/VALIDATION.md.

    `stored`: where the runs are kept (run_ablations).
    """
    return section_lines(ablation_frame(seeds, engine, workers, **stored), seeds, engine)

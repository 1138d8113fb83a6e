"""Model variants: the structural choices the ODD names, as named sets of the variant switches.

Each variant sets some of the parameter table's variant switches (group "variants",
sim/params.py); the rules read them (sim/rules.py: ``satisfaction_target``, ``unresolved_voice``,
``volunteer_join_probability``, ``merge_seed_key``), so both engines run every variant from the
one rulebook. ``default`` sets nothing: the model as it is.

A scenario selects one with ``variant: NAME``; a sweep crosses its design with several
(``variants: [default, resolution_only, ...]``), each run's variant recorded as the factor
``variant`` (runs.parquet), which ``compare`` reads to rank per variant and pooled
(analysis/conclusions.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.errors import InputError

DEFAULT = "default"
VARIANTS: dict[str, dict[str, int]] = {
    DEFAULT: {},
    "resolution_only": {"satisfaction_rule": 1},
    "saturating": {"satisfaction_rule": 2},
    "problem_first": {"merge_grouping": 1},
    "grievance": {"volunteer_rule": 1},
}
"""Variant name -> the switches it sets (the others keep their defaults)."""
DESCRIPTIONS: dict[str, str] = {
    DEFAULT: "the model as it is: being heard matters, smallest estates merge first, satisfied "
             "households volunteer",
    "resolution_only": "satisfaction: only resolution matters (a case heard but not resolved counts as "
                       "not heard)",
    "saturating": "satisfaction: moves toward a saturating function of what households perceive",
    "problem_first": "mergers: the problem spot (lowest service quality) seeds a group first",
    "grievance": "volunteers: dissatisfaction, not satisfaction, draws households in",
}
FACTOR = "variant"
"""A design point's key (and the runs' column) naming its variant."""


def variant_params(name: str, source: str = "<variant>", key: str = "variant") -> dict[str, int]:
    """The switches a named variant sets; an unknown name is an InputError naming `source` and `key`."""
    if not isinstance(name, str) or name not in VARIANTS:
        from sim.scenario import did_you_mean

        raise InputError(source, key, f"unknown model variant {name!r} (choose from "
                         f"{', '.join(VARIANTS)})" + (did_you_mean(name, VARIANTS) if isinstance(name, str)
                                                      else ""))
    return dict(VARIANTS[name])


def expand_factors(factors: Mapping[str, Any]) -> dict[str, Any]:
    """A design point's factors as parameter overrides: its ``variant`` replaced by the switches it sets."""
    out = {k: v for k, v in factors.items() if k != FACTOR}
    if FACTOR in factors:
        out.update(variant_params(factors[FACTOR]))
    return out

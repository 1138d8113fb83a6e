"""Counts in words: "1 year", "2 years", "1,000 runs" (no "1 years", no "run(s)")."""

from __future__ import annotations

IRREGULAR = {"policy": "policies", "sensitivity": "sensitivities"}
"""Nouns whose plural is not the noun plus "s"."""


def plural(count: int, noun: str) -> str:
    """The count and the noun, singular for one ("1 year", "2 years", "1,000 runs")."""
    if count == 1:
        return f"1 {noun}"
    head, _, last = noun.rpartition(" ")
    many = IRREGULAR.get(last, last + "s")
    return f"{count:,} {head + ' ' if head else ''}{many}"

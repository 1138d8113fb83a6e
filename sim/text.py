"""Words for people: counts ("1 year", "2 years", "1,000 runs"), labels, "did you mean".

A light module (no numpy, no model): the analysis imports it without the model's packages.
"""

from __future__ import annotations

import difflib

IRREGULAR = {"policy": "policies", "sensitivity": "sensitivities"}
"""Nouns whose plural is not the noun plus "s"."""


def plural(count: int, noun: str) -> str:
    """The count and the noun, singular for one ("1 year", "2 years", "1,000 runs")."""
    if count == 1:
        return f"1 {noun}"
    head, _, last = noun.rpartition(" ")
    many = IRREGULAR.get(last, last + "s")
    return f"{count:,} {head + ' ' if head else ''}{many}"


def did_you_mean(word: str, choices) -> str:
    """" (did you mean 'x'?)" for the closest of `choices`, or "" when none is close."""
    match = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def default_label(name: str) -> str:
    """A readable label from a scenario's name: 'my_district_integrated' -> 'My district integrated'."""
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]

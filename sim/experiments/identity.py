"""A run's identity: what changes its results, named part by part, so a refusal can say what differs.

A run is the same run when these are the same: the parameters in effect (the scenario's, with
the design point's factors over them), the district (a CSV's content, a preset's or a
generator's spec), each *enabled* policy and its options, the seed, the years, the engine and
the model version (a digest of the code that computes a run). A scenario's name, label,
description and comments, and a registered policy that is not enabled, are not part of it: they
change no result. Every command that stores runs (run, sweep, sensitivity, posterior sweeps,
calibrate, validate-model)
records a run's identity as these named parts and their digest (``ResultsStore``), and a stored
run whose parts differ is refused naming the first few ("parameter merge_support 0.38 → 0.4").
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from sim.errors import shown

MODEL_CODE = ("rules.py", "street_office.py", "params.py", "districts.py", "events.py", "run.py",
              "outputs.py", "jit.py", "transfers.py", "district_model.py",
              "policies", "vector_engine", "mesa_engine")
"""The code that computes a run (below sim/): a change to any of it is another model version."""
SHOWN_DIFFERENCES = 3
"""How many differing parts a refusal names."""


@functools.cache
def model_version() -> str:
    """A digest of the code that computes a run (MODEL_CODE), 12 hex characters; shown in manifests."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in MODEL_CODE:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def identity_parts(scenario, *, engine: str, seed: int, years: int | None, factors: dict[str, Any],
                   inputs: dict[str, str]) -> dict[str, Any]:
    """The named parts of a run's identity (JSON values), as `differences` compares them."""
    from sim.variants import expand_factors

    params = scenario.with_overrides(params=expand_factors(factors)).params if factors else scenario.params
    district = dict(scenario.district)
    if "csv" in district:  # the file's content, wherever it lies
        district = {"csv sha256": inputs.get("district.csv", "unread")}
    parts: dict[str, Any] = {f"parameter {name}": value for name, value in sorted(dict(params).items())}
    parts.update({f"district {key}": value for key, value in sorted(district.items())})
    for policy, enabled in sorted(scenario.policies.items()):
        if enabled:
            parts[f"policy {policy}"] = "enabled"
            for key, value in sorted(scenario.policy_options.get(policy, {}).items()):
                parts[f"policy {policy}.{key}"] = value
    if scenario.record:  # the series a run keeps (a stored run without them is not this run)
        parts["record"] = list(scenario.record)
    parts.update({"seed": seed, "years": years or scenario.years, "engine": engine,
                  "model version": model_version()})
    return parts


def identity_digest(parts: dict[str, Any]) -> str:
    """The SHA-256 of a run's identity parts."""
    from sim.experiments.store import sha256_json

    return sha256_json(parts)


def differences(stored: dict[str, Any] | None, current: dict[str, Any]) -> str:
    """What differs between two runs' identity parts, in words: "seed 1 → 2; model version a → b"."""
    if not isinstance(stored, dict):
        return "its identity was recorded without its parts (an older version of estate-sim)"
    changed = [f"{name} {_value(stored.get(name))} → {_value(current.get(name))}"
               for name in sorted(set(stored) | set(current)) if stored.get(name) != current.get(name)]
    more = len(changed) - SHOWN_DIFFERENCES
    return "; ".join(changed[:SHOWN_DIFFERENCES]) + (f"; and {more} more" if more > 0 else "")


def _value(value: Any) -> str:
    return "(none)" if value is None else shown(value, 40).strip("'")

"""A sweep design drawn from a calibration's accepted parameter sets (``method: posterior``).

``estate-sim calibrate`` writes a folder (sim/calibration.py) whose ``posterior.csv`` names the
calibrated parameters (its column ``parameter``) and whose ``accepted.csv`` holds one row per
accepted parameter set (the parameters' columns, then summary statistics, ``distance`` and
``accepted``). A sweep file's ::

    factors: {method: posterior, source: ../../docs/calibration, sets: 12}

makes one design point per accepted set: the set's values of the parameters posterior.csv names
(whole-number parameters as ints), in accepted.csv's row order; with ``sets: N`` fewer than all,
the first N of a permutation of the rows drawn from the sweep's design generator
(sim/experiments/seeds.py, ``design_rng``), so the same sweep picks the same sets and a larger N
keeps the earlier ones. ``source`` is relative to the sweep file. The names are read from the
files, never assumed: a calibration of other parameters works as it is.

With ``assumptions: priors`` the design varies the model's assumptions too, jointly with the
calibrated parameters: every parameter with a prior range in the parameter table (sim/params.py
PRIORS: the uncalibrated assumptions) that the calibration does not set takes, at each design
point, a value from a Latin hypercube over the prior ranges (whole-number parameters rounded).
``draws: K`` (default 1) pairs each accepted set with K draws of the assumptions, so the design
has sets × K points (set i's draws are points i·K … i·K + K − 1). The hypercube has its own
stream of the sweep's design generator, so the sets a sweep picks do not depend on it. Seeds
are crossed with the design as in every sweep (each point runs every replicate's seed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from sim.errors import InputError
from sim.experiments.design import MAX_DESIGN_POINTS
from sim.experiments.seeds import DESIGN_STREAM, design_rng
from sim.experiments.store import sha256_file
from sim.params import PARAMETER_INDEX, PARAMETERS, coerce_parameter
from sim.scenario import StrictSpec, did_you_mean

ACCEPTED = "accepted.csv"
POSTERIOR = "posterior.csv"


class PosteriorFactorsSpec(StrictSpec):
    """A sweep's ``factors:`` drawn from a calibration folder's accepted parameter sets."""

    method: Literal["posterior"]
    source: str = Field(min_length=1, description="calibration folder, relative to the sweep file")
    sets: int | None = Field(None, ge=1, le=MAX_DESIGN_POINTS,
                             description="how many accepted sets to use (default all)")
    assumptions: Literal["priors"] | None = Field(
        None, description="priors: vary the assumptions over their prior ranges too")
    draws: int = Field(1, ge=1, le=10_000, description="draws of the assumptions per accepted set")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise InputError(str(path), None, f"cannot read it as CSV ({' '.join(str(exc).split())})") from None


def posterior_names(folder: Path) -> list[str]:
    """The calibrated parameters' names: posterior.csv's column ``parameter``, checked against the model."""
    path = folder / POSTERIOR
    frame = _read_csv(path)
    if "parameter" not in frame.columns:
        raise InputError(str(path), "parameter", "column missing (it lists the calibrated parameters)")
    names = [str(name) for name in frame["parameter"]]
    if not names:
        raise InputError(str(path), "parameter", "names no parameter")
    for i, name in enumerate(names):
        param = PARAMETER_INDEX.get(name)
        if param is None:
            raise InputError(str(path), f"parameter (row {i + 1})", f"unknown parameter {name!r} "
                             "(see docs/ODD.md)" + did_you_mean(name, PARAMETER_INDEX))
        if param.kind is bool:
            raise InputError(str(path), f"parameter (row {i + 1})",
                             f"{name!r} is true or false, not a number a design can vary")
        if names.index(name) != i:
            raise InputError(str(path), f"parameter (row {i + 1})", f"{name!r} is named twice")
    return names


def accepted_sets(folder: Path, names: list[str]) -> list[dict[str, float | int]]:
    """The accepted parameter sets of accepted.csv, each a mapping name -> typed, checked value.

    Rows whose ``accepted`` column (when there is one) is false are left out.
    """
    path = folder / ACCEPTED
    frame = _read_csv(path)
    for name in names:
        if name not in frame.columns:
            raise InputError(str(path), name, f"column missing ({POSTERIOR} names the parameter)")
    if "accepted" in frame.columns:
        keep = frame["accepted"].astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])
        frame = frame[keep.to_numpy()]
    if frame.empty:
        raise InputError(str(path), None, "holds no accepted parameter set")
    sets = []
    for row, values in frame[names].iterrows():
        point = {}
        for name in names:
            value = values[name]
            key = f"{name} (row {int(row) + 1})"
            if isinstance(value, str) or value is None or not np.isfinite(value):
                raise InputError(str(path), key, f"must be a number, got {value!r}")
            try:
                point[name] = coerce_parameter(name, value.item() if hasattr(value, "item") else value,
                                               source=str(path))
            except InputError as exc:
                raise InputError(str(path), key, exc.message) from None
        sets.append(point)
    return sets


def posterior_design(spec: PosteriorFactorsSpec, sweep_path: Path,
                     seed: int) -> tuple[dict[str, Any], list[dict[str, float | int]]]:
    """The resolved factors (for manifest.json) and the design points: one per accepted set used.

    Errors name the sweep file and its key (a missing folder or file, too many sets) or the CSV
    and its column (an unknown parameter, a value outside the parameter's range).
    """
    source = str(sweep_path)
    if "\0" in spec.source:
        raise InputError(source, "factors.source", "the path contains a NUL character")
    folder = (sweep_path.resolve().parent / spec.source).resolve()
    if not folder.is_dir():
        raise InputError(source, "factors.source", f"no calibration folder at {folder} (write one with "
                         "`estate-sim calibrate`)")
    for name in (POSTERIOR, ACCEPTED):
        if not (folder / name).is_file():
            raise InputError(source, "factors.source", f"{folder} has no {name} (not a folder written "
                             "by `estate-sim calibrate`)")
    names = posterior_names(folder)
    sets = accepted_sets(folder, names)
    if spec.sets is None:
        rows = list(range(len(sets)))
    elif spec.sets > len(sets):
        raise InputError(source, "factors.sets", f"asks for {spec.sets} parameter sets; "
                         f"{folder / ACCEPTED} has {len(sets)}")
    else:
        rows = [int(i) for i in design_rng(seed).permutation(len(sets))[:spec.sets]]
    if spec.draws > 1 and spec.assumptions is None:
        raise InputError(source, "factors.draws", "draws need `assumptions: priors` (without it every "
                         "draw of a set would be the same point)")
    if len(rows) * spec.draws > MAX_DESIGN_POINTS:
        raise InputError(source, "factors.draws", f"the design would have {len(rows) * spec.draws:,} "
                         f"points (at most {MAX_DESIGN_POINTS:,})")
    factors = {"method": "posterior", "source": spec.source, "sets": len(rows),
               "parameters": names, "rows": rows, "accepted": len(sets),
               "accepted_sha256": sha256_file(folder / ACCEPTED)}
    design = [dict(sets[i]) for i in rows for _ in range(spec.draws)]
    if spec.assumptions == "priors":
        ranges = prior_ranges(exclude=names)
        factors.update(assumptions="priors", draws=spec.draws, assumption_ranges=ranges)
        for point, draw in zip(design, prior_draws(ranges, len(design), seed), strict=True):
            point.update(draw)
    return factors, design


def prior_ranges(exclude: list[str] | tuple[str, ...] = ()) -> dict[str, list[float]]:
    """Each parameter with a prior range (sim/params.py PRIORS) but those excluded: [low, high]."""
    return {p.name: [p.prior_low, p.prior_high] for p in PARAMETERS
            if p.prior_low is not None and p.name not in exclude}


def prior_draws(ranges: dict[str, list[float]], n: int, seed: int) -> list[dict[str, float | int]]:
    """N points of a Latin hypercube over the prior ranges, from the design generator's own stream."""
    from scipy.stats import qmc

    names = list(ranges)
    bounds = np.array([ranges[name] for name in names], dtype=float)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_STREAM, 1)))
    unit = qmc.LatinHypercube(d=len(names), rng=rng).random(n)
    matrix = qmc.scale(unit, bounds[:, 0], bounds[:, 1])
    return [{name: int(round(float(value))) if PARAMETER_INDEX[name].kind is int else float(value)
             for name, value in zip(names, row, strict=True)} for row in matrix]

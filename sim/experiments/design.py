"""Parameter designs of a sweep: the points at which documented parameters are set.

Four methods, each over the factors' ranges ``{name: (low, high)}``:

- ``grid``: ``samples`` evenly spaced levels per factor, every combination (samples ** k points);
- ``lhs``: ``samples`` points of a Latin hypercube (scipy.stats.qmc), seeded from the sweep seed;
- ``sobol``: Saltelli's extension of Sobol' sequences (SALib.sample.sobol) with second-order
  terms, ``samples * (2k + 2)`` points, ``samples`` a power of two; what SALib.analyze.sobol needs;
- ``morris``: ``samples`` Morris trajectories of ``levels`` levels (SALib.sample.morris),
  ``samples * (k + 1)`` points; what SALib.analyze.morris needs.

Whole-number parameters are rounded to the nearest whole number. Points keep the sampler's
order, so that SALib's analyzers can read the outputs back by design point.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from sim.experiments.seeds import design_rng
from sim.params import PARAMETER_INDEX

METHODS = ("grid", "lhs", "sobol", "morris")
MAX_DESIGN_POINTS = 1_000_000


def design_factor_names(factors: Mapping | None) -> list[str]:
    """The parameter names of a sweep's resolved factors (manifest.json's ``factors``), in order.

    A sampled design lists them as ``ranges``; a posterior design (sim/experiments/posterior.py)
    as ``parameters``, then the assumptions it draws from their priors (``assumption_ranges``), then
    ``variant`` when the sweep crosses its design with model variants (sim/variants.py). No design:
    none.
    """
    if not factors:
        return []
    names = list(factors.get("parameters") or factors.get("ranges") or [])
    names += [name for name in factors.get("assumption_ranges") or [] if name not in names]
    return names + (["variant"] if factors.get("variants") else [])


def design_size(method: str, samples: int, factors: int) -> int:
    """How many design points a method makes from `samples` over `factors` factors."""
    return {"grid": samples ** factors, "lhs": samples, "sobol": samples * (2 * factors + 2),
            "morris": samples * (factors + 1)}[method]


def sample_design(method: str, samples: int, ranges: Mapping[str, tuple[float, float]],
                  seed: int, levels: int = 4) -> list[dict[str, float | int]]:
    """The design points, each a mapping of parameter name to value, in the sampler's order."""
    names = list(ranges)
    bounds = np.array([ranges[name] for name in names], dtype=float)
    problem = {"num_vars": len(names), "names": names, "bounds": bounds.tolist()}
    if method == "grid":
        axes = [np.linspace(low, high, samples) for low, high in bounds]
        matrix = np.array(list(itertools.product(*axes)), dtype=float)
    elif method == "lhs":
        from scipy.stats import qmc  # here: scipy.stats takes seconds to import, and only lhs needs it

        unit = qmc.LatinHypercube(d=len(names), rng=design_rng(seed)).random(samples)
        matrix = qmc.scale(unit, bounds[:, 0], bounds[:, 1])
    elif method == "sobol":
        from SALib.sample import sobol

        matrix = sobol.sample(problem, samples, calc_second_order=True, seed=design_rng(seed))
    elif method == "morris":
        from SALib.sample import morris

        matrix = morris.sample(problem, samples, num_levels=levels, seed=design_rng(seed))
    else:
        raise ValueError(f"unknown design method {method!r} (choose from {', '.join(METHODS)})")
    return [{name: _typed(name, value) for name, value in zip(names, row, strict=True)}
            for row in matrix]


def _typed(name: str, value: float) -> float | int:
    if PARAMETER_INDEX[name].kind is int:
        return int(round(float(value)))
    return float(value)

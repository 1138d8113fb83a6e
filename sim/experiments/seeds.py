"""Seeds of a sweep's runs, all drawn from one root ``numpy.random.SeedSequence(seed)``.

Run (design point d, replicate r) gets the root's grandchild with spawn key (d, r): the child d
of the root, then that child's child r (what ``root.spawn(...)[d].spawn(...)[r]`` returns). Every
scenario uses it (common random numbers: the policies of one replicate meet the same
randomness, so their differences are paired); different replicates and design points get
independent streams. Adding replicates or design points leaves the existing runs' seeds as
they are, which is what lets a sweep be extended and resumed.
"""

from __future__ import annotations

import numpy as np

DESIGN_STREAM = 2**32 - 1
"""Spawn key of the stream that samples the factor design (kept apart from the runs' streams)."""


def run_seed_sequence(root_seed: int, design_point: int, replicate: int) -> np.random.SeedSequence:
    """The SeedSequence of one (design point, replicate): the root's grandchild (d, r)."""
    return np.random.SeedSequence(root_seed, spawn_key=(design_point, replicate))


def to_int_seed(sequence: np.random.SeedSequence) -> int:
    """A scenario's integer seed (0 <= seed < 2**63) drawn from a SeedSequence."""
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_seed(root_seed: int, design_point: int, replicate: int) -> int:
    """The integer seed every scenario uses for (design point, replicate)."""
    return to_int_seed(run_seed_sequence(root_seed, design_point, replicate))


def design_rng(root_seed: int) -> np.random.Generator:
    """The generator that samples the factor design (LHS, Sobol', Morris) of a sweep."""
    return np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(DESIGN_STREAM,)))


PURPOSE_STREAM = 2**32 - 2
"""First spawn key of the seeds drawn for a purpose (kept apart from the sweeps' and the design's)."""

PURPOSES: tuple[str, ...] = ("calibration", "refinement", "validation")
"""What seeds are drawn for. Each purpose has its own stream of every root, so the seeds on which
a calibration fits, the seeds on which it refines its choice and the seeds on which the model is
validated never overlap (`purpose_seeds`), whatever the roots and the counts."""


def purpose_seeds(purpose: str, root: int, n: int) -> list[int]:
    """The first n scenario seeds of a purpose's stream: spawn keys (PURPOSE_STREAM, purpose, i).

    Disjoint across purposes by construction (different spawn keys give independent streams; a
    collision of two 63-bit integers has probability ~n^2 / 2^63, and tests check none occurs).
    """
    index = PURPOSES.index(purpose)
    return [to_int_seed(np.random.SeedSequence(root, spawn_key=(PURPOSE_STREAM, index, i))) for i in range(n)]

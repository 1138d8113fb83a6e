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

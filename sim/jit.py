"""numba's `njit` with the project's options, or the plain function where numba is missing.

Compiled functions are cached (`cache=True`: the machine code is written beside the source, or to
NUMBA_CACHE_DIR, and later processes load it) and release the GIL. A function compiled here is
the only implementation of what it computes: without numba the same function runs as Python.
"""

from __future__ import annotations

try:  # pragma: no cover - exercised by whichever way the environment is
    import numba
except ImportError:  # pragma: no cover
    numba = None

OPTIONS = {"cache": True, "nogil": True}


def njit(**options):
    """A decorator: numba.njit with OPTIONS (and `options`), or the function itself without numba."""

    def wrap(function):
        if numba is None:  # pragma: no cover
            return function
        return numba.njit(**{**OPTIONS, **options})(function)

    return wrap

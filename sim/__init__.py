"""estate-sim: an agent-based simulator of how small residential estates are governed.

It models Shanghai's Ouyang Road subdistrict, which merged small estates (小小区), entrusted
isolated ones to strong firms and combined specialised service with resident self-governance
(China Construction News, 2023-01-16). See docs/ODD.md for the model description.

The Python API (sim/api.py, docs/API.md): ``sim.load_scenario``, ``sim.run``, ``sim.sweep``,
``sim.load_results``, ``sim.load_series``, ``sim.burn_in``. They are imported on first use, so
that ``import sim`` stays light for the worker processes of a sweep.
"""

import importlib

__version__ = "0.1.0"
__all__ = ["__version__", "burn_in", "load_results", "load_scenario", "load_series", "run", "sweep"]


def __getattr__(name: str):
    if name == "run":  # the module sim/run.py, callable as the API's run (see its docstring)
        return importlib.import_module("sim.run")
    if name in ("load_scenario", "sweep", "load_results", "load_series", "burn_in"):
        return getattr(importlib.import_module("sim.api"), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")

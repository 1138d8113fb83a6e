"""Experiments: sweeps of scenarios × parameter designs × replicates, run by a swappable executor.

- ``sweep``: the sweep file, the plan of runs, and ``run_sweep``;
- ``design``: parameter designs (grid, Latin hypercube, Sobol', Morris);
- ``seeds``: every run's seed from one root SeedSequence (common random numbers);
- ``executors``: sequential, local processes, Dask distributed;
- ``runner``: one run, or the runs of one shared burn-in (sim/snapshot.py), as an executor
  carries them out;
- ``store``: the results folder, written atomically as runs finish (read it with
  ``analysis.results``).
"""

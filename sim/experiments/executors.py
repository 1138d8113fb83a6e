"""Executors: where a sweep's runs are carried out, behind one small interface.

An executor is a context manager with a ``name`` and ``map_unordered(fn, tasks)``, which yields
``(task, result)`` pairs as runs finish, in any order; ``result`` is ``fn(task)``, or the
exception that the executor itself met (a worker process that died, a lost Dask worker). The
sweep stores each result as it arrives, so which executor ran it, and how many workers it had,
changes nothing in the results.

- ``SequentialExecutor``: in this process, one run after another (``--workers 1``);
- ``ProcessExecutor``: local worker processes (``--workers N``);
- ``DaskExecutor``: a Dask distributed cluster, an existing one (``--scheduler tcp://HOST:PORT``)
  or a LocalCluster on 127.0.0.1 (``--dask-local N``). See docs/SWEEPS.md.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

import sim
from sim.errors import InputError

T = TypeVar("T")
CONNECT_TIMEOUT_S = 10
WORKER_WAIT_S = 60
PRELOAD = ("sim.experiments.runner", "sim.mesa_engine")
"""Modules worker processes import once, in the fork server, before their first task."""


class Executor(Protocol):
    """What the sweep needs from an executor."""

    name: str

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc) -> None: ...

    def map_unordered(self, fn: Callable[[T], Any], tasks: Sequence[T]) -> Iterator[tuple[T, Any]]:
        """Yield (task, fn(task) or the executor's exception) as each task finishes."""
        ...


class SequentialExecutor:
    """Runs the tasks in this process, in order."""

    name = "sequential"

    def __enter__(self) -> SequentialExecutor:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def map_unordered(self, fn, tasks):
        """Yield (task, fn(task)) for each task in turn."""
        for task in tasks:
            yield task, fn(task)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` fresh processes, the model imported once in the fork server.

    Fork server, else spawn: never a fork of this process, which may hold threads.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


class ProcessExecutor:
    """Runs the tasks in `workers` local processes (started fresh, not forked from this one)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.name = f"processes ({workers} workers)"
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessExecutor:
        self._pool = process_pool(self.workers)
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def map_unordered(self, fn, tasks):
        """Yield (task, result or exception) as the worker processes finish them."""
        # Keep a bounded number of tasks in flight so that a large sweep is not pickled at once.
        pending: dict = {}
        queue = iter(tasks)
        limit = 4 * self.workers
        while True:
            for task in queue:
                try:
                    pending[self._pool.submit(fn, task)] = task
                except BrokenExecutor as exc:  # a worker died: the pool takes no more tasks
                    yield task, exc
                    continue
                if len(pending) >= limit:
                    break
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                exc = future.exception()
                yield task, exc if exc is not None else future.result()


def _package_version() -> str:
    return sim.__version__


class DaskExecutor:
    """Runs the tasks on a Dask distributed cluster: an existing scheduler, or a LocalCluster."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None):
        if (scheduler is None) == (local_workers is None):
            raise ValueError("give exactly one of scheduler, local_workers")
        self.scheduler = scheduler
        self.local_workers = local_workers
        self.name = (f"dask ({scheduler})" if scheduler
                     else f"dask LocalCluster ({local_workers} workers)")
        self._cluster = None
        self._client = None

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            self._cluster = LocalCluster(n_workers=self.local_workers, threads_per_worker=1,
                                         processes=True, host="127.0.0.1", dashboard_address=None,
                                         silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
            return self
        try:
            self._client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("command line", "--scheduler",
                             f"cannot reach the Dask scheduler at {self.scheduler} ({exc})") from None
        try:
            self._client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            self._client.close()
            raise InputError("command line", "--scheduler",
                             f"no Dask worker joined {self.scheduler} within {WORKER_WAIT_S} s "
                             "(start some with `dask worker ADDRESS`)") from None
        try:
            versions = self._client.run(_package_version)
        except Exception as exc:  # e.g. estate-sim is not installed on a worker
            self._client.close()
            raise InputError("command line", "--scheduler",
                             f"the workers of {self.scheduler} cannot run estate-sim "
                             f"({type(exc).__name__}: {exc}); install it on every worker") from None
        others = {worker: v for worker, v in versions.items() if v != sim.__version__}
        if others:
            self._client.close()
            worker, version = next(iter(others.items()))
            raise InputError("command line", "--scheduler",
                             f"worker {worker} runs estate-sim {version}, this is "
                             f"{sim.__version__}: install the same version on every worker")
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map_unordered(self, fn, tasks):
        """Yield (task, result or exception) as the cluster finishes them."""
        from distributed import as_completed

        tasks = list(tasks)
        futures = self._client.map(fn, tasks, pure=False)
        by_key = {future.key: task for future, task in zip(futures, tasks, strict=True)}
        for future in as_completed(futures):
            task = by_key[future.key]
            try:
                result = future.result()
            except Exception as exc:  # the cluster lost the task (e.g. its worker died)
                result = exc
            future.release()
            yield task, result


def make_executor(workers: int = 1, scheduler: str | None = None,
                  dask_local: int | None = None) -> Executor:
    """The executor the command line asks for: sequential, processes, or Dask."""
    if scheduler is not None or dask_local is not None:
        return DaskExecutor(scheduler=scheduler, local_workers=dask_local)
    if workers > 1:
        return ProcessExecutor(workers)
    return SequentialExecutor()

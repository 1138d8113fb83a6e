"""Executors: where a sweep's runs are carried out, behind one small interface.

An executor is a context manager with a ``name`` and ``map_unordered(fn, tasks)``, which yields
``(task, result)`` pairs as runs finish, in any order; ``result`` is ``fn(task)``, or the
exception that the executor itself met (a worker process that died, a lost Dask worker). The
sweep stores each result as it arrives, so which executor ran it, and how many workers it had,
changes nothing in the results.

- ``SequentialExecutor``: in this process, one run after another (``--workers 1``);
- ``ProcessExecutor``: local worker processes (``--workers N``), which die with the command
  (a parent-death signal and a watcher thread), and a pool rebuilt when a worker dies;
- ``DaskExecutor``: a Dask distributed cluster, an existing one (``--scheduler tcp://HOST:PORT``)
  or a LocalCluster on 127.0.0.1 (``--dask-local N``). See docs/SWEEPS.md.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol, TypeVar

import sim
from sim.errors import InputError

T = TypeVar("T")
CONNECT_TIMEOUT_S = 10
WORKER_WAIT_S = 60
PRELOAD = ("sim.experiments.runner", "sim.mesa_engine")
"""Modules worker processes import once, in the fork server, before their first task."""
WATCH_INTERVAL_S = 0.5
"""How often a worker checks that the command that started it is still alive."""
RETRIES_AFTER_BROKEN_POOL = 1
"""How many times a run held by a pool whose worker died is tried again in a new pool."""
TEMP_DIR_PREFIX = "esim-mp-"
MAX_TEMP_PARENT_CHARS = 60
"""Longer $TMPDIR paths would make the fork server's socket path too long for AF_UNIX."""
"""Prefix of the command's multiprocessing temp folder (``private_temp_dir``)."""
MAX_REBUILDS = 100
"""Pools one sweep may replace before it gives up (workers that cannot start at all)."""
PR_SET_PDEATHSIG = 1


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


def _set_parent_death_signal(signum: int = signal.SIGKILL) -> None:
    # Linux: the kernel sends `signum` to this process when its parent exits, whatever the way.
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watcher thread still ends the worker
        pass


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie does not; another user's pid counts as reused)."""
    # A killed command stays a zombie until its parent reaps it, and a parent such as
    # subprocess.run(capture_output=True) reaps it only once our stderr closes: a zombie is dead.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # no /proc: ask the kernel whether the pid exists
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's: the pid was reused
        return False
    return True


def _watch_command(command_pid: int, temp_dir: str | None) -> None:
    # The worker's parent may be the fork server, not the command: watch the command itself.
    while process_alive(command_pid) and os.getppid() != 1:
        time.sleep(WATCH_INTERVAL_S)
    # The command died without its exit handlers: remove multiprocessing's pymp-* folders, its
    # and this worker's own (os._exit skips the worker's handlers too).
    for folder in (temp_dir, _own_temp_dir()):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    os._exit(1)


def private_temp_dir() -> str:
    """The multiprocessing temp folder of this process (the fork server's socket), named by pid.

    multiprocessing would make an anonymous ``pymp-*`` folder, removed only on a clean exit. Ours
    is ``esim-mp-<pid>-*``: the workers remove it when the command dies, and any left by a
    command killed before its workers started is removed by the next one
    (``remove_stale_temp_dirs``).
    """
    config = multiprocessing.current_process()._config
    if config.get("tempdir") is None:
        parent = tempfile.gettempdir()
        if len(parent) > MAX_TEMP_PARENT_CHARS and os.path.isdir("/tmp"):
            parent = "/tmp"  # the fork server's socket path must fit AF_UNIX's ~107 bytes
        remove_stale_temp_dirs(Path(parent))
        folder = tempfile.mkdtemp(prefix=f"{TEMP_DIR_PREFIX}{os.getpid()}-", dir=parent)
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder,),
                                      kwargs={"ignore_errors": True}, exitpriority=-100)
        config["tempdir"] = folder
    return config["tempdir"]


def remove_stale_temp_dirs(parent: Path) -> list[Path]:
    """Remove the ``esim-mp-<pid>-*`` folders in `parent` whose command is dead."""
    removed = []
    for folder in parent.glob(f"{TEMP_DIR_PREFIX}*"):
        pid = folder.name.removeprefix(TEMP_DIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)) and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _own_temp_dir() -> str | None:
    # Where multiprocessing.util.get_temp_dir() keeps this process's pymp-* folder, if it made one.
    config = getattr(multiprocessing.current_process(), "_config", {})
    return config.get("tempdir")


def _start_helpers_quietly(context) -> None:
    # The resource tracker and the fork server (and so every worker) inherit stderr: a worker
    # stopped while it starts prints a traceback, and the tracker warnings after a SIGKILL, on
    # the caller's terminal, and a survivor would hold a pipe such as `| tee` open. Task errors
    # come back to the command as results; none of them needs stderr (ESTATE_SIM_DEBUG keeps it).
    from multiprocessing import forkserver, resource_tracker

    if os.environ.get("ESTATE_SIM_DEBUG"):
        return
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        resource_tracker.ensure_running()
        if context.get_start_method() == "forkserver":
            forkserver.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def die_with_command(command_pid: int, temp_dir: str | None, signum: int = signal.SIGKILL) -> None:
    """End this process (removing `temp_dir`) when the command `command_pid` is gone, however.

    A parent-death signal (`signum`), and a thread watching the command (the kernel's signal
    follows the parent, which may be a fork server; a killed command may linger as a zombie).
    Pool workers and the app's server call it first thing.
    """
    _set_parent_death_signal(signum)
    if not process_alive(command_pid):
        os._exit(1)
    threading.Thread(target=_watch_command, args=(command_pid, temp_dir), daemon=True,
                     name="estate-sim-watch-command").start()


def worker_init(command_pid: int, temp_dir: str | None) -> None:
    """Start a pool worker: die with the command, and leave Ctrl-C to the command.

    The terminal sends SIGINT to the whole process group; the command stops the pool itself,
    so a worker ignores it (no traceback on the caller's stderr).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    die_with_command(command_pid, temp_dir)


class WorkerPool(ProcessPoolExecutor):
    """A process pool that, left by an exception (Ctrl-C, SIGTERM), ends its workers at once.

    Its workers ignore SIGINT (worker_init), so the plain pool would wait for every queued task.
    """

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return super().__exit__(exc_type, exc, tb)
        stop_pool(self)
        return False


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` fresh processes, the model imported once in the fork server.

    Fork server, else spawn: never a fork of this process, which may hold threads. Every
    worker dies when this process does (worker_init).
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
    else:
        context = multiprocessing.get_context("spawn")
    temp_dir = private_temp_dir()
    _start_helpers_quietly(context)
    return WorkerPool(max_workers=workers, mp_context=context, initializer=worker_init,
                      initargs=(os.getpid(), temp_dir))


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started and end the workers running a task.

    When it returns, every future of the pool is done (cancelled, or failed with its worker).
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=10)
    # the pool's manager thread marks the killed workers' tasks as failed: wait for it, so that no
    # future is left pending when this returns
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=10)


class ProcessExecutor:
    """Runs the tasks in `workers` local processes (started fresh, not forked from this one).

    A worker that dies breaks its pool: the pool is replaced, and the runs it held are tried
    again once in the new one, while the others go on.
    """

    def __init__(self, workers: int):
        self.workers = workers
        self.name = f"processes ({workers} workers)"
        self._pool: ProcessPoolExecutor | None = None
        self.rebuilt = 0

    def __enter__(self) -> ProcessExecutor:
        self._pool = process_pool(self.workers)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._pool is None:
            return
        if exc_type is None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        else:  # interrupted or failed: do not wait for the runs in progress
            stop_pool(self._pool)
        self._pool = None

    def _rebuild(self) -> None:
        if self.rebuilt >= MAX_REBUILDS:
            raise RuntimeError(f"worker processes died {self.rebuilt} times; giving up")
        stop_pool(self._pool)
        self._pool = process_pool(self.workers)
        self.rebuilt += 1

    def _submit(self, fn, task, pending: dict, retry: deque) -> None:
        try:
            pending[self._pool.submit(fn, task)] = task
        except BrokenExecutor:  # a worker died while the pool was idle: a new pool, no retry used
            retry.appendleft(task)
            self._rebuild()

    def map_unordered(self, fn, tasks):
        """Yield (task, result or exception) as the worker processes finish them.

        When a worker dies, every run its pool held is tried again once, alone in a new pool
        (so that a run that kills its worker again fails by itself), then the others go on.
        """
        # Keep a bounded number of tasks in flight so that a large sweep is not pickled at once.
        pending: dict = {}
        tries: dict[int, int] = {}
        retry: deque = deque()
        queue = iter(tasks)
        limit = 4 * self.workers
        while True:
            if retry:
                if not pending:  # retried runs go one at a time, with nothing else in flight
                    self._submit(fn, retry.popleft(), pending, retry)
            else:
                while len(pending) < limit:
                    task = next(queue, _END)
                    if task is _END:
                        break
                    self._submit(fn, task, pending, retry)
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task = pending.pop(future)
                exc = future.exception()
                if not isinstance(exc, BrokenExecutor):
                    yield task, exc if exc is not None else future.result()
                    continue
                broken = True
                if tries.get(id(task), 0) < RETRIES_AFTER_BROKEN_POOL:
                    tries[id(task)] = tries.get(id(task), 0) + 1
                    retry.append(task)
                else:
                    yield task, BrokenExecutor("a worker process died while running this run")
            if broken:
                # Every run the broken pool still held fails with it: retry those too.
                for future, task in list(pending.items()):
                    if future.done() and not isinstance(future.exception(), BrokenExecutor):
                        continue  # finished before the pool broke: collected next time round
                    pending.pop(future)
                    if tries.get(id(task), 0) < RETRIES_AFTER_BROKEN_POOL:
                        tries[id(task)] = tries.get(id(task), 0) + 1
                        retry.append(task)
                    else:
                        yield task, BrokenExecutor("a worker process died while running this run")
                finished = dict(pending)
                pending.clear()
                for future, task in finished.items():
                    exc = future.exception()
                    yield task, exc if exc is not None else future.result()
                self._rebuild()


_END = object()


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
        self._scratch: str | None = None
        self._config = None

    def __enter__(self) -> DaskExecutor:
        if self.scheduler is None:
            # the local workers' nannies hold semaphores: the resource tracker that removes them
            # after a SIGKILL must not warn of "leaked semaphore objects" on the terminal
            _start_helpers_quietly(multiprocessing.get_context("spawn"))
        import dask.config
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            # Dask's scratch (dask-scratch-space) in a folder of this command's own: removed on
            # exit, and after a SIGKILL by the next command (remove_stale_temp_dirs)
            parent = Path(tempfile.gettempdir())
            remove_stale_temp_dirs(parent)
            self._scratch = tempfile.mkdtemp(prefix=f"{TEMP_DIR_PREFIX}{os.getpid()}-dask-", dir=parent)
            # the scheduler's scratch too: dask's temporary-directory, for the cluster's life
            self._config = dask.config.set({"temporary-directory": self._scratch})
            try:
                self._cluster = LocalCluster(n_workers=self.local_workers, threads_per_worker=1,
                                             processes=True, host="127.0.0.1", dashboard_address=None,
                                             silence_logs=logging.ERROR, local_directory=self._scratch)
                self._client = Client(self._cluster)
            except BaseException:
                self.__exit__()
                raise
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
        try:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
        finally:
            self._client = self._cluster = None
            if self._config is not None:
                self._config.__exit__(None, None, None)
                self._config = None
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)
                self._scratch = None

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

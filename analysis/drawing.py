"""Figures drawn in two processes: this one and a helper that shares the work.

Drawing a comparison's figures (each as PNG and SVG) is most of what `compare` costs: matplotlib
lays out text, ticks and lines in Python, on one core. A `FigureHelper` started when a command
begins imports matplotlib in a second process while this one loads and compares the runs; then
both take figures from one list until none is left, each the next from its front. Given the
longest first (the longest-processing-time rule), the two end close together. On two idle cores
the figures take about half the time; the files are the same.

The helper is a fresh interpreter (running `serve`) reading pickled jobs on its stdin and
answering on its stdout: not a fork (by then this process has Arrow's threads, and a fork of a
threaded process can deadlock), and not multiprocessing's spawn (which would run the caller's
own script again in the helper). It ignores Ctrl-C (this process stops it) and is stopped on
every way out of the ``with`` block.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MIN_CPUS = 2
"""Fewest usable CPUs for which a helper is started (on one core it would only add its imports)."""
ROOT = Path(__file__).resolve().parent.parent
"""The folder holding the `analysis` and `sim` packages, for the helper's import path."""


@dataclass(frozen=True)
class FigureJob:
    """One figure to draw and save: `draw(**kwargs)` returns the figure, saved as `path`.{png,svg}.

    `draw` names a figure function, "module:function" (analysis.plots:timeseries_figure): naming
    it imports nothing, so a command hands the helper its first figure before it imports
    matplotlib itself. `kwargs` are plain data (frames, names), sent to the helper pickled.
    """

    draw: str
    path: Path
    kwargs: dict = field(default_factory=dict)
    weight: float = 1.0
    """A guess of its drawing time (`weight`), to draw the longest first."""


def weight(panels: int, rows: float) -> float:
    """A figure's drawing time, roughly: per panel its axes and ticks, and a little per row drawn in it.

    Fitted by eye to compare's figures (0.2 s a panel, 12 ms a panel's row on this machine).
    """
    return panels * (1.0 + rows / 16.0)


def draw_job(job: FigureJob) -> list[Path]:
    """Draw the figure and write its files; returns their paths."""
    from analysis.plots import save_figure

    module, name = job.draw.split(":")
    return save_figure(getattr(importlib.import_module(module), name)(**job.kwargs), job.path)


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def serve() -> None:
    """The helper's loop: warm up (imports, fonts), then draw each job read until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not enter the replies
    jobs = sys.stdin.buffer
    import scipy.special  # noqa: F401  (the time series' t intervals)

    import analysis.factors  # noqa: F401  (the figure modules and matplotlib, before any job comes)
    import analysis.plots  # noqa: F401
    import analysis.ranking  # noqa: F401
    from analysis.style import figure_rc

    figure_rc()
    while True:
        try:
            message = pickle.load(jobs)
        except (EOFError, OSError, pickle.UnpicklingError):
            return
        if message is None:
            return
        index, job = message
        try:
            reply = ("ok", index, draw_job(job))
        except Exception:  # the other process draws it again, and raises it there
            reply = ("error", index, traceback.format_exc())
        pickle.dump(reply, replies)
        replies.flush()


class FigureHelper:
    """A second process drawing figures beside this one (none on a single CPU or when disabled).

    Use as a context manager: ``with FigureHelper() as helper: ... helper.draw(jobs)``.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and usable_cpus() >= MIN_CPUS
        self.process: subprocess.Popen | None = None
        """The helper while it runs (None without one)."""
        self.drawn = 0
        """How many figures the helper drew."""

    def __enter__(self) -> FigureHelper:
        if self.enabled:  # this package's copy of `analysis` first, whatever the working folder holds
            start = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import analysis.drawing as d; d.serve()"
            try:
                self.process = subprocess.Popen([sys.executable, "-c", start], stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE)
            except OSError:  # no interpreter to start (an embedded Python): this process draws all
                self.process = None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the helper: stdin closed (it ends after its figure), terminated after a second; waited for."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        process.stdout.close()  # after the end: a thread may still be reading it until then

    def draw(self, jobs: Sequence[FigureJob],
             meanwhile: Callable[[], object] | None = None) -> list[list[Path]]:
        """Draw every job (shared with the helper when there is one); their paths, in the jobs' order.

        `meanwhile` (writing tables, say) runs here once the helper has its first job.
        """
        queue = deque(enumerate(jobs))
        lock = threading.Lock()
        done: dict[int, list[Path]] = {}
        feeder = None
        if self.process is not None:
            feeder = threading.Thread(target=self._feed, args=(self.process, queue, lock, done),
                                      daemon=True)
            feeder.start()
        if meanwhile is not None:
            meanwhile()
        while True:
            with lock:
                if not queue:
                    break
                index, job = queue.popleft()
            done[index] = draw_job(job)
        if feeder is not None:
            feeder.join()
        for index, job in enumerate(jobs):  # what the helper could not draw (it raised, or died)
            if index not in done:
                done[index] = draw_job(job)
        return [done[index] for index in range(len(jobs))]

    def _feed(self, process: subprocess.Popen, queue: deque, lock: threading.Lock,
              done: dict[int, list[Path]]) -> None:
        # In a thread of this process: give the helper the next job from the front, wait for it.
        while True:
            with lock:
                if not queue:
                    return
                index, job = queue.popleft()
            try:
                pickle.dump((index, job), process.stdin)
                process.stdin.flush()
                status, index, value = pickle.load(process.stdout)
            except Exception:  # it died, was stopped, or the job would not pickle
                return  # this process draws the job
            if status != "ok":
                return  # its error is raised when this process draws the job again
            done[index] = value
            self.drawn += 1

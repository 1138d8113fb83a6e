"""A progress bar on stderr: months (or runs) done and time left; silent when stderr is no terminal."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Shows `label [#####.....] done/total  ETA` once a job has run for `delay_s` seconds."""

    def __init__(self, total: int, *, label: str = "", enabled: bool = True, delay_s: float = 2.0,
                 stream=None):
        self.total = max(1, total)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.delay_s = delay_s
        self.started = time.perf_counter()
        self.shown = False
        self.extra = ""

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()

    def update(self, done: int, total: int | None = None, extra: str = "") -> None:
        """Record progress; redraw at most a few times a second."""
        if not self.enabled:
            return
        total = total or self.total
        elapsed = time.perf_counter() - self.started
        if elapsed < self.delay_s and done < total:
            return
        eta = elapsed / max(done, 1) * (total - done)
        width = 30
        filled = int(width * done / total)
        text = (f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                f"{extra or self.extra} ETA {eta:5.0f} s ")
        self.stream.write(text)
        self.stream.flush()
        self.shown = True

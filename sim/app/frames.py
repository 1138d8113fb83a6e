"""When a playing session may send its page a new frame: the page has drawn the last, and it is its turn.

A class of thirty pages shares one server process (one interpreter lock) and, in the classroom
tests, one machine with the browser. Two rules keep every page moving:

* **A page draws before it gets more** (`FrameGate`): the browser tells the server which frame it
  has drawn (sim/app/vega_view.vue), and a session sends no new frame until the page has shown
  the last (or FRAME_ACK_TIMEOUT_S has passed: a page in a background tab, a lost message). A
  slow page gets fewer frames instead of a queue of stale ones.
* **Sessions draw in turn** (`FrameTurns`, one per server): a frame's render (the page's data,
  Solara's re-render, the messages) takes a turn in the order the sessions asked, at most
  CONCURRENT_FRAMES at once, and drawing keeps to FRAMES_SHARE of the server's time, so that a
  page opening and the sessions' months are not starved. Thirty sessions asking at once are
  served round-robin: each gets its frame in turn, none stands still while others draw twice.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

FRAME_ACK_TIMEOUT_S = 3.0
"""A session whose page has not said it drew the last frame sends the next after this long."""
CONCURRENT_FRAMES = 2
"""Frames rendered at once (two: one renders while the other's messages wait for the event loop)."""
FRAMES_SHARE = 0.7
"""At most this share of the server's wall time goes to rendering frames (the rest: new pages,
clicks, the months)."""


class FrameGate:
    """One session's frames: which the server sent, which the page says it has drawn."""

    def __init__(self, ack_timeout_s: float = FRAME_ACK_TIMEOUT_S):
        self.ack_timeout_s = ack_timeout_s
        self.sent = 0
        self.drawn = 0
        self.sent_at = 0.0

    def ready(self) -> bool:
        """Whether the page has drawn the last frame sent (or has taken too long to say so)."""
        return self.drawn >= self.sent or time.monotonic() - self.sent_at > self.ack_timeout_s

    def sending(self, frame: int) -> None:
        """The session is sending frame number `frame`."""
        self.sent = frame
        self.sent_at = time.monotonic()

    def on_drawn(self, frame) -> None:
        """The page drew frame number `frame` (called by the browser's message)."""
        try:
            self.drawn = max(self.drawn, int(frame))
        except (TypeError, ValueError):  # not a frame number: ignore, the timeout covers it
            pass


class FrameTurns:
    """The server's frames in turn: first asked, first served, a few at once, a share of the time."""

    def __init__(self, concurrent: int = CONCURRENT_FRAMES, share: float = FRAMES_SHARE):
        self.concurrent = concurrent
        self.share = share
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._busy = 0
        self._free_at = 0.0

    def _take(self, me: object, cancel: threading.Event | None) -> bool:
        with self._cond:
            self._queue.append(me)
            try:
                while True:
                    now = time.monotonic()
                    first = self._queue[0] is me
                    if first and self._busy < self.concurrent and now >= self._free_at:
                        self._queue.popleft()
                        self._busy += 1
                        self._cond.notify_all()  # the next in line may start too
                        return True
                    if cancel is not None and cancel.is_set():
                        self._queue.remove(me)
                        self._cond.notify_all()
                        return False
                    wait = self._free_at - now if first and now < self._free_at else 0.1
                    self._cond.wait(min(max(wait, 0.001), 0.1))
            except BaseException:
                if me in self._queue:
                    self._queue.remove(me)
                    self._cond.notify_all()
                raise

    def _give_back(self, took_s: float) -> None:
        with self._cond:
            self._busy -= 1
            # spread the rest of the server's time between frames: FRAMES_SHARE of it drawing
            self._free_at = max(self._free_at, time.monotonic() + took_s * (1 - self.share) / self.share
                                / self.concurrent)
            self._cond.notify_all()

    @contextmanager
    def turn(self, cancel: threading.Event | None = None) -> Iterator[bool]:
        """Wait for this session's turn to draw; yields False (draw nothing) if `cancel` is set first."""
        got = self._take(object(), cancel)
        started = time.monotonic()
        try:
            yield got
        finally:
            if got:
                self._give_back(time.monotonic() - started)

    @property
    def waiting(self) -> int:
        """Sessions waiting for a turn."""
        with self._cond:
            return len(self._queue)


TURNS = FrameTurns()
"""The server's one FrameTurns (every session of the process draws through it)."""

"""When a playing session may send its page a new frame: the page has drawn the last, and it is its turn.

A class of thirty pages shares one server process (one interpreter lock) and, in the classroom
tests, one machine with the browser. Two rules keep every page moving:

* **A page draws before it gets more** (`FrameGate`): the browser tells the server which frame it
  has drawn (sim/app/vega_view.vue: as long after the drawing as it took, so a page spends at
  most half its time drawing and answers clicks), and a session has at most FRAMES_IN_FLIGHT
  frames sent and not yet drawn, or waits FRAME_ACK_TIMEOUT_S (a page in a background tab, a
  lost message). A slow page gets fewer frames instead of a queue of stale ones.
* **Sessions draw in turn** (`FrameTurns`, one per server): a frame's render (the page's data,
  Solara's re-render, the messages) takes a turn in the order the sessions asked, at most
  CONCURRENT_FRAMES at once, and the frames' CPU time keeps to FRAMES_SHARE of the server's
  time, so that a page opening and the sessions' months are not starved. Thirty sessions asking
  at once are served round-robin: each gets its frame in turn, none stands still while others
  draw twice.
* **A page opening goes first** (`FrameTurns.opening`): from a new page's first render until it
  has drawn its first map (at most OPENING_HOLD_S), no session starts a frame. Opening a page is
  most of a page's work at once (the server's widgets, the browser's scripts and first drawing);
  thirty pages drawing beside it made a late student wait 10 s, on the server's and the
  browser's cores alike.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

FRAME_ACK_TIMEOUT_S = 3.0
"""A session whose page has not said it drew its frames sends the next after this long."""
FRAMES_IN_FLIGHT = 0
"""Frames a session may have sent beyond the last its page drew (one kept a page busy drawing all
the time: on a crowded machine its buttons stopped answering)."""
CONCURRENT_FRAMES = 6
"""Frames rendered at once: a render spends much of its time waiting for the event loop to send
its messages, and two at once left the server idle while thirty pages waited (0.4 cores used)."""
OPENING_HOLD_S = 3.0
"""Frames wait at most this long for a page that is opening (FrameTurns.opening)."""
FRAMES_SHARE = 0.7
"""At most this share of one core goes to rendering frames, by their CPU time (the rest: new
pages, clicks, the months)."""


class FrameGate:
    """One session's frames: which the server sent, which the page says it has drawn."""

    def __init__(self, ack_timeout_s: float = FRAME_ACK_TIMEOUT_S, in_flight: int = FRAMES_IN_FLIGHT,
                 first_drawn=None):
        self.ack_timeout_s = ack_timeout_s
        self.in_flight = in_flight
        self.sent = 0
        self.drawn = 0
        self.sent_at = 0.0
        self.first_drawn = first_drawn
        """Called once, when the page says it drew its first frame (FrameTurns.opened)."""

    def ready(self) -> bool:
        """Whether the page has drawn all but `in_flight` of the frames sent (or takes too long to say so)."""
        waiting = self.sent - self.drawn
        return waiting <= self.in_flight or time.monotonic() - self.sent_at > self.ack_timeout_s

    def sending(self, frame: int) -> None:
        """The session is sending frame number `frame`."""
        self.sent = frame
        self.sent_at = time.monotonic()

    def on_drawn(self, frame) -> None:
        """The page drew frame number `frame` (called by the browser's message)."""
        try:
            self.drawn = max(self.drawn, int(frame))
        except (TypeError, ValueError):  # not a frame number: ignore, the timeout covers it
            return
        first, self.first_drawn = self.first_drawn, None
        if first is not None:
            first()


class FrameTurns:
    """The server's frames in turn: first asked, first served, a few at once, a share of the time."""

    def __init__(self, concurrent: int = CONCURRENT_FRAMES, share: float = FRAMES_SHARE):
        self.concurrent = concurrent
        self.share = share
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._busy = 0
        self._free_at = 0.0
        self._opening: dict[object, float] = {}

    def opening(self, hold_s: float = OPENING_HOLD_S) -> object:
        """A page is opening: frames wait until `opened(token)` or for `hold_s`; returns the token."""
        token = object()
        with self._cond:
            self._opening[token] = time.monotonic() + hold_s
        return token

    def opened(self, token: object) -> None:
        """The page of `token` has drawn its first map (or gone): frames go on."""
        with self._cond:
            if self._opening.pop(token, None) is not None:
                self._cond.notify_all()

    def _held_until(self, now: float) -> float:
        """Until when an opening page holds the frames (0: none does); forgets pages past their hold."""
        for token in [t for t, until in self._opening.items() if until <= now]:
            del self._opening[token]
        return max(self._opening.values(), default=0.0)

    def _take(self, me: object, cancel: threading.Event | None) -> bool:
        with self._cond:
            self._queue.append(me)
            try:
                while True:
                    now = time.monotonic()
                    first = self._queue[0] is me
                    free_at = max(self._free_at, self._held_until(now))
                    if first and self._busy < self.concurrent and now >= free_at:
                        self._queue.popleft()
                        self._busy += 1
                        self._cond.notify_all()  # the next in line may start too
                        return True
                    if cancel is not None and cancel.is_set():
                        self._queue.remove(me)
                        self._cond.notify_all()
                        return False
                    wait = free_at - now if first and now < free_at else 0.1
                    self._cond.wait(min(max(wait, 0.001), 0.1))
            except BaseException:
                if me in self._queue:
                    self._queue.remove(me)
                    self._cond.notify_all()
                raise

    def _give_back(self, started: float, cpu_s: float) -> None:
        with self._cond:
            self._busy -= 1
            # frames start at least their CPU time / FRAMES_SHARE apart: drawing keeps to that share
            self._free_at = max(self._free_at, started + cpu_s / self.share)
            self._cond.notify_all()

    @contextmanager
    def turn(self, cancel: threading.Event | None = None) -> Iterator[bool]:
        """Wait for this session's turn to draw; yields False (draw nothing) if `cancel` is set first."""
        got = self._take(object(), cancel)
        started, cpu = time.monotonic(), time.thread_time()
        try:
            yield got
        finally:
            if got:
                self._give_back(started, time.thread_time() - cpu)

    @property
    def waiting(self) -> int:
        """Sessions waiting for a turn."""
        with self._cond:
            return len(self._queue)


TURNS = FrameTurns()
"""The server's one FrameTurns (every session of the process draws through it)."""

"""``VirtualClock``: a loop clock that only moves when the loop has nothing else to do.

Under a virtual clock ``loop.time()`` starts at ``start`` and never follows the wall clock
on its own.  When nothing is ready and the poller has nothing to report (at once, or after
``autojump_threshold`` seconds of real idleness), the loop jumps the clock to its earliest
timer (see ``batonio._core._instrumented``), so an hour of sleeps runs in milliseconds, in
the same order as in real time.  While an executor job the loop started is outstanding the
clock follows real time instead, so ``wait_for(to_thread(f), 5)`` means five real seconds.
``advance(seconds)`` moves the clock by hand.  The clock never goes backwards.

A clock serves one loop at a time: it is bound by the loop that accepts it, and freed
when that loop closes.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["VirtualClock"]


def _check_seconds(value: object, what: str) -> float:
    """A finite, non-negative number of seconds, or TypeError/ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    if math.isinf(seconds):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return seconds


class VirtualClock:
    """A virtual loop clock: ``VirtualClock(start=0.0, *, autojump_threshold=0.0)``."""

    def __init__(self, start: float = 0.0, *, autojump_threshold: float = 0.0) -> None:
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start):
            raise TypeError(f"start must be a finite number of seconds, got {start!r}")
        self._now = float(start)
        self._threshold = _check_seconds(autojump_threshold, "autojump_threshold")
        self._loop: Any = None

    def __repr__(self) -> str:
        return f"<VirtualClock time={self._now!r} autojump_threshold={self._threshold!r}>"

    def time(self) -> float:
        """Return the current virtual time (what ``loop.time()`` returns)."""
        return self._now

    @property
    def autojump_threshold(self) -> float:
        """Real seconds of idleness before the clock jumps to the next timer (0: at once)."""
        return self._threshold

    @autojump_threshold.setter
    def autojump_threshold(self, value: float) -> None:
        self._threshold = _check_seconds(value, "autojump_threshold")

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds``; timers now due run on the next iteration."""
        self._now += _check_seconds(seconds, "advance() seconds")
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop._write_to_self()  # a loop waiting in its poller re-reads its timers

    # -- the loop's side --------------------------------------------------------------------
    def _bind(self, loop: Any) -> None:
        """Become ``loop``'s clock; refuse a clock another open loop is using."""
        owner = self._loop
        if owner is not None and owner is not loop and not owner.is_closed():
            raise RuntimeError(f"{self!r} is already the clock of {owner!r}: use one clock per loop")
        self._loop = loop

    def _unbind(self, loop: Any) -> None:
        """Forget ``loop`` (it is closing)."""
        if self._loop is loop:
            self._loop = None

    def _jump_to(self, when: float) -> None:
        """Jump forward to loop time ``when`` (never backwards)."""
        if when > self._now:
            self._now = when

    def _advance_real(self, elapsed: float) -> None:
        """Follow ``elapsed`` seconds of real time (the loop waited for an executor job)."""
        if elapsed > 0:
            self._now += elapsed

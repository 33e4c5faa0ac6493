"""The blocked-loop watchdog: a daemon thread that reports a step holding the loop.

While the watchdog is on, each step the loop runs (a callback, a task step) stores its
sequence number and item (``LoopCore._run_ready_watched``).  The thread looks every
``threshold / 5`` seconds: a number that has not changed for ``threshold`` seconds while
the loop is running and not waiting in its poller means one step has held the loop that
long.  It logs then, on the logger ``batonio.watchdog`` at WARNING, *while the step still
blocks*: what runs (the task and its coroutine, or the callback) and the loop thread's
current stack (``sys._current_frames``).  When the step ends, one more record gives the
total time (measured by the thread: to within one look, ``threshold / 5``).

Works alongside asyncio's debug-mode slow-callback warning, which reports after the fact.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
import traceback
import weakref
from typing import Any

__all__ = ["Watchdog", "check_threshold"]

logger = logging.getLogger("batonio.watchdog")

_MIN_INTERVAL = 0.005
_MAX_INTERVAL = 1.0


def check_threshold(seconds: object, source: str = "watchdog threshold") -> float:
    """A positive, finite number of seconds; TypeError/ValueError naming ``source``."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{source} must be a number of seconds or None, got {seconds!r}")
    value = float(seconds)
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{source} must be a positive number of seconds, got {seconds!r}")
    return value


class Watchdog:
    """A daemon thread watching one loop's steps (see the module docstring)."""

    def __init__(self, loop: Any, threshold: float) -> None:
        self.threshold = check_threshold(threshold)
        self._interval = min(max(self.threshold / 5, _MIN_INTERVAL), _MAX_INTERVAL)
        self._loop = weakref.ref(loop)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="batonio-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it (unless called from it)."""
        self._stopped.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _watch(self) -> None:
        """Look at the loop's step counter until stopped or the loop is gone."""
        last_seq = -1
        since = time.monotonic()
        blocked: Any = None  # the item reported as blocking, until its step ends
        while not self._stopped.wait(self._interval):
            loop = self._loop()
            if loop is None or loop.is_closed():
                break
            seq = loop._step_seq
            busy = loop._thread_id is not None and not loop._polling
            now = time.monotonic()
            if not busy or seq != last_seq:
                if blocked is not None:
                    _log_end(blocked, now - since)
                    blocked = None
                last_seq, since = seq, now
            elif blocked is None and now - since >= self.threshold:
                blocked = _log_blocked(loop, now - since, self.threshold)
            del loop
        if blocked is not None:  # the step ended and the loop was closed before our next look
            _log_end(blocked, time.monotonic() - since)


def _log_blocked(loop: Any, elapsed: float, threshold: float) -> str:
    """Log what holds the loop and the loop thread's stack; return the description."""
    from .._core._base_loop import _describe_runnable

    item = loop._current_handle
    what = _describe_runnable(item) if item is not None else "the loop (outside any callback)"
    frame = sys._current_frames().get(loop._thread_id)
    stack = "".join(traceback.format_stack(frame)).rstrip() if frame is not None else "  (no stack)"
    logger.warning(
        "Executing %s is blocking the loop: %.3f seconds so far (watchdog threshold %g s); "
        "loop thread stack (most recent call last):\n%s",
        what,
        elapsed,
        threshold,
        stack,
    )
    return what


def _log_end(what: str, elapsed: float) -> None:
    """Log that the reported step ended, with its total time."""
    logger.warning("Executing %s blocked the loop for %.3f seconds in total", what, elapsed)

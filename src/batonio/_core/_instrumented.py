"""The instrumented loop iteration: virtual time and chaos scheduling, off the hot path.

``LoopCore._run_once`` tests one field, ``_hooks``; when it holds a :class:`LoopHooks`,
the whole iteration runs here instead, in plain Python.  The phases and their invariants
are ``_run_once``'s (purge, poll, due timers, ready callbacks; callbacks only run in phase
4; ``call_soon`` order is FIFO), with two seams:

* **Virtual time** (``hooks.clock``, a :class:`batonio.VirtualClock`): the poll never sleeps
  toward a timer.  With nothing ready, the poller is asked once without waiting (or for
  ``autojump_threshold`` real seconds) and, if nothing arrived, the clock jumps to the
  earliest timer.  While an executor job the loop started is outstanding, the loop waits
  for it in real time and the clock follows real time.  With nothing ready, no timer, no
  job and no fd but the wake-up one, nothing can ever happen: ``hooks.on_deadlock(loop)``
  is called (it raises).
* **Chaos** (``hooks.chaos``): may reorder the events of one poll, hold one back an
  iteration, reorder the timers due in one iteration and make a timer late (never early).

The engine decides *when* the seams apply; the features under ``batonio._debug`` decide
*what* they do.
"""

from __future__ import annotations

import heapq
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["LoopHooks", "run_once_instrumented"]

_PY313 = sys.version_info >= (3, 13)
_MIN_TIMERS_TO_PURGE = 100
_MAX_POLL_TIMEOUT = 24 * 3600.0

_real_time = time.monotonic


class LoopHooks:
    """What one loop is instrumented with: a virtual clock, chaos, the deadlock reaction."""

    def __init__(
        self,
        clock: Any = None,
        chaos: Any = None,
        on_deadlock: Callable[[Any], None] | None = None,
    ) -> None:
        self.clock = clock
        self.chaos = chaos
        self.on_deadlock = on_deadlock
        #: Outstanding jobs whose completion arrives from another thread (executor jobs).
        self.jobs: set[object] = set()
        #: True while the deadlock reaction runs the loop to finish the cancelled tasks.
        self.draining = False

    def track_job(self, job: Any) -> None:
        """Count a concurrent future (or loop future) as outstanding until it is done."""
        self.jobs.add(job)
        job.add_done_callback(self.jobs.discard)


def run_once_instrumented(loop: Any) -> None:
    """One loop iteration with the virtual clock and chaos seams (see the module docstring)."""
    hooks: LoopHooks = loop._hooks
    ready = loop._ready
    _purge_cancelled(loop)
    scheduled = loop._scheduled
    chaos = hooks.chaos
    clock = hooks.clock

    # Phase 2: poll.  A held-back chaos event counts as ready work: do not sleep on it.
    loop._polling = True
    if ready or loop._stopping or (chaos is not None and chaos.has_held()):
        timeout = 0.0
    elif scheduled:
        timeout = scheduled[0]._when - loop._clock()
        if timeout != timeout:  # a timer due at NaN: as _run_once does (per version)
            if _PY313:
                raise ValueError("cannot convert float NaN to integer")
            timeout = 0.0
        timeout = min(max(timeout, 0.0), _MAX_POLL_TIMEOUT)
    else:
        timeout = -1.0
    mode = _IDLE_NONE
    if clock is not None and timeout != 0.0:
        mode, timeout = _virtual_idle_plan(loop, hooks, timeout, bool(scheduled))
    events: list[tuple[int, int]] = []
    started = _real_time()
    if timeout != 0.0 or loop._io_fd_count > 0:
        events = loop._poller.poll(timeout)
    loop._polling = False
    if chaos is not None:
        events = chaos.perturb_events(events)
    if events:
        loop._process_events(events)
    if mode == _IDLE_JUMP:
        if not ready and loop._scheduled:
            clock._jump_to(loop._scheduled[0]._when)
    elif mode == _IDLE_REAL:
        elapsed = _real_time() - started
        clock._advance_real(elapsed if timeout < 0 else min(elapsed, timeout))

    # Phase 3: due timers, in (when, scheduling order) unless chaos reorders them.
    scheduled = loop._scheduled
    if scheduled:
        end_time = loop._clock() + loop._clock_resolution
        due = []
        while scheduled:
            if scheduled[0]._when >= end_time:  # this form, as _run_once: a NaN timer is due
                break
            timer = heapq.heappop(scheduled)
            timer._scheduled = False
            due.append(timer)
        if chaos is not None and due:
            due = chaos.perturb_timers(loop, due)
        ready.extend(due)

    # Phase 4: what is ready now.
    ntodo = len(ready)
    if loop._debug:
        loop._run_ready_debug(ntodo)
    elif loop._watchdog_on:
        loop._run_ready_watched(ntodo)
    else:
        popleft = ready.popleft
        while ntodo:
            ntodo -= 1
            popleft()._run()


# How an idle iteration under virtual time ends: no clock change, a jump, real time.
_IDLE_NONE = 0
_IDLE_JUMP = 1
_IDLE_REAL = 2


def _virtual_idle_plan(loop: Any, hooks: LoopHooks, timeout: float, has_timers: bool) -> tuple[int, float]:
    """Choose the real poll timeout of an idle iteration under virtual time, and its ending.

    Executor jobs outstanding: wait in real time (the clock follows it).  A timer pending:
    look for I/O without waiting (or ``autojump_threshold`` real seconds), then jump.  Only
    real I/O could arrive: wait for it.  Nothing could: deadlock.
    """
    if hooks.jobs:
        return _IDLE_REAL, timeout
    if has_timers:
        return _IDLE_JUMP, hooks.clock.autojump_threshold
    if loop._io_fd_count > 0:
        return _IDLE_NONE, -1.0
    if hooks.on_deadlock is not None:
        hooks.on_deadlock(loop)
    return _IDLE_NONE, -1.0


def _purge_cancelled(loop: Any) -> None:
    """Phase 1: drop cancelled timers, all at once when they are the majority."""
    scheduled = loop._scheduled
    count = len(scheduled)
    if count > _MIN_TIMERS_TO_PURGE and loop._timer_cancelled_count * 2 > count:
        loop._purge_cancelled_timers()
        return
    while scheduled and scheduled[0]._cancelled:
        loop._timer_cancelled_count -= 1
        timer = heapq.heappop(scheduled)
        timer._scheduled = False

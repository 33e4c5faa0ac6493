"""The engine's hot path: handles, the ready queue, the timer heap and one loop iteration.

This module is compiled by Cython in pure-Python mode (``_scheduler_c.pxd`` declares the
fields) and also runs as plain Python.  It knows nothing of I/O protocols, futures or tasks:
anything with a ``_run()`` method can sit in the ready queue, which is how a task's step is
scheduled without allocating a handle (see ``_futures_py``).

Invariants:
- ``_run_once`` is the only place where callbacks are called.
- Callbacks run in FIFO order of ``call_soon``; timers in (when, scheduling order).
- A cancelled handle never runs; cancelled timers are purged once they are more than half
  of the heap, so scheduling and cancelling millions of timers does not grow memory.
- The clock is injected (``clock`` argument), never read from ``time.monotonic`` directly:
  the seam for virtual time.
- Instrumentation costs one flag test per iteration when off: ``_hooks`` (virtual time,
  chaos scheduling: the whole iteration then runs in ``_instrumented``) and ``_watchdog_on``
  (each step stores its sequence number and item for the watchdog thread to read).

Behaviour follows asyncio's ``events.Handle``/``TimerHandle`` and ``base_events._run_once``.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from contextvars import Context, copy_context
from typing import Any

try:
    import cython
except ImportError:  # pragma: no cover - Cython is a build-time dependency only
    from .. import _cython_shim as cython  # type: ignore[no-redef]

from . import _format as _fmt  # imported now: reprs are needed during interpreter shutdown
from ._instrumented import run_once_instrumented
from ._pollers import ERROR, READ, WRITE

__all__ = ["Handle", "LoopCore", "TimerHandle"]

_PY313 = sys.version_info >= (3, 13)
_MIN_TIMERS_TO_PURGE = 100
_MAX_POLL_TIMEOUT = 24 * 3600.0

# Event bits that wake a reader or a writer: error and hang-up wake both directions.
_READ_EVENTS = READ | ERROR
_WRITE_EVENTS = WRITE | ERROR

_AsyncioHandle = asyncio.Handle
_AsyncioTimerHandle = asyncio.TimerHandle

# The ready queue's two operations as unbound method descriptors: calling one costs no
# attribute look-up and builds no bound method (compiled, they are C globals).
_deque_append = deque.append
_deque_popleft = deque.popleft



@cython.freelist(256)
@cython.cclass
class Handle:
    """A callback scheduled on a loop; an ``asyncio.Handle`` to ``isinstance``."""

    def __init__(
        self,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: Any,
        context: Context | None = None,
    ) -> None:
        self._fill(callback, args, loop, context, loop is not None and bool(loop.get_debug()))

    def _fill(
        self, callback: Callable[..., object], args: Any, loop: Any, context: Context | None, debug: bool
    ) -> None:
        """Set every field: shared by the constructor and the loop's fast path."""
        self._callback = callback
        self._args = args
        self._loop = loop
        self._context = _current_context() if context is None else context
        self._cancelled = False
        self._repr = None
        self._source_traceback = _fmt.extract_stack() if debug else None

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """Present as asyncio.Handle so ``isinstance(h, asyncio.Handle)`` holds."""
        return _AsyncioHandle

    def __dealloc__(self) -> None:
        """Compiled: a context copy this handle untracked goes back to the GC before it is freed.

        CPython's Context dealloc unlinks the object from the GC lists unchecked: freeing an
        untracked one would crash.  The handle holds it until now, so this is the last chance.
        """
        if cython.compiled:
            if self._untracked == _UNTRACKED_HANDLE_AND_CONTEXT:  # noqa: F821
                PyObject_GC_Track(self._context)  # noqa: F821
                self._untracked = 0

    def get_context(self) -> Context:
        """Return the context the callback runs in."""
        return self._context

    def cancel(self) -> None:
        """Cancel the callback; cancelling twice is harmless."""
        if not self._cancelled:
            self._cancelled = True
            if self._loop is not None and self._loop.get_debug():
                self._repr = repr(self)
            self._callback = None
            self._args = None

    def cancelled(self) -> bool:
        """Return True if the handle was cancelled."""
        return self._cancelled

    def _run(self) -> None:
        """Run the callback in its context; report its exception to the loop."""
        if cython.compiled:
            if self._untracked:
                _retrack_handle(self)  # it comes from the ready queue
        if self._cancelled:
            return
        try:
            if cython.compiled:
                _call_in_context(self._context, self._callback, self._args)  # noqa: F821
            else:
                self._context.run(self._callback, *self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report_exception(exc)
        self = None  # a failed callee's frames link back here: keep nothing alive

    def _report_exception(self, exc: BaseException) -> None:
        """Hand an exception raised by the callback to the loop's exception handler."""
        context: dict[str, Any] = {
            "message": f"Exception in callback {_fmt.callback_source(self._callback, self._args, self._loop_debug())}",
            "exception": exc,
            "handle": self,
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)

    def _loop_debug(self) -> bool:
        return self._loop is not None and bool(self._loop.get_debug())

    def _repr_info(self) -> list[str]:
        """The words inside the repr."""
        info = [type(self).__name__]
        if self._cancelled:
            info.append("cancelled")
        if self._callback is not None:
            info.append(_fmt.callback_source(self._callback, self._args, self._loop_debug()))
        if self._source_traceback:
            frame = self._source_traceback[-1]
            info.append(f"created at {frame[0]}:{frame[1]}")
        return info

    def __repr__(self) -> str:
        if self._repr is not None:
            return self._repr  # type: ignore[no-any-return]
        return "<{}>".format(" ".join(self._repr_info()))


@cython.freelist(256)
@cython.cclass
class TimerHandle(Handle):
    """A callback scheduled for a time; an ``asyncio.TimerHandle`` to ``isinstance``."""

    def __init__(
        self,
        when: Any,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: Any,
        context: Context | None = None,
    ) -> None:
        Handle.__init__(self, callback, args, loop, context)
        self._when = when
        self._when_given = when
        self._seq = 0
        self._scheduled = False

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """Present as asyncio.TimerHandle so ``isinstance`` checks hold."""
        return _AsyncioTimerHandle

    def when(self) -> float:
        """Return the loop time at which the callback is scheduled, as it was given."""
        return self._when_given  # type: ignore[no-any-return]

    def cancel(self) -> None:
        """Cancel the timer; the loop purges cancelled timers lazily."""
        if not self._cancelled:
            if self._scheduled:
                self._loop._timer_handle_cancelled(self)
            Handle.cancel(self)

    def _repr_info(self) -> list[str]:
        info = Handle._repr_info(self)
        info.insert(2 if self._cancelled else 1, f"when={self._when_given}")
        return info

    def __hash__(self) -> int:
        return hash(self._when)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            o: TimerHandle = other
            return self._when < o._when or (self._when == o._when and self._seq < o._seq)
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return self.__lt__(other) or self.__eq__(other)  # type: ignore[no-any-return]
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return not self.__le__(other)
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return not self.__lt__(other)
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            o: TimerHandle = other
            return (
                self._when == o._when
                and self._callback == o._callback
                and self._args == o._args
                and self._cancelled == o._cancelled
            )
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return NotImplemented if equal is NotImplemented else not equal


def _current_context() -> Context:
    """A copy of the current context (compiled: the C call, without a Python call)."""
    if cython.compiled:
        return PyContext_CopyCurrent()  # noqa: F821
    return copy_context()


def _new_handle(
    callback: Callable[..., object], args: tuple[Any, ...], loop: LoopCore, context: Context | None
) -> Handle:
    """Build a Handle for one of our loops without the constructor's argument parsing."""
    handle: Handle = Handle.__new__(Handle)
    handle._fill(callback, args, loop, context, loop._debug)
    return handle


def _new_queued_handle(
    callback: Callable[..., object], args: tuple[Any, ...], loop: LoopCore, context: Context | None
) -> Handle:
    """A Handle for call_soon_threadsafe; compiled, it waits in the queue out of the cyclic GC.

    A queued handle is reachable from the loop, so no cycle through it can be garbage
    until it leaves the queue: the collector has nothing to find in it.  Yet calls from
    another thread pile up (the caller holds the GIL for its whole 5 ms switch interval:
    thousands of calls), every generation-0 and -1 collection walks them and their context
    copies, and the survivors reach the old generation and set off full collections: half
    the threadsafe benchmark's CPU time (gc.disable() halves it; untracking: 3,350 -> 2,580
    instructions per call, 0.09 -> 0.05 s CPU for 200k calls).  So the handle, and the
    context copy only it holds, are untracked when queued and tracked again as soon as the
    handle leaves the queue: when it runs (``Handle._run``, whichever iteration runs it) or
    when the loop drops its queue (``_clear_ready``, at close); a handle freed while still
    untracked (someone cleared ``_ready`` by hand) re-tracks its context in ``__dealloc__``,
    which CPython needs to free it.  A context given by the caller is left alone.  The
    handles are untracked only while the loop runs, and ``run_forever`` re-tracks what is
    still queued when it returns, so a stopped loop dropped without close() is collected
    and warned about as asyncio's is.  Not used by call_soon: there
    the queue stays short, and the four GC calls cost more (~100 instructions per call)
    than the collections they save.
    """
    handle: Handle = Handle.__new__(Handle)
    handle._fill(callback, args, loop, context, loop._debug)
    if cython.compiled:
        PyObject_GC_UnTrack(handle)  # noqa: F821
        handle._untracked = _UNTRACKED_HANDLE  # noqa: F821
        if context is None:
            PyObject_GC_UnTrack(handle._context)  # noqa: F821
            handle._untracked = _UNTRACKED_HANDLE_AND_CONTEXT  # noqa: F821
    return handle


def _retrack_handle(handle: Handle) -> None:
    """Put a handle that left the ready queue (and its context) back under the cyclic GC."""
    if cython.compiled:
        if handle._untracked == _UNTRACKED_HANDLE_AND_CONTEXT:  # noqa: F821
            PyObject_GC_Track(handle._context)  # noqa: F821
        PyObject_GC_Track(handle)  # noqa: F821
        handle._untracked = 0


def _new_timer(
    when: Any, callback: Callable[..., object], args: tuple[Any, ...], loop: LoopCore, context: Context | None
) -> TimerHandle:
    """Build a TimerHandle for one of our loops without the constructors' argument parsing."""
    timer: TimerHandle = TimerHandle.__new__(TimerHandle)
    timer._fill(callback, args, loop, context, loop._debug)
    timer._when = when
    timer._when_given = when
    timer._seq = 0
    timer._scheduled = False
    return timer


# ----------------------------------------------------------------- the timer heap
# ``loop._scheduled`` is a binary min-heap of TimerHandles ordered by (when, scheduling
# order), laid out exactly as ``heapq`` lays it out, so heapq works on it too (the
# instrumented iteration and chaos scheduling use it).  Interpreted, these functions are
# heapq's.  Compiled, the sifting (``_sift_*`` in the .pxd) compares the C fields ``_when``
# and ``_seq`` directly and moves the list's item pointers, instead of a rich comparison
# through ``TimerHandle.__lt__`` and two reference-count updates per step: the timers
# benchmark went from 10,900 to 5,600 instructions per timer with the typed handle builder.


def _heap_push(heap: list[Any], timer: TimerHandle) -> None:
    """Add ``timer`` to the heap."""
    if cython.compiled:
        heap.append(timer)
        _sift_toward_root(heap, 0, len(heap) - 1)  # noqa: F821
    else:
        heapq.heappush(heap, timer)


def _heap_pop(heap: list[Any]) -> TimerHandle:
    """Remove and return the first timer (the heap must not be empty)."""
    if not cython.compiled:
        return heapq.heappop(heap)
    last = heap.pop()
    if not heap:
        return last
    first = heap[0]
    heap[0] = last
    _sift_toward_leaves(heap, 0)  # noqa: F821
    return first


def _heap_make(heap: list[Any]) -> None:
    """Turn a list of timers into a heap, in place."""
    if not cython.compiled:
        heapq.heapify(heap)
        return
    pos = len(heap) // 2
    while pos > 0:
        pos -= 1
        _sift_toward_leaves(heap, pos)  # noqa: F821


def _timeout_of_nan_timer() -> float:
    """The poll timeout when the first timer is due at NaN (``call_later(nan, ...)``).

    asyncio up to 3.12 clamps it with ``max(0, nan)``, which is 0: the timer runs at once.
    3.13 hands NaN to the selector, whose conversion to milliseconds raises.
    """
    if _PY313:
        raise ValueError("cannot convert float NaN to integer")
    return 0.0


def _check_callback(callback: object, method: str, debug: bool) -> None:
    """Debug mode only: reject coroutines and non-callables with asyncio's TypeError messages.

    asyncio checks nothing outside debug mode (the callback fails when it runs, reported
    to the exception handler), and neither do the loop's scheduling methods.
    """
    if asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
        raise TypeError(f"coroutines cannot be used with {method}()")
    if not callable(callback):
        raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")


@cython.cclass
class LoopCore:
    """The scheduling core of batonio's event loop: ready queue, timers, poller dispatch."""

    def __init__(self, poller: Any, clock: Callable[[], float] | None = None) -> None:
        self._ready = deque()
        self._scheduled = []
        self._timer_seq = 0
        self._timer_cancelled_count = 0
        self._stopping = False
        self._closed = False
        self._debug = False
        self._polling = False
        self._thread_id = None
        self._clock = clock if clock is not None else time.monotonic
        self._clock_resolution = time.get_clock_info("monotonic").resolution
        self._poller = poller
        # The compiled build calls epoll_wait on this fd itself (see _poll_epoll); -1 otherwise.
        self._epoll_fd = getattr(poller, "direct_epoll_fd", -1)
        self._readers = {}
        self._writers = {}
        self._io_fd_count = 0
        self._slow_callback_duration = 0.1
        self._current_handle = None
        self._wakeup_read_fd = -1
        self._wakeup_write_fd = -1
        self._wakeup_is_eventfd = False
        self._wakeup_pending = False
        self._hooks = None
        self._watchdog_on = False
        self._step_seq = 0

    # ----------------------------------------------------------------- clock and state
    def time(self) -> float:
        """Return the loop's time: the injected clock, ``time.monotonic`` by default."""
        return self._clock()  # type: ignore[no-any-return]

    def is_running(self) -> bool:
        """Return True while the loop runs."""
        return self._thread_id is not None

    def is_closed(self) -> bool:
        """Return True once the loop was closed."""
        return self._closed

    def get_debug(self) -> bool:
        """Return True if debug mode is on."""
        return self._debug

    def stop(self) -> None:
        """Stop after the current iteration's callbacks (and those they schedule) ran."""
        self._stopping = True

    def _check_closed(self) -> None:
        if self._closed:
            raise RuntimeError("Event loop is closed")

    def _check_thread(self) -> None:
        """In debug mode, reject loop calls from a thread other than the loop's."""
        if self._thread_id is None:
            return
        if threading.get_ident() != self._thread_id:
            raise RuntimeError(
                "Non-thread-safe operation invoked on an event loop other "
                "than the current one"
            )

    # ----------------------------------------------------------------- scheduling
    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> Handle:
        """Schedule ``callback(*args)`` for the next iteration; return its Handle."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            _check_callback(callback, "call_soon", True)
        handle = _new_handle(callback, args, self, context)
        _deque_append(self._ready, handle)
        return handle

    def _call_soon_fast(self, callback: Callable[..., object], arg: object, context: Context) -> None:
        """Queue ``callback(arg)`` in ``context``: a future's done-callback, already vetted."""
        if self._debug:
            self.call_soon(callback, arg, context=context)
            return
        _deque_append(self._ready, _new_handle(callback, (arg,), self, context))

    def call_soon_threadsafe(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> Handle:
        """Like call_soon, from any thread: wakes the loop if it is waiting in the poller."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            _check_callback(callback, "call_soon_threadsafe", True)
        if self._thread_id is None:  # not running: a loop dropped now must stay collectable
            handle = _new_handle(callback, args, self, context)
        else:
            handle = _new_queued_handle(callback, args, self, context)
        _deque_append(self._ready, handle)
        # The loop sets _polling before it reads the ready queue for its poll timeout, so
        # an append that saw _polling false is seen by that read (the GIL orders them).
        if self._polling:
            self._write_to_self()
        return handle

    def call_later(
        self,
        delay: Any,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> TimerHandle:
        """Schedule ``callback(*args)`` after ``delay`` seconds; return its TimerHandle."""
        if delay is None:
            raise TypeError("delay must not be None")
        timer = self._schedule_timer(self._clock() + delay, callback, args, context, "call_at")
        return timer

    def call_at(
        self,
        when: Any,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> TimerHandle:
        """Schedule ``callback(*args)`` at loop time ``when``; return its TimerHandle."""
        if when is None:
            raise TypeError("when cannot be None")
        return self._schedule_timer(when, callback, args, context, "call_at")

    def _schedule_timer(
        self,
        when: Any,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: Context | None,
        method: str,
    ) -> TimerHandle:
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            _check_callback(callback, method, True)
        timer = _new_timer(when, callback, args, self, context)
        self._timer_seq += 1
        timer._seq = self._timer_seq
        timer._scheduled = True
        _heap_push(self._scheduled, timer)
        return timer

    def _clear_ready(self) -> None:
        """Drop every queued callback (at close), handing the handles back to the cyclic GC."""
        self._retrack_ready()
        self._ready.clear()

    def _retrack_ready(self) -> None:
        """Hand every queued handle back to the cyclic GC: the loop stopped (or closes).

        Called when ``run_forever`` returns, so a loop dropped without ``close()`` after it
        ran is collected (and warned about) like any other, whatever calls wait in it.
        """
        if cython.compiled:
            for item in self._ready:
                if isinstance(item, Handle):
                    handle: Handle = item
                    if handle._untracked:
                        _retrack_handle(handle)

    def _timer_handle_cancelled(self, handle: TimerHandle) -> None:
        """Count a cancelled timer still in the heap, for the purge heuristic."""
        if handle._scheduled:
            self._timer_cancelled_count += 1

    # ----------------------------------------------------------------- wake-up
    def _write_to_self(self) -> None:
        """Wake the poller from another thread (eventfd or pipe), once per poll.

        Writes are coalesced like libuv's async handles: while a wake-up is pending (written,
        not yet drained by the loop) further writers skip the system call.  The loop clears
        the flag when it drains, before it next reads the ready queue, so no call is missed.
        """
        fd = self._wakeup_write_fd
        if fd < 0 or self._wakeup_pending:
            return
        self._wakeup_pending = True
        try:
            if self._wakeup_is_eventfd:
                os.eventfd_write(fd, 1)
            else:
                os.write(fd, b"\0")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass  # closed under our feet while the loop shuts down: nothing to wake

    def _drain_wakeup(self) -> None:
        """Consume wake-up tokens so the poller does not report them again."""
        self._wakeup_pending = False
        try:
            if self._wakeup_is_eventfd:
                os.eventfd_read(self._wakeup_read_fd)
            else:
                while os.read(self._wakeup_read_fd, 4096):
                    pass
        except (BlockingIOError, InterruptedError):
            pass

    # ----------------------------------------------------------------- one iteration
    def _run_once(self) -> None:
        """Run one iteration: purge timers, poll for I/O, collect due timers, run ready."""
        if self._hooks is not None:
            run_once_instrumented(self)  # virtual time or chaos scheduling: off the hot path
            return
        ready = self._ready
        scheduled = self._scheduled

        # Phase 1: drop cancelled timers, all at once when they are the majority.
        count = len(scheduled)
        if count > _MIN_TIMERS_TO_PURGE and self._timer_cancelled_count * 2 > count:
            self._purge_cancelled_timers()
            scheduled = self._scheduled  # a new list: the old one still holds every timer
        else:
            while scheduled:
                timer = scheduled[0]
                if not timer._cancelled:
                    break
                self._timer_cancelled_count -= 1
                _heap_pop(scheduled)
                timer._scheduled = False

        # Phase 2: poll, unless nothing but callbacks is pending and no fd is watched.
        self._polling = True
        if ready or self._stopping:
            timeout = 0.0
        elif scheduled:
            timeout = scheduled[0]._when - self._clock()
            if timeout < 0.0:
                timeout = 0.0
            elif timeout > _MAX_POLL_TIMEOUT:
                timeout = _MAX_POLL_TIMEOUT
            elif timeout != timeout:
                timeout = _timeout_of_nan_timer()
        else:
            timeout = -1.0
        if timeout != 0.0 or self._io_fd_count > 0:
            if cython.compiled and self._epoll_fd >= 0:
                self._poll_epoll(timeout)
            else:
                events = self._poller.poll(timeout)
                self._polling = False
                if events:
                    self._process_events(events)
        else:
            self._polling = False

        # Phase 3: move due timers to the ready queue, in (when, scheduling order).
        if scheduled:
            end_time = self._clock() + self._clock_resolution
            while scheduled:
                timer = scheduled[0]
                if timer._when >= end_time:
                    break
                _heap_pop(scheduled)
                timer._scheduled = False
                _deque_append(ready, timer)

        # Phase 4: run what is ready now; callbacks they schedule wait for the next turn.
        ntodo = len(ready)
        if self._debug:
            self._run_ready_debug(ntodo)
            return
        if self._watchdog_on:
            self._run_ready_watched(ntodo)
            return
        while ntodo:
            ntodo -= 1
            item = _deque_popleft(ready)
            if isinstance(item, Handle):
                handle: Handle = item  # compiled: a direct call through the type's vtable
                handle._run()
            else:
                item._run()  # a task's step or a future's done-callbacks
        item = handle = None  # interpreted, this frame may outlive the call: hold nothing

    def _purge_cancelled_timers(self) -> None:
        live = []
        for timer in self._scheduled:
            if timer._cancelled:
                timer._scheduled = False
            else:
                live.append(timer)
        _heap_make(live)
        self._scheduled = live
        self._timer_cancelled_count = 0

    def _run_ready_debug(self, ntodo: int) -> None:
        """Run ready callbacks timing each one; warn about those that block the loop."""
        ready = self._ready
        while ntodo:
            ntodo -= 1
            item = ready.popleft()
            start = self._clock()
            self._current_handle = item
            self._step_seq += 1
            try:
                item._run()
            finally:
                self._current_handle = None
            elapsed = self._clock() - start
            if elapsed >= self._slow_callback_duration:
                self._warn_slow_callback(item, elapsed)

    def _run_ready_watched(self, ntodo: int) -> None:
        """Run ready callbacks under the watchdog: each step publishes its number and item.

        The watchdog thread reads ``_step_seq`` and ``_current_handle``; a number that does
        not change while the loop is not polling means one step is holding the loop.
        """
        ready = self._ready
        popleft = ready.popleft
        while ntodo:
            ntodo -= 1
            item = popleft()
            self._current_handle = item
            self._step_seq += 1
            item._run()
        self._current_handle = None

    def _warn_slow_callback(self, item: object, elapsed: float) -> None:
        """Log a callback or task step that held the loop too long (overridden above)."""

    def _process_events(self, events: list[tuple[int, int]]) -> None:
        """Queue the reader and writer handles of the fds the poller reported."""
        for fd, mask in events:
            self._dispatch(fd, mask)

    def _dispatch(self, fd: cython.int, mask: cython.uint) -> None:
        """Queue the handles waiting on one fd the poller reported ready."""
        if fd == self._wakeup_read_fd:
            self._drain_wakeup()
            return
        if mask & _READ_EVENTS:
            handle = self._readers.get(fd)
            if handle is not None:
                if handle._cancelled:
                    self._remove_reader(fd)
                else:
                    _deque_append(self._ready, handle)
        if mask & _WRITE_EVENTS:
            handle = self._writers.get(fd)
            if handle is not None:
                if handle._cancelled:
                    self._remove_writer(fd)
                else:
                    _deque_append(self._ready, handle)

    def _poll_epoll(self, timeout: cython.double) -> None:
        """Compiled build only: epoll_wait into a C array, without the GIL, then dispatch.

        This skips select.epoll's list of tuples and a Python call per iteration.  The
        registrations stay with the EpollPoller (select.epoll sets each event's data to
        its fd), so only the waiting moves here.  EINTR: Python's signal handlers run now
        (an exception they raise propagates), and the iteration simply sees no events.
        """
        if cython.compiled:
            if timeout < 0:
                ms = -1
            else:
                ms = _ceil_ms(timeout)  # noqa: F821
            epfd = self._epoll_fd
            with cython.nogil:
                n = epoll_wait(epfd, self._events, _MAX_EVENTS, ms)  # noqa: F821
            self._polling = False
            if n < 0:
                if _errno() == EINTR:  # noqa: F821
                    PyErr_CheckSignals()  # noqa: F821
                    return
                raise OSError(_errno(), os.strerror(_errno()))  # noqa: F821
            for i in range(n):
                self._dispatch(self._events[i].data.fd, self._events[i].events)

    def _run_forever_loop(self) -> None:
        """Iterate until stop() is requested (the caller sets up and tears down)."""
        while True:
            self._run_once()
            if self._stopping:
                break

    # ----------------------------------------------------------------- fd registration
    def _register_fd(self, fd: int) -> None:
        mask = 0
        if fd in self._readers:
            mask |= READ
        if fd in self._writers:
            mask |= WRITE
        self._poller.modify(fd, mask)

    def _add_reader(self, fd: int, callback: Callable[..., object], args: tuple[Any, ...]) -> Handle:
        return self._watch(self._readers, self._writers, fd, callback, args)

    def _add_writer(self, fd: int, callback: Callable[..., object], args: tuple[Any, ...]) -> Handle:
        return self._watch(self._writers, self._readers, fd, callback, args)

    def _remove_reader(self, fd: int) -> bool:
        return self._unwatch(self._readers, self._writers, fd)

    def _remove_writer(self, fd: int) -> bool:
        return self._unwatch(self._writers, self._readers, fd)

    def _watch(
        self,
        table: dict[int, Handle],
        other: dict[int, Handle],
        fd: int,
        callback: Callable[..., object],
        args: tuple[Any, ...],
    ) -> Handle:
        """Register (or replace) the handle for one direction of ``fd``.

        When the poller refuses the fd (a regular file, a closed fd) nothing is kept, as a
        selector keeps no key it could not register: remove_*() then returns False.
        """
        self._check_closed()
        handle = _new_handle(callback, args, self, None)
        old = table.get(fd)
        table[fd] = handle
        try:
            self._register_fd(fd)
        except BaseException:
            if old is None:
                del table[fd]
            else:
                table[fd] = old
            raise
        if old is not None:
            old.cancel()
        elif fd not in other:
            self._io_fd_count += 1
        return handle

    def _unwatch(self, table: dict[int, Handle], other: dict[int, Handle], fd: int) -> bool:
        """Drop the handle for one direction of ``fd``; False if there was none."""
        if self._closed:
            return False
        handle = table.pop(fd, None)
        if handle is None:
            return False
        handle.cancel()
        if fd not in other:
            self._io_fd_count -= 1
        self._register_fd(fd)
        return True

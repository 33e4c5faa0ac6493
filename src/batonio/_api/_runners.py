"""Runners: ``run()`` and ``Runner``, the synchronous entry points into an event loop.

Follows ``asyncio.runners`` (3.11+), with batonio's loop as the default loop.

A ``Runner`` owns one loop for its whole life: created lazily by the first ``run()`` or
``get_loop()`` (or ``__enter__``), reused by every later ``run()``, and finalised once by
``close()``: the tasks still alive are cancelled and awaited, async generators are closed,
the default executor is shut down (3.12+: with asyncio's 300 s thread-join timeout), and the
loop is closed.  A closed Runner cannot be used again (``RuntimeError("Runner is closed")``);
closing a Runner that never made a loop does nothing, as in asyncio.

Ctrl-C: while ``run()`` runs in the main thread and SIGINT still has Python's default
handler, a handler of our own is in place.  The first SIGINT cancels the main task (and wakes
the loop, which may be asleep in its poller); when the task then ends cancelled with no other
cancellation pending (``Task.uncancel() == 0``), ``run()`` raises ``KeyboardInterrupt``.  A
second SIGINT, or one that arrives after the task finished, raises ``KeyboardInterrupt``
straight away, wherever the main thread is.  The default handler is put back afterwards.

Invariants: the only loop methods used are public ``AbstractEventLoop`` ones, so a
``loop_factory`` may produce any asyncio loop; ``asyncio.all_tasks(loop)`` finds batonio's
tasks because they register with asyncio (design: interop rules).
"""

from __future__ import annotations

import contextvars
import functools
import signal
import sys
import threading
from asyncio import AbstractEventLoop, CancelledError, Future, Task
from asyncio import all_tasks as _all_tasks
from asyncio import iscoroutine as _iscoroutine
from collections.abc import Callable, Coroutine
from types import FrameType, TracebackType
from typing import Any, TypeVar, final

from batonio._api._loops import _get_running_loop, new_event_loop, set_event_loop

__all__ = ["Runner", "run"]

_T = TypeVar("_T")

# How long close() lets the default executor's threads finish (asyncio's
# constants.THREAD_JOIN_TIMEOUT, passed by asyncio.Runner since 3.12).
_EXECUTOR_JOIN_TIMEOUT = 300.0

_PY312 = sys.version_info >= (3, 12)


def _noop() -> None:
    """Do nothing: scheduled from the signal handler only to wake the loop up."""


@final
class Runner:
    """Own one event loop: run coroutines in it, then finalise and close it."""

    def __init__(
        self,
        *,
        debug: bool | None = None,
        loop_factory: Callable[[], AbstractEventLoop] | None = None,
        clock: object = None,
        chaos_seed: int | None = None,
    ) -> None:
        if loop_factory is not None and (clock is not None or chaos_seed is not None):
            raise ValueError(
                "clock= and chaos_seed= configure batonio's own loop and cannot be combined "
                "with loop_factory=: build the loop with them in the factory instead"
            )
        self._debug = debug
        self._loop_factory = loop_factory
        self._clock = clock
        self._chaos_seed = chaos_seed
        self._loop: AbstractEventLoop | None = None
        self._closed = False
        self._context: contextvars.Context | None = None
        self._interrupts = 0
        self._made_current = False  # we called set_event_loop(loop) and must undo it

    def __enter__(self) -> Runner:
        self._ensure_loop()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get_loop(self) -> AbstractEventLoop:
        """Return the Runner's loop, creating it if needed."""
        return self._ensure_loop()

    def run(
        self, coro: Coroutine[Any, Any, _T], *, context: contextvars.Context | None = None
    ) -> _T:
        """Run ``coro`` as a task in the Runner's loop until it completes; return its result."""
        if not _iscoroutine(coro):
            raise ValueError(f"a coroutine was expected, got {coro!r}")
        if _get_running_loop() is not None:
            # Fail before touching any state: the caller is inside a loop.
            raise RuntimeError("Runner.run() cannot be called from a running event loop")
        loop = self._ensure_loop()
        task = loop.create_task(coro, context=self._context if context is None else context)
        handler = self._catch_sigint(task)
        self._interrupts = 0
        try:
            return loop.run_until_complete(task)
        except CancelledError:
            if self._interrupts:
                # Cancelled because of Ctrl-C (and by nothing else): report it as such.
                uncancel = getattr(task, "uncancel", None)
                if uncancel is not None and uncancel() == 0:
                    raise KeyboardInterrupt()  # noqa: B904 - chained as asyncio chains it
            raise
        finally:
            if handler is not None and signal.getsignal(signal.SIGINT) is handler:
                signal.signal(signal.SIGINT, signal.default_int_handler)

    def close(self) -> None:
        """Cancel leftover tasks, close async generators and the executor, close the loop."""
        loop = self._loop
        if loop is None:
            return
        try:
            _cancel_leftover_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            if _PY312:
                loop.run_until_complete(
                    loop.shutdown_default_executor(_EXECUTOR_JOIN_TIMEOUT)  # type: ignore[call-arg]
                )
            else:
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            if self._made_current:
                set_event_loop(None)
            loop.close()
            self._loop = None
            self._closed = True

    def _ensure_loop(self) -> AbstractEventLoop:
        """Return the loop, creating it (and the run context) on first use."""
        if self._closed:
            raise RuntimeError("Runner is closed")
        loop = self._loop
        if loop is not None:
            return loop
        if self._loop_factory is None:
            if self._clock is None and self._chaos_seed is None:
                loop = new_event_loop()
            else:
                loop = new_event_loop(clock=self._clock, chaos_seed=self._chaos_seed)
            if not self._made_current:
                # Once per Runner, like asyncio: set_event_loop attaches child watchers.
                set_event_loop(loop)
                self._made_current = True
        else:
            loop = self._loop_factory()
        self._loop = loop
        if self._debug is not None:
            loop.set_debug(self._debug)
        self._context = contextvars.copy_context()
        return loop

    def _catch_sigint(self, task: Task[Any]) -> Callable[[int, FrameType | None], None] | None:
        """Route Ctrl-C to the main task, when we may own SIGINT; return our handler."""
        if threading.current_thread() is not threading.main_thread():
            return None
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None  # the program chose its own handling: leave it alone
        handler = functools.partial(self._on_sigint, task)
        try:
            signal.signal(signal.SIGINT, handler)
        except ValueError:
            # The main thread may not handle signals (embedded interpreter: gh-91880).
            return None
        return handler

    def _on_sigint(self, task: Task[Any], signum: int, frame: FrameType | None) -> None:
        """SIGINT handler: first one cancels the main task, any later one interrupts."""
        self._interrupts += 1
        loop = self._loop
        if self._interrupts == 1 and not task.done() and loop is not None:
            task.cancel()
            loop.call_soon_threadsafe(_noop)
            return
        raise KeyboardInterrupt()


def _cancel_leftover_tasks(loop: AbstractEventLoop) -> None:
    """Cancel every unfinished task of ``loop``, wait for all, report unexpected errors."""
    tasks = _all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    _wait_all(loop, tasks)
    for task in tasks:
        if task.cancelled():
            continue
        exc = task.exception()
        if exc is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during asyncio.run() shutdown",
                    "exception": exc,
                    "task": task,
                }
            )


def _wait_all(loop: AbstractEventLoop, tasks: set[Task[Any]]) -> None:
    """Run ``loop`` until every task in ``tasks`` is done, whatever the outcome."""
    waiter: Future[None] = loop.create_future()
    remaining = len(tasks)

    def on_done(_: object) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0 and not waiter.done():
            waiter.set_result(None)

    for task in tasks:
        task.add_done_callback(on_done)
    loop.run_until_complete(waiter)


if sys.version_info >= (3, 12):

    def run(
        main: Coroutine[Any, Any, _T],
        *,
        debug: bool | None = None,
        loop_factory: Callable[[], AbstractEventLoop] | None = None,
        clock: object = None,
        chaos_seed: int | None = None,
    ) -> _T:
        """Run ``main`` in a new batonio loop (or ``loop_factory()``'s) and close the loop."""
        if _get_running_loop() is not None:
            raise RuntimeError("asyncio.run() cannot be called from a running event loop")
        with Runner(debug=debug, loop_factory=loop_factory, clock=clock, chaos_seed=chaos_seed) as runner:
            return runner.run(main)

else:

    def run(
        main: Coroutine[Any, Any, _T],
        *,
        debug: bool | None = None,
        clock: object = None,
        chaos_seed: int | None = None,
    ) -> _T:
        """Run ``main`` in a new batonio loop, then finalise and close the loop."""
        if _get_running_loop() is not None:
            raise RuntimeError("asyncio.run() cannot be called from a running event loop")
        with Runner(debug=debug, clock=clock, chaos_seed=chaos_seed) as runner:
            return runner.run(main)

"""Crossing threads: ``to_thread``, ``wrap_future`` and ``run_coroutine_threadsafe``.

Follows ``asyncio.threads``, ``asyncio.futures.wrap_future`` and
``asyncio.tasks.run_coroutine_threadsafe``.  The bridge between a ``concurrent.futures``
future (completed on any thread) and a loop future (touched only on its loop's thread) is
written out here in two directions:

- concurrent -> loop (``wrap_future``): the worker thread hands the outcome over with
  ``loop.call_soon_threadsafe``; cancelling the loop future cancels the concurrent one.
- loop -> concurrent (``run_coroutine_threadsafe``): the task's done callback, on the loop
  thread, completes the concurrent future directly; cancelling the concurrent future (from
  any thread) cancels the task through ``call_soon_threadsafe``.

concurrent.futures' own CancelledError/InvalidStateError are translated into asyncio's on
the way into the loop (TimeoutError is the builtin on both sides since 3.11).
PYTEST_DONT_REWRITE: the ``assert`` statements here are asyncio's own checks, with asyncio's
messages; batonio's pytest plugin makes pytest rewrite its distribution's modules, which
would change those messages in every user's test session.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
from asyncio import coroutines as _coroutines
from asyncio import events as _events
from asyncio import exceptions as _exceptions
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .._extensions import select

_tasks = select(__package__, "_tasks")

__all__ = ["run_coroutine_threadsafe", "to_thread", "wrap_future"]

_T = TypeVar("_T")
_CFuture = concurrent.futures.Future


async def to_thread(func: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """Run ``func(*args, **kwargs)`` in the loop's default executor, in a copy of our context."""
    loop = _events.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await loop.run_in_executor(None, call)  # type: ignore[no-any-return]


def _to_loop_exception(exc: BaseException) -> BaseException:
    """Translate concurrent.futures' own error classes into asyncio's."""
    cls = type(exc)
    if cls is concurrent.futures.CancelledError:
        return _exceptions.CancelledError(*exc.args)
    if cls is concurrent.futures.InvalidStateError:
        return _exceptions.InvalidStateError(*exc.args)
    return exc


def _complete_loop_future(dest: Any, source: _CFuture[Any]) -> None:
    """On the loop thread: copy a finished concurrent future's outcome into ``dest``."""
    if dest.cancelled():
        return
    if source.cancelled():
        dest.cancel()
        return
    exc = source.exception()
    if exc is None:
        dest.set_result(source.result())
    else:
        dest.set_exception(_to_loop_exception(exc))


def wrap_future(future: Any, *, loop: Any = None) -> Any:
    """Return a loop future that follows a ``concurrent.futures.Future``."""
    if _tasks.isfuture(future):
        return future
    assert isinstance(future, _CFuture), \
        f"concurrent.futures.Future is expected, got {future!r}"
    if loop is None:
        loop = _events.get_event_loop()
    dest = loop.create_future()

    def on_dest_done(dest: Any) -> None:
        if dest.cancelled():
            future.cancel()

    def on_source_done(source: _CFuture[Any]) -> None:
        # Runs on whichever thread finished the concurrent future.
        if loop.is_closed():
            return
        loop.call_soon_threadsafe(_complete_loop_future, dest, source)

    dest.add_done_callback(on_dest_done)
    future.add_done_callback(on_source_done)
    return dest


def run_coroutine_threadsafe(coro: Coroutine[Any, Any, _T], loop: Any) -> _CFuture[_T]:
    """Schedule ``coro`` on ``loop`` from another thread; return a concurrent future."""
    if not _coroutines.iscoroutine(coro):
        raise TypeError("A coroutine object is required")
    result: _CFuture[_T] = _CFuture()

    def on_task_done(task: Any) -> None:
        # On the loop thread.
        if task.cancelled():
            result.cancel()
        if not result.set_running_or_notify_cancel():
            return
        exc = task.exception()
        if exc is None:
            result.set_result(task.result())
        else:
            result.set_exception(_to_loop_exception(exc))

    def start() -> None:
        try:
            task = _tasks.ensure_future(coro, loop=loop)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if result.set_running_or_notify_cancel():
                result.set_exception(exc)
            raise

        def on_result_done(fut: _CFuture[Any]) -> None:
            if fut.cancelled():
                loop.call_soon_threadsafe(task.cancel)

        result.add_done_callback(on_result_done)
        task.add_done_callback(on_task_done)

    loop.call_soon_threadsafe(start)
    return result

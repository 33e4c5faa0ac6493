# cython: annotation_typing=False
"""Task utilities: sleep, gather, shield, wait, wait_for, as_completed and friends.

Follows ``asyncio.tasks`` of the running Python (3.11, 3.12 or 3.13; the differences are
branched on ``sys.version_info`` once, at import).  Everything here talks to an event loop
only through the public ``AbstractEventLoop`` methods (``create_future``, ``create_task``,
``call_later``, ``time``...) and to futures only through the future protocol
(``_asyncio_future_blocking``, ``add_done_callback``, ``cancel``, ``result``...), so the same
code drives stdlib's loop, uvloop and batonio's loop.

This is a hot module: ``_tasks_c`` is the same source compiled by Cython in pure-Python mode
(``annotation_typing`` is off so that hints never turn into C coercions).  Keep the fast
paths short: ``sleep(0)`` is one bare yield, ``gather`` makes one outer future and binds its
done callback once, ``wait_for`` on 3.11 makes one waiter future and one timer.

Invariants:
- no helper keeps a strong reference to a child once the caller has its answer (callbacks
  are removed on the way out of ``wait``/``wait_for``/``shield``);
- ``current_task``/``all_tasks`` read asyncio's own registries, which batonio's ``Task``
  registers with, so stdlib and batonio tasks are seen alike;
- a done callback that wakes an intermediate future (shield's outer, wait's waiter) names
  it in its ``awaited_through`` attribute: ``batonio.capture_call_graph`` follows it from the
  child to the task that waits (gather's and TaskGroup's are bound methods and need none).
"""

from __future__ import annotations

import concurrent.futures
import inspect
import math
import sys
from asyncio import coroutines as _coroutines
from asyncio import events as _events
from asyncio import exceptions as _exceptions
from asyncio import futures as _aio_futures
from asyncio import tasks as _aio_tasks
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from ._awaitables import wrap_awaitable
from ._spawn import spawn_task
from ._timeouts import timeout as _timeout

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "all_tasks",
    "as_completed",
    "create_task",
    "current_task",
    "ensure_future",
    "gather",
    "isfuture",
    "shield",
    "sleep",
    "wait",
    "wait_for",
]

_PY312 = sys.version_info >= (3, 12)
_PY313 = sys.version_info >= (3, 13)

FIRST_COMPLETED = concurrent.futures.FIRST_COMPLETED
FIRST_EXCEPTION = concurrent.futures.FIRST_EXCEPTION
ALL_COMPLETED = concurrent.futures.ALL_COMPLETED

CancelledError = _exceptions.CancelledError
get_running_loop = _events.get_running_loop
_get_event_loop = _events.get_event_loop
_iscoroutine = _coroutines.iscoroutine
_isawaitable = inspect.isawaitable
_current_tasks: dict[Any, Any] = getattr(_aio_tasks, "_current_tasks")  # noqa: B009
_aio_all_tasks = _aio_tasks.all_tasks
_Future: Any = _aio_futures.Future

AnyFuture = Any  # an asyncio-protocol future of any implementation


# -- small helpers on the future protocol --------------------------------------------------

def isfuture(obj: object) -> bool:
    """Return True for an object that follows asyncio's future protocol."""
    cls_flag = getattr(obj.__class__, "_asyncio_future_blocking", _NO_FLAG)
    if cls_flag is _NO_FLAG:
        return False
    return getattr(obj, "_asyncio_future_blocking", None) is not None


_NO_FLAG = object()


def _loop_of(fut: AnyFuture) -> Any:
    """Return the loop a future belongs to (``get_loop()``, else the ``_loop`` attribute)."""
    get_loop = getattr(fut, "get_loop", None)
    if get_loop is not None:
        return get_loop()
    return fut._loop


def _cancelled_error(fut: AnyFuture) -> BaseException:
    """The CancelledError a cancelled future would raise, as asyncio builds it."""
    make = getattr(fut, "_make_cancelled_error", None)
    if make is not None:
        return make()  # type: ignore[no-any-return]
    try:
        fut.result()
    except CancelledError as exc:
        return exc
    return CancelledError()


def _cancel_message(fut: AnyFuture) -> Any:
    """The message a cancelled future was cancelled with, '' for none."""
    msg = getattr(fut, "_cancel_message", _NO_FLAG)
    if msg is _NO_FLAG:
        args = _cancelled_error(fut).args
        msg = args[0] if args else None
    return "" if msg is None else msg


def _set_result_unless_cancelled(fut: AnyFuture, result: Any) -> None:
    """Timer callback of ``sleep``: complete the future unless it was cancelled meanwhile."""
    if not fut.cancelled():
        fut.set_result(result)


def _wake(waiter: AnyFuture, *_: Any) -> None:
    """Complete a waiter future if nobody did yet (used as timer and as done callback)."""
    if not waiter.done():
        waiter.set_result(None)


# -- creating tasks --------------------------------------------------------------------------

def _to_future(arg: Any, loop: Any) -> AnyFuture:
    """``ensure_future`` proper: return futures as they are, wrap anything else in a task."""
    if isfuture(arg):
        if loop is not None and loop is not _loop_of(arg):
            raise ValueError("The future belongs to a different loop than "
                             "the one specified as the loop argument")
        return arg
    should_close = True
    if not _iscoroutine(arg):
        if not _isawaitable(arg):
            raise TypeError("An asyncio.Future, a coroutine or an awaitable is required")
        arg = wrap_awaitable(arg)
        should_close = False
    if loop is None:
        loop = _get_event_loop()
    try:
        return loop.create_task(arg)
    except RuntimeError:
        if should_close:
            arg.close()
        raise


def ensure_future(coro_or_future: Any, *, loop: Any = None) -> AnyFuture:
    """Wrap a coroutine or an awaitable in a task; return a future unchanged."""
    return _to_future(coro_or_future, loop)


def create_task(coro: Coroutine[Any, Any, Any], *, name: str | None = None,
                context: Any = None) -> Any:
    """Schedule a coroutine on the running loop and return its task."""
    return spawn_task(get_running_loop(), coro, name, context)


def current_task(loop: Any = None) -> Any:
    """Return the task running on ``loop`` (default: the running loop), or None."""
    if loop is None:
        loop = get_running_loop()
    return _current_tasks.get(loop)


def all_tasks(loop: Any = None) -> set[Any]:
    """Return the set of unfinished tasks of ``loop`` (default: the running loop)."""
    if loop is None:
        loop = get_running_loop()
    return _aio_all_tasks(loop)  # type: ignore[no-any-return]


if _PY312:
    _task_class: Any = None

    def create_eager_task_factory(custom_task_constructor: Callable[..., Any]
                                  ) -> Callable[..., Any]:
        """Return a task factory that starts each task eagerly with the given constructor."""
        # ``eager_start`` is accepted (None meaning eager) because loops that follow 3.14,
        # uvloop 0.22+ among them, pass it to every task factory.
        def factory(loop: Any, coro: Any, *, name: str | None = None, context: Any = None,
                    eager_start: bool | None = None) -> Any:
            return custom_task_constructor(coro, loop=loop, name=name, context=context,
                                           eager_start=eager_start is not False)
        return factory

    def eager_task_factory(loop: Any, coro: Any, *, name: str | None = None,
                           context: Any = None, eager_start: bool | None = None) -> Any:
        """Task factory that runs each new task's first step at once (batonio's Task)."""
        cls = _task_class
        if cls is None:
            cls = _find_task_class()
        return cls(coro, loop=loop, name=name, context=context,
                   eager_start=eager_start is not False)

    def _find_task_class() -> Any:
        """batonio's Task, imported on first use; stdlib's (eager-capable) if it is absent."""
        global _task_class
        try:
            from .. import _core
            cls = _core.Task  # type: ignore[attr-defined]
        except (ImportError, AttributeError):
            import asyncio
            cls = asyncio.Task
        _task_class = cls
        return cls

    __all__ += ["create_eager_task_factory", "eager_task_factory"]


# -- sleep -----------------------------------------------------------------------------------

class _Sleep0:
    """Awaitable that suspends its task for exactly one loop iteration with a bare yield.

    The task sees ``None`` from the coroutine and reschedules itself with ``call_soon``: no
    future, no timer.  A cancellation thrown in arrives here and propagates as is.
    """

    __slots__ = ()

    def __await__(self) -> Any:
        return iter(_ONE_YIELD)


_ONE_YIELD = (None,)
_SLEEP0 = _Sleep0()


async def sleep(delay: float, result: Any = None) -> Any:
    """Suspend the current task for ``delay`` seconds, then return ``result``."""
    if delay <= 0:
        await _SLEEP0
        return result
    if _PY313 and math.isnan(delay):
        raise ValueError("Invalid delay: NaN (not a number)")
    loop = get_running_loop()
    future = loop.create_future()
    handle = loop.call_later(delay, _set_result_unless_cancelled, future, result)
    try:
        return await future
    finally:
        handle.cancel()


# -- gather ----------------------------------------------------------------------------------

class _GatheringFuture(_Future):  # type: ignore[misc]
    """The outer future of ``gather``: cancelling it cancels the children instead.

    It also owns the bookkeeping (children, counters) and is its children's done callback,
    so a gather costs one object besides the children.
    """

    def __init__(self, loop: Any, children: list[Any], return_exceptions: bool) -> None:
        super().__init__(loop=loop)
        self._children = children
        self._return_exceptions = return_exceptions
        self._cancel_requested = False
        self._nfuts = 0
        self._nfinished = 0

    def cancel(self, msg: Any = None) -> bool:
        """Cancel every unfinished child; report whether any was cancelled."""
        if self.done():
            return False
        cancelled = False
        for child in self._children:
            if child.cancel(msg=msg):
                cancelled = True
        if cancelled:
            # gh-76863 (bpo-32684): the cancellation must propagate even with
            # return_exceptions=True.
            self._cancel_requested = True
        return cancelled

    def _child_done(self, fut: AnyFuture) -> None:
        """Done callback of every child: fail fast, or collect once all are finished."""
        self._nfinished += 1
        if self.done():
            if not fut.cancelled():
                fut.exception()  # mark the exception as retrieved
            return
        if not self._return_exceptions:
            if fut.cancelled():
                self.set_exception(_cancelled_error(fut))
                return
            exc = fut.exception()
            if exc is not None:
                self.set_exception(exc)
                return
        if self._nfinished != self._nfuts:
            return
        results = []
        child = fut
        for child in self._children:
            if child.cancelled():
                results.append(CancelledError(_cancel_message(child)))
            else:
                res = child.exception()
                results.append(child.result() if res is None else res)
        if self._cancel_requested:
            # asyncio builds the error from the last child in argument order.
            self.set_exception(_cancelled_error(child))
        else:
            self.set_result(results)


def gather(*coros_or_futures: Any, return_exceptions: bool = False) -> Any:
    """Run awaitables concurrently; return a future of the list of their results."""
    if not coros_or_futures:
        empty = _get_event_loop().create_future()
        empty.set_result([])
        return empty
    children: list[Any] = []
    by_arg: dict[Any, Any] = {}
    outer: Any = None
    loop = None
    on_done: Any = None
    already_done: list[Any] | None = None
    for arg in coros_or_futures:
        fut = by_arg.get(arg)
        if fut is None:
            fut = _to_future(arg, loop)
            if outer is None:
                loop = _loop_of(fut)
                outer = _GatheringFuture(loop, children, return_exceptions)
                on_done = outer._child_done
            if fut is not arg:
                # A task made here for the caller: it cannot cancel or await it itself.
                try:
                    fut._log_destroy_pending = False
                except AttributeError:
                    pass
            outer._nfuts += 1
            by_arg[arg] = fut
            if _PY312 and fut.done():
                # 3.12+: children finished eagerly are counted once the outer exists.
                if already_done is None:
                    already_done = []
                already_done.append(fut)
            else:
                fut.add_done_callback(on_done)
        children.append(fut)
    if already_done is not None:
        for fut in already_done:
            on_done(fut)
    return outer


# -- shield ----------------------------------------------------------------------------------

def shield(arg: Any) -> Any:
    """Wait for an awaitable without letting the waiter's cancellation reach it."""
    inner = _to_future(arg, None)
    if inner.done():
        return inner
    outer = _loop_of(inner).create_future()

    def on_inner_done(inner: AnyFuture) -> None:
        if outer.cancelled():
            if not inner.cancelled():
                inner.exception()  # mark the exception as retrieved
        elif inner.cancelled():
            outer.cancel()
        else:
            exc = inner.exception()
            if exc is None:
                outer.set_result(inner.result())
            else:
                outer.set_exception(exc)

    def on_outer_done(outer: AnyFuture) -> None:
        if not inner.done():
            inner.remove_done_callback(on_inner_done)

    on_inner_done.awaited_through = outer  # type: ignore[attr-defined]  # for the call graph
    inner.add_done_callback(on_inner_done)
    outer.add_done_callback(on_outer_done)
    return outer


# -- wait ------------------------------------------------------------------------------------

async def wait(fs: Iterable[Any], *, timeout: float | None = None,
               return_when: str = ALL_COMPLETED) -> tuple[set[Any], set[Any]]:
    """Wait for futures or tasks; return the ``(done, pending)`` sets."""
    if isfuture(fs) or _iscoroutine(fs):
        raise TypeError(f"expect a list of futures, not {type(fs).__name__}")
    if not fs:
        raise ValueError("Set of Tasks/Futures is empty.")
    if return_when not in (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED):
        raise ValueError(f"Invalid return_when value: {return_when}")
    todo = set(fs)
    for f in todo:
        if _iscoroutine(f):
            raise TypeError("Passing coroutines is forbidden, use tasks explicitly.")
    loop = get_running_loop()
    return await _wait(todo, timeout, return_when, loop)


async def _wait(fs: set[Any], timeout: float | None, return_when: str,
                loop: Any) -> tuple[set[Any], set[Any]]:
    """Suspend until ``return_when`` holds for ``fs`` or the timeout passes."""
    waiter = loop.create_future()
    timer = None if timeout is None else loop.call_later(timeout, _wake, waiter)
    remaining = len(fs)
    any_done = return_when == FIRST_COMPLETED
    on_error = return_when == FIRST_EXCEPTION

    def on_done(f: AnyFuture) -> None:
        nonlocal remaining
        remaining -= 1
        if (remaining <= 0 or any_done
                or (on_error and not f.cancelled() and f.exception() is not None)):
            if timer is not None:
                timer.cancel()
            if not waiter.done():
                waiter.set_result(None)

    on_done.awaited_through = waiter  # type: ignore[attr-defined]  # for the call graph
    for f in fs:
        f.add_done_callback(on_done)
    try:
        await waiter
    finally:
        if timer is not None:
            timer.cancel()
        for f in fs:
            f.remove_done_callback(on_done)
    done = set()
    pending = set()
    for f in fs:
        if f.done():
            done.add(f)
        else:
            pending.add(f)
    return done, pending


async def _cancel_and_wait(fut: AnyFuture, loop: Any) -> None:
    """Cancel ``fut`` and wait until it is done, staying cancellable ourselves."""
    waiter = loop.create_future()

    def on_done(_: AnyFuture) -> None:
        if not waiter.done():
            waiter.set_result(None)

    on_done.awaited_through = waiter  # type: ignore[attr-defined]  # for the call graph
    fut.add_done_callback(on_done)
    try:
        fut.cancel()
        await waiter
    finally:
        fut.remove_done_callback(on_done)


# -- wait_for --------------------------------------------------------------------------------

async def _wait_for_expired(fut: Any, loop: Any) -> Any:
    """``wait_for`` with a timeout <= 0: cancel at once unless already done."""
    fut = _to_future(fut, loop)
    if fut.done():
        return fut.result()
    await _cancel_and_wait(fut, get_running_loop() if loop is None else loop)
    try:
        return fut.result()
    except CancelledError as exc:
        raise TimeoutError from exc


if _PY312:
    async def wait_for(fut: Awaitable[Any], timeout: float | None) -> Any:
        """Wait for an awaitable; cancel it and raise TimeoutError after ``timeout`` s."""
        # 3.12 rewrite (gh-96764): a timeout <= 0 cancels before the awaitable starts,
        # anything else is the timeout() context manager around a plain await.
        if timeout is not None and timeout <= 0:
            return await _wait_for_expired(fut, None)
        async with _timeout(timeout):
            return await fut
else:
    async def wait_for(fut: Awaitable[Any], timeout: float | None) -> Any:
        """Wait for an awaitable; cancel it and raise TimeoutError after ``timeout`` s."""
        loop = get_running_loop()
        if timeout is None:
            return await fut
        if timeout <= 0:
            return await _wait_for_expired(fut, loop)
        waiter = loop.create_future()
        timer = loop.call_later(timeout, _wake, waiter)

        def on_done(_: AnyFuture) -> None:
            if not waiter.done():
                waiter.set_result(None)

        inner = _to_future(fut, loop)
        on_done.awaited_through = waiter  # type: ignore[attr-defined]  # for the call graph
        inner.add_done_callback(on_done)
        try:
            try:
                await waiter
            except CancelledError:
                if inner.done():
                    return inner.result()
                inner.remove_done_callback(on_done)
                # bpo-32751: the awaitable must not outlive wait_for().
                await _cancel_and_wait(inner, loop)
                raise
            if inner.done():
                return inner.result()
            inner.remove_done_callback(on_done)
            await _cancel_and_wait(inner, loop)
            # bpo-40607: a cancellation the awaitable refused still yields its outcome.
            try:
                return inner.result()
            except CancelledError as exc:
                raise TimeoutError from exc
        finally:
            timer.cancel()


# -- as_completed ----------------------------------------------------------------------------

class _AsCompleted:
    """Hands out the given futures in the order they finish (the state of ``as_completed``).

    Finished futures queue up in ``_ready``; a timeout queues one ``None`` per future still
    pending, which the taker turns into TimeoutError.  Takers park on waiter futures and are
    woken one per arrival, like ``asyncio.Queue.get``.
    """

    def __init__(self, aws: Iterable[Any], timeout: float | None, loop: Any) -> None:
        self._loop = loop
        self._ready: deque[Any] = deque()
        self._takers: deque[Any] = deque()
        self._timer: Any = None
        todo = {_to_future(aw, loop) for aw in set(aws)}
        self._todo = todo
        self._left = len(todo)
        for f in todo:
            f.add_done_callback(self._on_done)
        if todo and timeout is not None:
            self._timer = loop.call_later(timeout, self._on_timeout)

    def _push(self, item: Any) -> None:
        self._ready.append(item)
        self._wake_taker()

    def _wake_taker(self) -> None:
        takers = self._takers
        while takers:
            taker = takers.popleft()
            if not taker.done():
                taker.set_result(None)
                return

    def _on_timeout(self) -> None:
        for f in self._todo:
            f.remove_done_callback(self._on_done)
            self._push(None)
        self._todo.clear()

    def _on_done(self, f: AnyFuture) -> None:
        todo = self._todo
        if not todo:
            return  # the timeout came first
        todo.remove(f)
        self._push(f)
        if not todo and self._timer is not None:
            self._timer.cancel()

    async def _take(self, resolve: bool) -> Any:
        """Next finished future (or, with ``resolve``, its outcome); TimeoutError if late."""
        ready = self._ready
        while not ready:
            taker = self._loop.create_future()
            self._takers.append(taker)
            try:
                await taker
            except BaseException:
                taker.cancel()
                try:
                    self._takers.remove(taker)
                except ValueError:
                    pass
                if ready and not taker.cancelled():
                    self._wake_taker()
                raise
        f = ready.popleft()
        if f is None:
            raise TimeoutError
        return f.result() if resolve else f

    if _PY313:
        def __iter__(self) -> _AsCompleted:
            return self

        def __aiter__(self) -> _AsCompleted:
            return self

        def __next__(self) -> Coroutine[Any, Any, Any]:
            if not self._left:
                raise StopIteration
            self._left -= 1
            return self._take(True)

        async def __anext__(self) -> Any:
            if not self._left:
                raise StopAsyncIteration
            self._left -= 1
            return await self._take(False)


if _PY313:
    def as_completed(fs: Iterable[Any], *, timeout: float | None = None) -> Any:
        """Iterate (plainly or asynchronously) over the awaitables as they finish."""
        if _isawaitable(fs):
            raise TypeError(f"expects an iterable of awaitables, not {type(fs).__name__}")
        return _AsCompleted(fs, timeout, _get_event_loop())
else:
    def as_completed(fs: Iterable[Any], *, timeout: float | None = None) -> Any:
        """Yield coroutines that return the awaitables' outcomes in completion order."""
        if isfuture(fs) or _iscoroutine(fs):
            raise TypeError(f"expect an iterable of futures, not {type(fs).__name__}")
        state = _AsCompleted(fs, timeout, _get_event_loop())
        for _ in range(state._left):
            yield state._take(True)

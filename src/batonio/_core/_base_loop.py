"""The loop around the scheduling core: running, closing, errors, debug, threads, async gens.

``BaseLoop`` extends the (optionally compiled) ``LoopCore`` with everything that is not on
the per-iteration hot path.  It follows asyncio's ``base_events.BaseEventLoop`` and
``selector_events.BaseSelectorEventLoop`` behaviour for the running Python version:
messages, the exception handler's context keys and log format, debug mode, the executor
and async-generator shutdown.  I/O methods (sockets, servers, pipes, subprocesses) are
added above this layer; this module never imports them.
"""

from __future__ import annotations

import asyncio.base_events as _asyncio_base_events
import concurrent.futures
import os
import sys
import threading
import traceback
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Generator
from contextvars import Context
from typing import Any, TypeVar
from weakref import WeakSet

from . import Future, Handle, LoopCore, Task, check_callback, new_task
from . import create_future as _compiled_create_future
from ._fork import ForkedPoller, forked_loop_error, track_loop
from ._pollers import READ, Poller, SelectorPoller, default_poller

__all__ = ["BaseLoop"]



class _AsyncioLogger:
    """asyncio's logger, looked up on each use so that patching asyncio.base_events.logger works."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_asyncio_base_events.logger, name)  # type: ignore[attr-defined]


logger: Any = _AsyncioLogger()

_T = TypeVar("_T")
_PY312 = sys.version_info >= (3, 12)


def _fileobj_to_fd(fileobj: Any) -> int:
    """An fd from an int or an object with fileno(), with selectors' error messages."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


def _run_until_complete_cb(fut: Any) -> None:
    """Stop the loop when the future run_until_complete waits for is done."""
    if not fut.cancelled():
        exc = fut.exception()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            return  # the loop stops by itself: the exception propagates out of _run_once
    fut.get_loop().stop()


def _debug_from_environment() -> bool:
    return bool(sys.flags.dev_mode or (not sys.flags.ignore_environment and os.environ.get("PYTHONASYNCIODEBUG")))


class BaseLoop(LoopCore):  # type: ignore[misc]  # LoopCore may be a compiled type
    """An event loop without network I/O: the engine plus asyncio's loop management API."""

    _debug_value: Any = False
    _poller: Any  # LoopCore's field; a ForkedPoller once inherited through fork
    _owner_pid = 0
    #: The parent's pid once this loop was inherited by a forked child (0: never).
    _forked_from = 0

    def __init__(self, selector: Any = None, *, clock: Callable[[], float] | None = None) -> None:
        poller: Poller = default_poller() if selector is None else SelectorPoller(selector)
        LoopCore.__init__(self, poller, clock)
        self._task_factory: Callable[..., Any] | None = None
        self._exception_handler: Callable[[Any, dict[str, Any]], object] | None = None
        self._default_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_shutdown_called = False
        self._asyncgens: WeakSet[Any] = WeakSet()
        self._asyncgens_shutdown_called = False
        self._coroutine_origin_tracking_enabled = False
        self._coroutine_origin_tracking_saved_depth: int | None = None
        self.set_debug(_debug_from_environment())
        self._open_wakeup()
        self._owner_pid = os.getpid()
        track_loop(self)

    @property
    def _selector(self) -> Any:
        """The selectors selector when the loop was built on one (asyncio compatibility)."""
        return getattr(self._poller, "selector", self._poller)

    # ------------------------------------------------------------------ wake-up fd
    def _open_wakeup(self) -> None:
        """Create the eventfd (or self-pipe) that call_soon_threadsafe writes to."""
        if hasattr(os, "eventfd"):
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._wakeup_read_fd = self._wakeup_write_fd = fd
            self._wakeup_is_eventfd = True
        else:
            rfd, wfd = os.pipe()
            os.set_blocking(rfd, False)
            os.set_blocking(wfd, False)
            self._wakeup_read_fd, self._wakeup_write_fd = rfd, wfd
            self._wakeup_is_eventfd = False
        self._poller.modify(self._wakeup_read_fd, READ)

    def _close_wakeup(self) -> None:
        read_fd, write_fd = self._wakeup_read_fd, self._wakeup_write_fd
        if read_fd < 0:
            return
        self._wakeup_read_fd = self._wakeup_write_fd = -1
        self._poller.modify(read_fd, 0)
        os.close(read_fd)
        if write_fd != read_fd:
            os.close(write_fd)

    # ------------------------------------------------------------------ representation
    def __repr__(self) -> str:
        extra = ""
        hooks = self._hooks
        if hooks is not None:
            if hooks.clock is not None:
                extra += " virtual_time=True"
            if hooks.chaos is not None:
                extra += f" chaos_seed={hooks.chaos.seed}"
        return (
            f"<{type(self).__name__} running={self.is_running()} "
            f"closed={self.is_closed()} debug={self.get_debug()}{extra}>"
        )

    # ------------------------------------------------------------------ futures and tasks
    # A compiled function bound as a method: no interpreted frame on this hot path.
    create_future = _compiled_create_future

    def create_task(
        self, coro: Coroutine[Any, Any, _T] | Generator[Any, None, _T], *, name: Any = None, context: Context | None = None
    ) -> Task:
        """Wrap a coroutine in a Task scheduled on this loop (through the task factory)."""
        self._check_closed()
        factory = self._task_factory
        if factory is None:
            return new_task(self, coro, name, context)
        if context is None:
            task = factory(self, coro)
        else:
            task = factory(self, coro, context=context)
        if name is not None:
            task.set_name(name)
        return task  # type: ignore[no-any-return]

    def set_task_factory(self, factory: Callable[..., Any] | None) -> None:
        """Set the factory create_task uses (``factory(loop, coro, **kw)``); None restores ours."""
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self) -> Callable[..., Any] | None:
        """Return the task factory, or None when the default one is in use."""
        return self._task_factory

    # ------------------------------------------------------------------ fork
    def _check_not_forked(self) -> None:
        """Refuse to run a loop this process inherited through fork (see ``_fork``)."""
        if self._forked_from:
            raise forked_loop_error(self, self._forked_from)

    def _after_fork_in_child(self) -> None:
        """In a forked child: drop the child's copies of the parent's epoll and wake-up fds.

        Closing a copy leaves the parent's objects alone; every later registration goes to
        a ForkedPoller that ignores it, so no epoll_ctl of the child reaches the parent.
        """
        if self._closed:  # type: ignore[has-type]
            return
        self._forked_from = self._owner_pid
        inherited = self._poller
        self._poller = ForkedPoller(self, self._forked_from)
        self._epoll_fd = -1  # the compiled core polls this fd itself
        try:
            inherited.close()
        except OSError:
            pass
        for fd in {self._wakeup_read_fd, self._wakeup_write_fd}:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._wakeup_read_fd = self._wakeup_write_fd = -1

    # ------------------------------------------------------------------ running
    def _check_running(self) -> None:
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        import asyncio.events as events

        if events._get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")

    def run_forever(self) -> None:
        """Run until stop() is called."""
        import asyncio.events as events

        self._check_closed()
        self._check_not_forked()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        old_hooks = sys.get_asyncgen_hooks()
        try:
            self._thread_id = threading.get_ident()
            sys.set_asyncgen_hooks(
                firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
            )
            events._set_running_loop(self)
            self._run_forever_loop()
        finally:
            self._stopping = False
            self._thread_id = None  # type: ignore[assignment]
            self._retrack_ready()  # calls queued from threads go back under the cyclic GC
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_hooks)

    def run_until_complete(self, future: Awaitable[_T]) -> _T:
        """Run until the future (or coroutine, wrapped in a task) is done; return its result."""
        import asyncio

        self._check_closed()
        self._check_not_forked()
        self._check_running()
        new_task = not asyncio.isfuture(future)
        fut: Any = asyncio.ensure_future(future, loop=self)
        if new_task:
            fut._log_destroy_pending = False
        fut.add_done_callback(_run_until_complete_cb)
        try:
            self.run_forever()
        except BaseException:
            if new_task and fut.done() and not fut.cancelled():
                fut.exception()  # the caller cannot reach this task: mark it retrieved
            raise
        finally:
            fut.remove_done_callback(_run_until_complete_cb)
        if not fut.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        if isinstance(fut, Future) and not fut.cancelled():
            error = fut.exception()
            if error is not None:  # raised here, not inside Future.result: asyncio's traceback
                raise error.with_traceback(fut._exception_tb)
        return fut.result()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the loop: drop pending callbacks, shut the executor down without waiting."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:  # type: ignore[has-type]
            return
        if self._debug:
            logger.debug("Close %r", self)
        self._closed = True
        self._clear_ready()
        for timer in self._scheduled:
            timer._scheduled = False
        self._scheduled.clear()
        self._timer_cancelled_count = 0
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is not None:
            self._default_executor = None
            executor.shutdown(wait=False)
        self._close_wakeup()
        for fd in list(self._readers):
            self._readers.pop(fd).cancel()
        for fd in list(self._writers):
            self._writers.pop(fd).cancel()
        self._io_fd_count = 0
        self._poller.close()

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if not self.is_closed():
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()

    # ------------------------------------------------------------------ debug mode
    def set_debug(self, enabled: bool) -> None:
        """Turn debug mode on or off; get_debug() returns the value given, as asyncio's does."""
        self._debug = bool(enabled)
        self._debug_value = enabled
        if self.is_running():
            self.call_soon_threadsafe(self._set_coroutine_origin_tracking, enabled)

    def get_debug(self) -> bool:
        """Return the value last given to set_debug() (its truth is the debug mode)."""
        return self._debug_value  # type: ignore[no-any-return]

    @property
    def slow_callback_duration(self) -> float:
        """Callbacks running longer than this (seconds) are logged in debug mode."""
        return self._slow_callback_duration

    @slow_callback_duration.setter
    def slow_callback_duration(self, value: float) -> None:
        self._slow_callback_duration = value

    def _set_coroutine_origin_tracking(self, enabled: bool) -> None:
        if bool(enabled) == self._coroutine_origin_tracking_enabled:
            return
        if enabled:
            self._coroutine_origin_tracking_saved_depth = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(10)
        else:
            sys.set_coroutine_origin_tracking_depth(self._coroutine_origin_tracking_saved_depth or 0)
        self._coroutine_origin_tracking_enabled = bool(enabled)

    def _warn_slow_callback(self, item: object, elapsed: float) -> None:
        """Name the callback, or the task and coroutine, that held the loop."""
        logger.warning("Executing %s took %.3f seconds", _describe_runnable(item), elapsed)

    # ------------------------------------------------------------------ errors
    def get_exception_handler(self) -> Callable[[Any, dict[str, Any]], object] | None:
        """Return the custom exception handler, or None."""
        return self._exception_handler

    def set_exception_handler(self, handler: Callable[[Any, dict[str, Any]], object] | None) -> None:
        """Set ``handler(loop, context)`` as the exception handler; None restores the default."""
        if handler is not None and not callable(handler):
            raise TypeError(f"A callable object or None is expected, got {handler!r}")
        self._exception_handler = handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        """Log the context as asyncio does: message, sorted keys, tracebacks."""
        message = context.get("message") or "Unhandled exception in event loop"
        exception = context.get("exception")
        exc_info: Any = (type(exception), exception, exception.__traceback__) if exception is not None else False
        current = self._current_handle
        if (
            "source_traceback" not in context
            and current is not None
            and getattr(current, "_source_traceback", None)
        ):
            context["handle_traceback"] = current._source_traceback
        lines = [message]
        for key in sorted(context):
            if key in ("message", "exception"):
                continue
            value = context[key]
            if key == "source_traceback":
                text = "Object created at (most recent call last):\n"
                text += "".join(traceback.format_list(value)).rstrip()
            elif key == "handle_traceback":
                text = "Handle created at (most recent call last):\n"
                text += "".join(traceback.format_list(value)).rstrip()
            else:
                text = repr(value)
            lines.append(f"{key}: {text}")
        logger.error("\n".join(lines), exc_info=exc_info)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Pass the context to the custom handler, or the default one; never raise."""
        handler = self._exception_handler
        if handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error("Exception in default exception handler", exc_info=True)
            return
        try:
            origin = _context_of_origin(context) if _PY312 else None
            if origin is not None:
                origin.run(handler, self, context)
            else:
                handler(self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler(
                    {
                        "message": "Unhandled error in exception handler",
                        "exception": exc,
                        "context": context,
                    }
                )
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error(
                    "Exception in default exception handler while handling an unexpected "
                    "error in custom exception handler",
                    exc_info=True,
                )

    # ------------------------------------------------------------------ threads
    def run_in_executor(self, executor: Any, func: Callable[..., _T], *args: Any) -> Future:
        """Run ``func(*args)`` in an executor (the default thread pool if None)."""
        import asyncio

        self._check_closed()
        if self._debug:
            check_callback(func, "run_in_executor", True)
        if executor is None:
            if self._executor_shutdown_called:
                raise RuntimeError("Executor shutdown has been called")
            executor = self._default_executor
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="batonio")
                self._default_executor = executor
        job = executor.submit(func, *args)
        hooks = self._hooks
        if hooks is not None and hooks.clock is not None:
            hooks.track_job(job)  # before wrap_future: counted done before the loop wakes
        return asyncio.wrap_future(job, loop=self)  # type: ignore[return-value]

    def set_default_executor(self, executor: Any) -> None:
        """Use ``executor`` (a ThreadPoolExecutor) for run_in_executor(None, ...)."""
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError("executor must be ThreadPoolExecutor instance")
        self._default_executor = executor

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Wait for the default executor's threads to finish (at most ``timeout`` s, 3.12+)."""
        if timeout is not None and not _PY312:
            raise TypeError("shutdown_default_executor() got an unexpected keyword argument 'timeout'")
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is None:
            return
        future = self.create_future()
        hooks = self._hooks
        if hooks is not None and hooks.clock is not None:
            hooks.track_job(future)  # completed from a thread: virtual time must wait for it
        thread = threading.Thread(target=self._shutdown_executor_in_thread, args=(executor, future))
        thread.start()
        try:
            await future
        finally:
            thread.join(timeout)
        if thread.is_alive():
            warnings.warn(
                "The executor did not finishing joining "
                f"its threads within {timeout} seconds.",
                RuntimeWarning,
                stacklevel=2,
            )
            executor.shutdown(wait=False)

    def _shutdown_executor_in_thread(self, executor: Any, future: Future) -> None:
        try:
            executor.shutdown(wait=True)
            if not self.is_closed():
                self.call_soon_threadsafe(_set_result_unless_done, future, None)
        except Exception as exc:
            if not self.is_closed():
                self.call_soon_threadsafe(_set_exception_unless_done, future, exc)

    # ------------------------------------------------------------------ async generators
    def _asyncgen_firstiter_hook(self, agen: Any) -> None:
        if self._asyncgens_shutdown_called:
            warnings.warn(
                f"asynchronous generator {agen!r} was scheduled after "
                f"loop.shutdown_asyncgens() call",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )
        self._asyncgens.add(agen)

    def _asyncgen_finalizer_hook(self, agen: Any) -> None:
        self._asyncgens.discard(agen)
        if not self.is_closed():
            self.call_soon_threadsafe(self.create_task, agen.aclose())

    async def shutdown_asyncgens(self) -> None:
        """Close every async generator still alive, reporting those that fail."""
        import asyncio

        self._asyncgens_shutdown_called = True
        if not len(self._asyncgens):
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        results = await asyncio.gather(*[agen.aclose() for agen in closing], return_exceptions=True)
        for result, agen in zip(results, closing, strict=True):
            if isinstance(result, Exception):
                self.call_exception_handler(
                    {
                        "message": f"an error occurred during closing of asynchronous generator {agen!r}",
                        "exception": result,
                        "asyncgen": agen,
                    }
                )

    # ------------------------------------------------------------------ fd watching
    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable."""
        self._add_reader(_fileobj_to_fd(fd), callback, args)

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching ``fd`` for reading; True if it was watched."""
        return self._remove_reader(_fileobj_to_fd(fd))  # type: ignore[no-any-return]

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is writable."""
        self._add_writer(_fileobj_to_fd(fd), callback, args)

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching ``fd`` for writing; True if it was watched."""
        return self._remove_writer(_fileobj_to_fd(fd))  # type: ignore[no-any-return]


def _context_of_origin(context: dict[str, Any]) -> Any:
    """The contextvars context of the task, future or handle that failed (3.12+, gh-96704).

    A custom exception handler runs inside it, so it sees the values the failing code saw.
    """
    for key in ("task", "future", "handle"):
        origin = context.get(key)
        if origin is not None:
            get_context = getattr(origin, "get_context", None)
            if get_context is None:
                return None
            found = get_context()
            return found if hasattr(found, "run") else None
    return None


def _set_result_unless_done(fut: Any, result: Any) -> None:
    if not fut.done():
        fut.set_result(result)


def _set_exception_unless_done(fut: Any, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _describe_runnable(item: object) -> str:
    """A ready-queue entry for a log line: a task names its coroutine, a handle its callback."""
    if isinstance(item, Handle):
        callback = getattr(item, "_callback", None)
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, Task):
            return repr(owner)
    return repr(item)

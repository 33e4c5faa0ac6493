"""batonio's Future and Task: the awaitable results and the coroutine driver.

Compiled by Cython in pure-Python mode (``_futures_c.pxd``), and runs as plain Python.
Behaviour follows asyncio's ``futures.Future`` and ``tasks.Task`` of the running Python
version, including the private protocol other asyncio code relies on
(``_asyncio_future_blocking``, ``_log_traceback``, ``_cancel_message``, ``_loop``).

How a task runs on batonio's loop without a wrapper object per step: the task object
itself sits in the loop's ready queue (its ``_run`` method performs one step), and when it
awaits one of our futures it registers itself, not a bound method, as that future's
done-callback, so completing the future re-queues the task directly.  On any other loop,
or awaiting any other future, it falls back to asyncio's public protocol
(``call_soon(step)``, ``add_done_callback(wakeup)``).

Each task records the task that created it (``_parent``) and the future it waits on
(``_fut_waiter``): the task tree is drawn from these.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import itertools
import sys
import warnings
from collections import deque
from collections.abc import Callable, Generator
from types import GenericAlias, TracebackType
from typing import Any

try:
    import cython
except ImportError:  # pragma: no cover - Cython is a build-time dependency only
    from .. import _cython_shim as cython  # type: ignore[no-redef]

# Imported now, not on first use: a task's repr is needed during interpreter shutdown
# ("Task was destroyed but it is pending!"), when importing is no longer possible.
from . import _format as _fmt
from . import _task_stack

__all__ = ["Future", "Task", "bind_loop_core", "create_future", "new_task"]

_PENDING = "PENDING"
_CANCELLED = "CANCELLED"
_FINISHED = "FINISHED"

_PY312 = sys.version_info >= (3, 12)
_PY313 = sys.version_info >= (3, 13)

_CancelledError = asyncio.CancelledError
_InvalidStateError = asyncio.InvalidStateError
_AsyncioFuture = asyncio.Future
_AsyncioTask = asyncio.Task
_copy_context = contextvars.copy_context
_Context = contextvars.Context
_iscoroutine = asyncio.iscoroutine

# asyncio's own task registries: sharing them makes asyncio.current_task() and
# asyncio.all_tasks() see our tasks.
_tasks_mod = asyncio.tasks
_register_task = _tasks_mod._register_task
_enter_task = _tasks_mod._enter_task
_leave_task = _tasks_mod._leave_task
_current_task = _tasks_mod.current_task
if _PY312:
    _register_eager_task = _tasks_mod._register_eager_task
    _unregister_eager_task = _tasks_mod._unregister_eager_task
    _swap_current_task = _tasks_mod._swap_current_task

#: The dict behind _enter_task/_leave_task (loop -> running task) on 3.11-3.13, where the
#: compiled step updates it directly instead of calling them (one call each per step).
#: A conflict still goes through asyncio's function, which raises its own error.
_current_tasks: dict[Any, Any] | None = None
if sys.version_info < (3, 14) and type(getattr(_tasks_mod, "_current_tasks", None)) is dict:
    _current_tasks = _tasks_mod._current_tasks

_task_counter = itertools.count(1)

#: deque.append, called unbound on the loop's ready queue (a deque): a call by name would
#: look the method up on every wake-up.
_ready_append = deque.append

#: Tells an omitted argument from an explicit None (generator.throw's signature rules).
_NO_ARG = object()

#: Marks a done-callback entry that is a task waiting on the future (see module doc).
_TASK_WAITER = object()

#: The loop class whose ready queue tasks may join directly, and its Handle class (used
#: to report a failing done-callback); set by bind_loop_core().
_loop_core_type: type = type(None)
_handle_type: type = type(None)


def bind_loop_core(loop_core_type: type, handle_type: type) -> None:
    """Tell this module which LoopCore and Handle classes (compiled or interpreted) to use."""
    global _loop_core_type, _handle_type
    _loop_core_type = loop_core_type
    _handle_type = handle_type


#: The last class found to be a LoopCore subclass: the public EventLoop's MRO is long, and
#: futures ask of the same loop class all the time.
_core_class_seen: type = type(None)


def _core_of(loop: Any) -> Any:
    """``loop`` when it is a batonio loop, whose fields are then read directly; else None."""
    global _core_class_seen
    if cython.compiled:
        if type(loop) is not _core_class_seen:
            if not isinstance(loop, LoopCore):  # noqa: F821 - the cimported type
                return None
            _core_class_seen = type(loop)
        return cython.cast(LoopCore, loop)  # noqa: F821 - checked: no second type test
    return loop if isinstance(loop, _loop_core_type) else None




@cython.freelist(64)
@cython.cclass
class _FutureIter:
    """The iterator behind ``await future``: yields the future once, then its result."""

    def __init__(self, fut: Future) -> None:
        self._fut = fut
        self._yielded = False

    def __iter__(self) -> _FutureIter:
        return self

    def __next__(self) -> Any:
        fut: Future = self._fut
        state = fut._state
        if state is _PENDING:
            if not self._yielded:
                self._yielded = True
                fut._asyncio_future_blocking = True
                return fut
            raise RuntimeError("await wasn't used with future")
        if state is _FINISHED and fut._exception is None:
            # The common end of ``await fut``, without result()'s method call.  Compiled,
            # neither raise below makes an exception object or a traceback entry: Cython
            # turns a bare ``raise StopIteration`` in a ``__next__`` into tp_iternext's
            # "return NULL", which the awaiting frame reads as StopIteration(None), or as
            # the StopIteration(result) left pending just before.
            fut._log_tb = False
            result = fut._result
            if result is None:
                raise StopIteration
            if cython.compiled and _set_stop_iteration(result):  # noqa: F821
                raise StopIteration
            raise StopIteration(result)
        raise StopIteration(fut.result())  # result() raises the exception or CancelledError

    def send(self, value: object) -> Any:
        """Resume after the yield; the value sent is ignored, as asyncio's iterator does."""
        return self.__next__()

    def throw(self, typ: Any, val: Any = _NO_ARG, tb: Any = _NO_ARG) -> Any:
        """Raise the thrown exception at the await point (generator.throw's argument rules)."""
        if val is not _NO_ARG or tb is not _NO_ARG:
            if _PY312:
                warnings.warn(
                    "the (type, exc, tb) signature of throw() is deprecated, "
                    "use the single-arg signature instead.",
                    DeprecationWarning,
                    stacklevel=2,
                )
        if val is _NO_ARG:
            val = None
        if tb is _NO_ARG:
            tb = None
        if tb is not None and not isinstance(tb, TracebackType):
            raise TypeError("throw() third argument must be a traceback")
        if isinstance(typ, type) and issubclass(typ, BaseException):
            if val is None:
                exc = typ()
            elif isinstance(val, typ):
                exc = val
            elif isinstance(val, tuple):
                exc = typ(*val)
            else:
                exc = typ(val)
        elif isinstance(typ, BaseException):
            if val is not None:
                raise TypeError("instance exception may not have a separate value")
            exc = typ
        else:
            raise TypeError(
                "exceptions must be classes deriving BaseException or instances of such a class"
            )
        if tb is not None:
            exc = exc.with_traceback(tb)
        try:
            raise exc
        finally:
            # The frame must not keep the exception whose traceback holds the frame: that
            # cycle would keep everything the traceback reaches alive until a gc pass.
            exc = val = tb = typ = None

    def close(self) -> None:
        """Nothing to release."""


def _iter_of(fut: Future) -> _FutureIter:
    """The iterator of ``await fut`` (compiled: from the free-list, no constructor call)."""
    if cython.compiled:
        it: _FutureIter = _FutureIter.__new__(_FutureIter)
        it._fut = fut
        it._yielded = False
        return it
    return _FutureIter(fut)


@cython.cclass
class Future:
    """A result that will be available later; batonio's asyncio.Future."""

    def __cinit__(self, *args: Any, **kwargs: Any) -> None:
        self._state = _PENDING

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        loop = None
        if kwargs:
            if len(kwargs) != 1 or "loop" not in kwargs or args:
                raise _constructor_misuse("Future", args, kwargs)
            loop = kwargs["loop"]
        elif args:
            raise _constructor_misuse("Future", args, kwargs)
        self._init_future(loop)

    def _init_future(self, loop: Any) -> None:
        """Set the fields of a pending future bound to ``loop`` (the running one if None)."""
        self._state = _PENDING
        self._result = None
        self._exception = None
        self._exception_tb = None
        self._cancel_message = None
        self._cancelled_exc = None
        self._asyncio_future_blocking = False
        self._log_tb = False
        self._cb0 = None
        self._ctx0 = None
        self._cb_rest = None
        if loop is None:
            loop = asyncio.get_event_loop()
        self._loop = loop
        self._source_traceback = None
        core: LoopCore = _core_of(loop)  # noqa: F821 - the cimported type (.pxd)
        if core._debug if core is not None else loop.get_debug():
            self._source_traceback = _fmt.extract_stack()

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """Present as asyncio.Future so ``isinstance(f, asyncio.Future)`` holds."""
        t = type(self)
        return _AsyncioFuture if t is Future else t

    __class_getitem__ = classmethod(GenericAlias)

    # ------------------------------------------------------------------ inspection
    def get_loop(self) -> Any:
        """Return the event loop the future is bound to."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("Future object is not initialized.")
        return loop

    def done(self) -> bool:
        """Return True if the future has a result, an exception, or was cancelled."""
        return self._state is not _PENDING

    def cancelled(self) -> bool:
        """Return True if the future was cancelled."""
        return self._state is _CANCELLED

    def result(self) -> Any:
        """Return the result; raise the exception or CancelledError, or InvalidStateError."""
        if self._state is _FINISHED:
            self._log_tb = False
            if self._exception is not None:
                raise self._exception.with_traceback(self._exception_tb)
            return self._result
        if self._state is _CANCELLED:
            raise self._make_cancelled_error()
        if self._loop is None:
            raise _InvalidStateError("Future object is not initialized.")
        raise _InvalidStateError("Result is not set.")

    def exception(self) -> BaseException | None:
        """Return the exception set on the future (None if a result was set)."""
        if self._state is _FINISHED:
            self._log_tb = False
            return self._exception  # type: ignore[no-any-return]
        if self._state is _CANCELLED:
            raise self._make_cancelled_error()
        if self._loop is None:
            raise _InvalidStateError("Future object is not initialized.")
        raise _InvalidStateError("Exception is not set.")

    @property
    def _log_traceback(self) -> bool:
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        return self._log_tb

    @_log_traceback.setter
    def _log_traceback(self, value: bool) -> None:
        if value:
            raise ValueError("_log_traceback can only be set to False")
        self._log_tb = False

    @property
    def _callbacks(self) -> list[tuple[Any, Any]]:
        """The pending done-callbacks as (callback, context) pairs, in order."""
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        entries: list[tuple[Any, Any]] = []
        if self._state is not _PENDING:
            return entries  # handed to the loop (the fields may hold them until they run)
        if self._cb0 is not None:
            entries.append((self._cb0, self._ctx0))
        if self._cb_rest:
            entries.extend(self._cb_rest)
        return entries

    # ------------------------------------------------------------------ completion
    def set_result(self, result: Any) -> None:
        """Mark the future done with a result; InvalidStateError if already done."""
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        if self._state is not _PENDING:
            raise _InvalidStateError("invalid state")
        self._result = result
        self._state = _FINISHED
        self._schedule_callbacks()

    def set_exception(self, exception: Any) -> None:
        """Mark the future done with an exception; InvalidStateError if already done."""
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        if self._state is not _PENDING:
            raise _InvalidStateError("invalid state")
        if isinstance(exception, type):
            exception = exception()
        if _PY313:
            if isinstance(exception, StopIteration):
                replacement = RuntimeError(
                    "StopIteration interacts badly with generators "
                    "and cannot be raised into a Future"
                )
                replacement.__cause__ = exception
                replacement.__context__ = exception
                exception = replacement
        elif type(exception) is StopIteration:
            raise TypeError(
                "StopIteration interacts badly with generators and cannot be raised into a Future"
            )
        if not isinstance(exception, BaseException):
            raise TypeError("invalid exception object")
        self._exception = exception
        self._exception_tb = exception.__traceback__
        self._state = _FINISHED
        self._schedule_callbacks()
        self._log_tb = True

    def cancel(self, msg: Any = None) -> bool:
        """Cancel the future and schedule its callbacks; False if it was already done."""
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        self._log_tb = False
        if self._state is not _PENDING:
            return False
        self._state = _CANCELLED
        self._cancel_message = msg
        self._schedule_callbacks()
        return True

    def _make_cancelled_error(self) -> BaseException:
        """The CancelledError to raise: the one saved from the coroutine (once), else a new one."""
        saved = self._cancelled_exc
        if saved is not None:
            self._cancelled_exc = None
            return saved  # type: ignore[no-any-return]
        if self._cancel_message is None:
            return _CancelledError()
        return _CancelledError(self._cancel_message)

    # ------------------------------------------------------------------ callbacks
    def add_done_callback(self, fn: Callable[[Any], object], *, context: Any = None) -> None:
        """Call ``fn(future)`` once done (at once via the loop if already done)."""
        if self._loop is None:
            raise RuntimeError("uninitialized Future object")
        if self._state is not _PENDING:
            self._loop.call_soon(fn, self, context=context)
            return
        if context is None:
            context = _current_context()
        self._append_callback(fn, context)

    def _append_callback(self, fn: Any, context: Any) -> None:
        if self._cb0 is None and not self._cb_rest:
            self._cb0 = fn
            self._ctx0 = context
        elif self._cb_rest is None:
            self._cb_rest = [(fn, context)]
        else:
            self._cb_rest.append((fn, context))

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        """Remove every registration of ``fn``; return how many were removed."""
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        if self._state is not _PENDING:
            return 0  # already handed to the loop, as asyncio's are
        removed = 0
        if self._cb0 is not None and self._cb0 == fn and self._ctx0 is not _TASK_WAITER:
            self._cb0 = None
            self._ctx0 = None
            removed = 1
        if self._cb_rest:
            kept = [entry for entry in self._cb_rest if entry[1] is _TASK_WAITER or entry[0] != fn]
            removed += len(self._cb_rest) - len(kept)
            self._cb_rest = kept
        return removed

    def _schedule_callbacks(self) -> None:
        """Hand the done-callbacks to the loop, in registration order.

        On batonio's loop (outside debug mode) plain callbacks get no Handle each: the future
        itself joins the ready queue and runs them there (``_run``), in the order that
        handles queued back to back would have run.  A task awaiting the future is re-queued
        directly.  A list mixing the two keeps one ready entry per callback, in order.

        Once the future is done, the callback fields hold the callbacks due to run from the
        ready queue (no fields of their own: every future is smaller), until ``_run``.
        """
        cb0 = self._cb0
        rest = self._cb_rest
        if cb0 is None and not rest:
            return
        loop = self._loop
        ctx0 = self._ctx0
        core: LoopCore = _core_of(loop)  # noqa: F821 - the cimported type (.pxd)
        ours = core is not None
        if ours and not core._closed and not core._debug and ctx0 is not _TASK_WAITER:
            if not _has_task_waiter(rest):
                _ready_append(core._ready, self)  # the entries stay: _run takes them
                return
        self._cb0 = None
        self._ctx0 = None
        self._cb_rest = None
        if ours and core._closed:
            # asyncio's call_soon refuses: the callbacks are dropped and the caller learns it.
            raise RuntimeError("Event loop is closed")
        if cb0 is not None:
            self._dispatch_callback(cb0, ctx0, loop, ours)
        if rest:
            for fn, context in rest:
                self._dispatch_callback(fn, context, loop, ours)

    def _dispatch_callback(self, fn: Any, context: Any, loop: Any, ours: bool) -> None:
        """Queue one done-callback: a waiting task directly, anything else as a handle."""
        if context is _TASK_WAITER:
            task: Task = fn
            task._wake_from(self)
        elif ours:
            loop._call_soon_fast(fn, self, context)
        else:
            loop.call_soon(fn, self, context=context)

    def _run(self) -> None:
        """Run the done-callbacks _schedule_callbacks queued, each in its own context."""
        fn = self._cb0
        rest = self._cb_rest
        self._cb_rest = None
        if fn is not None:
            context = self._ctx0
            self._cb0 = None
            self._ctx0 = None
            try:
                self._run_done_callback(fn, context)
            except BaseException:
                self._requeue_after_fatal(rest, 0)
                raise
        if rest:
            for index in range(len(rest)):
                fn, context = rest[index]
                try:
                    self._run_done_callback(fn, context)
                except BaseException:
                    self._requeue_after_fatal(rest, index + 1)
                    raise

    def _requeue_after_fatal(self, rest: list[Any] | None, start: int) -> None:
        """KeyboardInterrupt or SystemExit left a callback: the others stay first in line."""
        if rest and start < len(rest):
            self._cb_rest = rest[start:]
            self._loop._ready.appendleft(self)

    def _run_done_callback(self, fn: Any, context: Any) -> None:
        """Call ``fn(self)`` in ``context``; report what it raises as a failed handle would."""
        try:
            if cython.compiled:
                _call1_in_context(context, fn, self)  # noqa: F821
            else:
                context.run(fn, self)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            _handle_type(fn, (self,), self._loop, context)._report_exception(exc)

    # ------------------------------------------------------------------ awaiting
    def __await__(self) -> Generator[Any, None, Any]:
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        return _iter_of(self)  # type: ignore[return-value]

    def __iter__(self) -> Generator[Any, None, Any]:
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        return _iter_of(self)  # type: ignore[return-value]

    # ------------------------------------------------------------------ reporting
    def _repr_info(self) -> list[str]:
        if self._loop is None:
            raise RuntimeError("Future object is not initialized.")
        return _fmt.future_repr_info(self, _state_index(self._state), self._callback_fns())

    def _callback_fns(self) -> list[Any]:
        return [fn._wakeup if ctx is _TASK_WAITER else fn for fn, ctx in self._callbacks]

    def __repr__(self) -> str:
        return "<{} {}>".format(self.__class__.__name__, " ".join(self._repr_info()))

    def __del__(self) -> None:
        if self._log_tb:  # every future dies: the common case costs no method call
            self._report_unretrieved()

    def _report_unretrieved(self) -> None:
        """Report an exception nobody retrieved, as asyncio does when a future dies."""
        if not self._log_tb:
            return
        context: dict[str, Any] = {
            "message": f"{self.__class__.__name__} exception was never retrieved",
            "exception": self._exception,
            "future": self,
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)


def create_future(loop: Any) -> Future:
    """Create a Future bound to this loop."""
    fut: Future = Future.__new__(Future)
    fut._init_future(loop)
    return fut


def new_task(loop: Any, coro: Any, name: Any, context: Any) -> Task:
    """A Task of ``coro`` on ``loop``, without constructor argument parsing."""
    task: Task = Task.__new__(Task)
    task._init_task(coro, loop, name, context, False)
    return task


def _current_context() -> contextvars.Context:
    """A copy of the current context (compiled: the C call, without a Python call)."""
    if cython.compiled:
        return PyContext_CopyCurrent()  # noqa: F821
    return _copy_context()


_OWN_CODE_SUFFIXES = ("_core/_futures_py.py", "_core/_futures_c.py", "_core/_futures_c.pxd")


def _from_coroutine_frames(error: BaseException) -> BaseException:
    """Start a coroutine's exception traceback at the coroutine, as asyncio's C task does.

    The entries of the task's own stepping code (frames when interpreted, Cython's
    synthetic entries when compiled) say nothing to the user and differ between builds.
    """
    tb = error.__traceback__
    head = tb
    while tb is not None and tb.tb_frame.f_code.co_filename.endswith(_OWN_CODE_SUFFIXES):
        tb = tb.tb_next
    if tb is not head:
        error.__traceback__ = tb
    return error


def _has_task_waiter(entries: list[Any] | None) -> bool:
    if entries:
        for entry in entries:
            if entry[1] is _TASK_WAITER:
                return True
    return False


def _give_pure_classes_field_defaults() -> None:
    """Interpreted, give Future the defaults a compiled type's fields have.

    Compiled, a Future made by ``__new__`` alone already has these (``__cinit__``), and the
    class exposes ``_asyncio_future_blocking`` as a descriptor, which ``asyncio.isfuture``
    looks for on the class (it accepts ``Mock(spec=Future)``).
    """
    defaults = {
        "_state": _PENDING,
        "_loop": None,
        "_result": None,
        "_exception": None,
        "_log_tb": False,
        "_asyncio_future_blocking": False,
        "_cb0": None,
        "_ctx0": None,
        "_cb_rest": None,
        "_source_traceback": None,
        "_cancel_message": None,
        "_cancelled_exc": None,
    }
    for name, value in defaults.items():
        setattr(Future, name, value)


if not cython.compiled:
    _give_pure_classes_field_defaults()


def _constructor_misuse(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TypeError:
    """The TypeError asyncio's C constructor (``Future(*, loop=None)``) raises for bad arguments."""
    given = len(args) + len(kwargs)
    if given > 1:
        what = "argument" if args else "keyword argument"
        return TypeError(f"{name}() takes at most 1 {what} ({given} given)")
    if args:
        return TypeError(f"{name}() takes no positional arguments")
    key = next(iter(kwargs))
    if _PY313:
        return TypeError(f"{name}() got an unexpected keyword argument '{key}'")
    return TypeError(f"'{key}' is an invalid keyword argument for {name}()")


def _state_index(state: object) -> int:
    return 0 if state is _PENDING else (1 if state is _CANCELLED else 2)


@cython.cclass
class Task(Future):
    """A coroutine driven by the event loop; batonio's asyncio.Task."""

    def __init__(
        self,
        coro: Any,
        *,
        loop: Any = None,
        name: Any = None,
        context: Any = None,
        eager_start: bool = False,
    ) -> None:
        self._init_task(coro, loop, name, context, eager_start)

    def _init_task(self, coro: Any, loop: Any, name: Any, context: Any, eager_start: bool) -> None:
        """Set a new task's fields and schedule (or eagerly run) its first step."""
        self._init_future(loop)
        self._log_destroy_pending = True
        self._must_cancel = False
        self._fut_waiter = None
        self._num_cancels_requested = 0
        self._step_exc = None
        self._wakeup_from = None
        self._coro = None
        self._name = None
        self._parent = None
        self._core_loop = None
        if not _iscoroutine(coro):
            self._log_destroy_pending = False
            raise TypeError(f"a coroutine was expected, got {coro!r}")
        if eager_start and not _PY312:
            raise TypeError("__init__() got an unexpected keyword argument 'eager_start'")
        self._coro = coro
        self._name = f"Task-{next(_task_counter)}" if name is None else str(name)
        self._context = _current_context() if context is None else context
        loop = self._loop
        core: LoopCore = _core_of(loop)  # noqa: F821 - the cimported type (.pxd)
        if core is not None:
            if core._closed:
                raise RuntimeError("Event loop is closed")
            self._core_loop = core
        if cython.compiled and _current_tasks is not None:
            self._parent = _current_tasks.get(loop)  # current_task(loop), without the call
        else:
            self._parent = _current_task(loop)
        if eager_start and loop.is_running():
            self._eager_start()
        else:
            self._schedule_step(None)
            _register_task(self)

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """Present as asyncio.Task so ``isinstance(t, asyncio.Task)`` holds."""
        t = type(self)
        return _AsyncioTask if t is Task else t

    # ------------------------------------------------------------------ public API
    def get_coro(self) -> Any:
        """Return the coroutine the task wraps (None after an eager completion, 3.12+)."""
        return self._coro

    def get_context(self) -> contextvars.Context:
        """Return the context the task's steps run in."""
        return self._context

    def get_name(self) -> str:
        """Return the task's name."""
        return self._name  # type: ignore[no-any-return]

    def set_name(self, value: object) -> None:
        """Rename the task."""
        self._name = str(value)

    def set_result(self, result: Any) -> None:
        """Not allowed on a task: a task's result is its coroutine's."""
        raise RuntimeError("Task does not support set_result operation")

    def set_exception(self, exception: Any) -> None:
        """Not allowed on a task: a task's exception is its coroutine's."""
        raise RuntimeError("Task does not support set_exception operation")

    def get_stack(self, *, limit: int | None = None) -> list[Any]:
        """Return the frames of the task's coroutine (or of its exception's traceback)."""
        return _task_stack.task_stack(self, limit)

    def print_stack(self, *, limit: int | None = None, file: Any = None) -> None:
        """Print the task's stack or traceback, as asyncio does."""
        _task_stack.print_task_stack(self, limit, file)

    def cancel(self, msg: Any = None) -> bool:
        """Request cancellation: CancelledError is thrown into the coroutine at its next step."""
        self._log_tb = False
        if self._state is not _PENDING:
            return False
        self._num_cancels_requested += 1
        waiter = self._fut_waiter
        if waiter is not None and waiter.cancel(msg=msg):
            return True
        self._must_cancel = True
        self._cancel_message = msg
        return True

    def cancelling(self) -> int:
        """Return the number of pending cancellation requests."""
        return self._num_cancels_requested  # type: ignore[no-any-return]

    def uncancel(self) -> int:
        """Withdraw one cancellation request; return how many remain."""
        if self._num_cancels_requested > 0:
            self._num_cancels_requested -= 1
            if _PY313 and self._num_cancels_requested == 0:
                self._must_cancel = False
        return self._num_cancels_requested  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ stepping
    def _schedule_step(self, exc: Any) -> None:
        """Queue one step: directly on a batonio ready queue, else via call_soon."""
        if self._core_loop is not None:
            self._step_exc = exc
            _ready_append(self._core_loop._ready, self)
        elif exc is None:
            self._loop.call_soon(self._step, context=self._context)
        else:
            self._loop.call_soon(self._step, exc, context=self._context)

    def _wake_from(self, fut: Future) -> None:
        """Called by a future of ours that this task awaited: queue the next step."""
        self._wakeup_from = fut
        _ready_append(self._core_loop._ready, self)

    def _run(self) -> None:
        """One step, run from batonio's ready queue, inside the task's context.

        A finished task is in the queue only to run its done-callbacks (see Future._run).
        """
        if self._state is not _PENDING:
            Future._run(self)
            return
        fut: Future = self._wakeup_from
        exc = None
        if fut is not None:
            # The awaited future's outcome, taken without raising it here, so that the
            # exception thrown into the coroutine carries no entry of ours (as asyncio's).
            self._wakeup_from = None
            if fut._state is _FINISHED:
                fut._log_tb = False
                error = fut._exception
                if error is not None:
                    exc = error.with_traceback(fut._exception_tb)
            else:
                exc = fut._make_cancelled_error()
        else:
            exc = self._step_exc
            self._step_exc = None
        if cython.compiled:
            _step_in_context(self, exc)  # noqa: F821
        elif type(self._context) is _Context:
            self._context.run(self._step, exc)
        else:
            self._step_in_foreign_context(exc)
        self = exc = None  # as in _step: no frame of ours keeps a failed task alive

    def _step_in_foreign_context(self, exc: Any) -> None:
        """Step through ``context.run`` of a ``context=`` that is not a Context.

        asyncio checks nothing here: any object with ``run`` works, and what fails (no
        ``run`` at all) is reported as a failed callback while the task stays pending.
        """
        try:
            self._context.run(self._step, exc)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as error:
            args = () if exc is None else (exc,)
            _handle_type(self._step, args, self._loop, self._context)._report_exception(error)

    def _wakeup(self, fut: Any) -> None:
        """Done-callback for futures that are not ours: resume with their outcome."""
        try:
            fut.result()
        except BaseException as exc:
            self._step(exc)
        else:
            self._step(None)

    def _step(self, exc: Any = None) -> None:
        """Advance the coroutine by one send/throw, as the current task of the loop."""
        if self._state is not _PENDING:
            raise _InvalidStateError(f"_step(): already done: {self!r}, {exc!r}")
        if self._must_cancel:
            if not isinstance(exc, _CancelledError):
                exc = self._make_cancelled_error()
            self._must_cancel = False
        self._fut_waiter = None
        loop = self._loop
        if cython.compiled and _current_tasks is not None:
            running: dict[Any, Any] = _current_tasks
            if loop in running:
                _enter_task(loop, self)  # raises asyncio's "Cannot enter into task" error
            running[loop] = self
            try:
                self._send(exc)
            finally:
                current = running.pop(loop, None)
                if current is not self:
                    if current is not None:
                        running[loop] = current
                    _leave_task(loop, self)  # raises asyncio's "Leaving task" error
                self = exc = None  # a failed coroutine's frames link back here: no cycle
            return
        _enter_task(loop, self)
        try:
            self._send(exc)
        finally:
            _leave_task(loop, self)
            self = exc = None  # a failed coroutine's frames link back here: no cycle

    def _send(self, exc: Any) -> None:
        """Send into (or throw at) the coroutine and act on what it yields or returns."""
        coro = self._coro
        try:
            try:
                if exc is None:
                    if cython.compiled:
                        # PyIter_Send hands back a return value without a StopIteration object.
                        finished = cython.declare(cython.bint, False)
                        result = _send_none(coro, cython.address(finished))  # noqa: F821
                        if finished:
                            self._finish(result)
                            return
                    else:
                        result = coro.send(None)
                else:
                    result = coro.throw(exc)
            except StopIteration as stop:
                self._finish(stop.value)
            except _CancelledError as cancelled:
                self._cancelled_exc = _from_coroutine_frames(cancelled)
                Future.cancel(self)
            except (KeyboardInterrupt, SystemExit) as fatal:
                Future.set_exception(self, fatal)
                raise
            except BaseException as error:
                Future.set_exception(self, _from_coroutine_frames(error))
            else:
                self._handle_yield(result)
        finally:
            # A failed coroutine's frames link back here: no cycle through the task, nor
            # through the thrown exception, whose traceback holds this frame.
            self = exc = None

    def _finish(self, value: Any) -> None:
        """The coroutine returned: the task is done (cancelled if a cancel arrived meanwhile)."""
        if self._must_cancel:
            self._must_cancel = False
            Future.cancel(self, msg=self._cancel_message)
        else:
            self._result = value
            self._state = _FINISHED
            self._schedule_callbacks()

    def _handle_yield(self, result: Any) -> None:
        """The coroutine yielded: wait on the future it yielded, or report misuse."""
        if type(result) is Task or type(result) is Future:
            fut: Future = result
            if fut._loop is not self._loop:
                self._schedule_step(
                    RuntimeError(
                        f"Task {self!r} got Future {result!r} attached to a different loop"
                    )
                )
            elif fut._asyncio_future_blocking:
                if result is self:
                    self._schedule_step(RuntimeError(f"Task cannot await on itself: {self!r}"))
                    return
                fut._asyncio_future_blocking = False
                if self._core_loop is not None:
                    fut._append_callback(self, _TASK_WAITER)  # re-queued directly, see doc
                else:
                    fut.add_done_callback(self._wakeup, context=self._context)
                self._fut_waiter = result
                if self._must_cancel and fut.cancel(msg=self._cancel_message):
                    self._must_cancel = False
            else:
                self._schedule_step(self._yield_misuse(result))
            return
        blocking = getattr(result, "_asyncio_future_blocking", None)
        if blocking is not None:
            if _future_loop(result) is not self._loop:
                self._schedule_step(
                    RuntimeError(
                        f"Task {self!r} got Future {result!r} attached to a different loop"
                    )
                )
            elif blocking:
                if result is self:
                    self._schedule_step(RuntimeError(f"Task cannot await on itself: {self!r}"))
                    return
                result._asyncio_future_blocking = False
                result.add_done_callback(self._wakeup, context=self._context)
                self._fut_waiter = result
                if self._must_cancel and result.cancel(msg=self._cancel_message):
                    self._must_cancel = False
            else:
                self._schedule_step(self._yield_misuse(result))
        elif result is None:
            self._schedule_step(None)  # a bare yield: let others run, then continue
        else:
            self._schedule_step(self._bad_yield(result))

    def _yield_misuse(self, result: Any) -> RuntimeError:
        return RuntimeError(
            f"yield was used instead of yield from in task {self!r} with {result!r}"
        )

    def _bad_yield(self, result: Any) -> RuntimeError:
        if inspect.isgenerator(result):
            return RuntimeError(
                f"yield was used instead of yield from for generator in task {self!r} with {result!r}"
            )
        return RuntimeError(f"Task got bad yield: {result!r}")

    def _eager_start(self) -> None:
        """Run the first step synchronously inside create_task (3.12+ eager tasks)."""
        loop = self._loop
        previous = _swap_current_task(loop, self)
        try:
            _register_eager_task(self)
            try:
                self._context.run(self._send, None)
            finally:
                _unregister_eager_task(self)
        finally:
            try:
                _swap_current_task(loop, previous)
            finally:
                if self._state is not _PENDING:
                    self._coro = None
                else:
                    _register_task(self)

    # ------------------------------------------------------------------ reporting
    def _repr_info(self) -> list[str]:
        return _fmt.task_repr_info(self, _state_index(self._state), self._callback_fns())

    def __repr__(self) -> str:
        return "<{} {}>".format(self.__class__.__name__, " ".join(self._repr_info()))

    def __del__(self) -> None:
        if self._state is _PENDING and self._log_destroy_pending:
            context: dict[str, Any] = {
                "task": self,
                "message": "Task was destroyed but it is pending!",
            }
            if self._source_traceback:
                context["source_traceback"] = self._source_traceback
            self._loop.call_exception_handler(context)
        if self._log_tb:
            self._report_unretrieved()


def _give_pure_task_field_defaults() -> None:
    """Interpreted, give Task the zeroed fields a compiled (or C asyncio) task starts with.

    A Task made by ``__new__`` alone then cancels, counts cancellations and dies silently,
    as asyncio's C Task does.
    """
    defaults = {
        "_log_destroy_pending": False,
        "_must_cancel": False,
        "_fut_waiter": None,
        "_num_cancels_requested": 0,
        "_step_exc": None,
        "_wakeup_from": None,
        "_coro": None,
        "_name": None,
        "_context": None,
        "_parent": None,
        "_core_loop": None,
    }
    for name, value in defaults.items():
        setattr(Task, name, value)


if not cython.compiled:
    _give_pure_task_field_defaults()


def _future_loop(fut: Any) -> Any:
    """The loop of any future-like object (asyncio's futures._get_loop protocol)."""
    get_loop = getattr(fut, "get_loop", None)
    if get_loop is not None:
        return get_loop()
    return fut._loop

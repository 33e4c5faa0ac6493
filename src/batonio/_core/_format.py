"""Human-readable descriptions of callbacks, handles, futures and tasks.

These are the rare paths — reprs, error messages, debug output — kept out of the hot
modules so that the compiled scheduler stays small.  The shapes follow asyncio's
``format_helpers`` and ``base_futures`` output, because libraries and people parse them:
``<Handle cb(1, 2) at file.py:10>``, ``<Task pending name='Task-1' coro=<main() running at
prog.py:3> wait_for=<Future pending ...>>``.
"""

from __future__ import annotations

import functools
import inspect
import os
import reprlib
import sys
import traceback
from types import FrameType
from typing import Any

__all__ = [
    "callback_source",
    "coroutine_repr",
    "extract_stack",
    "future_repr_info",
    "task_repr_info",
]

_STATE_NAMES = {0: "pending", 1: "cancelled", 2: "finished"}


def _function_location(func: Any) -> tuple[str, int] | None:
    """Return (filename, first line) of a Python function, unwrapping partials."""
    func = inspect.unwrap(func)
    while isinstance(func, functools.partial):
        func = func.func
    if not inspect.isfunction(func):
        return None  # asyncio names a source only for plain functions
    code = func.__code__
    return code.co_filename, code.co_firstlineno


_HIDE_ARGS_UNLESS_DEBUG = sys.version_info >= (3, 13)


def _short_args(
    args: tuple[Any, ...] | None, kwargs: dict[str, Any] | None = None, debug: bool = True
) -> str:
    """Render call arguments the way asyncio does, with reprlib truncation.

    From 3.13 asyncio shows arguments only in debug mode, since they may hold secrets.
    """
    if _HIDE_ARGS_UNLESS_DEBUG and not debug:
        return "()"
    parts = [reprlib.repr(arg) for arg in args or ()]
    parts += [f"{key}={reprlib.repr(value)}" for key, value in (kwargs or {}).items()]
    return "(" + ", ".join(parts) + ")"


def _callback_name(func: Any, args: tuple[Any, ...] | None, debug: bool = True) -> str:
    """Render a callback with its arguments: ``name(args)``, partials unfolded."""
    if isinstance(func, functools.partial):
        return (
            _callback_name(func.func, None)
            + _short_args(func.args, func.keywords, debug)
            + _short_args(args or (), None, debug)
        )
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    return name + (_short_args(args, None, debug) if args is not None else "")


def callback_source(func: Any, args: tuple[Any, ...] | None, debug: bool = True) -> str:
    """Describe a callback as asyncio's handles do: ``name(args) at file:line``."""
    text = _callback_name(func, args, debug)
    location = _function_location(func)
    if location is not None:
        text += f" at {location[0]}:{location[1]}"
    return text


def coroutine_repr(coro: Any) -> str:
    """Describe a coroutine with its state and position, as asyncio's task reprs do."""
    name = getattr(coro, "__qualname__", None) or getattr(coro, "__name__", None)
    if name is None:
        name = type(coro).__name__
    name = f"{name}()"
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if frame is not None:  # asyncio says "running" for a suspended coroutine too
        return f"{name} running at {frame.f_code.co_filename}:{frame.f_lineno}"
    if code is not None:
        return f"{name} done, defined at {code.co_filename}:{code.co_firstlineno}"
    return name


def _callbacks_repr(callbacks: list[Any]) -> str:
    """Summarise done-callbacks as ``cb=[a, b]`` (first and last when many)."""
    def name(cb: Any) -> str:
        return callback_source(cb, ())

    count = len(callbacks)
    if count <= 2:
        inner = ", ".join(name(cb) for cb in callbacks)
    else:
        inner = f"{name(callbacks[0])}, <{count - 2} more>, {name(callbacks[-1])}"
    return f"cb=[{inner}]"


def future_repr_info(fut: Any, state: int, callbacks: list[Any]) -> list[str]:
    """The words inside a future's repr: state, result or exception, callbacks, origin."""
    info = [_STATE_NAMES[state]]
    if state == 2:
        if fut._exception is not None:
            info.append(f"exception={fut._exception!r}")
        else:
            info.append(f"result={reprlib.repr(fut._result)}")
    if callbacks:
        info.append(_callbacks_repr(callbacks))
    tb = fut._source_traceback
    if tb:
        frame = tb[-1]
        info.append(f"created at {frame[0]}:{frame[1]}")
    return info


def task_repr_info(task: Any, state: int, callbacks: list[Any]) -> list[str]:
    """The words inside a task's repr: future info plus name, coroutine and awaited future."""
    info = future_repr_info(task, state, callbacks)
    if task._num_cancels_requested and state == 0:
        info[0] = "cancelling"
    info.insert(1, f"name={task.get_name()!r}")
    if task._coro is not None:
        info.insert(2, f"coro=<{coroutine_repr(task._coro)}>")
    if task._fut_waiter is not None:
        info.insert(3, f"wait_for={task._fut_waiter!r}")
    return info


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extract_stack(frame: FrameType | None = None, limit: int | None = None) -> traceback.StackSummary:
    """Capture the user's stack for debug-mode origin tracebacks, cheaply.

    batonio's own frames are left out (compiled, they have none; interpreted, they would
    differ), so the last entry is the user code that created the object.
    """
    if frame is None:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            frame = frame.f_back  # type: ignore[assignment]
    stack = traceback.StackSummary.extract(
        traceback.walk_stack(frame), limit=limit, lookup_lines=False
    )
    stack.reverse()
    return stack

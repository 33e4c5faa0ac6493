"""Deadlock detection under virtual time: ``DeadlockError`` and the report of stuck tasks.

Under a virtual clock the loop knows when nothing can ever happen again: nothing ready, no
timer, no executor job outstanding and no fd watched but its own wake-up fd (so no I/O can
arrive).  It then calls :func:`report_deadlock`, which raises ``DeadlockError`` out of
``run_until_complete``/``run_forever`` at once.  The message lists every pending task with
its await chain, outermost frame first, down to the future it waits on.  Before raising,
the stuck tasks are cancelled and the loop is run until they finish (a task that keeps
waiting after its cancellation is left as it is), so the loop is left clean: a ``Runner``
or ``batonio.run`` then closes it without "Task was destroyed but it is pending!".
"""

from __future__ import annotations

import asyncio
import linecache
import re
from typing import Any

__all__ = ["DeadlockError", "await_chain", "report_deadlock"]

# How many loop iterations the cancelled tasks get to finish before the error is raised.
_DRAIN_ITERATIONS = 1000


class DeadlockError(RuntimeError):
    """Raised by run/run_until_complete under virtual time when no task can ever progress."""


DeadlockError.__module__ = "batonio"  # the public name, in tracebacks and reprs


class _StillStuck(Exception):
    """Internal: the loop deadlocked again while the stuck tasks were being cancelled."""


def report_deadlock(loop: Any) -> None:
    """Build the report, cancel the stuck tasks, drain them, raise ``DeadlockError``."""
    hooks = loop._hooks
    if hooks.draining:
        raise _StillStuck
    tasks = sorted(asyncio.all_tasks(loop), key=_task_order)
    error = DeadlockError(_message(tasks))
    _cancel_and_drain(loop, hooks, tasks)
    raise error


def _message(tasks: list[Any]) -> str:
    """The error message: the reason, then each task's await chain."""
    if not tasks:
        return (
            "deadlock: the loop waits for a future that nothing can complete "
            "(no task, callback, timer, executor job or I/O left)"
        )
    lines = [
        f"deadlock: {len(tasks)} task{'s' if len(tasks) != 1 else ''} wait forever "
        "(nothing ready, no timer, no executor job, no I/O that could arrive):"
    ]
    for task in tasks:
        lines.append(f"  Task {task.get_name()!r}:")
        lines.extend(f"    {line}" for line in await_chain(task))
    return "\n".join(lines)


def await_chain(task: Any) -> list[str]:
    """A suspended task's await chain: ``file:line in function: source`` per frame, then its leaf."""
    lines: list[str] = []
    coro = task.get_coro()
    while coro is not None:
        line = _describe_awaitable(coro)
        if line:
            lines.append(line)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    waiter = getattr(task, "_fut_waiter", None)
    if waiter is not None:
        lines.append(f"waits on {_describe_future(waiter)}")
    return lines


def _describe_awaitable(coro: Any) -> str:
    """One link of the chain; empty for links that carry no location (compiled wrappers)."""
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    name = getattr(coro, "__qualname__", None)
    if frame is None or name is None:
        return ""
    lineno = frame.f_lineno
    filename = frame.f_code.co_filename
    if lineno is None or lineno <= 0:
        return f"{filename} in {name}"  # compiled: no line numbers
    source = linecache.getline(filename, lineno, frame.f_globals).strip()
    return f"{filename}:{lineno} in {name}: {source}" if source else f"{filename}:{lineno} in {name}"


def _describe_future(fut: Any) -> str:
    """The leaf a task waits on: another task by name, or the future's repr."""
    if isinstance(fut, asyncio.Task):
        return f"Task {fut.get_name()!r}"
    text = repr(fut)
    return text if len(text) <= 200 else text[:197] + "..."


def _task_order(task: Any) -> tuple[str, int, int]:
    """Sort tasks by name, numbers in names compared as numbers (Task-2 before Task-10)."""
    name = task.get_name()
    match = re.search(r"(\d+)$", name)
    if match:
        return (name[: match.start()], int(match.group(1)), id(task))
    return (name, -1, id(task))


def _cancel_and_drain(loop: Any, hooks: Any, tasks: list[Any]) -> None:
    """Cancel the stuck tasks and run the loop until they are done (bounded)."""
    for task in tasks:
        task.cancel()
    hooks.draining = True
    try:
        for _ in range(_DRAIN_ITERATIONS):
            if all(task.done() for task in tasks):
                break
            loop._run_once()
    except _StillStuck:
        pass
    finally:
        hooks.draining = False
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the deadlock report names it already

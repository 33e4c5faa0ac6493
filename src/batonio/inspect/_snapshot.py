"""A plain-data picture of a loop's tasks: what ``python -m batonio ps/pstree`` prints.

It has the shape of the data 3.14's ``python -m asyncio ps`` reads from a process's memory:
per task its id, name, coroutine stack (innermost frame first, each frame as ``[function,
file, line]``) and the tasks awaiting it with *their* coroutine stacks.  The awaited-by edges
are the call graph's (``_graph``); a future in between (a declared edge to a bare future) is
looked through to the tasks that await it.  Only lists, strings and ints: it goes out as
JSON.

``loop_snapshot`` must run where the loop's tasks cannot change under it: on the loop's
thread (the control socket schedules it there) or while the loop is not running.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import traceback
from typing import Any

from ._graph import _AwaiterIndex, _coroutine_chain, _tasks_of

__all__ = ["blocked_loop_report", "loop_snapshot", "native_thread_id"]

Frame = list[Any]  # [function qualname, file name, line number]


def native_thread_id(ident: int | None) -> int:
    """The OS thread id of the thread with Python ident ``ident`` (0 if unknown)."""
    for thread in threading.enumerate():
        if thread.ident == ident:
            return thread.native_id or 0
    return 0


def _frames_of(task: Any) -> list[Frame]:
    """A task's coroutine stack, innermost first."""
    get_coro = getattr(task, "get_coro", None)
    chain = _coroutine_chain(get_coro()) if get_coro is not None else []
    return [[f.f_code.co_qualname, f.f_code.co_filename, f.f_lineno] for f in reversed(chain)]


def _awaiting_tasks(fut: Any, index: _AwaiterIndex, seen: set[int]) -> list[Any]:
    """The tasks awaiting ``fut``, looking through futures that are not tasks."""
    tasks: list[Any] = []
    for waiter in index.awaiters(fut):
        if id(waiter) in seen:
            continue
        seen.add(id(waiter))
        if isinstance(waiter, asyncio.Task):
            tasks.append(waiter)
        else:
            tasks.extend(_awaiting_tasks(waiter, index, seen))
    return tasks


def _by_name(task: Any) -> list[Any]:
    """Sort key: the task's name, with its numbers compared as numbers (Task-9 < Task-10)."""
    parts = re.split(r"(\d+)", task.get_name())
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def loop_snapshot(loop: Any) -> dict[str, Any]:
    """Every unfinished task of ``loop`` with its stack and its awaiters, by task name.

    (asyncio's registry is a set, so its order means nothing: names give a stable one.)
    """
    tasks = sorted(_tasks_of(loop), key=_by_name)
    index = _AwaiterIndex()
    stacks = {id(t): _frames_of(t) for t in tasks}
    entries = []
    for task in tasks:
        awaiters = []
        for parent in _awaiting_tasks(task, index, {id(task)}):
            stack = stacks.get(id(parent))
            if stack is None:
                stack = stacks[id(parent)] = _frames_of(parent)
            awaiters.append({"task_id": id(parent), "call_stack": stack})
        entries.append({
            "task_id": id(task),
            "task_name": task.get_name(),
            "coroutine_stack": stacks[id(task)],
            "awaited_by": awaiters,
        })
    return {"thread_id": native_thread_id(getattr(loop, "_thread_id", None)), "tasks": entries}


def blocked_loop_report(loop: Any, waited: float) -> dict[str, Any]:
    """What to say of a running loop that did not answer: its thread's current stack."""
    ident = getattr(loop, "_thread_id", None)
    frame = sys._current_frames().get(ident) if ident is not None else None
    stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
    del frame
    return {"thread_id": native_thread_id(ident), "blocked": True, "waited": waited,
            "stack": stack}

"""A task's stack: the frames of its suspended coroutine chain, or of its exception.

Follows asyncio's ``Task.get_stack``/``print_stack`` output, for debugging tools.
"""

from __future__ import annotations

import linecache
import sys
import traceback
from types import FrameType
from typing import Any, TextIO

__all__ = ["print_task_stack", "task_stack"]


def task_stack(task: Any, limit: int | None) -> list[FrameType]:
    """Frames of the task's coroutine, outermost first; else of its exception's traceback."""
    coro = task._coro
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    frames: list[FrameType] = []
    if frame is not None:
        while frame is not None and (limit is None or len(frames) < limit):
            frames.append(frame)
            frame = frame.f_back
        frames.reverse()
        return frames
    if task._exception is not None:
        tb = task._exception.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        if limit is not None:
            frames = frames[-limit:] if limit >= 0 else frames[:-limit]
    return frames


def print_task_stack(task: Any, limit: int | None, file: TextIO | None) -> None:
    """Print a task's stack (or traceback) in traceback style to ``file`` or stderr."""
    out = sys.stderr if file is None else file
    frames = task_stack(task, limit)
    entries = []
    for frame in frames:
        code = frame.f_code
        linecache.checkcache(code.co_filename)
        line = linecache.getline(code.co_filename, frame.f_lineno, frame.f_globals)
        entries.append((code.co_filename, frame.f_lineno, code.co_name, line.strip() or None))
    exc = task._exception
    if not entries:
        print(f"No stack for {task!r}", file=out)
    elif exc is not None:
        print(f"Traceback for {task!r} (most recent call last):", file=out)
    else:
        print(f"Stack for {task!r} (most recent call last):", file=out)
    traceback.print_list(traceback.StackSummary.from_list(entries), file=out)
    if exc is not None:
        for line in traceback.format_exception_only(type(exc), exc):
            print(line, file=out, end="")

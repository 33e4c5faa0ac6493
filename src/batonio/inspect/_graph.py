"""The async call graph of a task or future: who runs what, and who waits for whom.

Follows CPython 3.14's ``asyncio.graph`` (``capture_call_graph``, ``format_call_graph``,
``print_call_graph``, ``FrameCallGraphEntry``, ``FutureCallGraph``,
``future_add_to_awaited_by``, ``future_discard_from_awaited_by``): same names, signatures,
results and text, on 3.11-3.13.  On 3.14 and later ``batonio/__init__`` takes asyncio's own.

Where the awaited-by edges come from.  3.14 keeps a set of waiters on every future and has
the task step, ``gather``, ``shield``, ``wait`` and ``TaskGroup`` add and discard entries as
they go, which costs a set per awaited future on the hot path.  batonio keeps nothing new
there: every record the graph needs already exists and is read only when a graph is taken.

- A task suspended on a future keeps it in ``_fut_waiter`` (batonio's compiled Task and
  asyncio's tasks alike): one pass over the loop's tasks inverts that into "awaited by".
- A child of ``TaskGroup`` carries the group's ``_on_task_done`` as a done callback, and the
  group knows its ``_parent_task``: the child is awaited by the parent (asyncio's groups too).
- ``gather``, ``shield``, ``wait`` and ``wait_for`` hang a callback on each child that leads
  to an intermediate future (the gathering future, the shield's outer, the waiter) -- as a
  bound method of it, a function naming it in ``awaited_through`` (batonio's, compiled or
  not), or a closure over it named ``outer`` or ``waiter`` (asyncio's).  The child is
  awaited by whoever awaits that intermediate future, which is the task that called them:
  the intermediate future itself does not appear, as in 3.14.
- ``future_add_to_awaited_by`` records what other code declares, in a weak table.

Frames: 3.14 tells a coroutine's frame by ``frame.f_generator``, which 3.11-3.13 lack; the
code flags say the same (``CO_COROUTINE``, ``CO_ASYNC_GENERATOR``, ``CO_GENERATOR``).
Coroutines compiled by Cython (batonio's ``sleep``, ``wait``...) have no Python frame: they
are left out of the call stacks, and the chain goes on below them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import types
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

__all__ = [
    "FrameCallGraphEntry",
    "FutureCallGraph",
    "capture_call_graph",
    "format_call_graph",
    "future_add_to_awaited_by",
    "future_discard_from_awaited_by",
    "print_call_graph",
]

_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ITERABLE_COROUTINE = 0x100
_CO_ASYNC_GENERATOR = 0x200
_SUSPENDABLE = _CO_GENERATOR | _CO_COROUTINE | _CO_ITERABLE_COROUTINE | _CO_ASYNC_GENERATOR

# Done callbacks that close over an intermediate future under one of these names lead to
# the task that waits for it: gather's and shield's ``outer``, wait's and wait_for's
# ``waiter`` (batonio's and asyncio's own helpers alike).
_INTERMEDIATE_NAMES = ("outer", "waiter")


@dataclasses.dataclass(frozen=True, slots=True)
class FrameCallGraphEntry:
    """One frame of a call stack in the graph."""

    frame: types.FrameType


@dataclasses.dataclass(frozen=True, slots=True)
class FutureCallGraph:
    """A future (or task), the frames it runs, and the graphs of those awaiting it."""

    future: asyncio.Future[Any]
    call_stack: tuple[FrameCallGraphEntry, ...]
    awaited_by: tuple[FutureCallGraph, ...]


# -- declared edges ----------------------------------------------------------------------

_declared: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def _is_future(obj: object) -> bool:
    return isinstance(obj, asyncio.Future)


def future_add_to_awaited_by(fut: Any, waiter: Any, /) -> None:
    """Record that ``fut`` is awaited on by ``waiter`` (no effect unless both are futures)."""
    if _is_future(fut) and _is_future(waiter):
        waiters = _declared.get(fut)
        if waiters is None:
            _declared[fut] = [waiter]
        elif not any(w is waiter for w in waiters):
            waiters.append(waiter)


def future_discard_from_awaited_by(fut: Any, waiter: Any, /) -> None:
    """Record that ``fut`` is no longer awaited on by ``waiter``."""
    if _is_future(fut) and _is_future(waiter):
        waiters = _declared.get(fut)
        if waiters is None:
            return
        waiters[:] = [w for w in waiters if w is not waiter]
        if not waiters:
            del _declared[fut]


# -- who awaits a future -------------------------------------------------------------------

class _AwaiterIndex:
    """Answers "which futures await this one", from the records listed in the docstring.

    Built once per captured graph: the pass over the loop's tasks is done on first use.
    """

    def __init__(self) -> None:
        self._by_waited: dict[int, list[Any]] | None = None

    def awaiters(self, fut: Any) -> list[Any]:
        """The futures (mostly tasks) awaiting ``fut``, each once, in a stable order."""
        found: dict[int, Any] = {}
        self._collect(fut, found, set())
        return list(found.values())

    def _collect(self, fut: Any, found: dict[int, Any], seen: set[int]) -> None:
        if id(fut) in seen:
            return
        seen.add(id(fut))
        for waiter in _declared.get(fut, ()):
            found.setdefault(id(waiter), waiter)
        for cb in _done_callbacks(fut):
            self._follow_callback(cb, found, seen)
        for task in self._suspended_on(fut):
            found.setdefault(id(task), task)

    def _follow_callback(self, cb: Any, found: dict[int, Any], seen: set[int]) -> None:
        through = getattr(cb, "awaited_through", None)  # batonio's shield, wait, wait_for
        if _is_future(through):
            self._collect(through, found, seen)
            return
        owner = getattr(cb, "__self__", None)
        if owner is not None:
            if isinstance(owner, asyncio.Task):
                found.setdefault(id(owner), owner)
            elif _is_future(owner):
                self._collect(owner, found, seen)
            else:
                parent = getattr(owner, "_parent_task", None)  # a TaskGroup's child
                if _is_future(parent):
                    found.setdefault(id(parent), parent)
            return
        for inner in _closed_over_futures(cb):
            self._collect(inner, found, seen)

    def _suspended_on(self, fut: Any) -> list[Any]:
        if self._by_waited is None:
            self._by_waited = _index_waiters(fut)
        return self._by_waited.get(id(fut), [])


def _index_waiters(fut: Any) -> dict[int, list[Any]]:
    """Map id(future) -> the tasks of ``fut``'s loop suspended on that future."""
    try:
        loop = fut.get_loop()
    except (AttributeError, RuntimeError):
        return {}
    by_waited: dict[int, list[Any]] = {}
    for task in _tasks_of(loop):
        waited = getattr(task, "_fut_waiter", None)
        if waited is not None:
            by_waited.setdefault(id(waited), []).append(task)
    return by_waited


def _tasks_of(loop: Any) -> list[Any]:
    """The unfinished tasks of ``loop``, whichever thread asks (asyncio's registries)."""
    for _ in range(100):
        try:
            return [t for t in asyncio.all_tasks(loop)]
        except RuntimeError:  # the registry changed size while copied
            continue
    return []


def _done_callbacks(fut: Any) -> list[Any]:
    """The callables registered on ``fut`` (batonio's and asyncio's futures)."""
    try:
        entries = fut._callbacks
    except AttributeError:
        return []
    if not entries:
        return []
    return [entry[0] if isinstance(entry, tuple) else entry for entry in entries]


def _closed_over_futures(cb: Any) -> Iterator[Any]:
    """Futures a plain-function callback closes over as ``outer`` or ``waiter``."""
    func = getattr(cb, "func", cb)  # functools.partial
    code = getattr(func, "__code__", None)
    cells = getattr(func, "__closure__", None)
    if code is None or not cells:
        if func is not cb:
            yield from (arg for arg in getattr(cb, "args", ()) if _is_future(arg))
        return
    for name, cell in zip(code.co_freevars, cells, strict=False):
        if name in _INTERMEDIATE_NAMES:
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if _is_future(value):
                yield value


# -- stacks --------------------------------------------------------------------------------

def _is_suspendable(frame: types.FrameType) -> bool:
    """Whether the frame runs a coroutine, an async generator or a generator."""
    return bool(frame.f_code.co_flags & _SUSPENDABLE)


def _coroutine_chain(coro: Any) -> list[types.FrameType]:
    """The frames of a suspended coroutine and of what it awaits, outermost first."""
    frames: list[types.FrameType] = []
    while coro is not None:
        if hasattr(coro, "cr_await"):
            frame, coro = coro.cr_frame, coro.cr_await
        elif hasattr(coro, "ag_await"):
            frame, coro = coro.ag_frame, coro.ag_await
        else:
            break
        if frame is not None:  # a Cython coroutine has none; what it awaits still counts
            frames.append(frame)
    return frames


def _running_stack(depth: int) -> list[types.FrameType]:
    """The frames of the running task, innermost first, from ``depth`` frames up."""
    frames: list[types.FrameType] = []
    frame: types.FrameType | None = sys._getframe(depth + 1)
    try:
        while frame is not None:
            frames.append(frame)
            back = frame.f_back
            if _is_suspendable(frame) and back is not None and not _is_suspendable(back):
                break  # below the outermost coroutine is the task step that runs it
            frame = back
    finally:
        frame = None
    return frames


def _trim(stack: list[types.FrameType], keep_first: int | None) -> list[types.FrameType]:
    """Keep ``abs(limit)`` entries: positive counts from the list's start, negative its end."""
    if keep_first is None:
        return stack
    return stack[:keep_first] if keep_first > 0 else stack[keep_first:]


def _entries(frames: Iterable[types.FrameType]) -> tuple[FrameCallGraphEntry, ...]:
    return tuple(FrameCallGraphEntry(f) for f in frames)


# -- capture -------------------------------------------------------------------------------

def _check_future(future: Any) -> None:
    if not _is_future(future):
        raise TypeError(f"{future!r} object does not appear to be compatible with asyncio.Future")


def _check_limit(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def _graph_of_suspended(future: Any, limit: int | None, index: _AwaiterIndex,
                        path: frozenset[int]) -> FutureCallGraph:
    """The graph of a future that is not running now (its stack read from its coroutine)."""
    _check_future(future)
    frames: list[types.FrameType] = []
    get_coro = getattr(future, "get_coro", None)
    if get_coro is not None and limit != 0:
        frames = _coroutine_chain(get_coro())
    # 3.14's convention for both kinds of stack: a positive limit keeps the outermost
    # entries (nearest where the task started), a negative one the innermost.
    frames = _trim(frames, limit)
    return FutureCallGraph(future, _entries(reversed(frames)),
                           _awaited_by(future, limit, index, path))


def _awaited_by(future: Any, limit: int | None, index: _AwaiterIndex,
                path: frozenset[int]) -> tuple[FutureCallGraph, ...]:
    """Graphs of the awaiters of ``future``; a cycle (tasks awaiting each other) stops."""
    path = path | {id(future)}
    return tuple(_graph_of_suspended(waiter, limit, index, path)
                 for waiter in index.awaiters(future) if id(waiter) not in path)


def capture_call_graph(future: Any = None, /, *, depth: int = 1,
                       limit: int | None = None) -> FutureCallGraph | None:
    """Capture the async call graph of the current task or of ``future``.

    ``depth`` skips that many frames of the current task's stack; ``limit`` keeps at most
    ``abs(limit)`` entries of each stack (positive: nearest the invocation point, negative:
    the outermost; 0: no stacks, only the awaited-by edges).
    """
    _check_limit("depth", depth)
    if limit is not None:
        _check_limit("limit", limit)
    loop = asyncio._get_running_loop()
    index = _AwaiterIndex()
    if future is not None:
        if loop is None or future is not asyncio.current_task(loop):
            return _graph_of_suspended(future, limit, index, frozenset())
    elif loop is None:
        raise RuntimeError("capture_call_graph() is called outside of a running event loop "
                           "and no *future* to introspect was provided")
    else:
        future = asyncio.current_task(loop)
    if future is None:
        return None
    _check_future(future)
    stack = [] if limit == 0 else _running_stack(depth)
    if limit is not None:
        stack = _trim(stack, -limit)
    return FutureCallGraph(future, _entries(stack),
                           _awaited_by(future, limit, index, frozenset()))


# -- text ----------------------------------------------------------------------------------

def _frame_line(frame: types.FrameType) -> str:
    code = frame.f_code
    flags = code.co_flags
    if flags & _CO_COROUTINE:
        tag = "async "
    elif flags & _CO_ASYNC_GENERATOR:
        tag = "async generator "
    elif flags & (_CO_GENERATOR | _CO_ITERABLE_COROUTINE):
        tag = "generator "
    else:
        tag = ""
    return (f"  |   File {code.co_filename!r}, line {frame.f_lineno}, in "
            f"{tag}{code.co_qualname}()")


def _render(graph: FutureCallGraph, lines: list[str], level: int) -> None:
    indent = "    " * level
    fut = graph.future
    if isinstance(fut, asyncio.Task):
        lines.append(f"{indent}* Task(name={fut.get_name()!r}, id={id(fut):#x})")
    else:
        lines.append(f"{indent}* Future(id={id(fut):#x})")
    if graph.call_stack:
        lines.append(f"{indent}  + Call stack:")
        for entry in graph.call_stack:
            lines.append(indent + _frame_line(entry.frame))
    if graph.awaited_by:
        lines.append(f"{indent}  + Awaited by:")
        for awaiter in graph.awaited_by:
            _render(awaiter, lines, level + 1)


def format_call_graph(future: Any = None, /, *, depth: int = 1,
                      limit: int | None = None) -> str:
    """Return the async call graph of the current task or of ``future`` as text."""
    graph = capture_call_graph(future, depth=depth + 1, limit=limit)
    if graph is None:
        return ""
    lines: list[str] = []
    try:
        _render(graph, lines, 0)
    finally:
        del graph  # it holds frames: let them go at once
    return "\n".join(lines)


def print_call_graph(future: Any = None, /, *, file: TextIO | None = None, depth: int = 1,
                     limit: int | None = None) -> None:
    """Print the async call graph of the current task or of ``future`` (to stdout)."""
    # depth + 1: this frame is not part of the graph (gh-156327 fixed 3.14's off-by-one).
    print(format_call_graph(future, depth=depth + 1, limit=limit), file=file)

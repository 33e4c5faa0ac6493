"""Structured concurrency: ``TaskGroup``.

Follows ``asyncio.taskgroups`` of the running Python.  The group belongs to the task that
enters it (the parent).  Leaving the block waits for every child.  The first child that
fails with anything but CancelledError aborts the group: the other children are cancelled,
and so is the parent, once, so that it leaves whatever it is awaiting inside the block; on
the way out that one request is withdrawn with ``uncancel()`` so an outer cancel still
propagates.  The collected errors leave as ``BaseExceptionGroup('unhandled errors in a
TaskGroup', ...)``; SystemExit and KeyboardInterrupt leave bare, as themselves.

Version differences kept here:
- 3.12: a child that is already done when created (eager start) is accounted at once.
- 3.13: ``create_task`` closes the coroutine it refuses; ``name`` goes to
  ``loop.create_task``; the parent's ``uncancel()`` happens after the children are done and
  an outer cancellation is re-armed when errors are raised; ``CancelledError`` subclasses
  count as cancellations.
PYTEST_DONT_REWRITE: the ``assert`` statements here are asyncio's own checks, with asyncio's
messages; batonio's pytest plugin makes pytest rewrite its distribution's modules, which
would change those messages in every user's test session.
"""

from __future__ import annotations

import sys
from asyncio import events as _events
from asyncio import exceptions as _exceptions
from asyncio import tasks as _aio_tasks
from types import TracebackType
from typing import Any

from ._spawn import spawn_task

__all__ = ["TaskGroup"]

_PY312 = sys.version_info >= (3, 12)
_PY313 = sys.version_info >= (3, 13)

CancelledError = _exceptions.CancelledError
_current_task = _aio_tasks.current_task


def _is_cancellation(et: type[BaseException] | None) -> bool:
    """Whether an exception type counts as a cancellation (3.13: subclasses too)."""
    if et is None:
        return False
    if _PY313:
        return issubclass(et, CancelledError)
    return et is CancelledError


def _is_fatal(exc: BaseException) -> bool:
    """SystemExit and KeyboardInterrupt escape the group unwrapped."""
    return isinstance(exc, (SystemExit, KeyboardInterrupt))


class TaskGroup:
    """Asynchronous context manager that runs tasks and waits for all of them on exit."""

    def __init__(self) -> None:
        """Create a group; it is bound to a loop and a parent task when entered."""
        self._entered = False
        self._exiting = False
        self._aborting = False
        self._loop: Any = None
        self._parent_task: Any = None
        self._parent_cancel_requested = False
        self._tasks: set[Any] = set()
        self._errors: list[BaseException] | None = []
        self._base_error: BaseException | None = None
        self._on_completed_fut: Any = None

    def __repr__(self) -> str:
        parts = []
        if self._tasks:
            parts.append(f" tasks={len(self._tasks)}")
        if self._errors:
            parts.append(f" errors={len(self._errors)}")
        if self._aborting:
            parts.append(" cancelling")
        elif self._entered:
            parts.append(" entered")
        return f"<TaskGroup{''.join(parts)}>"

    async def __aenter__(self) -> TaskGroup:
        """Bind to the running loop and the current task."""
        if self._entered:
            raise RuntimeError(f"TaskGroup {self!r} has already been entered")
        if self._loop is None:
            self._loop = _events.get_running_loop()
        self._parent_task = _current_task(self._loop)
        if self._parent_task is None:
            raise RuntimeError(f"TaskGroup {self!r} cannot determine the parent task")
        self._entered = True
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        """Wait for every child, then raise what the group collected."""
        self._exiting = True
        if exc is not None and _is_fatal(exc) and self._base_error is None:
            self._base_error = exc
        propagate: BaseException | None = exc if _is_cancellation(et) else None

        if not _PY313 and self._parent_cancel_requested:
            # Our own request to cancel the parent is withdrawn whatever happens.
            if self._parent_task.uncancel() == 0:
                propagate = None

        if et is not None and not self._aborting:
            # The block itself failed or the parent is being cancelled: stop the children.
            self._abort()

        # A loop, because the parent may be cancelled again while we wait.
        while self._tasks:
            if self._on_completed_fut is None:
                self._on_completed_fut = self._loop.create_future()
            try:
                await self._on_completed_fut
            except CancelledError as ex:
                if not self._aborting:
                    # The parent is cancelled from outside while children still run.
                    propagate = ex
                    self._abort()
            self._on_completed_fut = None

        if self._base_error is not None:
            raise self._base_error

        if _PY313 and self._parent_cancel_requested:
            if self._parent_task.uncancel() == 0:
                propagate = None

        errors = self._errors
        assert errors is not None
        if propagate is not None and not errors:
            raise propagate
        if et is not None and not _is_cancellation(et):
            assert exc is not None
            errors.append(exc)
        if errors:
            if _PY313 and self._parent_task.cancelling():
                # Keep an outside cancellation counted once while the group error leaves.
                self._parent_task.uncancel()
                self._parent_task.cancel()
            self._errors = None  # do not keep the exceptions (and their frames) alive
            try:
                raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors) from None
            finally:
                del errors

    def create_task(self, coro: Any, *, name: str | None = None, context: Any = None) -> Any:
        """Start a task in this group and return it."""
        refusal = None
        if not self._entered:
            refusal = f"TaskGroup {self!r} has not been entered"
        elif self._exiting and not self._tasks:
            refusal = f"TaskGroup {self!r} is finished"
        elif self._aborting:
            refusal = f"TaskGroup {self!r} is shutting down"
        if refusal is not None:
            if _PY313:
                coro.close()
            raise RuntimeError(refusal)
        loop = self._loop
        task = spawn_task(loop, coro, name, context)
        if _PY312 and task.done():
            # Finished during creation (eager start): account for it now.
            self._on_task_done(task)
        else:
            self._tasks.add(task)
            task.add_done_callback(self._on_task_done)
        return task

    def _abort(self) -> None:
        """Cancel every unfinished child."""
        self._aborting = True
        for t in self._tasks:
            if not t.done():
                t.cancel()

    def _on_task_done(self, task: Any) -> None:
        """Done callback of each child: record its error and abort the group on the first."""
        self._tasks.discard(task)
        if self._on_completed_fut is not None and not self._tasks:
            if not self._on_completed_fut.done():
                self._on_completed_fut.set_result(True)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        assert self._errors is not None
        self._errors.append(exc)
        if _is_fatal(exc) and self._base_error is None:
            self._base_error = exc
        parent = self._parent_task
        if parent.done():
            # Only possible when the parent exits the group some other way.
            self._loop.call_exception_handler({
                "message": f"Task {task!r} has errored out but its parent "
                           f"task {parent} is already completed",
                "exception": exc,
                "task": task,
            })
            return
        if not self._aborting and not self._parent_cancel_requested:
            # Wake the parent from whatever it awaits inside the block; withdrawn on exit.
            self._abort()
            self._parent_cancel_requested = True
            parent.cancel()

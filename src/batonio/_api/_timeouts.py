"""Timeout context managers: ``timeout``, ``timeout_at`` and the ``Timeout`` they return.

Follows ``asyncio.timeouts`` of the running Python.  A ``Timeout`` arms one loop timer
(``call_at``, or ``call_soon`` for a deadline already past); when it fires it cancels the
task that entered the block, and on the way out the block turns that cancellation into
``TimeoutError``, but only if no one else asked to cancel the task meanwhile: the count kept
by ``Task.cancelling()``/``uncancel()`` tells our own request apart from an outer one, so an
outer cancel is never swallowed and nested timeouts each claim only their own.

States (the value is what ``repr`` shows)::

    created --enter--> active --timer--> expiring --exit--> expired
                          \\--exit--> finished

3.13 (gh-102780 follow-up) also links a ``TimeoutError`` into the ``__context__`` chain of a
non-cancellation exception raised after expiry; 3.11 and 3.12 leave such exceptions alone.
"""

from __future__ import annotations

import enum
import sys
from asyncio import events as _events
from asyncio import exceptions as _exceptions
from asyncio import tasks as _aio_tasks
from types import TracebackType
from typing import Any, final

__all__ = ["Timeout", "timeout", "timeout_at"]

_PY313 = sys.version_info >= (3, 13)

_get_running_loop = _events.get_running_loop
_current_task = _aio_tasks.current_task
CancelledError = _exceptions.CancelledError


class _Phase(enum.Enum):
    """Where a Timeout is in its life; the values are asyncio's state names."""

    NEW = "created"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    FINISHED = "finished"


@final
class Timeout:
    """Asynchronous context manager that cancels its block at a deadline (loop time)."""

    def __init__(self, when: float | None) -> None:
        """Prepare a timeout for deadline ``when`` (None: never)."""
        self._phase = _Phase.NEW
        self._when = when
        self._timer: Any = None
        self._task: Any = None
        self._cancelling = 0

    def when(self) -> float | None:
        """Return the current deadline."""
        return self._when

    def reschedule(self, when: float | None) -> None:
        """Move the deadline of an active timeout (None: never)."""
        phase = self._phase
        if phase is not _Phase.ACTIVE:
            if phase is _Phase.NEW:
                raise RuntimeError("Timeout has not been entered")
            raise RuntimeError(f"Cannot change state of {phase.value} Timeout")
        self._when = when
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if when is not None:
            loop = _get_running_loop()
            if when <= loop.time():
                self._timer = loop.call_soon(self._expire)
            else:
                self._timer = loop.call_at(when, self._expire)

    def expired(self) -> bool:
        """Return True once the deadline has cancelled the block."""
        return self._phase is _Phase.EXPIRING or self._phase is _Phase.EXPIRED

    def __repr__(self) -> str:
        extra = ""
        if self._phase is _Phase.ACTIVE:
            when = None if self._when is None else round(self._when, 3)
            extra = f" when={when}"
        return f"<Timeout [{self._phase.value}]{extra}>"

    async def __aenter__(self) -> Timeout:
        """Arm the deadline for the current task."""
        if self._phase is not _Phase.NEW:
            raise RuntimeError("Timeout has already been entered")
        task = _current_task()
        if task is None:
            raise RuntimeError("Timeout should be used inside a task")
        self._phase = _Phase.ACTIVE
        self._task = task
        self._cancelling = task.cancelling()
        self.reschedule(self._when)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc_val: BaseException | None,
                        exc_tb: TracebackType | None) -> bool | None:
        """Disarm; turn our own cancellation into TimeoutError."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._phase is _Phase.ACTIVE:
            self._phase = _Phase.FINISHED
            return None
        if self._phase is not _Phase.EXPIRING:
            raise AssertionError(f"{self!r} exited twice")
        self._phase = _Phase.EXPIRED
        # uncancel() must run in every case: it withdraws the request _expire() made.
        if self._task.uncancel() > self._cancelling or exc_type is None:
            return None  # someone else cancelled too: let their CancelledError through
        if _PY313:
            if issubclass(exc_type, CancelledError):
                raise TimeoutError from exc_val
            if exc_val is not None:
                _link_timeout_error(exc_val)
                if isinstance(exc_val, ExceptionGroup):
                    for inner in exc_val.exceptions:
                        _link_timeout_error(inner)
        elif exc_type is CancelledError:
            raise TimeoutError from exc_val
        return None

    def _expire(self) -> None:
        """Timer callback: cancel the task inside the block."""
        self._task.cancel()
        self._phase = _Phase.EXPIRING
        self._timer = None


def _link_timeout_error(exc: BaseException) -> None:
    """3.13: put a TimeoutError between ``exc`` and the CancelledError in its context chain."""
    while exc.__context__ is not None:
        context = exc.__context__
        if isinstance(context, CancelledError):
            err = TimeoutError()
            err.__context__ = err.__cause__ = context
            exc.__context__ = err
            return
        exc = context


def timeout(delay: float | None) -> Timeout:
    """Return a context manager that cancels its block after ``delay`` seconds."""
    loop = _get_running_loop()
    return Timeout(None if delay is None else loop.time() + delay)


def timeout_at(when: float | None) -> Timeout:
    """Return a context manager that cancels its block at loop time ``when``."""
    return Timeout(when)

"""Bind a synchronisation primitive to the first event loop that makes it wait.

Follows ``asyncio.mixins._LoopBoundMixin``: a primitive created outside any loop belongs to
no loop until the first time it has to create a waiter future; from then on it belongs to the
loop that was running at that moment, and using it (in a way that needs a loop) from any
other loop raises ``RuntimeError("<repr> is bound to a different event loop")``.

Invariant: ``_loop`` changes at most once, from ``None`` to a loop, under a process-wide
lock (two threads may race to bind the same object; exactly one wins).  Only slow paths
(those that are about to suspend) call :meth:`LoopBound._get_loop`, so the uncontended fast
paths never touch the thread-local running loop.
"""

from __future__ import annotations

import threading
from asyncio import AbstractEventLoop
from asyncio.events import _get_running_loop

__all__ = ["LoopBound"]

_binding_lock = threading.Lock()


class LoopBound:
    """Base for objects that belong to the first running loop that needs them."""

    _loop: AbstractEventLoop | None = None

    def _get_loop(self) -> AbstractEventLoop:
        """Return the running loop, binding to it on first use; refuse any other loop."""
        loop = _get_running_loop()
        if self._loop is None:
            with _binding_lock:
                if self._loop is None:
                    self._loop = loop
        if loop is not self._loop:
            raise RuntimeError(f"{self!r} is bound to a different event loop")
        # Without a running loop this is None, and the caller fails as asyncio's would.
        return loop  # type: ignore[return-value]


def _reject_keywords(owner: str, unexpected: dict[str, object]) -> None:
    """Refuse keywords such as the ``loop=`` argument removed in 3.10, in Python's words.

    Compiled constructors would word the error without the class name; asyncio's users
    (and tests) match on ``Lock.__init__() got an unexpected keyword argument 'loop'``.
    """
    name = next(iter(unexpected))
    raise TypeError(f"{owner}.__init__() got an unexpected keyword argument '{name}'")

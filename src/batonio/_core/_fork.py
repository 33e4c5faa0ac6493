"""Loops across ``os.fork``: a forked child must never touch its parent's epoll set.

Some facts about fork that shape this module: the child inherits every fd, and an epoll
instance is shared, not copied — an ``epoll_ctl`` in the child (a transport closing, a
reader added) edits the parent's interest list, so the parent silently stops hearing about
its sockets; reading the inherited eventfd steals the parent's wake-ups, writing it wakes the
parent for nothing.  asyncio does nothing about this on 3.11 and, from 3.12, only forgets
the running loop and the policy's loops in the child (gh-99949); a parent's loop used in
the child still shares the epoll set.

So every batonio loop is tracked here, and an ``os.register_at_fork`` hook detaches each one
in the child: its poller becomes a :class:`ForkedPoller` (the child's copy of the epoll fd is
closed, every later registration is ignored, polling raises), its wake-up fd copies are
closed, and running it raises RuntimeError saying so.  The child creates its own loop
(``asyncio.run`` does), which owns a fresh epoll instance.  Nothing here runs in the parent.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

__all__ = ["ForkedPoller", "forked_loop_error", "track_loop"]

_live_loops: weakref.WeakSet[Any] = weakref.WeakSet()


def track_loop(loop: Any) -> None:
    """Remember ``loop`` so that a forked child detaches it from the parent's fds."""
    _live_loops.add(loop)


def forked_loop_error(loop: Any, parent_pid: int) -> RuntimeError:
    """The error for using, in a forked child, a loop its parent created."""
    return RuntimeError(
        f"{loop!r} was created by process {parent_pid} and this is its forked child "
        f"{os.getpid()}: a loop cannot be shared across fork (its epoll set and wake-up fd "
        "are the parent's); create a new event loop in the child, as asyncio.run() does"
    )


class ForkedPoller:
    """The poller of a loop inherited through fork: registers nothing, refuses to poll."""

    def __init__(self, loop: Any, parent_pid: int) -> None:
        self._loop = weakref.ref(loop)
        self._parent_pid = parent_pid

    def modify(self, fd: int, mask: int) -> None:
        """Ignore: the epoll set belongs to the parent (transports closing in the child)."""

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        """Refuse: waiting on the parent's fds in the child cannot be right."""
        raise forked_loop_error(self._loop(), self._parent_pid)

    def close(self) -> None:
        """Nothing left to release: the child's epoll fd copy was closed at fork."""

    def fileno(self) -> int:
        """No fd: the inherited one was closed."""
        return -1


def _after_fork_in_child() -> None:
    """Detach every loop the parent had from the parent's fds (runs in the child only)."""
    for loop in list(_live_loops):
        try:
            loop._after_fork_in_child()
        except Exception:  # noqa: BLE001 - a half-built loop must not break the child
            pass
    _live_loops.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

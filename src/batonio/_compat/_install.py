"""``install()``: make every new asyncio loop in this process a batonio loop.

asyncio creates loops in exactly one place that a program does not name itself: the event
loop policy (``asyncio.new_event_loop()``, the main thread's on-demand loop in
``asyncio.get_event_loop()``, and ``asyncio.run()`` / ``asyncio.Runner`` without a
``loop_factory``, which call ``asyncio.new_event_loop()``).  So installing batonio is
swapping the process-wide policy for :class:`~batonio._compat._policy.EventLoopPolicy`,
the way ``uvloop.install()`` does.  Loops a program builds by naming a class
(``asyncio.SelectorEventLoop()``) or passes as ``loop_factory`` stay what it asked for.

Invariants: ``install()`` is idempotent (a batonio policy already in place is kept, with its
current loops); ``uninstall()`` restores the policy ``install()`` replaced, and does nothing
when the policy is no longer the one ``install()`` set.
"""

from __future__ import annotations

import threading
from asyncio import AbstractEventLoopPolicy

from batonio._api._loops import get_event_loop_policy, set_event_loop_policy
from batonio._compat._policy import EventLoopPolicy

__all__ = ["install", "is_installed", "uninstall"]

_lock = threading.Lock()
# (the policy install() put in place, the policy it replaced), or None when not installed.
_installed: tuple[EventLoopPolicy, AbstractEventLoopPolicy] | None = None


def install() -> None:
    """Make asyncio create batonio loops from now on (``asyncio.run``, ``new_event_loop``…)."""
    global _installed
    with _lock:
        previous = get_event_loop_policy()
        if isinstance(previous, EventLoopPolicy):
            return
        policy = EventLoopPolicy()
        set_event_loop_policy(policy)
        _installed = (policy, previous)


def uninstall() -> None:
    """Undo ``install()``: put back the policy it replaced, if ours is still in place."""
    global _installed
    with _lock:
        if _installed is None:
            return
        policy, previous = _installed
        _installed = None
        if get_event_loop_policy() is policy:
            set_event_loop_policy(previous)


def is_installed() -> bool:
    """Return True when the process-wide policy is a batonio policy."""
    return isinstance(get_event_loop_policy(), EventLoopPolicy)

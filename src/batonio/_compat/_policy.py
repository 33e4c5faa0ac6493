"""batonio's event loop policy: asyncio's default policy rules, batonio loops.

Follows ``asyncio.events.BaseDefaultEventLoopPolicy`` and asyncio's Unix default policy
(``asyncio.unix_events._UnixDefaultEventLoopPolicy``):

* each thread has its own current loop; ``set_event_loop`` sets it, ``get_event_loop``
  returns it;
* the main thread alone gets a loop created on demand, and only while nobody has called
  ``set_event_loop`` in it (``set_event_loop(None)`` turns the convenience off for good);
  since 3.12 that creation emits ``DeprecationWarning("There is no current event loop")``
  attributed to the first frame outside asyncio and batonio;
* any other thread without a loop gets
  ``RuntimeError("There is no current event loop in thread 'name'.")``;
* ``new_event_loop()`` creates a batonio loop;
* the child-watcher methods (deprecated since 3.12) delegate to asyncio's watchers, which
  batonio's loop does not need but programs may still call; setting a loop in the main
  thread attaches it to a watcher already chosen, as asyncio does;
* since 3.12 a forked child starts with no current loop in any policy instance (gh-99949's
  ``os.register_at_fork`` hook resets asyncio's own policy the same way).
PYTEST_DONT_REWRITE: the ``assert`` statements here are asyncio's own checks, with asyncio's
messages; batonio's pytest plugin makes pytest rewrite its distribution's modules, which
would change those messages in every user's test session.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
import weakref
from asyncio import AbstractEventLoop, AbstractEventLoopPolicy
from typing import Any

from batonio._api._loops import _loop_class

__all__ = ["EventLoopPolicy"]

_PY312 = sys.version_info >= (3, 12)


class _ThreadState(threading.local):
    """The current loop of one thread, and whether ``set_event_loop`` was ever called in it."""

    loop: AbstractEventLoop | None = None
    set_called: bool = False


# Every live policy, so that a forked child can forget the parent's loops (3.12+).
_policies: weakref.WeakSet[EventLoopPolicy] = weakref.WeakSet()


def _warning_stacklevel() -> int:
    """Return the stacklevel that blames the first caller outside asyncio and batonio."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if not name.startswith(("asyncio.", "batonio.")) and name not in ("asyncio", "batonio"):
            break
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _warn_child_watcher_deprecated(name: str) -> None:
    """Emit 3.12+'s deprecation warning for the child-watcher API, blaming the caller."""
    warnings.warn(
        f"{name!r} is deprecated as of Python 3.12 and will be removed in Python 3.14.",
        DeprecationWarning,
        stacklevel=3,
    )


class EventLoopPolicy(AbstractEventLoopPolicy):
    """One current batonio loop per thread, created on demand in the main thread only."""

    def __init__(self) -> None:
        self._state = _ThreadState()
        self._watcher: Any = None
        _policies.add(self)

    def get_event_loop(self) -> AbstractEventLoop:
        """Return this thread's current loop, creating one in the main thread if none was set."""
        state = self._state
        if (
            state.loop is None
            and not state.set_called
            and threading.current_thread() is threading.main_thread()
        ):
            if _PY312:
                warnings.warn(
                    "There is no current event loop",
                    DeprecationWarning,
                    stacklevel=_warning_stacklevel(),
                )
            self.set_event_loop(self.new_event_loop())
        loop = state.loop
        if loop is None:
            name = threading.current_thread().name
            raise RuntimeError(f"There is no current event loop in thread {name!r}.")
        return loop

    def set_event_loop(self, loop: AbstractEventLoop | None) -> None:
        """Make ``loop`` this thread's current loop (``None`` clears it)."""
        self._state.set_called = True
        if loop is not None and not isinstance(loop, AbstractEventLoop):
            raise TypeError(
                "loop must be an instance of AbstractEventLoop or None, "
                f"not '{type(loop).__name__}'"
            )
        self._state.loop = loop
        if self._watcher is not None and threading.current_thread() is threading.main_thread():
            self._watcher.attach_loop(loop)

    def new_event_loop(self) -> AbstractEventLoop:
        """Create a new batonio event loop; call ``set_event_loop`` to make it current."""
        return _loop_class()()

    # -- child watchers (asyncio's Unix policy API, deprecated since 3.12) -------------------

    def get_child_watcher(self) -> Any:
        """Return the child-process watcher, creating asyncio's default one on first use."""
        if self._watcher is None:
            self._watcher = _default_watcher()
        if _PY312:
            _warn_child_watcher_deprecated("get_child_watcher")
        return self._watcher

    def set_child_watcher(self, watcher: Any) -> None:
        """Replace the child-process watcher, closing the previous one."""
        from asyncio import unix_events

        # asyncio checks with an assert too (so ``-O`` skips it).
        assert watcher is None or isinstance(watcher, unix_events.AbstractChildWatcher)
        if self._watcher is not None:
            self._watcher.close()
        self._watcher = watcher
        if _PY312:
            _warn_child_watcher_deprecated("set_child_watcher")

    def _forget_loops(self) -> None:
        """Drop every thread's current loop (used in a forked child)."""
        self._state = _ThreadState()


def _default_watcher() -> Any:
    """Create the watcher asyncio's Unix policy would: pidfd-based when usable (3.12+)."""
    from asyncio import unix_events

    if _PY312 and unix_events.can_use_pidfd():  # type: ignore[attr-defined]
        return unix_events.PidfdChildWatcher()
    return unix_events.ThreadedChildWatcher()


def _after_fork_in_child() -> None:
    """Forget the parent's current loops: they belong to the parent process."""
    for policy in list(_policies):
        policy._forget_loops()


if _PY312 and hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

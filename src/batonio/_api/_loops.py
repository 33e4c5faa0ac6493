"""Event-loop access functions: the running loop, the current loop, the policy.

Follows ``asyncio.events``.  batonio keeps no loop state of its own here: the running loop
lives in asyncio's C thread-local (``asyncio.events._get_running_loop`` /
``_set_running_loop``) and the current loop and policy live in asyncio's process-wide policy.
Sharing that state is what lets stdlib code (``asyncio.get_running_loop()`` inside a library,
``asyncio.current_task()``) see a batonio loop, and lets ``batonio.set_event_loop`` and
``asyncio.get_event_loop`` agree.

Invariants:

* ``get_running_loop``, ``_get_running_loop``, ``_set_running_loop`` and ``get_event_loop``
  are asyncio's own C accelerated functions, bound once.  They are the hottest functions of
  the API (every ``sleep``, every lock wait asks for the running loop), and binding
  ``get_event_loop`` directly keeps the 3.12+ ``DeprecationWarning("There is no current event
  loop")`` attributed to the caller's line, as asyncio attributes it: a Python wrapper here
  would be the frame the policy blames, and the warning would be hidden by the default
  filters.
* ``new_event_loop()`` always returns a batonio loop, whatever the policy: it is the loop
  factory users hand to ``asyncio.run(..., loop_factory=batonio.new_event_loop)``.
* Using these functions never changes what plain ``asyncio`` does: only
  ``batonio.install()`` swaps the process-wide policy.  Until then the policy (and so the loop
  ``get_event_loop()`` creates on its own in the main thread) is whatever asyncio has.
"""

from __future__ import annotations

import asyncio.events as _events
from asyncio import AbstractEventLoop, AbstractEventLoopPolicy

__all__ = [
    "_get_running_loop",
    "_set_running_loop",
    "get_event_loop",
    "get_event_loop_policy",
    "get_running_loop",
    "new_event_loop",
    "set_event_loop",
    "set_event_loop_policy",
]

# The running loop: asyncio's thread-local, so stdlib and batonio agree on it (see above).
get_running_loop = _events.get_running_loop
_get_running_loop = _events._get_running_loop
_set_running_loop = _events._set_running_loop

# The current loop: the running one, else the policy's (asyncio's function, see above).
get_event_loop = _events.get_event_loop


_STDLIB_DEFAULT_POLICY: type = _events.AbstractEventLoopPolicy
try:
    import asyncio.unix_events as _unix_events

    _STDLIB_DEFAULT_POLICY = _unix_events.DefaultEventLoopPolicy
except ImportError:  # pragma: no cover - not a Unix platform
    pass


def _loop_class() -> type[AbstractEventLoop]:
    """Return batonio's event loop class; the one place that names it."""
    # Imported lazily: the loop sits above this layer and may import the API in turn.
    from batonio._loop import EventLoop

    return EventLoop


def new_event_loop(*, clock: object = None, chaos_seed: int | None = None) -> AbstractEventLoop:
    """Create a new event loop, without making it current: batonio's, unless a custom policy says otherwise.

    With asyncio's default policy (or none set yet) the loop is batonio's; a policy the
    program installed itself is honoured, as ``asyncio.new_event_loop`` honours it.
    ``clock=`` (a ``batonio.VirtualClock``) and ``chaos_seed=`` always give batonio's loop.
    """
    if clock is not None or chaos_seed is not None:
        return _loop_class()(clock=clock, chaos_seed=chaos_seed)  # type: ignore[call-arg]
    policy = _events._event_loop_policy  # type: ignore[attr-defined]
    if policy is None or type(policy) is _STDLIB_DEFAULT_POLICY:
        return _loop_class()()
    return policy.new_event_loop()  # type: ignore[no-any-return]


def set_event_loop(loop: AbstractEventLoop | None) -> None:
    """Make ``loop`` the current event loop of this thread, through the policy."""
    get_event_loop_policy().set_event_loop(loop)


def get_event_loop_policy() -> AbstractEventLoopPolicy:
    """Return the process-wide event loop policy (asyncio's default until one is set)."""
    return _events.get_event_loop_policy()


def set_event_loop_policy(policy: AbstractEventLoopPolicy | None) -> None:
    """Set the process-wide event loop policy; ``None`` restores asyncio's default."""
    if policy is not None and not isinstance(policy, AbstractEventLoopPolicy):
        raise TypeError(
            "policy must be an instance of AbstractEventLoopPolicy or None, "
            f"not '{type(policy).__name__}'"
        )
    _events.set_event_loop_policy(policy)

"""From ``clock=``/``chaos_seed=`` and the ``BATONIO_*`` environment to a loop's hooks.

The loop constructor calls :func:`configure_loop`; nothing here runs per iteration.

Environment (read when a loop is created, so ``python -m batonio --virtual-time`` and the
other options reach every loop of the program, and its child processes):

* ``BATONIO_VIRTUAL_TIME=1`` — each loop gets its own ``VirtualClock()``;
* ``BATONIO_CHAOS_SEED=N`` — chaos scheduling with seed N;
* ``BATONIO_WATCHDOG=SECONDS`` — the blocked-loop watchdog with that threshold.

Explicit arguments win over the environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from .._core._instrumented import LoopHooks
from ._deadlock import report_deadlock
from ._virtual_time import VirtualClock

# _chaos and _watchdog are imported when first used: most loops never turn them on.

__all__ = ["configure_loop", "resolve_clock", "watchdog_from_environment"]

_chaos_logger = logging.getLogger("batonio.chaos")


def resolve_clock(clock: object) -> tuple[Callable[[], float] | None, VirtualClock | None]:
    """The loop's time function and virtual clock for ``clock=`` (None: the environment's)."""
    if clock is None:
        if _env_flag("BATONIO_VIRTUAL_TIME"):
            clock = VirtualClock()
        else:
            return None, None
    if isinstance(clock, VirtualClock):
        return clock.time, clock
    if isinstance(clock, type):
        raise TypeError(f"clock must be a clock object, got the class {clock.__qualname__}: pass an instance, e.g. clock={clock.__qualname__}()")
    time_method = getattr(clock, "time", None)
    if callable(time_method):
        return time_method, None  # any object with time(): loop.time() reads it
    if callable(clock):
        return clock, None  # a function returning the time (the engine's own seam)
    raise TypeError(
        f"clock must be a batonio.VirtualClock or an object with a time() method, got {clock!r}: "
        "pass clock=batonio.VirtualClock() for virtual time"
    )


def resolve_chaos_seed(seed: object) -> int | None:
    """``chaos_seed=`` checked, or ``BATONIO_CHAOS_SEED`` when it is None."""
    if seed is not None:
        from ._chaos import check_seed

        return check_seed(seed)
    text = os.environ.get("BATONIO_CHAOS_SEED", "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"BATONIO_CHAOS_SEED must be an integer, got {text!r}") from None


def watchdog_from_environment() -> float | None:
    """The threshold in ``BATONIO_WATCHDOG``, or None when it is unset or empty."""
    text = os.environ.get("BATONIO_WATCHDOG", "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"BATONIO_WATCHDOG must be a number of seconds, got {text!r}") from None
    from ._watchdog import check_threshold

    return check_threshold(value, "BATONIO_WATCHDOG")


def configure_loop(loop: Any, virtual: VirtualClock | None, chaos_seed: int | None) -> None:
    """Install the hooks for virtual time and chaos on a new loop (nothing when both are off)."""
    if virtual is None and chaos_seed is None:
        return
    chaos = None
    if chaos_seed is not None:
        from ._chaos import Chaos

        chaos = Chaos(chaos_seed)
    if virtual is not None:
        virtual._bind(loop)
    loop._hooks = LoopHooks(
        clock=virtual,
        chaos=chaos,
        on_deadlock=report_deadlock if virtual is not None else None,
    )
    if chaos is not None:
        _chaos_logger.info(
            "chaos scheduling on %s with seed %d (reproduce with chaos_seed=%d or BATONIO_CHAOS_SEED=%d)",
            type(loop).__name__,
            chaos_seed,
            chaos_seed,
            chaos_seed,
        )


def _env_flag(name: str) -> bool:
    """A boolean environment variable: unset, empty or 0 is off, 1 is on; else ValueError."""
    text = os.environ.get(name, "").strip()
    if text in ("", "0"):
        return False
    if text == "1":
        return True
    raise ValueError(f"{name} must be 1 or 0, got {text!r}")

"""The loop's side of the debugging features: ``set_watchdog`` and their set-up and tear-down.

``EventLoop`` (``batonio._loop``) combines this mixin with the engine; the engine itself only
offers the seams (``_hooks``, ``_watchdog_on``, ``_step_seq``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._options import configure_loop, resolve_chaos_seed, watchdog_from_environment

if TYPE_CHECKING:
    from ._watchdog import Watchdog

__all__ = ["InstrumentsMixin"]


class InstrumentsMixin:
    """``set_watchdog`` and the set-up of virtual time and chaos for one loop."""

    _watchdog: Watchdog | None = None
    _hooks: Any
    _watchdog_on: bool

    def _init_instruments(self, virtual: Any, chaos_seed: object) -> None:
        """Install virtual time, chaos and the environment's watchdog (called by __init__)."""
        configure_loop(self, virtual, resolve_chaos_seed(chaos_seed))
        threshold = watchdog_from_environment()
        if threshold is not None:
            self.set_watchdog(threshold)

    def set_watchdog(self, seconds: float | None) -> None:
        """Report steps that block the loop longer than ``seconds`` (None: stop watching)."""
        threshold = None
        if seconds is not None:
            from ._watchdog import check_threshold

            threshold = check_threshold(seconds)
        old = self._watchdog
        if old is not None:
            self._watchdog = None
            self._watchdog_on = False
            old.stop()
        if threshold is not None:
            if self.is_closed():  # type: ignore[attr-defined]
                raise RuntimeError("Event loop is closed")
            from ._watchdog import Watchdog

            self._watchdog = Watchdog(self, threshold)
            self._watchdog_on = True

    def get_watchdog(self) -> float | None:
        """Return the watchdog's threshold in seconds, or None when it is off."""
        watchdog = self._watchdog
        return None if watchdog is None else watchdog.threshold

    def _close_instruments(self) -> None:
        """Stop the watchdog thread and free the virtual clock (the loop is closing)."""
        self.set_watchdog(None)
        hooks = self._hooks
        if hooks is not None and hooks.clock is not None:
            hooks.clock._unbind(self)


"""Beyond asyncio: virtual time, deadlock detection, the blocked-loop watchdog, chaos.

Each feature is off by default and reaches the engine only through the seams it offers
(``LoopCore._hooks`` for virtual time and chaos, ``_watchdog_on``/``_step_seq`` for the
watchdog): see ``batonio._core._instrumented``.  ``_options`` turns the ``clock=`` /
``chaos_seed=`` arguments and the ``BATONIO_*`` environment variables into those hooks.
"""

from __future__ import annotations

from ._deadlock import DeadlockError
from ._virtual_time import VirtualClock

__all__ = ["DeadlockError", "VirtualClock"]

"""Chaos scheduling: a seeded perturbation of what asyncio leaves unspecified.

With ``chaos_seed=N`` the loop still keeps every guarantee asyncio documents — callbacks
scheduled with ``call_soon`` run in FIFO order, a timer never fires before its time, a
callback never runs twice — but it changes, from one seeded random stream, the choices
asyncio makes without promising them:

* the order in which the I/O events of one poll are dispatched;
* one I/O event of a poll held back to the next iteration (now and then);
* the order of the timers that are due in the same iteration;
* a timer fired late by a small jitter (at most :data:`MAX_LATENESS`), once.

Programs whose correctness depends on one of those orders fail under some seed; the same
seed makes the same choices, so the failure reproduces from its seed.
"""

from __future__ import annotations

import heapq
import logging
import random
from typing import Any

__all__ = ["MAX_LATENESS", "Chaos", "check_seed"]

logger = logging.getLogger("batonio.chaos")

#: A late timer fires at most this many seconds (loop time) after it is due.
MAX_LATENESS = 0.002
_HOLD_PROBABILITY = 0.1
_LATE_PROBABILITY = 0.1


def check_seed(seed: object, source: str = "chaos_seed") -> int:
    """Return ``seed`` if it is an int (not a bool); TypeError naming ``source`` otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{source} must be an int, got {seed!r} ({type(seed).__name__})")
    return seed


class Chaos:
    """The seeded choices of one loop's chaos scheduling."""

    def __init__(self, seed: int) -> None:
        self.seed = check_seed(seed)
        self._random = random.Random(seed)
        self._held: list[tuple[int, int]] = []

    def __repr__(self) -> str:
        return f"<Chaos seed={self.seed}>"

    def has_held(self) -> bool:
        """True while an I/O event waits for the next iteration."""
        return bool(self._held)

    def perturb_events(self, events: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Merge the held-back events in, shuffle, and maybe hold one back."""
        if self._held:
            events = _merge(self._held, events)
            self._held = []
        elif not events:
            return events
        else:
            events = list(events)
        rng = self._random
        if len(events) > 1:
            rng.shuffle(events)
        # A held event is dispatched next iteration, after this one's timers and callbacks.
        if rng.random() < _HOLD_PROBABILITY:
            self._held.append(events.pop(rng.randrange(len(events))))
        return events

    def perturb_timers(self, loop: Any, due: list[Any]) -> list[Any]:
        """Return the due timers to run now, shuffled; those made late go back to the heap."""
        rng = self._random
        now: list[Any] = []
        for timer in due:
            # Late at most once: a timer still at its given time may be pushed back.
            if not timer._cancelled and timer._when == timer._when_given and rng.random() < _LATE_PROBABILITY:
                timer._when = timer._when + rng.random() * MAX_LATENESS
                timer._scheduled = True
                heapq.heappush(loop._scheduled, timer)
            else:
                now.append(timer)
        if len(now) > 1:
            rng.shuffle(now)
        return now


def _merge(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One event per fd, the masks of both lists combined."""
    masks: dict[int, int] = {}
    for fd, mask in first:
        masks[fd] = masks.get(fd, 0) | mask
    for fd, mask in second:
        masks[fd] = masks.get(fd, 0) | mask
    return list(masks.items())

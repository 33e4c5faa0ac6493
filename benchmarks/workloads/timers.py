"""Timers: 100k ``loop.call_later`` callbacks with random delays in [0, 10 ms).

The delays come from a seeded generator, so every loop gets the same schedule.  Measures the
timer heap (push, pop in order) and the loop's sleep-until-next-timer logic; the workload
cannot finish before its longest delay (< 10 ms) has passed.
"""

from __future__ import annotations

import random
from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SEED", "SIZE", "run"]

NAME = "timers"
DESCRIPTION = "call_later timers with seeded random delays in [0, 10 ms)"
SIZE = 100_000
SEED = 20240501


async def run(api: ModuleType, n: int) -> int:
    """Schedule ``n`` timers and wait until all have fired; return ``n``."""
    loop = api.get_running_loop()
    done = loop.create_future()
    rng = random.Random(SEED)
    delays = [rng.random() * 0.010 for _ in range(n)]
    left = n

    def fire() -> None:
        nonlocal left
        left -= 1
        if left == 0:
            done.set_result(None)

    call_later = loop.call_later
    for delay in delays:
        call_later(delay, fire)
    await done
    return n

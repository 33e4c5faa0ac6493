"""Future ping-pong: two tasks take turns waking each other through ``loop.create_future()``.

Each turn creates a future, resolves the other side's one and awaits its own: one future
resolution, one done callback and one task wake-up per operation.
"""

from __future__ import annotations

import asyncio
from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "future_pingpong"
DESCRIPTION = "two tasks waking each other through loop.create_future()"
SIZE = 100_000


async def run(api: ModuleType, n: int) -> int:
    """Play ``n`` turns on each side (2n wake-ups); return ``2 * n``."""
    loop = api.get_running_loop()
    create_future = loop.create_future
    # slots[i] is the future that side i is waiting on, or None.
    slots: list[asyncio.Future[None] | None] = [None, None]
    turns = [0, 0]

    async def side(me: int, turns_left: int) -> None:
        other = 1 - me
        for _ in range(turns_left):
            mine = create_future()
            slots[me] = mine
            theirs = slots[other]
            slots[other] = None
            if theirs is not None:
                theirs.set_result(None)
            await mine
            turns[me] += 1
        theirs = slots[other]
        slots[other] = None
        if theirs is not None:
            theirs.set_result(None)

    await api.gather(side(0, n), side(1, n))
    if turns != [n, n]:
        raise AssertionError(f"turns {turns}, expected {[n, n]}")
    return 2 * n

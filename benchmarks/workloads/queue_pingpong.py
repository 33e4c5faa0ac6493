"""Queue ping-pong: two tasks pass a counter back and forth through two ``Queue`` objects.

Each round trip is a ``put`` and a ``get`` that suspends on each side; the queues never hold
more than one item, so this measures the getter wake-up path, not buffering.
"""

from __future__ import annotations

import asyncio
from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "queue_pingpong"
DESCRIPTION = "two tasks passing a counter through two Queues (put/get)"
SIZE = 100_000


async def run(api: ModuleType, n: int) -> int:
    """Do ``n`` round trips; return ``2 * n`` (the number of items passed)."""
    there: asyncio.Queue[int] = api.Queue()
    back: asyncio.Queue[int] = api.Queue()

    async def pinger() -> int:
        value = 0
        for _ in range(n):
            await there.put(value)
            value = await back.get()
        return value

    async def ponger() -> None:
        for _ in range(n):
            value = await there.get()
            await back.put(value + 1)

    last, _ = await api.gather(pinger(), ponger())
    if last != n:
        raise AssertionError(f"counter ended at {last}, expected {n}")
    return 2 * n

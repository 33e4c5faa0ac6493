"""Event ping-pong: two tasks hand the turn back and forth through two ``Event`` objects.

Each round trip is a set, a wait that suspends, a wake-up and a clear on each side.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "event_pingpong"
DESCRIPTION = "two tasks alternating through two Events (set/wait/clear)"
SIZE = 100_000


async def run(api: ModuleType, n: int) -> int:
    """Do ``n`` round trips; return ``2 * n`` (the number of wake-ups)."""
    ping = api.Event()
    pong = api.Event()
    rounds = [0, 0]

    async def pinger() -> None:
        for _ in range(n):
            ping.set()
            await pong.wait()
            pong.clear()
            rounds[0] += 1

    async def ponger() -> None:
        for _ in range(n):
            await ping.wait()
            ping.clear()
            pong.set()
            rounds[1] += 1

    await api.gather(pinger(), ponger())
    if rounds != [n, n]:
        raise AssertionError(f"rounds {rounds}, expected {[n, n]}")
    return 2 * n

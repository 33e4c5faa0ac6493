"""A planted ordering race that only chaos scheduling shows.

    python -m batonio examples/debug_race.py                                  # passes
    python -m batonio --virtual-time --chaos-seed 1 examples/debug_race.py    # fails, every time

The consumer assumes the producer's timer fires first because it was scheduled first.
asyncio does not promise that for timers due at the same time; chaos scheduling changes
exactly such orders, from its seed.
"""

from __future__ import annotations

import asyncio
import sys


async def main() -> int:
    """Return 0 when the consumer saw the item, 1 when the race struck."""
    items: list[str] = []
    seen: list[str] = []

    async def produce() -> None:
        await asyncio.sleep(0.01)
        items.append("item")

    async def consume() -> None:
        await asyncio.sleep(0.01)
        seen.append(items[0] if items else "nothing")

    await asyncio.gather(produce(), consume())
    print(f"consumer saw: {seen[0]}")
    return 0 if seen == ["item"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

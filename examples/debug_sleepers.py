"""Many tasks sleeping up to an hour, with wait_for and timeout deadlines among them.

An ordinary asyncio program.  Run it under virtual time and the hour passes at once::

    python -m batonio --virtual-time examples/debug_sleepers.py            # 10,000 tasks, 1 hour
    python examples/debug_sleepers.py --tasks 300 --hour 3                 # real time: 3 s
    python -m batonio --virtual-time examples/debug_sleepers.py --tasks 300 --hour 3

Delays fall on a grid of 1/100 of the "hour" and deadlines half-way between grid points, so
no two deadlines are close enough for the real clock's jitter to swap them (in real time,
give the hour enough seconds that the loop is never half a grid step late).  Each task
records the grid point at which it finished; the program prints how many deadlines
expired, the first and last tasks to finish, and a digest of (grid point, task, outcome),
which is the same in real time as in virtual time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random

SLOTS = 100


async def one(i: int, delay: float, kind: str, limit: float, unit: float, out: list[tuple[int, int, str]]) -> None:
    """Sleep ``delay``; under ``wait_for`` or ``timeout`` with ``limit`` for some tasks."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    outcome = "done"
    try:
        if kind == "wait_for":
            await asyncio.wait_for(asyncio.sleep(delay), limit)
        elif kind == "timeout":
            async with asyncio.timeout(limit):
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(delay)
    except TimeoutError:
        outcome = "timeout"
    # The half-grid point reached: a timer is never early and, in real time, late by less
    # than half a grid step unless the machine is very busy.
    out.append((int((loop.time() - start) / unit * 2 + 1e-9), i, outcome))


async def main(tasks: int, hour: float) -> None:
    """Start every task, wait for all of them, print the summary."""
    rng = random.Random(2026)
    unit = hour / SLOTS
    out: list[tuple[int, int, str]] = []
    coros = []
    for i in range(tasks):
        delay = rng.randrange(1, SLOTS + 1) * unit
        kind = rng.choice(["sleep", "sleep", "wait_for", "timeout"])
        limit = (rng.randrange(1, SLOTS + 1) - 0.5) * unit
        coros.append(one(i, delay, kind, limit, unit, out))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*coros)
    elapsed = loop.time() - start
    out.sort()
    timeouts = sum(1 for _, _, outcome in out if outcome == "timeout")
    lines = [f"{i}:{outcome}" for _, i, outcome in out]
    digest = hashlib.sha256(repr(out).encode()).hexdigest()[:16]
    print(f"{tasks} tasks finished, {timeouts} deadlines expired")
    print(f"first to finish: {', '.join(lines[:3])}; last: {', '.join(lines[-3:])}")
    print(f"finishing order digest: {digest}")
    print(f"loop time elapsed: {round(elapsed / hour, 1)} hour(s) of {hour:g} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--hour", type=float, default=3600.0, help="the length of an hour, in seconds")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.hour))

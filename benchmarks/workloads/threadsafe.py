"""``loop.call_soon_threadsafe`` from another thread: N calls, the loop counts them.

A plain thread (not the loop's executor) makes all the calls as fast as it can while the loop
runs them; the time includes the wake-ups (self-pipe or eventfd writes) and the GIL hand-offs
between the two threads.  Process CPU time counts both threads.
"""

from __future__ import annotations

import threading
from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "threadsafe"
DESCRIPTION = "call_soon_threadsafe from another thread, the loop counts the calls"
SIZE = 200_000


async def run(api: ModuleType, n: int) -> int:
    """Make ``n`` threadsafe calls from a thread; return ``n`` once all have run."""
    loop = api.get_running_loop()
    done = loop.create_future()
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set_result(None)

    def producer() -> None:
        call = loop.call_soon_threadsafe
        for _ in range(n):
            call(tick)

    thread = threading.Thread(target=producer, name="bench-producer")
    thread.start()
    try:
        await done
    finally:
        thread.join()
    return n

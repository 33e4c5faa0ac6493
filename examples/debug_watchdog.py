"""A callback that blocks the loop: the watchdog reports it while it still blocks.

    python -m batonio --watchdog 0.1 examples/debug_watchdog.py

``load_config`` reads a "file" with a blocking call (a planted ``time.sleep(0.5)``).  With
a 0.1 s threshold the watchdog logs, on the logger ``batonio.watchdog``, what is running
and the loop thread's stack about 0.1 s in, and the total time when the callback returns.
"""

from __future__ import annotations

import asyncio
import time


def load_config(done: asyncio.Future[str]) -> None:
    """A callback that blocks: a synchronous read where an async one belonged."""
    time.sleep(0.5)
    done.set_result("config loaded")


async def main() -> None:
    """Schedule the blocking callback and wait for it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()
    loop.call_soon(load_config, done)
    print(await done)


if __name__ == "__main__":
    asyncio.run(main())

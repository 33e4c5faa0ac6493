"""Two tasks that wait on each other forever: under virtual time, a DeadlockError.

    python -m batonio --virtual-time examples/debug_deadlock.py

Plain asyncio would hang here forever.  batonio under virtual time sees that nothing can
ever happen again (nothing ready, no timer, no executor job, no I/O that could arrive) and
raises ``batonio.DeadlockError`` at once, naming each stuck task and the line it waits on.
"""

from __future__ import annotations

import asyncio


async def producer(ready: asyncio.Event, queue: asyncio.Queue[str]) -> None:
    """Waits for the consumer to be ready before producing."""
    await ready.wait()
    await queue.put("item")


async def consumer(ready: asyncio.Event, queue: asyncio.Queue[str]) -> None:
    """Bug: waits for an item before saying it is ready."""
    item = await queue.get()
    ready.set()
    print("got", item)


async def main() -> None:
    """Run both; neither can ever go on."""
    ready = asyncio.Event()
    queue: asyncio.Queue[str] = asyncio.Queue()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(producer(ready, queue), name="producer")
        tg.create_task(consumer(ready, queue), name="consumer")


if __name__ == "__main__":
    asyncio.run(main())

"""The benchmark workloads, one small module each.

Every workload module defines:

* ``NAME`` — the name given to ``run.py --bench``;
* ``DESCRIPTION`` — one line saying what it measures;
* ``SIZE`` — the number of operations at full scale (``--quick`` divides it by 10), chosen so
  that one run takes roughly 0.2–1 s on stdlib asyncio;
* ``async def run(api, n) -> int`` — does ``n`` operations and returns how many it did.

``api`` is the module whose public names the workload calls: ``asyncio`` normally, ``batonio``
under ``run.py --api batonio``.  Workloads touch nothing but public asyncio API (the names
``asyncio`` exports and the public methods of ``asyncio.AbstractEventLoop``), so every loop
runs exactly the same code.  Each one checks its own result and raises if the loop got it
wrong: a fast wrong answer must not show up as a fast benchmark.
"""

from __future__ import annotations

from types import ModuleType

from . import (
    call_soon,
    call_soon_parallel,
    event_pingpong,
    future_pingpong,
    gather,
    queue_pingpong,
    sleep0,
    threadsafe,
    timers,
)

__all__ = ["ALL", "BY_NAME"]

#: Every workload, in the order the report lists them.
ALL: list[ModuleType] = [
    call_soon,
    call_soon_parallel,
    sleep0,
    gather,
    timers,
    future_pingpong,
    threadsafe,
    event_pingpong,
    queue_pingpong,
]

#: Workload modules by their ``NAME``.
BY_NAME: dict[str, ModuleType] = {m.NAME: m for m in ALL}

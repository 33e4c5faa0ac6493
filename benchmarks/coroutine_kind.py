"""Compiled or native coroutine functions for ``sleep``, ``wait`` and ``wait_for``?

Cython compiles ``async def`` into its own coroutine type, which ``asyncio.iscoroutine``
accepts but ``inspect.iscoroutine`` (an exact ``types.CoroutineType`` check) does not;
asyncio's own ``sleep(0)`` is a native coroutine.  This measures what the compiled kind buys:
the same source (``batonio._api._tasks_py``) run as native coroutines against its compiled
twin (``_tasks_c``), both on batonio's compiled loop, interleaved, median of N rounds::

    python benchmarks/coroutine_kind.py [--rounds 7] [--scale 1.0]

It prints one row per workload: seconds per run for each kind and native/compiled.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import batonio  # noqa: E402
from batonio._api import _tasks_c, _tasks_py  # noqa: E402

Workload = Callable[[Any, int], Coroutine[Any, Any, None]]


async def sleep0(mod: Any, n: int) -> None:
    """One task, ``await sleep(0)`` n times."""
    sleep = mod.sleep
    for _ in range(n):
        await sleep(0)


async def sleep0_many(mod: Any, n: int) -> None:
    """100 tasks, each ``await sleep(0)`` n/100 times."""
    sleep = mod.sleep

    async def one(k: int) -> None:
        for _ in range(k):
            await sleep(0)

    await asyncio.gather(*[one(n // 100) for _ in range(100)])


async def sleep_timer(mod: Any, n: int) -> None:
    """``await sleep(1e-6)``: the timer path (a future and a TimerHandle each)."""
    sleep = mod.sleep
    for _ in range(n // 10):
        await sleep(1e-6)


async def wait_for_done(mod: Any, n: int) -> None:
    """``await wait_for(fut, 10)`` on a future completed by call_soon."""
    wait_for = mod.wait_for
    loop = asyncio.get_running_loop()
    for _ in range(n // 4):
        fut = loop.create_future()
        loop.call_soon(fut.set_result, None)
        await wait_for(fut, 10)


async def wait_one(mod: Any, n: int) -> None:
    """``await wait([fut])`` on a future completed by call_soon."""
    wait = mod.wait
    loop = asyncio.get_running_loop()
    for _ in range(n // 4):
        fut = loop.create_future()
        loop.call_soon(fut.set_result, None)
        await wait([fut])


WORKLOADS: dict[str, Workload] = {
    "sleep0": sleep0,
    "sleep0_100_tasks": sleep0_many,
    "sleep_timer": sleep_timer,
    "wait_for": wait_for_done,
    "wait": wait_one,
}


def measure(work: Workload, mod: Any, n: int) -> float:
    """CPU seconds of one run of ``work`` on a fresh batonio loop."""
    loop = batonio.new_event_loop()
    try:
        loop.run_until_complete(work(mod, max(n // 50, 100)))  # warm-up
        start = time.process_time()
        loop.run_until_complete(work(mod, n))
        return time.process_time() - start
    finally:
        loop.close()


def main() -> None:
    """Run every workload with both kinds, interleaved; print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    if not batonio.EXTENSIONS:
        sys.exit("batonio's compiled build is not active (BATONIO_NO_EXTENSIONS set, or not built)")
    n = int(200_000 * args.scale)
    c = _tasks_c.sleep(0)
    p = _tasks_py.sleep(0)
    import inspect

    print(f"python {sys.version.split()[0]}; compiled sleep(0) is {type(c).__name__} "
          f"(inspect.iscoroutine: {inspect.iscoroutine(c)}), native: {inspect.iscoroutine(p)}")
    c.close()
    p.close()
    print(f"{'workload':<18} {'compiled s':>10} {'native s':>10} {'native/compiled':>16}")
    for name, work in WORKLOADS.items():
        times: dict[str, list[float]] = {"compiled": [], "native": []}
        for r in range(args.rounds):
            order = [("compiled", _tasks_c), ("native", _tasks_py)]
            if r % 2:
                order.reverse()
            for kind, mod in order:
                times[kind].append(measure(work, mod, n))
        compiled = statistics.median(times["compiled"])
        native = statistics.median(times["native"])
        print(f"{name:<18} {compiled:>10.4f} {native:>10.4f} {native / compiled:>16.2f}")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()

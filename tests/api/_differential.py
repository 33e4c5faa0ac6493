"""Run one scripted interleaving against asyncio's primitive and ours; return both traces.

A script is a list of ``(op, arg)``: ``("spawn", k)`` starts a task running the k-th
coroutine of the scenario, ``("sync", k)`` calls its k-th synchronous action, ``("cancel", k)``
cancels the k-th task started so far, ``("step", 0)`` lets the loop run one iteration.  After
every operation the scenario's observer records the primitive's visible state.  The traces of
the two implementations, run on the same loop, must be equal.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

Trace = list[Any]


@dataclass
class Scenario:
    """How to build, drive and observe one primitive."""

    make: Callable[[Any], Any]  # namespace (asyncio or batonio's _sync) -> primitive
    tasks: Sequence[Callable[[Any, int, Trace], Awaitable[None]]]
    actions: Sequence[tuple[str, Callable[[Any], Any]]]
    observe: Callable[[Any], Any]


def _outcome(task: asyncio.Task[Any]) -> str:
    if not task.done():
        return "pending"
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return "ok" if exc is None else f"{type(exc).__name__}:{exc}"


async def drive(ns: Any, scenario: Scenario, script: Sequence[tuple[str, int]]) -> Trace:
    """Play ``script`` on the primitive built from ``ns``; return the observed trace."""
    obj = scenario.make(ns)
    trace: Trace = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for op, arg in script:
            if op == "spawn":
                coro = scenario.tasks[arg % len(scenario.tasks)]
                tasks.append(asyncio.ensure_future(coro(obj, len(tasks), trace)))
            elif op == "sync":
                name, action = scenario.actions[arg % len(scenario.actions)]
                try:
                    trace.append((name, action(obj)))
                except Exception as exc:  # noqa: BLE001 - the error is the observation
                    trace.append((name, type(exc).__name__, str(exc)))
            elif op == "cancel":
                if tasks:
                    index = arg % len(tasks)
                    trace.append(("cancel", index, tasks[index].cancel()))
            else:
                await asyncio.sleep(0)
            trace.append(scenario.observe(obj))
        for _ in range(3):
            await asyncio.sleep(0)
        trace.append(scenario.observe(obj))
        trace.append([_outcome(t) for t in tasks])
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return trace


def compare(loop: asyncio.AbstractEventLoop, ours: Any, scenario: Scenario,
            script: Sequence[tuple[str, int]]) -> tuple[Trace, Trace]:
    """Return (asyncio's trace, our trace) for ``script`` on ``loop``."""
    expected = loop.run_until_complete(drive(asyncio, scenario, script))
    actual = loop.run_until_complete(drive(ours, scenario, script))
    return expected, actual

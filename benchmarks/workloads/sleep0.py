"""Task switches: 100 tasks each ``await sleep(0)`` in turn.

``sleep(0)`` yields to the loop without a timer, so every operation is one task step:
suspend, go through the ready queue, resume.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SIZE", "TASKS", "run"]

NAME = "sleep0"
DESCRIPTION = "sleep(0) task switches among 100 tasks"
SIZE = 300_000
TASKS = 100


async def run(api: ModuleType, n: int) -> int:
    """Do ``n`` ``sleep(0)`` switches over ``TASKS`` tasks; return the number done."""
    sleep = api.sleep
    per_task = max(1, n // TASKS)

    async def worker() -> int:
        for _ in range(per_task):
            await sleep(0)
        return per_task

    counts: list[int] = await api.gather(*[worker() for _ in range(TASKS)])
    total = sum(counts)
    if total != per_task * TASKS:
        raise AssertionError(f"{total} switches, expected {per_task * TASKS}")
    return total

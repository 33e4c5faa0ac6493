"""Task creation: ``create_task`` of 100k small coroutines, then ``gather`` of them all.

Measures the life cycle of a task: creation (context copy, registration, first step
scheduled), one step to completion, the done callbacks that ``gather`` attaches, and
collecting the results.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "gather"
DESCRIPTION = "create_task of many one-step tasks, then gather them all"
SIZE = 100_000


async def run(api: ModuleType, n: int) -> int:
    """Create ``n`` tasks and gather them; return ``n``."""
    create_task = api.create_task

    async def child(i: int) -> int:
        return i

    tasks = [create_task(child(i)) for i in range(n)]
    results = await api.gather(*tasks)
    if len(results) != n or results[-1] != n - 1:
        raise AssertionError("gather returned wrong results")
    return n

"""One chain of ``loop.call_soon`` callbacks: each callback schedules the next.

The ready queue never holds more than one handle, so this measures the fixed cost of one
trip through the loop's iteration: schedule a handle, pop it, run it in its context.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "call_soon"
DESCRIPTION = "one chain of call_soon callbacks, each scheduling the next"
SIZE = 500_000


async def run(api: ModuleType, n: int) -> int:
    """Run ``n`` chained callbacks; return ``n``."""
    loop = api.get_running_loop()
    done = loop.create_future()
    call_soon = loop.call_soon
    left = n

    def step() -> None:
        nonlocal left
        left -= 1
        if left > 0:
            call_soon(step)
        else:
            done.set_result(None)

    call_soon(step)
    await done
    if left != 0:
        raise AssertionError(f"call_soon chain ended with {left} callbacks left")
    return n

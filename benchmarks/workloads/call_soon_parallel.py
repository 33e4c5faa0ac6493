"""Many ``loop.call_soon`` chains at once: 1,000 chains share the ready queue.

Unlike ``call_soon``, the ready queue holds about a thousand handles at every iteration, so
this measures how the loop drains a long queue (one pass per iteration) rather than the
per-iteration overhead.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["CHAINS", "DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "call_soon_parallel"
DESCRIPTION = "1,000 parallel call_soon chains (a long ready queue)"
SIZE = 1_000_000
CHAINS = 1_000


async def run(api: ModuleType, n: int) -> int:
    """Run ``n`` callbacks spread over ``CHAINS`` chains; return the number run."""
    loop = api.get_running_loop()
    done = loop.create_future()
    call_soon = loop.call_soon
    chains = min(CHAINS, n)
    per_chain = n // chains
    total = per_chain * chains
    ran = 0
    live = chains

    def step(left: int) -> None:
        nonlocal ran, live
        ran += 1
        if left > 1:
            call_soon(step, left - 1)
        else:
            live -= 1
            if live == 0:
                done.set_result(None)

    for _ in range(chains):
        call_soon(step, per_chain)
    await done
    if ran != total:
        raise AssertionError(f"ran {ran} callbacks, expected {total}")
    return total

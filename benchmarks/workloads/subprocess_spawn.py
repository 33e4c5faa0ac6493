"""Short-lived children: 200 spawned at once, each awaited and reaped, with and without pipes.

Measures the process path of a loop: ``create_subprocess_exec`` (fork/exec through Popen,
the pipe transports when asked), watching each child's exit (asyncio: a thread per child
on 3.11, a pidfd watcher from 3.12; uvloop: libuv's SIGCHLD handler; batonio: a pidfd per
child in the poller) and delivering the returncode to ``wait()``/``communicate()``.  The
children are ``/bin/sh -c 'exit K'`` (or ``echo K; exit K``): their own run time is tiny and
the same on every loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

__all__ = ["WORKLOADS"]

BATCH = 200


async def _batch(api: ModuleType, start: int, count: int, pipes: bool) -> None:
    pipe = api.subprocess.PIPE

    async def one(i: int) -> None:
        code = i % 7
        if pipes:
            proc = await api.create_subprocess_exec(
                "/bin/sh", "-c", f"echo {i}; exit {code}", stdout=pipe, stderr=pipe
            )
            out, err = await proc.communicate()
            if out != f"{i}\n".encode() or err != b"":
                raise AssertionError(f"child {i} wrote {out!r} / {err!r}")
        else:
            proc = await api.create_subprocess_exec("/bin/sh", "-c", f"exit {code}")
            await proc.wait()
        if proc.returncode != code:
            raise AssertionError(f"child {i} exited {proc.returncode}, expected {code}")

    # every child is awaited even when one is wrong, so that none is left running
    results = await api.gather(*(one(i) for i in range(start, start + count)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


@dataclass
class SpawnWorkload:
    """Children in batches of 200, all of a batch alive at once."""

    NAME: str
    DESCRIPTION: str
    SIZE: int
    pipes: bool

    async def run(self, api: ModuleType, n: int) -> int:
        """Spawn, await and reap ``n`` children; return ``n``."""
        done = 0
        while done < n:
            count = min(BATCH, n - done)
            await _batch(api, done, count, self.pipes)
            done += count
        return n


WORKLOADS = [
    SpawnWorkload("spawn_200", "200 concurrent short-lived children, awaited and reaped", 400, False),
    SpawnWorkload(
        "spawn_200_pipes", "200 concurrent short-lived children with stdout/stderr pipes, communicate()", 400, True
    ),
]

"""What the TCP echo workloads share: their variants, the message, and the result check.

Every TCP echo workload (``tcp_echo_protocol``, ``tcp_echo_streams``, ``tcp_echo_sock``) runs
an echo server and its clients in the same loop, in one process, over 127.0.0.1: a client
sends one message, waits until the whole message has come back, checks it byte for byte and
sends the next.  ``n`` round trips are shared out over the connections, which run
concurrently.  So one operation is one round trip of one message, and the process CPU time
counts both ends (as the in-memory workloads count both sides of their ping-pong).

Each echo style is measured at 1, 10 and 100 KiB messages over 1 and 10 connections; a
:class:`EchoWorkload` is one such cell and looks to ``run.py`` and ``_child.py`` exactly like a
workload module (``NAME``, ``DESCRIPTION``, ``SIZE``, ``run``).  Connection set-up and
server start are inside the timed run; at these sizes they are a few milliseconds of it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType

__all__ = [
    "CONNECTIONS",
    "MESSAGE_KIB",
    "EchoWorkload",
    "check_echo",
    "message",
    "share",
    "variants",
]

#: Message sizes in KiB, and connection counts, every echo style is measured at.
MESSAGE_KIB = (1, 10, 100)
CONNECTIONS = (1, 10)

#: Round trips at full size per message size, about 0.3-1 s on stdlib asyncio.
_ROUND_TRIPS = {1: 20_000, 10: 12_000, 100: 4_000}

#: ``echo(api, n, size, conns) -> round trips done``.
EchoFn = Callable[[ModuleType, int, int, int], Awaitable[int]]


def message(size: int) -> bytes:
    """The message every client sends: ``size`` pseudo-random bytes, the same on every run."""
    return random.Random(size).randbytes(size)


def share(n: int, conns: int) -> list[int]:
    """Split ``n`` round trips over ``conns`` connections (at least one each)."""
    base, extra = divmod(max(n, conns), conns)
    return [base + (1 if i < extra else 0) for i in range(conns)]


def check_echo(done: int, expected: int, what: str) -> int:
    """Raise unless ``done`` round trips were made; return ``done``."""
    if done != expected:
        raise AssertionError(f"{what}: {done} round trips verified, expected {expected}")
    return done


@dataclass(frozen=True)
class EchoWorkload:
    """One (echo style, message size, connections) cell, shaped like a workload module."""

    NAME: str
    DESCRIPTION: str
    SIZE: int
    size: int
    conns: int
    echo: EchoFn

    async def run(self, api: ModuleType, n: int) -> int:
        """Do ``n`` verified round trips; return how many were done."""
        return await self.echo(api, n, self.size, self.conns)


def variants(style: str, what: str, echo: EchoFn) -> list[EchoWorkload]:
    """The six cells of one echo style: ``tcp_<style>_<k>k_c<conns>``."""
    cells = []
    for kib in MESSAGE_KIB:
        for conns in CONNECTIONS:
            plural = "connection" if conns == 1 else "connections"
            cells.append(
                EchoWorkload(
                    NAME=f"tcp_{style}_{kib}k_c{conns}",
                    DESCRIPTION=f"TCP echo with {what}, {kib} KiB messages, {conns} {plural}",
                    SIZE=_ROUND_TRIPS[kib],
                    size=kib * 1024,
                    conns=conns,
                    echo=echo,
                )
            )
    return cells

"""The benchmark workloads, one small module each.

Every workload defines:

* ``NAME`` — the name given to ``run.py --bench``;
* ``DESCRIPTION`` — one line saying what it measures;
* ``SIZE`` — the number of operations at full scale (``--quick`` divides it by 10), chosen so
  that one run takes roughly 0.2–1 s on stdlib asyncio;
* ``async def run(api, n) -> int`` — does ``n`` operations and returns how many it did.

Most workloads are modules.  The TCP echo styles (``tcp_echo_protocol``, ``tcp_echo_streams``,
``tcp_echo_sock``) are measured at several message sizes and connection counts, so each of
those modules exports ``WORKLOADS``, a list of :class:`~workloads._echo.EchoWorkload` objects
with the same four attributes, one per cell (``tcp_protocol_1k_c1`` ...); ``udp_echo`` too
(``udp_echo_1k_c1``, ``udp_echo_1k_c10``).

The footprint rows (``footprint.py``: pending tasks, pending timers, idle TCP connections)
are :class:`~workloads.footprint.FootprintWorkload` objects: they also have ``KIND =
"footprint"`` and ``measure(api, n)``, which ``_child.py`` calls instead of timing ``run``;
it returns creation time, RSS delta and tracemalloc bytes per object.

``api`` is the module whose public names the workload calls: ``asyncio`` normally, ``batonio``
under ``run.py --api batonio``.  Workloads touch nothing but public asyncio API (the names
``asyncio`` exports and the public methods of ``asyncio.AbstractEventLoop``), so every loop
runs exactly the same code.  Each one checks its own result and raises if the loop got it
wrong: a fast wrong answer must not show up as a fast benchmark.

:data:`GROUPS` names sets of workloads for ``run.py --group``: ``core`` (the in-memory
ones), ``tcp`` (the echo cells), ``udp`` (datagram echo), ``http`` (the httptools server and
uvicorn), ``proc`` (children spawned and reaped), ``tls`` (TLS echo cells and handshakes) and
``footprint`` (memory and creation time of many live objects).
"""

from __future__ import annotations

from collections.abc import Awaitable
from types import ModuleType
from typing import Protocol

from . import (
    call_soon,
    call_soon_parallel,
    event_pingpong,
    footprint,
    future_pingpong,
    gather,
    http_keepalive,
    queue_pingpong,
    sleep0,
    subprocess_spawn,
    tcp_echo_protocol,
    tcp_echo_sock,
    tcp_echo_streams,
    threadsafe,
    timers,
    tls_echo_protocol,
    tls_handshake,
    udp_echo,
    uvicorn_hello,
)

__all__ = ["ALL", "BY_NAME", "GROUPS", "Workload"]


class Workload(Protocol):
    """What run.py and _child.py use of a workload (a module or an EchoWorkload)."""

    @property
    def NAME(self) -> str: ...
    @property
    def DESCRIPTION(self) -> str: ...
    @property
    def SIZE(self) -> int: ...
    def run(self, api: ModuleType, n: int) -> Awaitable[int]: ...


_CORE: list[Workload] = [
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
_TCP: list[Workload] = [
    *tcp_echo_protocol.WORKLOADS,
    *tcp_echo_streams.WORKLOADS,
    *tcp_echo_sock.WORKLOADS,
]
_UDP: list[Workload] = [*udp_echo.WORKLOADS]
_HTTP: list[Workload] = [http_keepalive, uvicorn_hello]
_PROC: list[Workload] = [*subprocess_spawn.WORKLOADS]
_TLS: list[Workload] = [*tls_echo_protocol.WORKLOADS, tls_handshake]
_FOOTPRINT: list[Workload] = [*footprint.WORKLOADS]

#: Workloads by group, for ``run.py --group``.
GROUPS: dict[str, list[Workload]] = {
    "core": _CORE,
    "tcp": _TCP,
    "udp": _UDP,
    "http": _HTTP,
    "proc": _PROC,
    "tls": _TLS,
    "footprint": _FOOTPRINT,
}

#: Every workload, in the order the report lists them.
ALL: list[Workload] = _CORE + _TCP + _UDP + _HTTP + _PROC + _TLS + _FOOTPRINT

#: Workloads by their ``NAME``.
BY_NAME: dict[str, Workload] = {w.NAME: w for w in ALL}

"""Footprint: memory and creation time of many pending tasks, pending timers, idle connections.

Each footprint workload creates ``n`` objects that stay alive and pending (``n`` tasks
suspended on one future, ``n`` timers an hour away, ``n`` idle TCP connections with both ends
in this process), measures, then releases them and checks that they behaved (no task
finished early, no timer fired, every connection made and lost on both ends).

What is measured around the creation (``measure``), in the child's fresh process:

* **creation time**: wall and CPU seconds from the first object to the last being pending
  (tasks: created and run to their first ``await``; connections: connected and accepted);
* **RSS delta**: resident set size (``/proc/self/statm``) after minus before, after
  ``gc.collect()`` both times, divided by ``n``: bytes per object, whatever allocated them
  (Python objects, the loop's C or Rust structures, the allocator's slack).  The kernel's
  socket buffers are not in RSS;
* **traced bytes**: a second, separate creation of ``n`` under ``tracemalloc``: the bytes
  of the Python allocator's live blocks per object.  It sees Python objects and what C
  extensions allocate through ``PyMem``/``PyObject`` (uvloop's, batonio's compiled types),
  not what Rust or libuv allocate with ``malloc`` (rloop's core), so read it beside the RSS
  figure, not instead of it.  Its timing is not used (tracing slows allocation).

The idle-connection workload needs two fds per connection: it raises ``RLIMIT_NOFILE`` to
the hard limit when the soft one is lower, and if even the hard limit is too low it makes as
many connections as fit and says so in the result (``note``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import resource
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

__all__ = ["WORKLOADS", "FootprintWorkload", "rss_bytes"]

#: A teardown: releases the objects and checks them; returns how many there were and a note
#: on anything amiss that is reported rather than failed ("" if none).
Teardown = Callable[[], Awaitable[tuple[int, str]]]
#: ``build(api, n) -> (count, note, teardown)``: creates the objects and leaves them pending.
Build = Callable[[ModuleType, int], Awaitable[tuple[int, str, Teardown]]]

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """The process's resident set size now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


@dataclass(frozen=True)
class FootprintWorkload:
    """One footprint row, shaped like a workload module (plus ``KIND`` and ``measure``)."""

    NAME: str
    DESCRIPTION: str
    SIZE: int
    build: Build
    KIND: str = "footprint"

    async def run(self, api: ModuleType, n: int) -> int:
        """Create ``n`` objects, release them and check them; return the count."""
        _, _, teardown = await self.build(api, n)
        return (await teardown())[0]

    async def measure(self, api: ModuleType, n: int, trace: bool = True) -> dict[str, Any]:
        """Creation time and RSS delta of ``n`` objects; then, separately, traced bytes."""
        gc.collect()
        rss0 = rss_bytes()
        wall0 = time.perf_counter()
        cpu0 = time.process_time()
        count, note, teardown = await self.build(api, n)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        gc.collect()
        rss1 = rss_bytes()
        released, after = await teardown()
        if released != count:
            raise AssertionError(f"{self.NAME}: teardown saw a different count")
        note = "; ".join(x for x in (note, after) if x)
        result: dict[str, Any] = {
            "ops": count,
            "wall": wall,
            "cpu": cpu,
            "rss_before": rss0,
            "rss_after": rss1,
            "rss_per_object": (rss1 - rss0) / count,
        }
        if note:
            result["note"] = note
        if trace:
            gc.collect()
            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                traced_count, _, teardown = await self.build(api, n)
                gc.collect()
                traced = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
            await teardown()
            result["traced_per_object"] = traced / traced_count
        return result


# --------------------------------------------------------------------------- pending tasks


async def _pending_tasks(api: ModuleType, n: int) -> tuple[int, str, Teardown]:
    """``n`` tasks, each run to its first ``await`` of one shared never-done-yet future."""
    loop = api.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    started = 0

    async def pending() -> None:
        nonlocal started
        started += 1
        await gate

    create_task = api.create_task
    tasks = [create_task(pending()) for _ in range(n)]
    # Each task's first step was scheduled when it was created; this task's resumption is
    # scheduled after them, so a few yields at most see them all suspended on the gate.
    for _ in range(10):
        await api.sleep(0)
        if started == n:
            break
    if started != n or any(t.done() for t in tasks):
        raise AssertionError(f"pending tasks: {started} of {n} started, or some finished early")

    async def teardown() -> tuple[int, str]:
        gate.set_result(None)
        await api.gather(*tasks)
        return len(tasks), ""

    return n, "", teardown


# --------------------------------------------------------------------------- pending timers


#: The timers' delays are one to two of these (seconds).
_HOUR = 3600.0


async def _pending_timers(api: ModuleType, n: int) -> tuple[int, str, Teardown]:
    """``n`` ``call_later`` timers due in one to two hours (seeded delays): all pending."""
    loop = api.get_running_loop()
    # Drawn one at a time, not as a list made first: a list of n floats would stay in the
    # allocator's pages and count in every loop's RSS delta.
    draw = random.Random(20261208).random
    fired = 0

    def fire() -> None:
        nonlocal fired
        fired += 1

    call_later = loop.call_later
    handles = [call_later(_HOUR + draw() * _HOUR, fire) for _ in range(n)]

    async def teardown() -> tuple[int, str]:
        # Two loop iterations first: a loop that took the delays for zero fires them here.
        await api.sleep(0)
        await api.sleep(0)
        for handle in handles:
            handle.cancel()
        if fired:
            raise AssertionError(f"pending timers: {fired} of {n} fired an hour early")
        return len(handles), ""

    return n, "", teardown


# --------------------------------------------------------------------------- idle TCP

#: fds kept free besides two per connection (the listener, stdio, the loop's own: rloop
#: holds about 100).  The same for every loop, so every loop makes the same number.
_FD_MARGIN = 200

#: Connections opened at once, and the listen backlog (the kernel caps it at somaxconn): a
#: short backlog would drop SYNs while a loop that accepts lazily (uvloop) catches up, and
#: the one-second SYN retransmits would be measured instead of the loops.
_BATCH = 100
_BACKLOG = 4096


def _connections_that_fit(n: int) -> tuple[int, str]:
    """Raise RLIMIT_NOFILE as far as allowed; return how many connections fit, and a note."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * n + _FD_MARGIN
    if soft != resource.RLIM_INFINITY and soft < want:
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    open_now = _open_fds()
    fit = n
    if soft != resource.RLIM_INFINITY:
        # The fixed margin makes every loop's count the same; fds a loop left open from an
        # earlier creation (rloop's) reduce it further, and the note says so.
        fit = min(n, (soft - _FD_MARGIN) // 2, (soft - open_now - _FD_MARGIN // 4) // 2)
    if fit >= n:
        return n, ""
    why = f"RLIMIT_NOFILE's hard limit is {hard:,}"
    if open_now > _FD_MARGIN // 4:
        why += f", {open_now:,} fds were open already"
    return fit, f"{fit:,} of {n:,} connections: {why}"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _fds_back_to(api: ModuleType, count: int) -> int:
    """Wait (up to 1 s) until this process has ``count`` fds open again; return the excess.

    rloop 0.5 leaves the sockets of closed transports and servers open (connection_lost
    is called but the fds stay, ESTABLISHED); that is reported, not failed.
    """
    for _ in range(100):
        if _open_fds() <= count:
            return 0
        await api.sleep(0.01)
    return _open_fds() - count


class _End(asyncio.Protocol):
    """One end of an idle connection: counts made and lost, fails on any data."""

    def __init__(self, book: _Book) -> None:
        self.book = book
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's and rloop's transports do not subclass asyncio.Transport: no isinstance.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.book.error = AssertionError(f"idle connection received {len(data)} bytes")

    def connection_lost(self, exc: Exception | None) -> None:
        # Break the protocol <-> transport cycle: rloop's transports (not seen by the cycle
        # collector) keep their socket open until they are freed.
        self.transport = None
        self.book.lost()


class _Book:
    """The server ends made so far and the ends lost; futures for "all made"/"all lost"."""

    def __init__(self, loop: asyncio.AbstractEventLoop, n: int) -> None:
        self.n = n
        self.server_ends: list[_End] = []
        self.lost_count = 0
        self.error: BaseException | None = None
        self.all_accepted: asyncio.Future[None] = loop.create_future()
        self.all_lost: asyncio.Future[None] = loop.create_future()

    def accepted(self, end: _End) -> None:
        self.server_ends.append(end)
        if len(self.server_ends) == self.n and not self.all_accepted.done():
            self.all_accepted.set_result(None)

    def lost(self) -> None:
        self.lost_count += 1
        if self.lost_count == 2 * self.n and not self.all_lost.done():
            self.all_lost.set_result(None)


class _ServerEnd(_End):
    """The accepted end: the book keeps it (a client end is kept as its transport)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.book.accepted(self)


async def _idle_connections(api: ModuleType, n: int) -> tuple[int, str, Teardown]:
    """``n`` idle loopback TCP connections, both ends in this loop, each end a transport."""
    loop = api.get_running_loop()
    n, note = _connections_that_fit(n)
    fds_before = _open_fds()
    book = _Book(loop, n)
    server = await loop.create_server(lambda: _ServerEnd(book), "127.0.0.1", 0, backlog=_BACKLOG)
    port = server.sockets[0].getsockname()[1]
    clients: list[asyncio.BaseTransport] = []
    try:
        for start in range(0, n, _BATCH):
            batch = min(_BATCH, n - start)
            made = await api.gather(
                *[
                    loop.create_connection(lambda: _End(book), "127.0.0.1", port)
                    for _ in range(batch)
                ]
            )
            clients.extend(transport for transport, _ in made)
        await api.wait_for(book.all_accepted, 60)
    except BaseException:
        for transport in clients:
            transport.close()
        server.close()
        raise

    async def teardown() -> tuple[int, str]:
        server.close()
        for transport in clients:
            transport.close()
        await api.wait_for(book.all_lost, 60)
        await server.wait_closed()
        count = len(clients)
        # Every fd closed, so the next creation starts from the same place.  rloop closes a
        # socket when its transport is freed, not in close(): drop the references first.
        clients.clear()
        book.server_ends.clear()
        gc.collect()
        left = await _fds_back_to(api, fds_before)
        if book.error is not None:
            raise book.error
        if left:
            return count, f"{left:,} fds still open after close() and connection_lost"
        return count, ""

    return n, note, teardown


WORKLOADS = [
    FootprintWorkload(
        NAME="footprint_tasks",
        DESCRIPTION="pending tasks (create_task, each suspended on one shared future)",
        SIZE=100_000,
        build=_pending_tasks,
    ),
    FootprintWorkload(
        NAME="footprint_timers",
        DESCRIPTION="pending call_later timers (due in 1-2 hours)",
        SIZE=100_000,
        build=_pending_timers,
    ),
    FootprintWorkload(
        NAME="footprint_tcp_idle",
        DESCRIPTION="idle TCP connections over 127.0.0.1, both ends in this process",
        SIZE=10_000,
        build=_idle_connections,
    ),
]

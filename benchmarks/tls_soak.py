"""TLS soak: 10,000 sequential TLS connections, then 1,000 handshakes abandoned half-way.

``python benchmarks/tls_soak.py [--loop batonio|batonio-pure|asyncio|uvloop|module:callable]
[--connections 10000] [--first 1000] [--abandoned 1000] [--size 1024] [--rss-limit 0.05]``

One process, one loop, a TLS echo server (``create_server(ssl=...)``, a ``Protocol``) on
127.0.0.1 and, one after the other, ``--connections`` clients that each connect
(``create_connection(ssl=..., server_hostname=...)``, the certificate verified), complete
the handshake, echo one ``--size`` message and check it, then close and wait until the
connection is lost on both ends.  Then ``--abandoned`` raw sockets each send the first half
of a real ClientHello and close: the server must notice and close its side of every one.

It prints the open fds (``/proc/self/fd``) and tasks before and after each phase, the
resident memory after the first ``--first`` connections and after all of them, and the
memory after the first tenth and after all of the abandoned handshakes.  Each RSS reading
comes after ``gc.collect()`` and glibc's ``malloc_trim(0)`` (``--no-trim`` leaves it out);
the untrimmed figure is printed beside it.  Without the trim, the OpenSSL buffers of dropped
handshakes stay in the process as free heap pages (untrimmed, over 1,000
abandoned handshakes: stock asyncio +8-10%, batonio-pure +5%; all flat once trimmed), which is the allocator's
high-water mark, not memory in use.
It exits with status 1 if a connection failed or echoed wrong bytes, if an fd or a task
was left behind by either phase, or if RSS grew by more than ``--rss-limit`` (5%) between
the readings of either phase; with status 0 otherwise.  Every wait is bounded.  Certificates
are made once with trustme (``workloads/_tls.py``).  ``make soak-tls`` runs it on batonio.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import gc
import os
import socket
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _loops  # noqa: E402
from soak import ServerSide, open_fds, rss_bytes  # noqa: E402
from workloads import _tls  # noqa: E402
from workloads._echo import message  # noqa: E402

__all__ = ["main"]

#: Seconds any single wait may take before the soak counts it as a failure.
STEP_TIMEOUT = 10.0

#: Seconds the server gets to close the sockets of abandoned handshakes.
SETTLE_TIMEOUT = 10.0


@dataclass
class Facts:
    """What the soak measured and what went wrong."""

    readings: dict[str, int] = field(default_factory=dict)
    connections: int = 0
    abandoned: int = 0
    errors: list[str] = field(default_factory=list)
    handler_calls: int = 0


class _Echo(asyncio.Protocol):
    """Server side: write back every chunk; count the connection open until it is lost."""

    transport: asyncio.Transport

    def __init__(self, side: ServerSide) -> None:
        self.side = side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.side.opened()

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.side.closed()


class _Client(asyncio.Protocol):
    """Client side: collects the echo of one message; ``lost`` resolves at the end."""

    def __init__(self, expected: int) -> None:
        loop = asyncio.get_running_loop()
        self.expected = expected
        self.received = bytearray()
        self.echoed: asyncio.Future[bytes] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()

    def data_received(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= self.expected and not self.echoed.done():
            self.echoed.set_result(bytes(self.received))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.echoed.done():
            self.echoed.set_exception(exc or ConnectionError("closed before the echo"))
        if not self.lost.done():
            self.lost.set_result(None)


async def one_connection(port: int, msg: bytes) -> None:
    """Connect over TLS, echo ``msg`` once, close and wait until the connection is gone."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(STEP_TIMEOUT):
        transport, client = await loop.create_connection(
            lambda: _Client(len(msg)),
            "127.0.0.1",
            port,
            ssl=_tls.client_context(),
            server_hostname=_tls.HOSTNAME,
        )
        try:
            transport.write(msg)
            if await client.echoed != msg:
                raise AssertionError("the echo came back different")
        finally:
            transport.close()
        await client.lost


def half_a_client_hello() -> bytes:
    """The first half of a real ClientHello: a handshake that stops mid-record."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = _tls.client_context().wrap_bio(incoming, outgoing, server_hostname=_tls.HOSTNAME)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    return hello[: len(hello) // 2]


async def one_abandoned_handshake(port: int, partial: bytes) -> None:
    """Open a plain socket, send a partial ClientHello, close it."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        async with asyncio.timeout(STEP_TIMEOUT):
            await loop.sock_connect(sock, ("127.0.0.1", port))
            await loop.sock_sendall(sock, partial)


async def settle(fds: int) -> int:
    """Wait (bounded) until the process is back to ``fds`` open fds; return the count."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT
    while open_fds() > fds and loop.time() < deadline:
        await asyncio.sleep(0.01)
    return open_fds()


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None on another C library."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


#: Called before each RSS reading unless --no-trim: see ``reading``.
MALLOC_TRIM = _malloc_trim()


def reading(facts: Facts, name: str, trim: bool = True) -> None:
    """Collect garbage, then record RSS, fds and tasks under ``name``.

    RSS is read twice: as it is (``rss_raw_*``), then after glibc's ``malloc_trim(0)`` gave
    back to the kernel what the allocator holds free (``rss_*``, the one the limit applies
    to).  Freed OpenSSL buffers of dropped handshakes otherwise stay in the process as free
    heap pages; the trimmed figure is the memory still in use.
    """
    gc.collect()
    facts.readings[f"rss_raw_{name}"] = rss_bytes()
    if trim and MALLOC_TRIM is not None:
        MALLOC_TRIM(0)
    facts.readings[f"rss_{name}"] = rss_bytes()
    facts.readings[f"fds_{name}"] = open_fds()
    facts.readings[f"tasks_{name}"] = len(asyncio.all_tasks())


async def _connections(
    port: int, count: int, msg: bytes, facts: Facts, first: int, trim: bool
) -> None:
    for i in range(count):
        try:
            await one_connection(port, msg)
        except Exception as exc:  # counted and reported: the soak fails on any error
            facts.errors.append(f"connection {i}: {type(exc).__name__}: {exc}")
            if len(facts.errors) > 20:
                return
        facts.connections += 1
        if facts.connections == first:
            reading(facts, "first", trim)


async def soak(args: Any) -> Facts:
    """Run both phases; return what was measured."""
    loop = asyncio.get_running_loop()
    facts = Facts()

    def count_reports(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Failed handshakes may be reported here (asyncio does, at debug level or not):
        # counted, not printed 1,000 times.
        facts.handler_calls += 1

    loop.set_exception_handler(count_reports)
    side = ServerSide()
    server = await loop.create_server(
        lambda: _Echo(side), "127.0.0.1", 0, ssl=_tls.server_context(), backlog=1000
    )
    port = server.sockets[0].getsockname()[1]
    msg = message(args.size)
    partial = half_a_client_hello()
    try:
        # A few of each first: lazily created resources (caches, first-use fds) are not leaks.
        # Abandoned ones first: their server sides close on their own time; the sequential
        # connections after them are each waited for on both ends.
        for _ in range(20):
            await one_abandoned_handshake(port, partial)
        await asyncio.sleep(0.2)
        for _ in range(20):
            await one_connection(port, msg)
        await asyncio.wait_for(side.idle.wait(), STEP_TIMEOUT)
        await asyncio.sleep(0)
        reading(facts, "before", args.trim)
        fds_start = facts.readings["fds_before"]

        await _connections(port, args.connections, msg, facts, args.first, args.trim)
        await asyncio.wait_for(side.idle.wait(), STEP_TIMEOUT)
        await settle(fds_start)
        reading(facts, "end", args.trim)

        for i in range(args.abandoned):
            try:
                await one_abandoned_handshake(port, partial)
            except Exception as exc:
                facts.errors.append(f"abandoned handshake {i}: {type(exc).__name__}: {exc}")
                break
            facts.abandoned += 1
            if facts.abandoned == args.abandoned // 10:
                reading(facts, "abandoned_first", args.trim)
        await settle(fds_start)
        reading(facts, "abandoned_end", args.trim)
    finally:
        server.close()
        await server.wait_closed()
        loop.set_exception_handler(None)
    return facts


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _rss(r: dict[str, int], name: str) -> str:
    trimmed, raw = r[f"rss_{name}"], r[f"rss_raw_{name}"]
    return _mib(trimmed) if trimmed == raw else f"{_mib(trimmed)} [{_mib(raw)}]"


def _growth(facts: Facts, before: str, after: str) -> float:
    return facts.readings[f"rss_{after}"] / facts.readings[f"rss_{before}"] - 1


def report(args: Any, loop_desc: str, facts: Facts) -> list[str]:
    """Print what happened; return the reasons for failure (empty when it passed)."""
    r = facts.readings
    print(f"tls soak: {loop_desc}")
    trimmed = args.trim and MALLOC_TRIM is not None
    print("  RSS read after gc.collect()" + (" and malloc_trim(0); untrimmed in brackets"
          if trimmed else " (not trimmed)"))  # fmt: skip
    print(f"  {facts.connections:,} sequential TLS connections (connect, handshake, echo of"
          f" {args.size} bytes, close), {len(facts.errors)} errors")  # fmt: skip
    for err in facts.errors[:10]:
        print(f"    {err}")
    failures = [f"{len(facts.errors)} connections failed"] if facts.errors else []
    if "rss_first" in r and "rss_end" in r:
        growth = _growth(facts, "first", "end")
        print(f"  RSS: {_rss(r, 'before')} before, {_rss(r, 'first')} after the first"
              f" {args.first:,}, {_rss(r, 'end')} after {facts.connections:,}"
              f" ({growth:+.1%})")  # fmt: skip
        if growth > args.rss_limit:
            failures.append(
                f"RSS grew {growth:.1%} over the connections (limit {args.rss_limit:.0%})"
            )
    print(f"  fds: {r['fds_before']} before, {r.get('fds_first', '-')} after the first"
          f" {args.first:,}, {r.get('fds_end', '-')} after all")  # fmt: skip
    print(f"  tasks: {r['tasks_before']} before, {r.get('tasks_end', '-')} after")
    if r.get("fds_end") != r["fds_before"]:
        failures.append(f"fds: {r['fds_before']} before the connections, {r.get('fds_end')} after")
    if r.get("tasks_end") != r["tasks_before"]:
        failures.append(f"tasks: {r['tasks_before']} before, {r.get('tasks_end')} after")
    if "rss_abandoned_end" in r:
        tenth = args.abandoned // 10
        growth = _growth(facts, "abandoned_first", "abandoned_end")
        print(f"  {facts.abandoned:,} handshakes abandoned half-way: RSS {_rss(r, 'end')} before,"
              f" {_rss(r, 'abandoned_first')} after {tenth:,}, {_rss(r, 'abandoned_end')}"
              f" after {facts.abandoned:,} ({growth:+.1%}); fds {r['fds_end']} before,"
              f" {r['fds_abandoned_end']} after")  # fmt: skip
        if r["fds_abandoned_end"] != r["fds_before"]:
            failures.append(
                f"fds: {r['fds_before']} before the abandoned handshakes, {r['fds_abandoned_end']} after"
            )
        if r["tasks_abandoned_end"] != r["tasks_before"]:
            failures.append(f"tasks after the abandoned handshakes: {r['tasks_abandoned_end']}")
        if growth > args.rss_limit:
            failures.append(f"RSS grew {growth:.1%} over the abandoned handshakes")
    print(f"  exception handler calls: {facts.handler_calls}")
    if facts.connections < args.connections or facts.abandoned < args.abandoned:
        failures.append("not every connection was made")
    print("  result: " + ("FAILED: " + "; ".join(failures) if failures else "OK"))
    return failures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description="TLS soak: sequential and abandoned handshakes.")
    parser.add_argument("--loop", default="batonio", help="batonio (default), batonio-pure, "
                        "asyncio, uvloop or module:callable")  # fmt: skip
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=1_000,
                        help="connections before the first RSS reading (default 1000)")  # fmt: skip
    parser.add_argument("--abandoned", type=int, default=1_000)
    parser.add_argument("--size", type=int, default=1024, help="echoed bytes per connection")
    parser.add_argument("--rss-limit", type=float, default=0.05,
                        help="allowed RSS growth (default 0.05)")  # fmt: skip
    parser.add_argument("--no-trim", dest="trim", action="store_false",
                        help="read RSS without malloc_trim(0) first")  # fmt: skip
    args = parser.parse_args(argv)
    if not 0 < args.first <= args.connections or args.abandoned < 10 or args.size < 1:
        parser.error("need 0 < --first <= --connections, --abandoned >= 10, --size >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the TLS soak on the chosen loop; exit status 1 on any failure."""
    args = parse_args(argv)
    variant = _loops.variant_for(args.loop)
    os.environ.update(variant.env)  # batonio-pure: before batonio is imported
    factory = _loops.resolve_factory(variant.factory)
    loop = factory()
    desc = f"loop {variant.label} ({type(loop).__module__}.{type(loop).__qualname__}"
    if variant.is_batonio:
        import batonio

        desc += ", compiled extensions" if batonio.EXTENSIONS else ", pure Python"
    desc += ")"
    t0 = time.perf_counter()
    try:
        asyncio.set_event_loop(loop)
        facts = loop.run_until_complete(soak(args))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    failures = report(args, desc, facts)
    print(f"  wall time {time.perf_counter() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

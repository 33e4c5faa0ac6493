"""Soak test: many loopback connections echo checksummed random messages for a while.

``python benchmarks/soak.py [--loop batonio|batonio-pure|asyncio|uvloop|module:callable]
[--seconds 60] [--conns 1000] [--max-size 65536] [--seed N]``

One process, one loop: two echo servers on 127.0.0.1 (one on streams, ``start_server``; one a
plain ``Protocol`` on ``create_server``) and ``--conns`` clients, which take turns between
three client styles — streams (``open_connection``), a ``Protocol`` (``create_connection``) and
the raw ``sock_*`` calls — and between the two servers.  Until the time is up each client
sends a message of random length (1..``--max-size`` payload bytes, random content) framed
as ``length (4 bytes) | crc32 (4 bytes) | payload``, reads the echo back, and checks it is
the same bytes and that the payload's CRC-32 matches the header.

It prints the bytes sent and verified, the process's open fds (``/proc/self/fd``) and the
loop's tasks before and after, and the resident memory at the end of the warm-up and at the
end of the run (both with every connection open, so the growth is steady-state growth).  It
exits with status 1 if any byte mismatched or any client failed, if the fds or tasks did
not come back to their starting counts once everything was closed, or if RSS grew by more
than ``--rss-limit`` (10%); with status 0 otherwise.  The fd limit (``RLIMIT_NOFILE``) is
raised for the connections.  ``make soak`` runs it on batonio; ``--loop asyncio`` compares.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import socket
import struct
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _loops  # noqa: E402

__all__ = ["main"]

HEADER = struct.Struct("!II")  # payload length, crc32 of the payload
STYLES = ("streams", "protocol", "sock")


@dataclass
class Stats:
    """What the clients did, and what went wrong."""

    sent: int = 0
    verified: int = 0
    messages: int = 0
    mismatches: int = 0
    errors: list[str] = field(default_factory=list)
    per_style: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STYLES, 0))


# --------------------------------------------------------------------------- process facts


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE to at least ``needed`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"soak: needs {needed} fds but the hard limit is {hard} (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


# --------------------------------------------------------------------------- messages


def make_message(rng: random.Random, max_size: int) -> bytes:
    """A framed message: length, CRC-32 and a random payload of 1..max_size bytes."""
    payload = rng.randbytes(rng.randint(1, max_size))
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def verify(sent: bytes, echoed: bytes | bytearray, stats: Stats, style: str) -> None:
    """Count the echo as verified if it is the message and its checksum holds."""
    length, crc = HEADER.unpack_from(echoed)
    payload = memoryview(echoed)[HEADER.size :]
    if echoed != sent or length != len(payload) or zlib.crc32(payload) != crc:
        stats.mismatches += 1
        return
    stats.verified += len(echoed)
    stats.messages += 1
    stats.per_style[style] += 1


# --------------------------------------------------------------------------- servers


class ServerSide:
    """Counts the servers' open connections, so the end counts wait until all are closed.

    ``Server.wait_closed`` waits for connections only from 3.12 on, and never on every loop.
    """

    def __init__(self) -> None:
        self.open = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def opened(self) -> None:
        self.open += 1
        self.idle.clear()

    def closed(self) -> None:
        self.open -= 1
        if not self.open:
            self.idle.set()


def _stream_echo(
    side: ServerSide,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        side.opened()
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
            side.closed()

    return handle


class _ProtocolEcho(asyncio.Protocol):
    """Echo server protocol: write back every chunk."""

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


# --------------------------------------------------------------------------- clients


class _ProtocolClient(asyncio.Protocol):
    """Client protocol: one message in flight, its echo collected into a future."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.expected = 0
        self.waiter: asyncio.Future[bytes] | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and len(self.buffer) >= self.expected:
            self.waiter.set_result(bytes(self.buffer))
            self.buffer.clear()
            self.waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("connection closed mid-message"))
        if not self.lost.done():
            self.lost.set_result(None)

    async def roundtrip(self, message: bytes) -> bytes:
        """Send a message and return its echo."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.expected = len(message)
        self.transport.write(message)
        return await self.waiter


async def _client_streams(
    port: int, until: float, rng: random.Random, args: Any, stats: Stats
) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while loop.time() < until:
            message = make_message(rng, args.max_size)
            writer.write(message)
            stats.sent += len(message)
            await writer.drain()
            verify(message, await reader.readexactly(len(message)), stats, "streams")
    finally:
        writer.close()
        await writer.wait_closed()


async def _client_protocol(
    port: int, until: float, rng: random.Random, args: Any, stats: Stats
) -> None:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(_ProtocolClient, "127.0.0.1", port)
    try:
        while loop.time() < until:
            message = make_message(rng, args.max_size)
            stats.sent += len(message)
            verify(message, await client.roundtrip(message), stats, "protocol")
    finally:
        transport.close()
        await client.lost


async def _client_sock(
    port: int, until: float, rng: random.Random, args: Any, stats: Stats
) -> None:
    loop = asyncio.get_running_loop()
    buffer = bytearray(HEADER.size + args.max_size)
    view = memoryview(buffer)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        while loop.time() < until:
            message = make_message(rng, args.max_size)
            await loop.sock_sendall(sock, message)
            stats.sent += len(message)
            got = 0
            while got < len(message):
                nbytes = await loop.sock_recv_into(sock, view[got : len(message)])
                if not nbytes:
                    raise ConnectionError("connection closed mid-message")
                got += nbytes
            verify(message, view[:got].tobytes(), stats, "sock")


CLIENTS: dict[str, Callable[..., Any]] = {
    "streams": _client_streams,
    "protocol": _client_protocol,
    "sock": _client_sock,
}


async def _client(index: int, ports: list[int], until: float, args: Any, stats: Stats) -> None:
    style = STYLES[index % len(STYLES)]
    port = ports[(index // len(STYLES)) % len(ports)]
    rng = random.Random(args.seed * 1_000_003 + index)
    try:
        await CLIENTS[style](port, until, rng, args, stats)
    except Exception as exc:  # reported and counted: the soak fails on any error
        stats.errors.append(f"client {index} ({style}): {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- the run


async def _start_servers(conns: int, side: ServerSide) -> list[asyncio.Server]:
    """The two echo servers (streams, Protocol) with a backlog for every connection."""
    backlog = max(100, conns)
    loop = asyncio.get_running_loop()
    return [
        await asyncio.start_server(_stream_echo(side), "127.0.0.1", 0, backlog=backlog),
        await loop.create_server(lambda: _ProtocolEcho(side), "127.0.0.1", 0, backlog=backlog),
    ]


async def _close_servers(servers: list[asyncio.Server], side: ServerSide) -> None:
    """Close the servers and wait until every server-side connection is closed too."""
    for server in servers:
        server.close()
        await server.wait_closed()
    await side.idle.wait()
    # A transport closes its socket just after connection_lost returns: let that happen.
    for _ in range(3):
        await asyncio.sleep(0)


async def _prelude(args: Any) -> None:
    """One short exchange per client style and server before counting anything.

    A loop may create resources on first use and keep them (uvloop opens one more fd on its
    first connections); those are not leaks, so the starting counts are taken after this.
    """
    side = ServerSide()
    servers = await _start_servers(1, side)
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    until = asyncio.get_running_loop().time() + 0.05
    stats = Stats()
    await asyncio.gather(*(_client(i, ports, until, args, stats) for i in range(6)))
    await _close_servers(servers, side)
    if stats.errors:
        raise SystemExit("soak: the prelude failed: " + "; ".join(stats.errors))


async def soak(args: Any) -> dict[str, Any]:
    """Run the soak; return the facts the report prints."""
    loop = asyncio.get_running_loop()
    await _prelude(args)
    gc.collect()
    facts: dict[str, Any] = {"fds_before": open_fds(), "tasks_before": len(asyncio.all_tasks())}
    stats = Stats()
    side = ServerSide()
    stream_server, proto_server = servers = await _start_servers(args.conns, side)
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    started = loop.time()
    until = started + args.seconds
    clients = [
        asyncio.ensure_future(_client(i, ports, until, args, stats)) for i in range(args.conns)
    ]
    await asyncio.sleep(args.warmup)
    facts["rss_warm"] = rss_bytes()
    facts["fds_during"] = open_fds()
    facts["sent_warm"] = stats.sent
    await asyncio.sleep(max(0.0, until - loop.time()))
    facts["rss_end"] = rss_bytes()
    await asyncio.gather(*clients)
    facts["elapsed"] = loop.time() - started
    await _close_servers(servers, side)
    del clients, servers, stream_server, proto_server
    gc.collect()
    facts.update(fds_after=open_fds(), tasks_after=len(asyncio.all_tasks()), rss_closed=rss_bytes())
    facts["stats"] = stats
    return facts


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _size(n: int) -> str:
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


def report(args: Any, loop_desc: str, facts: dict[str, Any]) -> list[str]:
    """Print what happened; return the reasons for failure (empty when it passed)."""
    stats: Stats = facts["stats"]
    growth = facts["rss_end"] / facts["rss_warm"] - 1
    styles = ", ".join(f"{k} {v:,}" for k, v in stats.per_style.items())
    print(f"soak: {loop_desc}")
    print(
        f"  {args.conns} connections for {facts['elapsed']:.1f} s, payloads 1..{args.max_size} bytes"
    )
    print(
        f"  sent {_size(stats.sent)}, verified {_size(stats.verified)} in {stats.messages:,} messages ({styles})"
    )
    print(f"  throughput {_size(int(stats.verified / facts['elapsed']))}/s echoed")
    print(f"  mismatches {stats.mismatches}, client errors {len(stats.errors)}")
    for err in stats.errors[:10]:
        print(f"    {err}")
    print(
        f"  fds: {facts['fds_before']} before, {facts['fds_during']} during, {facts['fds_after']} after"
    )
    print(f"  tasks: {facts['tasks_before']} before, {facts['tasks_after']} after")
    print(
        f"  RSS: {_mib(facts['rss_warm'])} after {args.warmup:g} s warm-up, {_mib(facts['rss_end'])} at the end"
        f" ({growth:+.1%}), {_mib(facts['rss_closed'])} once closed"
    )
    failures = []
    if stats.mismatches:
        failures.append(f"{stats.mismatches} echoed messages did not match")
    if stats.errors:
        failures.append(f"{len(stats.errors)} clients failed")
    if stats.sent != stats.verified and not stats.errors and not stats.mismatches:
        failures.append(f"{stats.sent - stats.verified} bytes sent were never verified")
    if stats.messages == 0:
        failures.append("no message was echoed")
    if facts["fds_after"] != facts["fds_before"]:
        failures.append(f"fds: {facts['fds_before']} before, {facts['fds_after']} after")
    if facts["tasks_after"] != facts["tasks_before"]:
        failures.append(f"tasks: {facts['tasks_before']} before, {facts['tasks_after']} after")
    if growth > args.rss_limit:
        failures.append(f"RSS grew {growth:.1%} (limit {args.rss_limit:.0%})")
    print("  result: " + ("FAILED: " + "; ".join(failures) if failures else "OK"))
    return failures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Soak test: loopback echo of checksummed messages."
    )
    parser.add_argument(
        "--loop",
        default="batonio",
        help="batonio (default), batonio-pure, asyncio, uvloop, rloop or module:callable",
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="how long the clients run (default 60)"
    )
    parser.add_argument(
        "--conns", type=int, default=1000, help="concurrent connections (default 1000)"
    )
    parser.add_argument(
        "--max-size", type=int, default=65536, help="largest payload in bytes (default 65536)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds before the first RSS reading (default: 20%% of --seconds, at most 10)",
    )
    parser.add_argument(
        "--rss-limit",
        type=float,
        default=0.10,
        help="allowed RSS growth after warm-up (default 0.10)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.conns < 1 or args.seconds <= 0 or args.max_size < 1:
        parser.error("--conns, --seconds and --max-size must be positive")
    if args.warmup is None:
        args.warmup = min(10.0, args.seconds * 0.2)
    args.warmup = min(args.warmup, args.seconds)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the soak on the chosen loop; exit status 1 on any failure."""
    args = parse_args(argv)
    variant = _loops.variant_for(args.loop)
    os.environ.update(variant.env)  # batonio-pure: before batonio is imported
    raise_fd_limit(2 * args.conns + 256)
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

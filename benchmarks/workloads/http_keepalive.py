"""A keep-alive HTTP/1.1 server (httptools parser on a Protocol) loaded from another process.

The server runs on the loop under test in the benchmark's child process and answers every
request with a 13-byte body (``Hello, world!``).  The load comes from ``wrk`` (one thread,
``CONNECTIONS`` keep-alive connections) in a separate process, or, when wrk is not installed
or ``BATONIO_BENCH_LOADGEN=python`` is set, from ``_http_loadgen.py`` (Python, on uvloop if
it imports).  Once the server has answered ``n`` requests it stops the load generator with
SIGINT and reads its report: any socket error, non-2xx answer or (Python generator) wrong
body fails the run.

So one operation is one request answered, wall time is the time to answer ``n`` of them, and
the report's ops/CPU-s column is requests per CPU-second *of the server process alone*: the
load generator's CPU is not in it.  That is the steadier figure here, since the generator
competes with the server for the machine's cores.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

__all__ = ["DESCRIPTION", "NAME", "SIZE", "drive_load", "load_generator", "run"]

NAME = "http_keepalive"
DESCRIPTION = "HTTP/1.1 keep-alive server (httptools, 13-byte body) under wrk in another process"
SIZE = 20_000

#: Keep-alive connections the load generator keeps open.
CONNECTIONS = 32
#: Seconds the load generator may run at most (a stalled server fails, it does not hang).
MAX_SECONDS = 60

HERE = Path(__file__).resolve().parent
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
_WRK_LINE = re.compile(
    r"WRK requests=(\d+) connect=(\d+) read=(\d+) write=(\d+) status=(\d+) timeout=(\d+)"
)
_LOADGEN_LINE = re.compile(r"LOADGEN requests=(\d+) errors=(\d+)")


def load_generator(choice: str | None = None) -> str:
    """``wrk`` or ``python``: the load generator for a choice (default: the environment's)."""
    choice = choice or os.environ.get("BATONIO_BENCH_LOADGEN", "auto")
    if choice not in ("auto", "wrk", "python"):
        raise ValueError(f"BATONIO_BENCH_LOADGEN={choice!r}: use auto, wrk or python")
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    return choice


class _Counter:
    """Requests answered so far, and the future set when the target is reached."""

    def __init__(self, target: int, reached: asyncio.Future[None]) -> None:
        self.target = target
        self.answered = 0
        self.parse_errors = 0
        self.reached = reached

    def one_more(self) -> None:
        self.answered += 1
        if self.answered == self.target and not self.reached.done():
            self.reached.set_result(None)


class _HttpServer(asyncio.Protocol):
    """Parse requests with httptools; answer each with the fixed response."""

    def __init__(self, httptools: Any, counter: _Counter) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.error_type = httptools.HttpParserError
        self.counter = counter
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's and rloop's transports do not subclass asyncio.Transport: no isinstance.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except self.error_type:
            self.counter.parse_errors += 1
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        """httptools callback: one whole request has been parsed."""
        transport = self.transport
        if transport is None:
            return
        transport.write(RESPONSE)
        self.counter.one_more()
        if not self.parser.should_keep_alive():
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _command(kind: str, port: int) -> list[str]:
    if kind == "wrk":
        return [
            "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{MAX_SECONDS}s",
            "-s", str(HERE / "_wrk_report.lua"), f"http://127.0.0.1:{port}/",
        ]  # fmt: skip
    return [
        sys.executable, str(HERE / "_http_loadgen.py"), "--port", str(port),
        "--conns", str(CONNECTIONS), "--duration", str(MAX_SECONDS),
    ]  # fmt: skip


def _check_report(kind: str, output: str) -> None:
    """Raise unless the load generator's report shows requests and no errors."""
    if kind == "wrk":
        match = _WRK_LINE.search(output)
        if match is None:
            raise RuntimeError(f"no report from wrk: {output[-300:]!r}")
        requests, *errors = (int(x) for x in match.groups())
        names = ("connect", "read", "write", "status", "timeout")
        bad = {name: count for name, count in zip(names, errors, strict=True) if count}
    else:
        match = _LOADGEN_LINE.search(output)
        if match is None:
            raise RuntimeError(f"no report from the load generator: {output[-300:]!r}")
        requests, errors_seen = int(match.group(1)), int(match.group(2))
        bad = {"errors": errors_seen} if errors_seen else {}
    if bad or requests == 0:
        raise AssertionError(f"{kind}: {requests} requests, errors {bad}")


async def drive_load(
    api: ModuleType, port: int, reached: asyncio.Future[None], answered: Callable[[], int], n: int
) -> None:
    """Load the server on ``port`` until ``reached`` is done, then stop and check the generator.

    ``answered()`` says how many requests the server has answered (for the error message when
    the generator exits first).  Shared with ``uvicorn_hello``.
    """
    loop = api.get_running_loop()
    kind = load_generator()
    proc = subprocess.Popen(
        _command(kind, port), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        exited = loop.run_in_executor(None, proc.wait)
        await api.wait([reached, exited], return_when=api.FIRST_COMPLETED)
        if not reached.done():
            reached.cancel()
            raise RuntimeError(f"{kind} exited after {answered()} of {n} requests")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        output, _ = await loop.run_in_executor(None, proc.communicate)
        await exited
    _check_report(kind, output)


async def run(api: ModuleType, n: int) -> int:
    """Answer ``n`` requests from the load generator; return ``n``."""
    import httptools

    loop = api.get_running_loop()
    reached: asyncio.Future[None] = loop.create_future()
    counter = _Counter(n, reached)
    server = await loop.create_server(lambda: _HttpServer(httptools, counter), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await drive_load(api, port, reached, lambda: counter.answered, n)
    finally:
        server.close()
        await server.wait_closed()
    if counter.parse_errors:
        raise AssertionError(f"{counter.parse_errors} requests did not parse")
    return n

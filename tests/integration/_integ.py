"""Helpers shared by the integration tests (imported by name: tests/ has no packages).

``require`` imports a library or skips (fails under CI); ``expected_loop_class`` names the
class a loop kind must be; ``http_keepalive_load`` is a small HTTP/1.1 keep-alive client
for the load tests, written on asyncio streams so that it runs on the loop under test.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from dataclasses import dataclass, field
from types import ModuleType

import pytest

import batonio

__all__ = [
    "INTEGRATION_LOOPS",
    "TEST_TIMEOUT",
    "LoadResult",
    "expected_loop_class",
    "http_keepalive_load",
    "loop_class_name",
    "read_http_response",
    "require",
]

#: The loops every integration test runs on.
INTEGRATION_LOOPS = ["asyncio", "batonio"]

#: Seconds one test's coroutine may take before it is cancelled and fails.
TEST_TIMEOUT = 60.0


def require(name: str) -> ModuleType:
    """Import a library the test needs: skip without it, fail without it under CI."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"{name} is not installed (pip install -e '.[test]')")


def expected_loop_class(kind: str) -> type[asyncio.AbstractEventLoop]:
    """The class a loop of this kind must be an instance of."""
    if kind == "batonio":
        return batonio.EventLoop
    if kind == "asyncio":
        return asyncio.SelectorEventLoop
    raise ValueError(kind)


def loop_class_name(kind: str) -> str:
    """``module.QualName`` of the loop class, as a server reports it in a response."""
    cls = expected_loop_class(kind)
    return f"{cls.__module__}.{cls.__qualname__}"


async def read_http_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response with a Content-Length body: status, headers, body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


@dataclass
class LoadResult:
    """What a keep-alive load run saw."""

    ok: int = 0
    bad: list[str] = field(default_factory=list)
    connections: int = 0


async def http_keepalive_load(
    host: str, port: int, path: str, total: int, conns: int, expect_body: bytes
) -> LoadResult:
    """Send ``total`` GETs over ``conns`` keep-alive connections, checking every response."""
    result = LoadResult()
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("ascii")

    async def one_connection(count: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        result.connections += 1
        try:
            for _ in range(count):
                writer.write(request)
                status, headers, body = await read_http_response(reader)
                if status != 200 or body != expect_body:
                    result.bad.append(f"{status} {body[:60]!r}")
                elif headers.get("connection", "").lower() == "close":
                    result.bad.append("server closed the keep-alive connection")
                    return
                else:
                    result.ok += 1
        finally:
            writer.close()
            await writer.wait_closed()

    share, extra = divmod(total, conns)
    async with asyncio.TaskGroup() as tg:
        for i in range(conns):
            tg.create_task(one_connection(share + (1 if i < extra else 0)))
    return result

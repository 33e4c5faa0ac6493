"""httpx.AsyncClient on asyncio and batonio loops, against a raw asyncio server and aiohttp.

The raw server is a few lines of HTTP/1.1 on ``asyncio.start_server`` streams (so the loop's
server, stream and transport code serve it), keep-alive, with Content-Length or chunked
bodies; it counts the connections it accepted so a test can see keep-alive at work.  httpx
runs its transport through httpcore's anyio backend, which drives the loop's
``create_connection`` and, for HTTPS, anyio's own TLS over ``ssl.MemoryBIO``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from _aiohttp_app import HELLO, serve_app
from _integ import loop_class_name, require

httpx = require("httpx")

Run = Callable[..., Any]


class RawServer:
    """A minimal keep-alive HTTP/1.1 server on asyncio streams."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it."""
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                method, path, headers = self._parse(head)
                body = await self._read_body(reader, headers)
                writer.write(self._respond(method, path, body))
                await writer.drain()
        finally:
            writer.close()

    @staticmethod
    def _parse(head: bytes) -> tuple[str, str, dict[str, str]]:
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return method, path, headers

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    return b"".join(parts)
                parts.append(data[:-2])
        return await reader.readexactly(int(headers.get("content-length", "0")))

    def _respond(self, method: str, path: str, body: bytes) -> bytes:
        if method == "GET" and path == "/hello":
            return self._plain(HELLO, {"X-Loop": _loop_name()})
        if method == "POST" and path == "/echo":
            return self._plain(body, {})
        if method == "GET" and path == "/chunked":
            chunks = [bytes([65 + i]) * (1000 * (i + 1)) for i in range(10)]
            framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"
        return self._plain(b"not found", {}, status="404 Not Found")

    @staticmethod
    def _plain(body: bytes, extra: dict[str, str], status: str = "200 OK") -> bytes:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in extra.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _loop_name() -> str:
    cls = type(asyncio.get_running_loop())
    return f"{cls.__module__}.{cls.__qualname__}"


@asynccontextmanager
async def raw_server(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[RawServer]:
    """Serve a RawServer on 127.0.0.1 (over TLS with ``ssl_context``); close it on exit."""
    state = RawServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=ssl_context)
    host, port = server.sockets[0].getsockname()[:2]
    state.url = f"{'https' if ssl_context else 'http'}://{host}:{port}"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def test_get_and_post_keepalive(arun: Run, loop_kind: str) -> None:
    async def main() -> None:
        async with raw_server() as srv, httpx.AsyncClient() as client:
            resp = await client.get(srv.url + "/hello")
            assert resp.status_code == 200
            assert resp.content == HELLO
            assert resp.headers["x-loop"] == loop_class_name(loop_kind)
            for i in range(20):
                body = os.urandom(1000 * i)
                resp = await client.post(srv.url + "/echo", content=body)
                assert resp.content == body
            assert (await client.get(srv.url + "/nothing")).status_code == 404
            # One client, sequential requests: all of them over one kept-alive connection.
            assert srv.connections == 1

    arun(main())


def test_chunked_both_ways(arun: Run) -> None:
    parts = [os.urandom(n) for n in (10, 70_000, 3)]

    async def produce() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def main() -> None:
        async with raw_server() as srv, httpx.AsyncClient() as client:
            resp = await client.post(srv.url + "/echo", content=produce())
            assert resp.content == b"".join(parts)
            async with client.stream("GET", srv.url + "/chunked") as stream:
                received = b"".join([piece async for piece in stream.aiter_bytes()])
            assert received == b"".join(bytes([65 + i]) * (1000 * (i + 1)) for i in range(10))

    arun(main())


def test_concurrent_requests(arun: Run) -> None:
    async def main() -> None:
        async with raw_server() as srv, httpx.AsyncClient() as client:

            async def one(i: int) -> bytes:
                resp = await client.post(srv.url + "/echo", content=b"%d" % i)
                return bytes(resp.content)

            results = await asyncio.gather(*(one(i) for i in range(50)))
            assert results == [b"%d" % i for i in range(50)]
            assert 1 <= srv.connections <= 50

    arun(main())


def test_against_aiohttp_https(
    arun: Run, loop_kind: str, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with serve_app(ssl_context=server_ssl) as url:
            async with httpx.AsyncClient(verify=client_ssl) as client:
                resp = await client.get(url + "/hello")
                assert resp.status_code == 200
                assert resp.content == HELLO
                assert resp.headers["x-loop"] == loop_class_name(loop_kind)
                body = os.urandom(500_000)
                resp = await client.post(url + "/echo", content=body)
                assert resp.content == body

    arun(main())


def test_https_raw_stream_server(
    arun: Run, loop_kind: str, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    parts = [os.urandom(n) for n in (10, 300_000, 3)]

    async def produce() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def main() -> None:
        # The loop's own TLS server under asyncio streams, httpx (anyio's TLS) as the client.
        async with raw_server(server_ssl) as srv, httpx.AsyncClient(verify=client_ssl) as client:
            resp = await client.get(srv.url + "/hello")
            assert resp.headers["x-loop"] == loop_class_name(loop_kind)
            for i in range(10):
                body = os.urandom(30_000 * i)
                assert (await client.post(srv.url + "/echo", content=body)).content == body
            resp = await client.post(srv.url + "/echo", content=produce())
            assert resp.content == b"".join(parts)
            async with client.stream("GET", srv.url + "/chunked") as stream:
                received = b"".join([piece async for piece in stream.aiter_bytes()])
            assert received == b"".join(bytes([65 + i]) * (1000 * (i + 1)) for i in range(10))
            assert srv.connections == 1  # keep-alive over one TLS connection
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient() as untrusting:
                    await untrusting.get(srv.url + "/hello")

    arun(main())

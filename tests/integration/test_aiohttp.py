"""aiohttp's web server and client together on one loop: asyncio (the oracle) and batonio.

Each test starts ``aiohttp.web`` on 127.0.0.1 and talks to it with ``aiohttp.ClientSession``
in the same loop, run by ``asyncio.Runner(loop_factory=...)`` (the ``arun`` fixture, which
checks the loop's class first).  The server reports its loop's class in ``X-Loop``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from _aiohttp_app import (
    FILE,
    HELLO,
    SLOW_CANCELLED,
    SLOW_STARTED,
    chunk_bytes,
    make_app,
    serve_app,
)
from _integ import loop_class_name, require

aiohttp = require("aiohttp")

Run = Callable[..., Any]


def test_get(arun: Run, loop_kind: str) -> None:
    async def main() -> None:
        async with serve_app() as url, aiohttp.ClientSession() as session:
            async with session.get(url + "/hello") as resp:
                assert resp.status == 200
                assert await resp.read() == HELLO
                assert resp.headers["X-Loop"] == loop_class_name(loop_kind)
            async with session.get(url + "/missing") as resp:
                assert resp.status == 404

    arun(main())


def test_post_body(arun: Run) -> None:
    body = os.urandom(1024 * 1024 + 7)

    async def main() -> None:
        async with serve_app() as url, aiohttp.ClientSession() as session:
            # A BytesIO, not bytes: aiohttp warns (ResourceWarning) about large raw bodies.
            async with session.post(url + "/echo", data=io.BytesIO(body)) as resp:
                assert resp.status == 200
                assert resp.headers["X-Sha256"] == hashlib.sha256(body).hexdigest()
                assert await resp.read() == body

    arun(main())


def test_post_chunked_upload(arun: Run) -> None:
    parts = [os.urandom(n) for n in (1, 1000, 65536, 200_000)]

    async def produce() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def main() -> None:
        async with serve_app() as url, aiohttp.ClientSession() as session:
            async with session.post(url + "/echo", data=produce()) as resp:
                assert resp.status == 200
                assert await resp.read() == b"".join(parts)

    arun(main())


def test_streaming_response(arun: Run) -> None:
    chunks, size = 40, 50_000

    async def main() -> None:
        async with serve_app() as url, aiohttp.ClientSession() as session:
            params = {"chunks": str(chunks), "size": str(size)}
            async with session.get(url + "/stream", params=params) as resp:
                assert resp.status == 200
                received = bytearray()
                async for piece in resp.content.iter_chunked(8192):
                    received += piece
        expected = b"".join(chunk_bytes(i, size) for i in range(chunks))
        assert len(received) == len(expected)
        assert received == expected

    arun(main())


def test_websocket_echo(arun: Run) -> None:
    big = os.urandom(300_000)

    async def main() -> None:
        async with serve_app() as url, aiohttp.ClientSession() as session:
            async with session.ws_connect(url + "/ws", max_msg_size=0) as ws:
                for i in range(50):
                    await ws.send_str(f"message {i}")
                    assert await ws.receive_str() == f"message {i}"
                await ws.send_bytes(big)
                assert await ws.receive_bytes() == big
                await ws.send_str("close")
                msg = await ws.receive()
                assert msg.type == aiohttp.WSMsgType.CLOSE
                assert ws.close_code == 4000

    arun(main())


def test_https_get(arun: Run, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext) -> None:
    async def main() -> None:
        async with serve_app(ssl_context=server_ssl) as url:
            connector = aiohttp.TCPConnector(ssl=client_ssl)
            async with aiohttp.ClientSession(connector=connector) as session:
                async with session.get(url + "/hello") as resp:
                    assert resp.status == 200
                    assert await resp.read() == HELLO
                async with session.post(url + "/echo", data=b"x" * 100_000) as resp:
                    assert await resp.read() == b"x" * 100_000

    arun(main())


def _tls_session(client_ssl: ssl.SSLContext, **options: Any) -> Any:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ssl, **options))


def test_https_session_facts(
    arun: Run, loop_kind: str, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with serve_app(ssl_context=server_ssl) as url, _tls_session(client_ssl) as session:
            async with session.get(url + "/hello") as resp:
                assert resp.headers["X-Loop"] == loop_class_name(loop_kind)
                assert await resp.read() == HELLO
            # A streamed response keeps its connection while it is read: look at its transport.
            async with session.get(url + "/stream", params={"chunks": "20"}) as resp:
                assert resp.connection is not None and resp.connection.transport is not None
                transport = resp.connection.transport
                # The client's transport (on the loop under test) verified the server's cert.
                peercert = transport.get_extra_info("peercert")
                assert ("IP Address", "127.0.0.1") in peercert["subjectAltName"]
                assert transport.get_extra_info("sslcontext") is client_ssl
                assert transport.get_extra_info("ssl_object").version() == "TLSv1.3"
                assert len(await resp.read()) == 20 * 65536
            async with session.get(url + "/tls") as resp:
                version, cipher = (await resp.text()).split()
            assert version == "TLSv1.3"
            assert cipher.startswith("TLS_")

    arun(main())


def test_https_stream_and_websocket(
    arun: Run, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    big = os.urandom(300_000)

    async def main() -> None:
        async with serve_app(ssl_context=server_ssl) as url, _tls_session(client_ssl) as s:
            params = {"chunks": "30", "size": "70000"}
            async with s.get(url + "/stream", params=params) as resp:
                received = await resp.read()
            assert received == b"".join(chunk_bytes(i, 70000) for i in range(30))
            async with s.ws_connect(url + "/ws", max_msg_size=0) as ws:
                for i in range(30):
                    await ws.send_str(f"secure {i}")
                    assert await ws.receive_str() == f"secure {i}"
                await ws.send_bytes(big)
                assert await ws.receive_bytes() == big
                await ws.send_str("close")
                assert (await ws.receive()).type == aiohttp.WSMsgType.CLOSE
                assert ws.close_code == 4000

    arun(main())


def test_https_file_response(
    arun: Run, tmp_path: Path, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    content = os.urandom(2 * 1024 * 1024 + 5)
    path = tmp_path / "data.bin"
    path.write_bytes(content)

    async def main() -> None:
        app = make_app()
        app[FILE] = path
        async with serve_app(app, ssl_context=server_ssl) as url, _tls_session(client_ssl) as s:
            # A file over TLS cannot go through os.sendfile(): loop.sendfile() falls back
            # (read and write through the TLS transport) as asyncio's does.
            async with s.get(url + "/file") as resp:
                assert resp.status == 200
                assert await resp.read() == content
            async with s.get(url + "/file", headers={"Range": "bytes=1000-1999"}) as resp:
                assert resp.status == 206
                assert await resp.read() == content[1000:2000]

    arun(main())


def test_https_concurrent_keepalive(
    arun: Run, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with serve_app(ssl_context=server_ssl) as url:
            async with _tls_session(client_ssl, limit=8) as session:
                peers: set[str] = set()

                async def fetch(i: int) -> bytes:
                    payload = b"%d." % i * 2000
                    async with session.post(url + "/echo", data=payload) as resp:
                        body = bytes(await resp.read())
                    async with session.get(url + "/peer") as resp:
                        peers.add(await resp.text())
                    return body

                results = await asyncio.gather(*(fetch(i) for i in range(200)))
        assert results == [b"%d." % i * 2000 for i in range(200)]
        assert 1 <= len(peers) <= 8  # 400 requests over at most 8 TLS connections

    arun(main())


def test_https_untrusted_certificate_is_refused(arun: Run, server_ssl: ssl.SSLContext) -> None:
    async def main() -> None:
        async with serve_app(ssl_context=server_ssl) as url:
            # The default context does not trust the test CA: verification must fail.
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientConnectorCertificateError) as info:
                    await session.get(url + "/hello")
            assert isinstance(info.value.certificate_error, ssl.SSLCertVerificationError)
            # And a plain-HTTP client talking to the TLS port gets an error, not a hang.
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientError):
                    await session.get(url.replace("https://", "http://") + "/hello")

    arun(main())


def test_concurrent_clients(arun: Run) -> None:
    async def main() -> None:
        async with serve_app() as url, aiohttp.ClientSession() as session:

            async def fetch(i: int) -> bytes:
                payload = str(i).encode() * 1000
                async with session.post(url + "/echo", data=payload) as resp:
                    return bytes(await resp.read())

            results = await asyncio.gather(*(fetch(i) for i in range(100)))
        assert results == [str(i).encode() * 1000 for i in range(100)]

    arun(main())


def test_file_response(arun: Run, tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 123)
    path = tmp_path / "data.bin"
    path.write_bytes(content)

    async def main() -> None:
        app = make_app()
        app[FILE] = path
        async with serve_app(app) as url, aiohttp.ClientSession() as session:
            async with session.get(url + "/file") as resp:
                assert resp.status == 200
                assert await resp.read() == content
            headers = {"Range": "bytes=1000-1999"}
            async with session.get(url + "/file", headers=headers) as resp:
                assert resp.status == 206
                assert await resp.read() == content[1000:2000]

    arun(main())


def test_unix_socket(arun: Run, tmp_path: Path) -> None:
    sock_path = str(tmp_path / "aiohttp.sock")

    async def main() -> None:
        async with serve_app(unix_path=sock_path) as url:
            connector = aiohttp.UnixConnector(path=sock_path)
            async with aiohttp.ClientSession(connector=connector) as session:
                for _ in range(5):
                    async with session.get(url + "/hello") as resp:
                        assert await resp.read() == HELLO
                async with session.post(url + "/echo", data=b"u" * 200_000) as resp:
                    assert await resp.read() == b"u" * 200_000

    arun(main())


def test_client_cancel_cancels_the_server_handler(arun: Run) -> None:
    async def main() -> None:
        app = make_app()
        async with serve_app(app, handler_cancellation=True) as url:
            async with aiohttp.ClientSession() as session:

                async def fetch_slow() -> None:
                    async with session.get(url + "/slow"):
                        pass

                request = asyncio.ensure_future(fetch_slow())
                await app[SLOW_STARTED].wait()
                request.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await request
                # The client dropped its connection: the server sees it and cancels the handler.
                await app[SLOW_CANCELLED].wait()
                async with session.get(url + "/hello") as resp:
                    assert await resp.read() == HELLO

    arun(main())


def test_client_leaves_a_stream_early(arun: Run) -> None:
    async def main() -> None:
        async with serve_app() as url, aiohttp.ClientSession() as session:
            for _ in range(5):
                params = {"chunks": "200", "size": "65536"}
                async with session.get(url + "/stream", params=params) as resp:
                    assert len(await resp.content.readexactly(100_000)) == 100_000
                    resp.close()
            async with session.get(url + "/hello") as resp:
                assert await resp.read() == HELLO

    arun(main())


@pytest.mark.load
def test_keepalive_10k_requests(arun: Run) -> None:
    total, conns = 10_000, 10

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=conns)
        async with serve_app() as url, aiohttp.ClientSession(connector=connector) as session:
            peers: set[str] = set()
            errors: list[str] = []

            async def worker(count: int) -> None:
                for _ in range(count):
                    async with session.get(url + "/hello") as resp:
                        body = await resp.read()
                        if resp.status != 200 or body != HELLO:
                            errors.append(f"{resp.status} {body[:50]!r}")
                async with session.get(url + "/peer") as resp:
                    peers.add(await resp.text())

            await asyncio.gather(*(worker(total // conns) for _ in range(conns)))
        assert errors == []
        # Keep-alive: the 10,000 requests went over at most `conns` connections.
        assert 1 <= len(peers) <= conns

    arun(main())

"""uvicorn serving an ASGI app on a batonio loop in a subprocess (``--loop module:callable``).

uvicorn 0.36+ takes ``--loop`` as one of its own names (``auto``, ``asyncio``, ``uvloop``,
...) or as an import string ``module:callable`` naming a loop *factory*, which it passes to
``asyncio.Runner(loop_factory=...)``; so batonio is ``--loop batonio:new_event_loop`` (a
bare ``--loop batonio`` is not accepted: uvicorn asks for ``<module>:<attribute>``).  The
asyncio runs use uvicorn's own ``--loop asyncio``.

The server binds port 0 and the test reads the port from uvicorn's "Uvicorn running on" line.
The app's ``/loop`` route tells which loop class served the request (and that the lifespan
startup ran on the same one).  On teardown the server gets SIGINT and must exit with status 0
after its lifespan shutdown: a graceful stop on the loop under test.  The clients (httpx, the
websockets client and a raw keep-alive client) run in the test process on the same kind of
loop.  The https runs give uvicorn ``--ssl-keyfile``/``--ssl-certfile`` (the trustme test
certificate written to files) and talk https and wss to it.
"""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _integ import http_keepalive_load, loop_class_name, require

import batonio

httpx = require("httpx")
uvicorn = require("uvicorn")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HELLO = b"Hello, world!"
START_TIMEOUT = 30.0

Run = Callable[..., Any]

#: uvicorn's --loop value for each loop kind.
LOOP_ARG = {"asyncio": "asyncio", "batonio": "batonio:new_event_loop"}


@dataclass
class Uvicorn:
    """A running uvicorn process and what it printed."""

    proc: subprocess.Popen[str]
    host: str = ""
    port: int = 0
    lines: list[str] = field(default_factory=list)

    scheme: str = "http"

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def output(self) -> str:
        """Everything uvicorn wrote to stderr so far."""
        return "".join(self.lines)


def _drain(server: Uvicorn, started: threading.Event) -> None:
    assert server.proc.stderr is not None
    for line in server.proc.stderr:
        server.lines.append(line)
        match = re.search(r"Uvicorn running on (https?)://([\d.]+):(\d+)", line)
        if match:
            server.scheme, server.host, server.port = match[1], match[2], int(match[3])
            started.set()
    started.set()


@contextmanager
def run_uvicorn(
    loop_kind: str, http: str = "auto", tls: tuple[str, str] | None = None
) -> Iterator[Uvicorn]:
    """Start uvicorn on the loop kind; stop it with SIGINT and check it exited cleanly.

    ``tls`` is ``(keyfile, certfile)``: serve HTTPS with ``--ssl-keyfile``/``--ssl-certfile``.
    """
    cmd = [
        sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0",
        "--loop", LOOP_ARG[loop_kind], "--http", http, "--lifespan", "on",
        "--no-access-log", "--app-dir", str(HERE), "_asgi_app:app",
    ]  # fmt: skip
    if tls is not None:
        cmd += ["--ssl-keyfile", tls[0], "--ssl-certfile", tls[1]]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    server = Uvicorn(proc)
    started = threading.Event()
    reader = threading.Thread(target=_drain, args=(server, started), daemon=True)
    reader.start()
    try:
        if not started.wait(START_TIMEOUT) or not server.port:
            pytest.fail(f"uvicorn did not start on {loop_kind}:\n{server.output()}")
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == 0, f"uvicorn exited with {proc.returncode}:\n{server.output()}"
    assert "Application shutdown complete" in server.output(), server.output()


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_uvicorn_serves_on_the_loop(arun: Run, loop_kind: str, http: str) -> None:
    with run_uvicorn(loop_kind, http) as server:

        async def main() -> None:
            async with httpx.AsyncClient(base_url=server.url) as client:
                resp = await client.get("/")
                assert (resp.status_code, resp.content) == (200, HELLO)
                resp = await client.get("/loop")
                assert resp.text == f"{loop_class_name(loop_kind)} lifespan-same=True"
                body = bytes(range(256)) * 4000
                assert (await client.post("/echo", content=body)).content == body
                resp = await client.get("/stream")
                assert resp.content == b"".join(bytes([97 + i]) * 10_000 for i in range(20))
                assert (await client.get("/missing")).status_code == 404

        arun(main())


def test_uvicorn_websocket(arun: Run, loop_kind: str) -> None:
    require("websockets")
    from websockets.asyncio.client import connect

    with run_uvicorn(loop_kind) as server:

        async def main() -> None:
            async with connect(f"ws://{server.host}:{server.port}/ws") as ws:
                for i in range(20):
                    await ws.send(f"text {i}")
                    assert await ws.recv() == f"text {i}"
                await ws.send(b"\x00\x01" * 50_000)
                assert await ws.recv() == b"\x00\x01" * 50_000

        arun(main())


@pytest.fixture
def tls_files(tls_certs: dict[str, Any], tmp_path: Path) -> tuple[str, str]:
    """The test certificate's key and chain as files, for uvicorn's command line."""
    key, chain = tmp_path / "key.pem", tmp_path / "cert.pem"
    tls_certs["cert"].private_key_pem.write_to_path(str(key))
    tls_certs["cert"].cert_chain_pems[0].write_to_path(str(chain))
    return str(key), str(chain)


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_uvicorn_https(
    arun: Run, loop_kind: str, http: str, tls_files: tuple[str, str], client_ssl: ssl.SSLContext
) -> None:
    with run_uvicorn(loop_kind, http, tls=tls_files) as server:
        assert server.scheme == "https"

        async def main() -> None:
            async with httpx.AsyncClient(base_url=server.url, verify=client_ssl) as client:
                resp = await client.get("/")
                assert (resp.status_code, resp.content) == (200, HELLO)
                resp = await client.get("/loop")
                assert resp.text == f"{loop_class_name(loop_kind)} lifespan-same=True"
                body = bytes(range(256)) * 4000
                assert (await client.post("/echo", content=body)).content == body
                resp = await client.get("/stream")
                assert resp.content == b"".join(bytes([97 + i]) * 10_000 for i in range(20))
            # Plain HTTP to the TLS port is refused, and the server goes on serving.
            with pytest.raises(httpx.HTTPError):
                async with httpx.AsyncClient() as plain:
                    await plain.get(f"http://{server.host}:{server.port}/")
            async with httpx.AsyncClient(base_url=server.url, verify=client_ssl) as client:
                assert (await client.get("/")).content == HELLO

        arun(main())


def test_uvicorn_wss(
    arun: Run, loop_kind: str, tls_files: tuple[str, str], client_ssl: ssl.SSLContext
) -> None:
    require("websockets")
    from websockets.asyncio.client import connect

    with run_uvicorn(loop_kind, tls=tls_files) as server:

        async def main() -> None:
            url = f"wss://{server.host}:{server.port}/ws"
            async with connect(url, ssl=client_ssl, server_hostname="localhost") as ws:
                for i in range(20):
                    await ws.send(f"text {i}")
                    assert await ws.recv() == f"text {i}"
                await ws.send(b"\x00\x01" * 50_000)
                assert await ws.recv() == b"\x00\x01" * 50_000

        arun(main())


@pytest.mark.load
def test_uvicorn_10k_keepalive_requests(arun: Run, loop_kind: str) -> None:
    with run_uvicorn(loop_kind) as server:

        async def main() -> None:
            result = await http_keepalive_load(
                server.host, server.port, "/", total=10_000, conns=10, expect_body=HELLO
            )
            assert result.bad == []
            assert result.ok == 10_000
            assert result.connections == 10

        arun(main())


def test_uvicorn_takes_the_import_string_as_a_loop_factory() -> None:
    config = uvicorn.Config("_asgi_app:app", loop=LOOP_ARG["batonio"])
    assert config.get_loop_factory() is batonio.new_event_loop

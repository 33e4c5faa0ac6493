"""TLS (issue 9): connections, servers, start_tls, the lifecycle and the faults, as a user sees them.

Every test runs on stdlib asyncio (the oracle), uvloop and batonio through the ``loop``
fixture unless it checks a place where batonio deliberately does what asyncio's documentation
promises and asyncio does not (those run on batonio alone and say why):

* honest write flow control: bytes the TLS layer holds count in ``get_write_buffer_size()``,
  so a large write to a slow peer pauses the writer (asyncio reports 0 and never pauses);
* a ``BufferedProtocol`` over TLS gets correct bytes whatever buffer type ``get_buffer()``
  returns (asyncio writes into a copy of a ``bytearray`` slice, CPython gh-156275);
* ``StreamWriter.start_tls()`` hands the TLS layer bytes the reader already holds (asyncio and
  uvloop lose them and hang, CPython gh-142352, uvloop #707).

Misbehaving peers are plain threads with blocking sockets, so they are independent of the loop
under test.  Certificates come from ``trustme``, made once per module.  Every wait is bounded.
"""

from __future__ import annotations

import array
import asyncio
import gc
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

trustme = pytest.importorskip("trustme")

TIMEOUT = 10.0
PY312 = sys.version_info >= (3, 12)


# ---------------------------------------------------------------------- certificates
@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def _no_fd_left() -> Iterator[None]:
    """No fd opened by a test survives it: counted before the loop exists and after it closed."""
    before = _fds()
    yield
    gc.collect()
    for _ in range(100):  # a peer thread may still be closing its socket
        if _fds() <= before:
            break
        time.sleep(0.01)
    assert _fds() <= before


def _is_batonio(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.startswith("batonio")


def _is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.startswith("uvloop")


class Peer(threading.Thread):
    """A blocking-socket peer on a thread: accepts one connection and runs ``script(conn)``."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.address = self.listener.getsockname()
        self.script = script
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                self.script(conn)
        except BaseException as exc:  # reported by finish()
            self.error = exc
        finally:
            self.listener.close()

    def finish(self) -> None:
        self.join(TIMEOUT)
        assert not self.is_alive()
        if self.error is not None:
            raise self.error


class Recorder(asyncio.Protocol):
    """Records what the transport tells the protocol, in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.events: list[Any] = []
        self.data = bytearray()
        self.transport: Any = None
        self.lost = loop.create_future()
        self.eof = loop.create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> None:
        self.events.append("eof")
        if not self.eof.done():
            self.eof.set_result(None)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(("lost", type(exc).__name__ if exc else None))
        self.lost.set_result(exc)


async def _echo_server(loop: asyncio.AbstractEventLoop, ctx: ssl.SSLContext, **kw: Any) -> Any:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0, ssl=ctx, **kw)


# ---------------------------------------------------------------------- the happy paths
@pytest.mark.parametrize("size", [1, 1000, 100_000, 3_000_000])
def test_stream_echo_over_tls(loop: Any, server_ctx: Any, client_ctx: Any, size: int) -> None:
    async def main() -> None:
        server = await _echo_server(loop, server_ctx)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        payload = os.urandom(size)
        writer.write(payload)
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(size), TIMEOUT) == payload
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


def test_extra_info_and_transport_kind(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        server = await _echo_server(loop, server_ctx)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(
            lambda: Recorder(loop), "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        if not _is_uvloop(loop):  # uvloop's TLS transport does not derive from asyncio.Transport
            assert isinstance(transport, asyncio.Transport)
        sslobj = transport.get_extra_info("ssl_object")
        assert isinstance(sslobj, ssl.SSLObject)
        assert transport.get_extra_info("sslcontext") is client_ctx
        assert transport.get_extra_info("peercert") == sslobj.getpeercert()
        assert transport.get_extra_info("cipher") == sslobj.cipher()
        assert transport.get_extra_info("compression") == sslobj.compression()
        assert transport.get_extra_info("peername")[1] == port
        assert transport.get_extra_info("socket") is not None
        assert transport.get_extra_info("nope", "dflt") == "dflt"
        assert transport.can_write_eof() is False
        with pytest.raises(NotImplementedError):
            transport.write_eof()
        with pytest.raises(TypeError):
            transport.write("text")
        transport.close()
        assert transport.is_closing()
        await asyncio.wait_for(proto.lost, TIMEOUT)
        assert proto.events[0] == "made" and proto.events[-1] == ("lost", None)
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


def test_unix_socket_tls(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main(path: str) -> None:
        async def echo(reader: Any, writer: Any) -> None:
            writer.write(await reader.readexactly(5))
            await writer.drain()
            writer.close()

        server = await asyncio.start_unix_server(echo, path, ssl=server_ctx)
        reader, writer = await asyncio.open_unix_connection(
            path, ssl=client_ctx, server_hostname="localhost")
        writer.write(b"hello")
        assert await reader.readexactly(5) == b"hello"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    with tempfile.TemporaryDirectory() as tmp:
        loop.run_until_complete(asyncio.wait_for(main(os.path.join(tmp, "s")), TIMEOUT))


def test_loop_start_tls_both_sides(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        upgraded = loop.create_future()

        class ServerSide(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                self.early: list[bytes] = []  # plaintext that came before start_tls() returned

            def data_received(self, data: bytes) -> None:
                if data == b"STARTTLS\n":
                    self.transport.write(b"OK\n")
                    task = loop.create_task(loop.start_tls(
                        self.transport, self, server_ctx, server_side=True))
                    task.add_done_callback(self.upgraded)
                elif upgraded.done():
                    upgraded.result().write(data.upper())
                else:
                    self.early.append(data)

            def upgraded(self, task: Any) -> None:
                tls_transport = task.result()
                upgraded.set_result(tls_transport)
                for data in self.early:
                    tls_transport.write(data.upper())

        server = await loop.create_server(ServerSide, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"OK\n"
        await writer.start_tls(client_ctx, server_hostname="localhost")
        assert writer.get_extra_info("ssl_object") is not None
        writer.write(b"secret")
        assert await asyncio.wait_for(reader.readexactly(6), TIMEOUT) == b"SECRET"
        writer.close()
        await writer.wait_closed()
        (await upgraded).close()
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


def test_ssl_true_means_the_default_context(loop: Any, server_ctx: Any) -> None:
    """``ssl=True`` verifies against the system store: a private CA's certificate fails."""
    async def main() -> None:
        server = await _echo_server(loop, server_ctx)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(ssl.SSLCertVerificationError):
            await loop.create_connection(
                asyncio.Protocol, "127.0.0.1", port, ssl=True, server_hostname="localhost")
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


# ---------------------------------------------------------------------- bad input
def test_bad_arguments(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="server_hostname is only meaningful with ssl"):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", 1, server_hostname="x")
        with pytest.raises(ValueError, match="ssl_handshake_timeout is only meaningful with ssl"):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", 1,
                                         ssl_handshake_timeout=1)
        with pytest.raises(ValueError, match="ssl_handshake_timeout is only meaningful with ssl"):
            await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, ssl_handshake_timeout=1)
        with pytest.raises(TypeError):
            await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                local_addr=("127.0.0.1", 0), ssl=client_ctx)
        transport, _ = await loop.create_connection(
            asyncio.Protocol, *(await _plain_listener_address(loop)))
        with pytest.raises(TypeError, match="sslcontext is expected to be an instance of"):
            await loop.start_tls(transport, asyncio.Protocol(), object())
        transport.close()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    loop.run_until_complete(_close_plain_listener())


_LISTENERS: list[Any] = []


async def _plain_listener_address(loop: Any) -> tuple[str, int]:
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    _LISTENERS.append(server)
    return server.sockets[0].getsockname()[:2]  # type: ignore[no-any-return]


async def _close_plain_listener() -> None:
    while _LISTENERS:
        server = _LISTENERS.pop()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("value", [0, -1])
def test_non_positive_timeouts_are_refused(loop: Any, client_ctx: Any, value: int) -> None:
    """Refused before connecting (asyncio checks once connected and leaks the socket)."""
    if type(loop) is asyncio.SelectorEventLoop:
        pytest.skip("asyncio leaks the connected socket when it refuses the timeout (its bug)")

    async def main() -> None:
        address = await _plain_listener_address(loop)
        for name in ("ssl_handshake_timeout", "ssl_shutdown_timeout"):
            with pytest.raises(ValueError, match=f"{name} should be a positive number, got {value}"):
                await loop.create_connection(asyncio.Protocol, *address, ssl=client_ctx,
                                             server_hostname="localhost", **{name: value})
        await _close_plain_listener()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


# ---------------------------------------------------------------------- faulty peers
def test_handshake_timeout_aborts_with_asyncio_message(loop: Any, client_ctx: Any) -> None:
    """A server that accepts and never answers: ConnectionAbortedError after the timeout."""
    release = threading.Event()
    peer = Peer(lambda conn: release.wait(TIMEOUT))

    async def main() -> None:
        with pytest.raises(ConnectionAbortedError,
                           match="SSL handshake is taking longer than 0.2 seconds: aborting"):
            await loop.create_connection(asyncio.Protocol, *peer.address, ssl=client_ctx,
                                         server_hostname="localhost", ssl_handshake_timeout=0.2)

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    release.set()
    peer.finish()


def test_peer_sends_garbage_instead_of_a_handshake(loop: Any, client_ctx: Any) -> None:
    peer = Peer(lambda conn: (conn.recv(4096), conn.sendall(b"HTTP/1.0 400 Bad\r\n\r\n" * 20)))

    async def main() -> None:
        with pytest.raises(ssl.SSLError):
            await loop.create_connection(asyncio.Protocol, *peer.address, ssl=client_ctx,
                                         server_hostname="localhost")

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    peer.finish()


def test_peer_closes_mid_handshake(loop: Any, client_ctx: Any) -> None:
    peer = Peer(lambda conn: conn.recv(10))

    async def main() -> None:
        with pytest.raises((ConnectionResetError, ssl.SSLError)):
            await loop.create_connection(asyncio.Protocol, *peer.address, ssl=client_ctx,
                                         server_hostname="localhost")

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    peer.finish()


def test_plain_client_on_tls_server_leaves_server_serving(
        loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        server = await _echo_server(loop, server_ctx, ssl_handshake_timeout=2)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
        writer.close()
        await writer.wait_closed()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        writer.write(b"still serving")
        assert await reader.readexactly(13) == b"still serving"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


def _tls_peer(server_ctx: ssl.SSLContext, then: Callable[[ssl.SSLSocket], None]) -> Peer:
    def script(conn: socket.socket) -> None:
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            then(tls)

    return Peer(script)


def test_peer_closes_without_close_notify(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    """EOF without close_notify: eof_received, then connection_lost(None), as in asyncio."""
    if _is_uvloop(loop):
        pytest.skip("uvloop skips eof_received() when the peer closes without close_notify")
    def send_then_drop(tls: ssl.SSLSocket) -> None:
        tls.sendall(b"bye")
        tls.recv(1)  # the client's go-ahead
        conn = socket.socket(fileno=tls.detach())
        conn.close()

    peer = _tls_peer(server_ctx, send_then_drop)

    async def main() -> None:
        transport, proto = await loop.create_connection(
            lambda: Recorder(loop), *peer.address, ssl=client_ctx, server_hostname="localhost")
        while len(proto.data) < 3:
            await asyncio.sleep(0.01)
        transport.write(b"!")
        await asyncio.wait_for(proto.lost, TIMEOUT)
        assert bytes(proto.data) == b"bye"
        assert proto.events == ["made", "eof", ("lost", None)]

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    peer.finish()


def test_shutdown_timeout_when_peer_never_answers_close_notify(
        loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    release = threading.Event()
    peer = _tls_peer(server_ctx, lambda tls: release.wait(TIMEOUT))

    async def main() -> None:
        transport, proto = await loop.create_connection(
            lambda: Recorder(loop), *peer.address, ssl=client_ctx, server_hostname="localhost",
            ssl_shutdown_timeout=0.3)
        started = loop.time()
        transport.close()
        exc = await asyncio.wait_for(proto.lost, TIMEOUT)
        assert 0.25 <= loop.time() - started < 5
        assert isinstance(exc, asyncio.TimeoutError) and str(exc) == "SSL shutdown timed out"

    try:
        loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    finally:
        release.set()
        peer.finish()


def test_peer_vanishes_mid_record(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    """Half a TLS record, then a reset: the protocol learns of it, the fd is closed."""
    def half_record(tls: ssl.SSLSocket) -> None:
        conn = socket.socket(fileno=tls.detach())
        conn.sendall(b"\x17\x03\x03\x40\x00" + b"\x00" * 100)  # header says 16 KiB follow
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    peer = _tls_peer(server_ctx, half_record)

    async def main() -> None:
        transport, proto = await loop.create_connection(
            lambda: Recorder(loop), *peer.address, ssl=client_ctx, server_hostname="localhost")
        await asyncio.wait_for(proto.lost, TIMEOUT)
        assert proto.events[-1][0] == "lost"
        assert transport.is_closing()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    peer.finish()


def test_abandoned_handshakes_leave_no_fd(loop: Any, server_ctx: Any) -> None:
    """100 clients send a partial ClientHello and vanish: the server keeps no fd of theirs."""
    async def main() -> None:
        server = await _echo_server(loop, server_ctx)
        port = server.sockets[0].getsockname()[1]
        before = _fds()
        for _ in range(100):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        for _ in range(100):
            if _fds() <= before:
                break
            await asyncio.sleep(0.02)
        assert _fds() <= before
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


# ---------------------------------------------------------------------- flow control
def test_large_write_to_slow_peer_pauses_writer(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    """One 10 MiB write to a peer that does not read pauses the protocol (batonio only:
    asyncio and uvloop report a write buffer of 0 here and never pause)."""
    if not _is_batonio(loop):
        pytest.skip("asyncio and uvloop do not count the TLS layer's buffer (the bug fixed here)")
    release = threading.Event()

    def slow_reader(tls: ssl.SSLSocket) -> None:
        release.wait(TIMEOUT)
        received = 0
        while received < 10 * 1024 * 1024:
            received += len(tls.recv(1 << 20))

    peer = _tls_peer(server_ctx, slow_reader)

    class Writer(Recorder):
        def pause_writing(self) -> None:
            self.events.append(("pause", self.transport.get_write_buffer_size()))

        def resume_writing(self) -> None:
            self.events.append(("resume", self.transport.get_write_buffer_size()))

    async def main() -> None:
        transport, proto = await loop.create_connection(
            lambda: Writer(loop), *peer.address, ssl=client_ctx, server_hostname="localhost")
        low, high = transport.get_write_buffer_limits()
        transport.write(b"x" * (10 * 1024 * 1024))
        assert transport.get_write_buffer_size() > high
        assert proto.events[1][0] == "pause" and proto.events[1][1] > high
        release.set()
        for _ in range(1000):
            if transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.01)
        assert transport.get_write_buffer_size() == 0
        kinds = [e[0] for e in proto.events if isinstance(e, tuple) and e[0] != "lost"]
        assert kinds == ["pause", "resume"], proto.events
        assert proto.events[2][1] <= low
        transport.close()
        await asyncio.wait_for(proto.lost, TIMEOUT)

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))
    peer.finish()


def test_pause_reading_through_tls(loop: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        server = await _echo_server(loop, server_ctx)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(
            lambda: Recorder(loop), "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        transport.pause_reading()
        assert not transport.is_reading()
        transport.write(b"a" * 5000)
        await asyncio.sleep(0.2)
        assert len(proto.data) == 0
        transport.resume_reading()
        assert transport.is_reading()
        for _ in range(500):
            if len(proto.data) == 5000:
                break
            await asyncio.sleep(0.01)
        assert bytes(proto.data) == b"a" * 5000
        transport.close()
        await asyncio.wait_for(proto.lost, TIMEOUT)
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


@pytest.mark.parametrize("kind", ["bytearray", "memoryview", "array"])
def test_buffered_protocol_over_tls_gets_correct_bytes(
        loop: Any, server_ctx: Any, client_ctx: Any, kind: str) -> None:
    """batonio only for bytearray: asyncio hands the protocol NULs there (CPython gh-156275)."""
    if kind == "bytearray" and not _is_batonio(loop):
        pytest.skip("asyncio and uvloop fill a copy of the bytearray slice (the bug fixed here)")

    class Buffered(asyncio.BufferedProtocol):
        def __init__(self) -> None:
            self.store = bytearray(64)
            self.got = bytearray()
            self.lost = loop.create_future()

        def get_buffer(self, sizehint: int) -> Any:
            if kind == "bytearray":
                return self.store
            if kind == "memoryview":
                return memoryview(self.store)
            return array.array("B", bytes(64))

        def buffer_updated(self, nbytes: int) -> None:
            source = self._last if kind == "array" else self.store
            self.got += bytes(source[:nbytes])

        def connection_lost(self, exc: Any) -> None:
            self.lost.set_result(exc)

    async def main() -> None:
        server = await _echo_server(loop, server_ctx)
        port = server.sockets[0].getsockname()[1]
        proto = Buffered()
        if kind == "array":
            arrays: list[Any] = []

            def get_buffer(sizehint: int) -> Any:
                arrays.append(array.array("B", bytes(64)))
                proto._last = arrays[-1]  # type: ignore[attr-defined]
                return arrays[-1]

            proto.get_buffer = get_buffer  # type: ignore[method-assign]
        transport, _ = await loop.create_connection(
            lambda: proto, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        payload = bytes(range(256)) * 20
        transport.write(payload)
        for _ in range(500):
            if len(proto.got) >= len(payload):
                break
            await asyncio.sleep(0.01)
        assert bytes(proto.got) == payload
        transport.close()
        await asyncio.wait_for(proto.lost, TIMEOUT)
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))


# ---------------------------------------------------------------------- start_tls data loss
def test_start_tls_keeps_bytes_the_reader_already_holds(loop: Any, server_ctx: Any) -> None:
    """The client sends STARTTLS and its ClientHello in one segment (batonio only: asyncio
    and uvloop leave the ClientHello in the StreamReader and hang, gh-142352, uvloop #707)."""
    if not _is_batonio(loop):
        pytest.skip("asyncio and uvloop lose the bytes already read and hang (the bug fixed here)")
    client_ctx = ssl.create_default_context()
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE

    def eager_client(conn: socket.socket) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = client_ctx.wrap_bio(incoming, outgoing)
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        conn.sendall(b"STARTTLS\n" + outgoing.read())  # line and ClientHello together
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    conn.sendall(outgoing.read())
                incoming.write(conn.recv(65536))
        if outgoing.pending:
            conn.sendall(outgoing.read())
        tls.write(b"ping")
        conn.sendall(outgoing.read())
        reply = b""
        while len(reply) < 4:
            try:
                reply += tls.read(4)
            except ssl.SSLWantReadError:
                incoming.write(conn.recv(65536))
        assert reply == b"PONG"

    async def main() -> None:
        done = loop.create_future()

        async def serve(reader: Any, writer: Any) -> None:
            try:
                assert await reader.readline() == b"STARTTLS\n"
                await writer.start_tls(server_ctx)
                assert await reader.readexactly(4) == b"ping"
                writer.write(b"PONG")
                await writer.drain()
                done.set_result(None)
            except BaseException as exc:
                done.set_exception(exc)
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()

        def client_thread() -> None:
            with socket.create_connection(address, timeout=TIMEOUT) as conn:
                eager_client(conn)

        thread = threading.Thread(target=client_thread, daemon=True)
        thread.start()
        await asyncio.wait_for(done, 5)
        await loop.run_in_executor(None, thread.join, TIMEOUT)
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), TIMEOUT))

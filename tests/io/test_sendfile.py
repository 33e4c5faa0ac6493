"""loop.sock_sendfile and loop.sendfile, on stdlib asyncio, uvloop (skipped: it has neither) and batonio."""
from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
import ssl
import sys
import sysconfig
from asyncio import constants
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

Run = Callable[..., Any]
DATA = (bytes(range(251)) * 1200)[: 256 * 1024 + 1]  # a pattern that shows offset mistakes
BUF_SIZE = 4 * 1024


@pytest.fixture(autouse=True)
def _no_uvloop(loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop 0.23 raises NotImplementedError for sock_sendfile and sendfile")


@pytest.fixture
def data_file(tmp_path: Path) -> Iterator[BinaryIO]:
    """A regular file holding DATA, opened for binary reading."""
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    with path.open("rb") as file:
        yield file


def bounded(coro: Any) -> Any:
    """Bound a test coroutine in time so that a hang fails instead of blocking the run."""
    return asyncio.wait_for(coro, 20)


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected non-blocking TCP pair on 127.0.0.1 with small buffers: (sender, receiver)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUF_SIZE)
        listener.listen(1)
        sender = socket.create_connection(listener.getsockname())
        receiver, _ = listener.accept()
    with sender, receiver:
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUF_SIZE)
        sender.setblocking(False)
        receiver.setblocking(False)
        yield sender, receiver


async def receive_all(loop: Any, sock: socket.socket) -> bytes:
    """Everything ``sock`` receives until EOF."""
    received = bytearray()
    while chunk := await loop.sock_recv(sock, 65536):
        received += chunk
    return bytes(received)


async def sock_send_and_receive(loop: Any, pair: tuple[socket.socket, socket.socket], send: Any) -> tuple[Any, bytes]:
    """Run ``send()`` on the sender while the receiver reads; EOF after it. (result, bytes)."""
    sender, receiver = pair
    receiving = asyncio.ensure_future(receive_all(loop, receiver))
    result = await send()
    sender.shutdown(socket.SHUT_WR)
    return result, await receiving


# ---------------------------------------------------------------------- sock_sendfile
def test_sock_sendfile(loop: Any, run: Run, tcp_pair: Any, data_file: BinaryIO) -> None:
    sent, received = run(bounded(sock_send_and_receive(loop, tcp_pair, lambda: loop.sock_sendfile(tcp_pair[0], data_file))))
    assert sent == len(DATA)
    assert received == DATA
    assert data_file.tell() == len(DATA)


def test_sock_sendfile_offset_and_count(loop: Any, run: Run, tcp_pair: Any, data_file: BinaryIO) -> None:
    sent, received = run(bounded(sock_send_and_receive(
        loop, tcp_pair, lambda: loop.sock_sendfile(tcp_pair[0], data_file, 1000, 70_000)
    )))
    assert sent == 70_000
    assert received == DATA[1000:71_000]
    assert data_file.tell() == 71_000


def test_sock_sendfile_count_beyond_the_end(loop: Any, run: Run, tcp_pair: Any, data_file: BinaryIO) -> None:
    offset = len(DATA) - 10
    sent, received = run(bounded(sock_send_and_receive(
        loop, tcp_pair, lambda: loop.sock_sendfile(tcp_pair[0], data_file, offset, 1000)
    )))
    assert (sent, received, data_file.tell()) == (10, DATA[offset:], len(DATA))


def test_sock_sendfile_empty_file(loop: Any, run: Run, tcp_pair: Any, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with path.open("rb") as empty:
        sent, received = run(bounded(sock_send_and_receive(loop, tcp_pair, lambda: loop.sock_sendfile(tcp_pair[0], empty))))
        assert (sent, received, empty.tell()) == (0, b"", 0)


def test_sock_sendfile_between_sendalls(loop: Any, run: Run, tcp_pair: Any, data_file: BinaryIO) -> None:
    sender = tcp_pair[0]
    chunk = b"mix_regular_send" * 4096

    async def send() -> int:
        await loop.sock_sendall(sender, chunk)
        sent: int = await loop.sock_sendfile(sender, data_file)
        await loop.sock_sendall(sender, chunk)
        return sent

    sent, received = run(bounded(sock_send_and_receive(loop, tcp_pair, send)))
    assert sent == len(DATA)
    assert received == chunk + DATA + chunk


def test_sock_sendfile_fallback(
    loop: Any, run: Run, tcp_pair: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "SENDFILE_FALLBACK_READBUFFER_SIZE", 1024)  # many chunks
    file = io.BytesIO(DATA)  # no fileno: the native path is not available
    sent, received = run(bounded(sock_send_and_receive(
        loop, tcp_pair, lambda: loop.sock_sendfile(tcp_pair[0], file, 500, 10_000)
    )))
    assert (sent, received, file.tell()) == (10_000, DATA[500:10_500], 10_500)


def test_sock_sendfile_fallback_to_the_end(loop: Any, run: Run, tcp_pair: Any) -> None:
    file = io.BytesIO(DATA)
    sent, received = run(bounded(sock_send_and_receive(loop, tcp_pair, lambda: loop.sock_sendfile(tcp_pair[0], file))))
    assert (sent, received, file.tell()) == (len(DATA), DATA, len(DATA))


def test_sock_sendfile_not_available_without_fallback(loop: Any, run: Run, tcp_pair: Any) -> None:
    file = io.BytesIO(DATA)
    with pytest.raises(asyncio.SendfileNotAvailableError, match="^not a regular file$"):
        run(loop.sock_sendfile(tcp_pair[0], file, fallback=False))
    assert file.tell() == 0


def test_sock_sendfile_of_a_pipe_falls_back(loop: Any, loop_kind: str, run: Run, tcp_pair: Any) -> None:
    if loop_kind == "asyncio":
        pytest.skip("asyncio takes a pipe's st_size (0) as the file size and sends nothing")
    read_fd, write_fd = os.pipe()
    os.write(write_fd, DATA[:50_000])
    os.close(write_fd)
    with open(read_fd, "rb") as pipe:
        sent, received = run(bounded(sock_send_and_receive(loop, tcp_pair, lambda: loop.sock_sendfile(tcp_pair[0], pipe))))
    assert (sent, received) == (50_000, DATA[:50_000])


def test_sock_sendfile_cancelled_moves_the_file_position(
    loop: Any, loop_kind: str, run: Run, tcp_pair: Any, data_file: BinaryIO
) -> None:
    if loop_kind == "asyncio":
        pytest.skip("asyncio leaves the file position where it was when sock_sendfile is cancelled")
    sender, receiver = tcp_pair

    async def main() -> bytes:
        sending = asyncio.ensure_future(loop.sock_sendfile(sender, data_file))
        while True:  # the receiver does not read: sendfile fills the buffers, then waits
            await asyncio.sleep(0)
            if sender.fileno() in loop._writers:
                break
        for _ in range(5):
            await asyncio.sleep(0)
        assert not sending.done()
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        assert sender.fileno() not in loop._writers
        sender.shutdown(socket.SHUT_WR)
        return await receive_all(loop, receiver)

    received = run(bounded(main()))
    assert 0 < len(received) < len(DATA)
    assert data_file.tell() == len(received)  # the position says how much was sent
    assert received == DATA[: len(received)]


@pytest.mark.parametrize(
    ("offset", "count", "error", "message"),
    [
        (0, "1", TypeError, "count must be a positive integer (got '1')"),
        (0, 0, ValueError, "count must be a positive integer (got 0)"),
        (0, -5, ValueError, "count must be a positive integer (got -5)"),
        (1.5, None, TypeError, "offset must be a non-negative integer (got 1.5)"),
        (-1, None, ValueError, "offset must be a non-negative integer (got -1)"),
    ],
)
def test_sock_sendfile_argument_checks(
    loop: Any, run: Run, tcp_pair: Any, data_file: BinaryIO, offset: Any, count: Any, error: type, message: str
) -> None:
    with pytest.raises(error) as info:
        run(loop.sock_sendfile(tcp_pair[0], data_file, offset, count))
    assert str(info.value) == message
    assert data_file.tell() == 0


def test_sock_sendfile_text_file_refused(loop: Any, run: Run, tcp_pair: Any, tmp_path: Path) -> None:
    path = tmp_path / "text"
    path.write_text("text")
    with path.open("r") as text, pytest.raises(ValueError, match="^file should be opened in binary mode$"):
        run(loop.sock_sendfile(tcp_pair[0], text))


def test_sock_sendfile_datagram_socket_refused(loop: Any, run: Run, data_file: BinaryIO) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        with pytest.raises(ValueError, match="^only SOCK_STREAM type sockets are supported$"):
            run(loop.sock_sendfile(sock, data_file))


def test_sock_sendfile_blocking_socket_refused(loop: Any, loop_kind: str, run: Run, data_file: BinaryIO) -> None:
    if loop_kind == "asyncio":
        loop.set_debug(True)  # asyncio checks only in debug mode; batonio always (issue 8)
    with socket.socket() as sock, pytest.raises(ValueError, match="^the socket must be non-blocking$"):
        run(loop.sock_sendfile(sock, data_file))


# ---------------------------------------------------------------------- sendfile on a transport
class Receiver(asyncio.Protocol):
    """The server side: collects what arrives, optionally closes after ``close_after`` bytes."""

    def __init__(self, loop: Any, close_after: int = 0) -> None:
        self.data = bytearray()
        self.close_after = close_after
        self.transport: Any = None
        self.connected = loop.create_future()
        self.done = loop.create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.connected.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.data += data
        if self.close_after and len(self.data) >= self.close_after:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.done.set_result(None)


class Sender(asyncio.Protocol):
    """The client side: records the flow-control calls it receives."""

    def __init__(self, loop: Any) -> None:
        self.events: list[str] = []
        self.done = loop.create_future()

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.done.set_result(None)


def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Server and client contexts with CPython's test certificate (skip if it is absent)."""
    certificate = Path(sysconfig.get_paths()["stdlib"]) / "test" / "certdata" / "keycert.pem"
    if not certificate.exists():
        pytest.skip("CPython's test certificates are not installed")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certificate)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    return server, client


@contextlib.asynccontextmanager
async def connection(
    loop: Any, close_after: int = 0, tls: bool = False
) -> AsyncIterator[tuple[Any, Sender, Receiver]]:
    """A client transport connected to a Receiver, with small socket buffers."""
    server_tls, client_tls = tls_contexts() if tls else (None, None)
    receiver = Receiver(loop, close_after)
    server = await loop.create_server(lambda: receiver, "127.0.0.1", 0, ssl=server_tls)
    try:
        server.sockets[0].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUF_SIZE)
        transport, sender = await loop.create_connection(
            lambda: Sender(loop), *server.sockets[0].getsockname(), ssl=client_tls
        )
        try:
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUF_SIZE)
            await receiver.connected
            yield transport, sender, receiver
        finally:
            transport.close()
            await sender.done
            receiver.transport.close()
            await receiver.done
    finally:
        server.close()
        await server.wait_closed()


def skip_asyncio_fallback_corruption(loop_kind: str) -> None:
    """asyncio 3.12+ corrupts the data its own transport fallback sends."""
    if loop_kind == "asyncio" and sys.version_info >= (3, 12):
        pytest.skip(
            "asyncio 3.12+'s transport queues a view of the caller's buffer (the zero-copy "
            "write of gh-91166), which its sendfile fallback then overwrites with the next chunk"
        )


def force_fallback(loop: Any) -> None:
    """Make the native path unavailable, as CPython's test_sendfile does."""

    async def not_available(transport: Any, file: Any, offset: int, count: int | None) -> int:
        raise asyncio.SendfileNotAvailableError("sendfile syscall is not supported")

    loop._sendfile_native = not_available


async def send_file(loop: Any, file: Any, *args: Any, prefix: bytes = b"", suffix: bytes = b"", **kwargs: Any) -> tuple[int, bytes]:
    """sendfile over a fresh connection: (bytes sent, what the server received)."""
    async with connection(loop) as (transport, _, receiver):
        if prefix:
            transport.write(prefix)
        sent = await loop.sendfile(transport, file, *args, **kwargs)
        if suffix:
            transport.write(suffix)
        transport.close()
        await receiver.done
        return sent, bytes(receiver.data)


def test_sendfile(loop: Any, run: Run, data_file: BinaryIO) -> None:
    assert run(bounded(send_file(loop, data_file))) == (len(DATA), DATA)
    assert data_file.tell() == len(DATA)


def test_sendfile_offset_and_count(loop: Any, run: Run, data_file: BinaryIO) -> None:
    assert run(bounded(send_file(loop, data_file, 1000, 100))) == (100, DATA[1000:1100])
    assert data_file.tell() == 1100


def test_sendfile_between_writes(loop: Any, run: Run, data_file: BinaryIO) -> None:
    prefix, suffix = b"PREFIX__" * 1024, b"--SUFFIX" * 1024
    sent, received = run(bounded(send_file(loop, data_file, prefix=prefix, suffix=suffix)))
    assert (sent, received) == (len(DATA), prefix + DATA + suffix)


def test_sendfile_fallback(loop: Any, loop_kind: str, run: Run, data_file: BinaryIO) -> None:
    skip_asyncio_fallback_corruption(loop_kind)
    force_fallback(loop)
    prefix = b"p" * 100_000  # queued before: the fallback writes after it
    assert run(bounded(send_file(loop, data_file, 7, 200_000, prefix=prefix))) == (200_000, prefix + DATA[7:200_007])
    assert data_file.tell() == 200_007


def test_sendfile_fallback_of_a_file_without_fileno(loop: Any, loop_kind: str, run: Run) -> None:
    skip_asyncio_fallback_corruption(loop_kind)
    file = io.BytesIO(DATA)
    assert run(bounded(send_file(loop, file))) == (len(DATA), DATA)
    assert file.tell() == len(DATA)


def test_sendfile_over_tls_falls_back(loop: Any, run: Run, data_file: BinaryIO) -> None:
    async def main() -> tuple[int, bytes, bool]:
        async with connection(loop, tls=True) as (transport, sender, receiver):
            sent = await loop.sendfile(transport, data_file, 10, 100_000)
            restored = transport.get_protocol() is sender and transport.is_reading()
            transport.close()
            await receiver.done
            return sent, bytes(receiver.data), restored

    assert run(bounded(main())) == (100_000, DATA[10:100_010], True)
    assert data_file.tell() == 100_010


def test_sendfile_over_tls_without_fallback(loop: Any, run: Run, data_file: BinaryIO) -> None:
    async def main() -> None:
        async with connection(loop, tls=True) as (transport, _, _receiver):
            with pytest.raises(RuntimeError, match="^fallback is disabled and native sendfile is not supported"):
                await loop.sendfile(transport, data_file, fallback=False)

    run(bounded(main()))


def test_sendfile_fallback_restores_the_protocol(loop: Any, run: Run, data_file: BinaryIO) -> None:
    force_fallback(loop)

    async def main() -> tuple[Any, ...]:
        async with connection(loop) as (transport, sender, receiver):
            sending = asyncio.ensure_future(loop.sendfile(transport, data_file))
            await asyncio.sleep(0)
            during = (transport.get_protocol() is sender, transport.is_reading())
            sent = await sending
            after = (transport.get_protocol() is sender, transport.is_reading())
            return sent, during, after

    sent, during, after = run(bounded(main()))
    assert sent == len(DATA)
    assert during == (False, False)  # the protocol is stood in for and reading is paused
    assert after == (True, True)


def test_sendfile_fallback_waits_for_a_paused_protocol(loop: Any, run: Run, data_file: BinaryIO) -> None:
    force_fallback(loop)

    async def main() -> tuple[list[str], int, bytes]:
        async with connection(loop) as (transport, sender, receiver):
            receiver.transport.pause_reading()
            transport.set_write_buffer_limits(high=BUF_SIZE)
            while not sender.events:  # fill the buffers until the protocol is paused
                transport.write(b"q" * 65536)
                await asyncio.sleep(0)
            sending = asyncio.ensure_future(loop.sendfile(transport, data_file, 0, 100))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not sending.done()  # held back until the transport drains
            receiver.transport.resume_reading()
            sent = await sending
            events = list(sender.events)
            transport.close()
            await receiver.done
            return events, sent, bytes(receiver.data[-100:])

    events, sent, tail = run(bounded(main()))
    assert events == ["pause", "resume"]  # paused before, told to resume after the file
    assert (sent, tail) == (100, DATA[:100])


def test_sendfile_fallback_keeps_pause_and_resume_paired(
    loop: Any, loop_kind: str, run: Run, data_file: BinaryIO
) -> None:
    if loop_kind != "batonio":
        pytest.skip("asyncio drops a pause_writing that happens during the fallback, then resumes the protocol")
    force_fallback(loop)

    async def main() -> tuple[list[str], bool, list[str]]:
        async with connection(loop) as (transport, sender, receiver):
            transport.set_write_buffer_limits(high=1, low=0)  # every queued chunk pauses
            await loop.sendfile(transport, data_file, 0, 3 * 16384)
            events, paused = list(sender.events), transport._protocol_paused
            transport.close()
            await receiver.done
            return events, paused, list(sender.events)

    events, paused, final = run(bounded(main()))
    # The protocol's view (pauses minus resumes) is the transport's, then and at the end.
    assert events.count("pause") - events.count("resume") == int(paused)
    assert final.count("pause") == final.count("resume")


def test_sendfile_native_refuses_plain_writes(loop: Any, run: Run, data_file: BinaryIO) -> None:
    async def main() -> int:
        async with connection(loop) as (transport, _, receiver):
            sending = asyncio.ensure_future(loop.sendfile(transport, data_file))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="sendfile is in progress"):
                transport.write(b"data")
            sent: int = await sending
            transport.write(b"after")  # allowed again
            transport.close()
            await receiver.done
            assert bytes(receiver.data) == DATA + b"after"
            return sent

    assert run(bounded(main())) == len(DATA)


def test_sendfile_native_unavailable_without_fallback(loop: Any, run: Run, data_file: BinaryIO) -> None:
    force_fallback(loop)
    with pytest.raises(asyncio.SendfileNotAvailableError, match="not supported"):
        run(bounded(send_file(loop, data_file, fallback=False)))
    assert data_file.tell() == 0


def test_sendfile_closing_transport(loop: Any, run: Run, data_file: BinaryIO) -> None:
    async def main() -> None:
        async with connection(loop) as (transport, _, _receiver):
            transport.close()
            with pytest.raises(RuntimeError, match="^Transport is closing$"):
                await loop.sendfile(transport, data_file)

    run(bounded(main()))
    assert data_file.tell() == 0


def test_sendfile_peer_closes_in_the_middle(loop: Any, run: Run, data_file: BinaryIO) -> None:
    async def main() -> int:
        async with connection(loop, close_after=1024) as (transport, _, receiver):
            with pytest.raises(ConnectionError):
                await loop.sendfile(transport, data_file)
            await receiver.done
            return len(receiver.data)

    received = run(bounded(main()))
    assert 1024 <= received < len(DATA)
    assert 1024 <= data_file.tell() < len(DATA)


def test_sendfile_fallback_peer_closes_in_the_middle(loop: Any, run: Run, data_file: BinaryIO) -> None:
    force_fallback(loop)

    async def main() -> int:
        async with connection(loop, close_after=1024) as (transport, _, receiver):
            with pytest.raises(ConnectionError):
                await loop.sendfile(transport, data_file)
            await receiver.done
            return len(receiver.data)

    assert 1024 <= run(bounded(main())) < len(DATA)
    assert 1024 <= data_file.tell() < len(DATA)


class _FakeTransport:
    def __init__(self, mode: Any = None) -> None:
        if mode is not None:
            self._sendfile_compatible = mode

    def is_closing(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<FakeTransport>"


@pytest.mark.parametrize("mode", [None, constants._SendfileMode.UNSUPPORTED])
def test_sendfile_unsupported_transport(loop: Any, run: Run, data_file: BinaryIO, mode: Any) -> None:
    with pytest.raises(RuntimeError, match="^sendfile is not supported for transport <FakeTransport>$"):
        run(loop.sendfile(_FakeTransport(mode), data_file))
    assert data_file.tell() == 0


def test_sendfile_false_mode_is_unsupported(loop: Any, loop_kind: str, run: Run, data_file: BinaryIO) -> None:
    if loop_kind != "batonio":
        pytest.skip("batonio's transports may say _sendfile_compatible = False; asyncio's use the enum")
    with pytest.raises(RuntimeError, match="^sendfile is not supported for transport <FakeTransport>$"):
        run(loop.sendfile(_FakeTransport(False), data_file))


def test_sendfile_no_fallback_for_a_fallback_transport(loop: Any, run: Run, data_file: BinaryIO) -> None:
    with pytest.raises(
        RuntimeError,
        match="^fallback is disabled and native sendfile is not supported for transport <FakeTransport>$",
    ):
        run(loop.sendfile(_FakeTransport(constants._SendfileMode.FALLBACK), data_file, fallback=False))

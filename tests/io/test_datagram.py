"""Datagram endpoints and transports on stdlib asyncio (the oracle), uvloop and batonio."""

from __future__ import annotations

import asyncio
import asyncio.selector_events
import contextlib
import errno
import gc
import logging
import os
import pathlib
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

PY313 = sys.version_info >= (3, 13)
HAS_REUSEPORT = hasattr(socket, "SO_REUSEPORT")
needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
# asyncio 3.13 counts 8 bytes per queued datagram; until gh-135444 it never took them back.
ASYNCIO_TAKES_HEADERS_BACK = hasattr(asyncio.selector_events._SelectorDatagramTransport, "_header_size")
UVLOOP_NO_UNIX = "uvloop refuses Unix addresses in create_datagram_endpoint (wants (host, port))"
Run = Callable[..., Any]


class Recorder(asyncio.DatagramProtocol):
    """Records every protocol call; datagrams and errors are also queued for awaiting."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.transport: Any = None
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.events.append(("made", transport))

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.events.append(("data", (data, addr)))
        self.inbox.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.events.append(("error", exc))
        self.inbox.put_nowait(exc)

    def pause_writing(self) -> None:
        self.events.append(("pause", self.transport.get_write_buffer_size()))

    def resume_writing(self) -> None:
        self.events.append(("resume", self.transport.get_write_buffer_size()))

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append(("lost", exc))
        self.lost.set_result(exc)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


class Echo(Recorder):
    """Answers each datagram with ``b"resp:" + data`` to its sender."""

    def datagram_received(self, data: bytes, addr: Any) -> None:
        super().datagram_received(data, addr)
        self.transport.sendto(b"resp:" + data, addr)


@contextlib.asynccontextmanager
async def endpoint(factory: Callable[[], Recorder] = Recorder, **kwargs: Any) -> AsyncIterator[tuple[Any, Recorder]]:
    """create_datagram_endpoint, closed (and connection_lost awaited) on exit."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(factory, **kwargs)
    try:
        yield transport, protocol
    finally:
        transport.close()
        await protocol.lost


@pytest.fixture
def short_tmp() -> Iterator[pathlib.Path]:
    """A short directory for Unix socket paths (sun_path holds only 108 bytes)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bt-dg-") as name:
        yield pathlib.Path(name)


def ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def closed_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing listens on (it was bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def echo_round_trip(local: tuple[str, int], family: int) -> None:
    async with endpoint(Echo, local_addr=local, family=family) as (server_tr, server):
        server_addr = server_tr.get_extra_info("sockname")
        async with endpoint(remote_addr=server_addr[:2]) as (client_tr, client):
            assert client.names() == ["made"]
            assert client.transport is client_tr
            assert client_tr.get_extra_info("peername")[:2] == server_addr[:2]
            client_tr.sendto(b"xxx")
            data, addr = await client.inbox.get()
            assert data == b"resp:xxx"
            assert addr[:2] == server_addr[:2]
            assert (await server.inbox.get())[0] == b"xxx"
        assert client.names() == ["made", "data", "lost"]
        assert client.events[-1] == ("lost", None)


# ---------------------------------------------------------------------- echo, address families
def test_echo_ipv4(run: Run) -> None:
    run(echo_round_trip(("127.0.0.1", 0), socket.AF_INET))


@pytest.mark.skipif(not ipv6_available(), reason="IPv6 is not available on ::1")
def test_echo_ipv6(run: Run) -> None:
    run(echo_round_trip(("::1", 0), socket.AF_INET6))


def test_unconnected_endpoint_sends_to_each_address(run: Run) -> None:
    async def main() -> None:
        async with endpoint(Echo, local_addr=("127.0.0.1", 0)) as (server_tr, _):
            server_addr = server_tr.get_extra_info("sockname")
            async with endpoint(local_addr=("127.0.0.1", 0)) as (client_tr, client):
                assert client_tr.get_extra_info("peername") is None
                assert client_tr.get_extra_info("sockname")[0] == "127.0.0.1"
                for payload in (b"one", b"two"):
                    client_tr.sendto(payload, server_addr)
                assert await client.inbox.get() == (b"resp:one", server_addr)
                assert await client.inbox.get() == (b"resp:two", server_addr)

    run(main())


def test_connected_endpoint_refuses_another_address(run: Run, loop_kind: str) -> None:
    async def main() -> None:
        async with endpoint(Echo, local_addr=("127.0.0.1", 0)) as (server_tr, _):
            server_addr = server_tr.get_extra_info("sockname")
            async with endpoint(remote_addr=server_addr) as (client_tr, client):
                other = ("127.0.0.1", server_addr[1] + 1 if server_addr[1] < 65535 else 1)
                with pytest.raises(ValueError) as info:
                    client_tr.sendto(b"x", other)
                if loop_kind != "uvloop":  # uvloop words it differently
                    assert str(info.value) == f"Invalid address: must be None or {server_addr}"
                client_tr.sendto(b"same", server_addr)  # the peer's own address is allowed
                assert (await client.inbox.get())[0] == b"resp:same"

    run(main())


def test_existing_socket_is_adopted(run: Run) -> None:
    async def main() -> None:
        async with endpoint(Echo, local_addr=("127.0.0.1", 0)) as (server_tr, _):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.connect(server_tr.get_extra_info("sockname"))
            async with endpoint(sock=sock) as (client_tr, client):
                assert sock.gettimeout() == 0  # made non-blocking
                assert client_tr.get_extra_info("socket").fileno() == sock.fileno()
                client_tr.sendto(b"adopted")
                assert (await client.inbox.get())[0] == b"resp:adopted"
            assert sock.fileno() == -1  # the transport closed it

    run(main())


# ---------------------------------------------------------------------- Unix datagram sockets
@needs_unix
def test_unix_datagram_echo(run: Run, loop_kind: str, short_tmp: pathlib.Path) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)
    server_path, client_path = str(short_tmp / "srv"), str(short_tmp / "cli")

    async def main() -> None:
        async with endpoint(Echo, local_addr=server_path, family=socket.AF_UNIX) as (server_tr, _):
            assert server_tr.get_extra_info("sockname") == server_path
            async with endpoint(
                local_addr=client_path, remote_addr=server_path, family=socket.AF_UNIX
            ) as (client_tr, client):
                assert client_tr.get_extra_info("peername") == server_path
                client_tr.sendto(b"unix")
                assert await client.inbox.get() == (b"resp:unix", server_path)

    run(main())


@needs_unix
def test_unix_stale_socket_file_is_replaced(run: Run, loop_kind: str, short_tmp: pathlib.Path) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)
    path = str(short_tmp / "stale")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as old:
        old.bind(path)  # closing leaves the file behind

    async def main() -> None:
        async with endpoint(local_addr=path, family=socket.AF_UNIX) as (transport, _):
            assert transport.get_extra_info("sockname") == path

    run(main())


@needs_unix
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract names are Linux only")
def test_unix_abstract_name(run: Run, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)
    server_name = f"\0batonio-dg-{os.getpid()}-srv"
    client_name = f"\0batonio-dg-{os.getpid()}-cli"

    async def main() -> None:
        async with endpoint(Echo, local_addr=server_name, family=socket.AF_UNIX) as (server_tr, _):
            assert server_tr.get_extra_info("sockname") == server_name.encode()  # Linux gives bytes
            async with endpoint(
                local_addr=client_name, remote_addr=server_name, family=socket.AF_UNIX
            ) as (client_tr, client):
                assert client_tr.get_extra_info("peername") == server_name.encode()
                client_tr.sendto(b"abstract")
                assert await client.inbox.get() == (b"resp:abstract", server_name.encode())

    run(main())


@needs_unix
def test_unix_unbound_endpoint(run: Run, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop refuses family=AF_UNIX without addresses")

    async def main() -> None:
        async with endpoint(family=socket.AF_UNIX) as (transport, protocol):
            assert transport.get_extra_info("socket").family == socket.AF_UNIX
            assert protocol.names() == ["made"]

    run(main())


@needs_unix
@pytest.mark.parametrize("address", [b"/tmp/batonio-bytes", pathlib.Path("/tmp/batonio-path"), ("x", 1)])
def test_unix_address_must_be_str(run: Run, loop_kind: str, address: Any) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError, match="^string is expected$"):
            await loop.create_datagram_endpoint(Recorder, local_addr=address, family=socket.AF_UNIX)

    run(main())


# ---------------------------------------------------------------------- errors and socket options
def test_error_received_on_connected_socket_to_closed_port(run: Run) -> None:
    async def main() -> None:
        async with endpoint(remote_addr=("127.0.0.1", closed_udp_port())) as (transport, protocol):
            transport.sendto(b"anyone?")
            # The ICMP port-unreachable answer is reported by the next send or receive.
            while protocol.inbox.empty():
                transport.sendto(b"anyone?")
                await asyncio.sleep(0)
            exc = await protocol.inbox.get()
            assert isinstance(exc, ConnectionRefusedError)
            assert not transport.is_closing()  # not fatal

    run(main())


def test_socket_options_only_when_asked(run: Run) -> None:
    async def main() -> None:
        async with endpoint(local_addr=("127.0.0.1", 0)) as (transport, _):
            sock = transport.get_extra_info("socket")
            assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
            assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
            if HAS_REUSEPORT:
                assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)

    run(main())


def test_allow_broadcast_sets_so_broadcast_and_stays_unconnected(run: Run, loop_kind: str) -> None:
    async def main() -> None:
        async with endpoint(Echo, local_addr=("127.0.0.1", 0)) as (server_tr, _):
            server_addr = server_tr.get_extra_info("sockname")
            async with endpoint(remote_addr=server_addr, allow_broadcast=True) as (client_tr, client):
                sock = client_tr.get_extra_info("socket")
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
                if loop_kind != "uvloop":  # uvloop connects the socket all the same
                    assert client_tr.get_extra_info("peername") is None
                client_tr.sendto(b"bcast")  # goes to remote_addr with sendto()
                assert await client.inbox.get() == (b"resp:bcast", server_addr)

    run(main())


@pytest.mark.skipif(not HAS_REUSEPORT, reason="no SO_REUSEPORT")
def test_reuse_port_lets_two_endpoints_share_a_port(run: Run, loop_kind: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with endpoint(local_addr=("127.0.0.1", 0), reuse_port=True) as (first, _):
            addr = first.get_extra_info("sockname")
            assert first.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
            async with endpoint(local_addr=addr, reuse_port=True) as (second, _):
                assert second.get_extra_info("sockname") == addr
            if loop_kind == "uvloop":
                return  # uvloop leaks the transport of a failed bind (a ResourceWarning)
            with pytest.raises(OSError) as info:  # without reuse_port the port is taken
                await loop.create_datagram_endpoint(Recorder, local_addr=addr)
            assert info.value.errno == errno.EADDRINUSE

    run(main())


def test_reuse_port_unsupported_message(run: Run, loop_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop sets SO_REUSEPORT through libuv, not the socket module")
    if HAS_REUSEPORT:
        monkeypatch.delattr(socket, "SO_REUSEPORT")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match="^reuse_port not supported by socket module$"):
            await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0), reuse_port=True)

    run(main())


def test_bad_arguments(run: Run, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop still has reuse_address and words its errors differently")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match="^unexpected address family$"):
            await loop.create_datagram_endpoint(Recorder)
        for address in ("localhost", ("localhost", 1, 2, 3)):
            with pytest.raises(TypeError, match="^2-tuple is expected$"):
                await loop.create_datagram_endpoint(Recorder, local_addr=address)
        if ipv6_available():
            with pytest.raises(ValueError, match="^can not get address information$"):
                await loop.create_datagram_endpoint(
                    Recorder, remote_addr=("127.0.0.1", 1), local_addr=("::1", 0)
                )
        with pytest.raises(TypeError, match="got an unexpected keyword argument 'reuse_address'"):
            await loop.create_datagram_endpoint(Recorder, family=socket.AF_INET, reuse_address=True)

    run(main())


def test_stream_socket_refused(run: Run, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop's message differs")
    expected = "A datagram socket was expected, got " if PY313 else "A UDP Socket was expected, got "

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            with pytest.raises(ValueError) as info:
                await loop.create_datagram_endpoint(Recorder, sock=sock)
            assert str(info.value) == expected + repr(sock)

    run(main())


def test_socket_modifiers_refused_beside_sock(run: Run, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop's message differs")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            with pytest.raises(ValueError) as info:
                await loop.create_datagram_endpoint(
                    Recorder, sock=sock, local_addr=("127.0.0.1", 0), flags=1, allow_broadcast=True
                )
            assert str(info.value) == (
                "socket modifier keyword arguments can not be used when sock is specified. "
                "(local_addr=('127.0.0.1', 0), flags=1, allow_broadcast=True)"
            )
            assert sock.fileno() != -1  # left to its owner

    run(main())


def test_sendto_refuses_non_bytes(run: Run, loop_kind: str) -> None:
    async def main() -> None:
        async with endpoint(local_addr=("127.0.0.1", 0)) as (transport, _):
            with pytest.raises(TypeError) as info:
                transport.sendto("text", ("127.0.0.1", 9))
            if loop_kind != "uvloop":  # uvloop lets the socket module word it
                assert str(info.value) == "data argument must be a bytes-like object, not 'str'"

    run(main())


def test_water_marks_validated(run: Run, loop_kind: str) -> None:
    async def main() -> None:
        async with endpoint(local_addr=("127.0.0.1", 0)) as (transport, _):
            if loop_kind != "uvloop":  # uvloop's default low-water mark is 16 bytes
                assert transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
            transport.set_write_buffer_limits(high=100)
            assert transport.get_write_buffer_limits() == (25, 100)
            transport.set_write_buffer_limits(low=10)
            assert transport.get_write_buffer_limits() == (10, 40)
            with pytest.raises(ValueError, match=r"^high \(1\) must be >= low \(2\) must be >= 0$"):
                transport.set_write_buffer_limits(high=1, low=2)

    run(main())


def test_empty_datagram(run: Run, loop_kind: str) -> None:
    if PY313 and loop_kind == "uvloop":
        pytest.skip("uvloop drops empty datagrams, as asyncio did before 3.13 (uvloop#594)")

    async def main() -> None:
        async with endpoint(local_addr=("127.0.0.1", 0)) as (server_tr, server):
            async with endpoint(remote_addr=server_tr.get_extra_info("sockname")) as (client_tr, _):
                client_tr.sendto(b"")
                client_tr.sendto(b"end")
                received = [(await server.inbox.get())[0]]
                if received[0] != b"end":
                    received.append((await server.inbox.get())[0])
        # gh-113812: 3.13 sends zero-length datagrams; 3.11 and 3.12 drop them.
        assert received == ([b"", b"end"] if PY313 else [b"end"])

    run(main())


def test_sendto_without_address_on_unconnected_socket_is_fatal(run: Run, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop raises from sendto() instead")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        contexts: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))
        transport, protocol = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        transport.sendto(b"where to?")
        exc = await protocol.lost
        assert isinstance(exc, TypeError)
        assert [ctx["message"] for ctx in contexts] == ["Fatal write error on datagram transport"]
        assert contexts[0]["exception"] is exc
        assert contexts[0]["transport"] is transport
        assert contexts[0]["protocol"] is protocol

    run(main())


# ---------------------------------------------------------------------- flow control, close, abort
async def blocked_pair(short_tmp: pathlib.Path) -> tuple[Any, Recorder, socket.socket]:
    """A transport connected to a Unix datagram socket that is not read, so sends block."""
    loop = asyncio.get_running_loop()
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(short_tmp / "rcv"))
    receiver.setblocking(False)
    transport, protocol = await loop.create_datagram_endpoint(
        Recorder, local_addr=str(short_tmp / "snd"), remote_addr=str(short_tmp / "rcv"), family=socket.AF_UNIX
    )
    return transport, protocol, receiver


def send_until_queued(transport: Any, size: int = 100) -> int:
    """Send numbered datagrams until one is queued; return how many went straight out."""
    for count in range(100_000):
        transport.sendto(count.to_bytes(4, "big") * (size // 4))
        if transport.get_write_buffer_size():
            return count
    raise AssertionError("the socket never blocked")


def drain(receiver: socket.socket) -> list[bytes]:
    datagrams = []
    with contextlib.suppress(BlockingIOError):
        while True:
            datagrams.append(receiver.recv(65536))
    return datagrams


@needs_unix
def test_flow_control_at_the_water_marks(run: Run, loop_kind: str, short_tmp: pathlib.Path) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)
    if loop_kind == "asyncio" and PY313 and not ASYNCIO_TAKES_HEADERS_BACK:
        pytest.skip("this asyncio never takes the 8 header bytes back from the buffer size (gh-135444)")
    header = 8 if PY313 else 0

    async def main() -> None:
        transport, protocol, receiver = await blocked_pair(short_tmp)
        with receiver:
            transport.set_write_buffer_limits(high=250, low=100)
            sent = send_until_queued(transport)
            assert transport.get_write_buffer_size() == 100 + header
            queued = 1
            while "pause" not in protocol.names():
                transport.sendto(b"q" * 100)
                queued += 1
            assert transport.get_write_buffer_size() == queued * (100 + header)
            assert queued == 3  # the first size above 250
            assert protocol.events[-1] == ("pause", 3 * (100 + header))
            transport.sendto(b"q" * 100)  # pause_writing is not called again
            assert protocol.names().count("pause") == 1
            received: list[bytes] = []
            while transport.get_write_buffer_size():
                received += drain(receiver)
                await asyncio.sleep(0)
            received += drain(receiver)
            assert protocol.names().count("resume") == 1
            resume_size = dict(protocol.events)["resume"]
            assert resume_size <= 100
            assert len(received) == sent + queued + 1
            transport.close()
            assert await protocol.lost is None

    run(main())


@needs_unix
def test_close_flushes_the_queue_then_calls_connection_lost(
    run: Run, loop_kind: str, short_tmp: pathlib.Path
) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)

    async def main() -> None:
        transport, protocol, receiver = await blocked_pair(short_tmp)
        with receiver:
            sent = send_until_queued(transport)
            transport.sendto(b"last")
            transport.close()
            assert transport.is_closing()
            transport.close()  # a second close changes nothing
            await asyncio.sleep(0)
            assert "lost" not in protocol.names()  # still flushing
            received: list[bytes] = []
            while not protocol.lost.done():
                received += drain(receiver)
                await asyncio.sleep(0)
            received += drain(receiver)
            assert len(received) == sent + 2
            assert received[-1] == b"last"
            assert protocol.events[-1] == ("lost", None)
            assert protocol.names().count("lost") == 1
            assert transport.get_extra_info("socket").fileno() == -1

    run(main())


@needs_unix
def test_abort_drops_the_queue(run: Run, loop_kind: str, short_tmp: pathlib.Path) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)

    async def main() -> None:
        transport, protocol, receiver = await blocked_pair(short_tmp)
        with receiver:
            sent = send_until_queued(transport)
            transport.sendto(b"dropped")
            transport.abort()
            assert transport.is_closing()
            assert await protocol.lost is None
            transport.abort()
            transport.close()
            await asyncio.sleep(0)
            assert protocol.names().count("lost") == 1
            assert len(drain(receiver)) == sent

    run(main())


def test_connection_lost_comes_from_the_loop_once(run: Run) -> None:
    async def main() -> None:
        transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
            Recorder, local_addr=("127.0.0.1", 0)
        )
        transport.close()
        assert protocol.names() == ["made"]  # not from inside close()
        transport.abort()
        assert await protocol.lost is None
        await asyncio.sleep(0)
        assert protocol.names() == ["made", "lost"]

    run(main())


def test_writes_after_close_are_counted_then_logged(
    run: Run, loop_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop raises on sendto() after close")

    async def main() -> None:
        async with endpoint(local_addr=("127.0.0.1", 0)) as (server_tr, _):
            transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
                Recorder, remote_addr=server_tr.get_extra_info("sockname")
            )
            transport.close()
            await protocol.lost
            with caplog.at_level(logging.WARNING, logger="asyncio"):
                for _ in range(7):
                    transport.sendto(b"late")
            warnings = [r for r in caplog.records if r.getMessage() == "socket.send() raised exception."]
            assert len(warnings) == 3  # from the fifth write lost after close

    run(main())


# ---------------------------------------------------------------------- the transport object
def test_transport_surface(run: Run, loop_kind: str) -> None:
    async def main() -> None:
        async with endpoint(local_addr=("127.0.0.1", 0)) as (transport, protocol):
            if loop_kind != "uvloop":  # uvloop's UDPTransport derives from no asyncio class
                assert isinstance(transport, asyncio.BaseTransport)
            if loop_kind == "batonio":  # asyncio's own is one only from 3.12
                assert isinstance(transport, asyncio.DatagramTransport)
                assert isinstance(transport, asyncio.Transport)
            sock = transport.get_extra_info("socket")
            assert (sock.family, sock.type) == (socket.AF_INET, socket.SOCK_DGRAM)
            assert transport.get_extra_info("sockname") == sock.getsockname()
            assert transport.get_extra_info("missing", "default") == "default"
            assert transport.get_protocol() is protocol
            assert transport.get_write_buffer_size() == 0
            if loop_kind != "uvloop":  # uvloop's repr has another shape
                fd = sock.fileno()
                assert repr(transport).endswith(f"fd={fd} read=polling write=<idle, bufsize=0>>")
            other = Recorder()
            transport.set_protocol(other)
            assert transport.get_protocol() is other
            transport.set_protocol(protocol)
            if loop_kind != "uvloop":  # uvloop's UDPTransport cannot pause reading
                assert transport.is_reading()
                transport.pause_reading()
                assert not transport.is_reading()
                assert "read=idle" in repr(transport)
                transport.resume_reading()
                assert transport.is_reading()
        if loop_kind != "uvloop":
            assert repr(transport).startswith(f"<{type(transport).__name__} closed fd=")

    run(main())


def test_unclosed_transport_warns(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop's transport is freed with its libuv handle, without a warning")

    async def create() -> Any:
        transport, _ = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        transport.pause_reading()  # the loop no longer refers to it
        return transport

    transport = loop.run_until_complete(create())
    sock = transport.get_extra_info("socket")
    with pytest.warns(ResourceWarning, match="unclosed transport"):
        del transport
        gc.collect()
    assert sock.fileno() == -1


def test_batonio_registers_the_transport_fd(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    if loop_kind != "batonio":
        pytest.skip("batonio's fd -> transport map")

    async def main() -> None:
        transport, protocol = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        fd = transport.get_extra_info("socket").fileno()
        assert loop._transports[fd] is transport  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match=f"File descriptor {fd} is used by transport"):
            loop.add_reader(fd, print)
        transport.close()
        await protocol.lost
        assert fd not in loop._transports  # type: ignore[attr-defined]

    loop.run_until_complete(main())


def test_endpoint_waiter_cancelled_closes_transport(run: Run, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop never calls connection_lost when the caller is cancelled here")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        protocols: list[Recorder] = []

        def factory() -> Recorder:
            task.cancel()  # the caller gives up before connection_made has run
            protocols.append(Recorder())
            return protocols[-1]

        task = loop.create_task(loop.create_datagram_endpoint(factory, local_addr=("127.0.0.1", 0)))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.wait_for(protocols[0].lost, 10) is None
        assert protocols[0].names() == ["made", "lost"]

    run(main())


@needs_unix
def test_failing_pause_writing_goes_to_the_exception_handler(
    run: Run, loop_kind: str, short_tmp: pathlib.Path
) -> None:
    if loop_kind == "uvloop":
        pytest.skip(UVLOOP_NO_UNIX)

    class FailingPause(Recorder):
        def pause_writing(self) -> None:
            raise ZeroDivisionError("pause")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        contexts: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(str(short_tmp / "rcv"))
        with receiver:
            transport, protocol = await loop.create_datagram_endpoint(
                FailingPause, remote_addr=str(short_tmp / "rcv"), family=socket.AF_UNIX
            )
            transport.set_write_buffer_limits(high=0)
            send_until_queued(transport)
            assert [ctx["message"] for ctx in contexts] == ["protocol.pause_writing() failed"]
            assert isinstance(contexts[0]["exception"], ZeroDivisionError)
            assert contexts[0]["transport"] is transport
            assert not transport.is_closing()  # not fatal
            transport.abort()
            await protocol.lost

    run(main())


def test_batonio_drops_writes_after_close_on_unconnected_endpoints(
    loop: asyncio.AbstractEventLoop, loop_kind: str
) -> None:
    if loop_kind != "batonio":
        pytest.skip("batonio only: asyncio still sends, then fails with AttributeError once closed")

    async def main() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, socket.socket(
            socket.AF_INET, socket.SOCK_DGRAM
        ) as marker:
            receiver.bind(("127.0.0.1", 0))
            address = receiver.getsockname()
            transport, protocol = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
            transport.close()
            transport.sendto(b"late", address)  # dropped and counted
            await protocol.lost
            transport.sendto(b"later", address)
            assert transport._conn_lost == 3
            marker.sendto(b"marker", address)  # loopback delivers within the send call
            assert receiver.recv(100) == b"marker"

    loop.run_until_complete(main())

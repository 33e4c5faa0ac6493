"""The loop's sock_* API and name resolution, on stdlib asyncio, uvloop and batonio."""
from __future__ import annotations

import asyncio
import asyncio.base_events
import logging
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import Mock

import pytest

from batonio.io._sockets import ipaddr_info

Run = Callable[..., Any]


# ---------------------------------------------------------------------- helpers
@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected non-blocking Unix stream socket pair."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    with a, b:
        yield a, b


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A non-blocking TCP socket listening on 127.0.0.1."""
    sock = socket.socket()
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    with sock:
        yield sock


@pytest.fixture
def udp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two non-blocking UDP sockets bound on 127.0.0.1."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with a, b:
        for sock in (a, b):
            sock.setblocking(False)
            sock.bind(("127.0.0.1", 0))
        yield a, b


def bounded(coro: Any) -> Any:
    """Bound a test coroutine in time so that a hang fails instead of blocking the run."""
    return asyncio.wait_for(coro, 10)


async def connected_tcp(loop: Any, listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    """A client socket connected through sock_connect and its accepted peer."""
    client = socket.socket()
    client.setblocking(False)
    accept = asyncio.ensure_future(loop.sock_accept(listener))
    await loop.sock_connect(client, listener.getsockname())
    server, _ = await accept
    return client, server


def skip_uvloop_datagrams(loop_kind: str) -> None:
    """uvloop 0.23 raises NotImplementedError for sock_sendto and sock_recvfrom(_into)."""
    if loop_kind == "uvloop":
        pytest.skip("uvloop does not implement the datagram sock_* calls")


def assert_no_reader(loop: Any, loop_kind: str, fd: int) -> None:
    """On batonio, check that no reader or writer is left for ``fd`` (internal state)."""
    if loop_kind == "batonio":
        assert fd not in loop._readers
        assert fd not in loop._writers


# ---------------------------------------------------------------------- resolution
IPADDR_CASES = [
    ("127.0.0.1", 80, 0, socket.SOCK_STREAM, 0),
    ("127.0.0.1", "80", socket.AF_INET, socket.SOCK_STREAM, 0),
    ("127.0.0.1", b"80", 0, socket.SOCK_DGRAM, 0),
    ("127.0.0.1", None, 0, socket.SOCK_STREAM, 0),
    ("127.0.0.1", "", 0, socket.SOCK_STREAM, socket.IPPROTO_TCP),
    ("127.0.0.1", b"", 0, socket.SOCK_DGRAM, socket.IPPROTO_UDP),
    ("127.0.0.1", "http", 0, socket.SOCK_STREAM, 0),
    ("127.0.0.1", 80, socket.AF_INET6, socket.SOCK_STREAM, 0),
    ("127.0.0.1", 80, 0, socket.SOCK_RAW, 0),
    ("127.0.0.1", 80, 0, socket.SOCK_STREAM, socket.IPPROTO_SCTP),
    (b"127.0.0.1", 80, 0, socket.SOCK_STREAM, 0),
    ("::1", 80, 0, socket.SOCK_STREAM, 0),
    ("::1", 80, socket.AF_INET6, socket.SOCK_DGRAM, 0),
    ("::1", 80, socket.AF_INET, socket.SOCK_STREAM, 0),
    ("::1%lo", 80, 0, socket.SOCK_STREAM, 0),
    ("fe80::1%1", 80, socket.AF_INET6, socket.SOCK_STREAM, 0),
    ("localhost", 80, 0, socket.SOCK_STREAM, 0),
    (None, 80, 0, socket.SOCK_STREAM, 0),
    ("", 80, 0, socket.SOCK_STREAM, 0),
]


@pytest.mark.parametrize(("host", "port", "family", "type_", "proto"), IPADDR_CASES)
def test_ipaddr_info_matches_asyncio(host: Any, port: Any, family: int, type_: int, proto: int) -> None:
    expected = asyncio.base_events._ipaddr_info(host, port, family, type_, proto)  # type: ignore[attr-defined]
    assert ipaddr_info(host, port, family, type_, proto) == expected


def test_ipaddr_info_keeps_ipv6_flowinfo_and_scope_id() -> None:
    expected = asyncio.base_events._ipaddr_info("::1", 80, 0, socket.SOCK_STREAM, 0, 5, 7)  # type: ignore[attr-defined]
    assert expected == (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", 80, 5, 7))
    assert ipaddr_info("::1", 80, 0, socket.SOCK_STREAM, 0, 5, 7) == expected


@pytest.mark.parametrize(
    ("address", "kwargs", "expected"),
    [
        (("127.0.0.1", 8080), {}, (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 8080))),
        (("127.0.0.1", "53"), {"type": socket.SOCK_DGRAM},
         (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP, "", ("127.0.0.1", 53))),
        (("::1", b"443", 1, 2), {"family": socket.AF_INET6},
         (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", 443, 1, 2))),
        (("::1", None), {}, (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", 0, 0, 0))),
    ],
)
def test_numeric_address_resolved_without_executor(
    loop: Any, loop_kind: str, run: Run, address: Any, kwargs: dict[str, Any], expected: Any
) -> None:
    if loop_kind != "batonio":
        pytest.skip("batonio's _ensure_resolved signature (asyncio's requires loop=)")

    def no_executor(*args: Any) -> Any:
        raise AssertionError("a numeric address must not go through the executor")

    loop.run_in_executor = no_executor
    assert run(loop._ensure_resolved(address, **kwargs)) == [expected]


def test_ensure_resolved_looks_names_up(loop: Any, loop_kind: str, run: Run) -> None:
    if loop_kind != "batonio":
        pytest.skip("batonio's _ensure_resolved signature (asyncio's requires loop=)")
    infos = run(loop._ensure_resolved(("localhost", "80"), family=socket.AF_INET))
    expected = socket.getaddrinfo("localhost", "80", socket.AF_INET, socket.SOCK_STREAM)
    assert infos == expected


def test_ensure_resolved_accepts_asyncio_loop_keyword(loop: Any, loop_kind: str, run: Run) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop has no _ensure_resolved")
    infos = run(loop._ensure_resolved(("127.0.0.1", 1), loop=loop))
    assert infos == [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 1))]


def test_getaddrinfo(loop: Any, run: Run) -> None:
    infos = run(loop.getaddrinfo("localhost", 80, family=socket.AF_INET, type=socket.SOCK_STREAM))
    assert infos == socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)


def test_getnameinfo(loop: Any, run: Run) -> None:
    flags = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    assert run(loop.getnameinfo(("127.0.0.1", 80), flags)) == ("127.0.0.1", "80")


def test_getaddrinfo_of_an_invalid_name_fails(loop: Any, run: Run) -> None:
    with pytest.raises(socket.gaierror):
        run(loop.getaddrinfo("no-such-host.invalid", 80))


def test_sock_connect_to_an_invalid_name_fails(loop: Any, run: Run) -> None:
    with socket.socket() as sock:
        sock.setblocking(False)
        with pytest.raises(socket.gaierror):
            run(loop.sock_connect(sock, ("no-such-host.invalid", 80)))


def test_getaddrinfo_debug_logging(loop: Any, loop_kind: str, run: Run, caplog: pytest.LogCaptureFixture) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop does not log resolutions in debug mode")
    loop.set_debug(True)
    loop.slow_callback_duration = 1000.0  # the message goes to DEBUG, not INFO
    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        run(loop.getaddrinfo("127.0.0.1", 80, family=socket.AF_INET))
    messages = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert f"Get address info 127.0.0.1:80, family={socket.AF_INET!r}" in messages
    [took] = [m for m in messages if m.startswith("Getting address info")]
    assert took.startswith(f"Getting address info 127.0.0.1:80, family={socket.AF_INET!r} took ")
    assert [r.levelno for r in caplog.records if r.getMessage() == took] == [logging.DEBUG]


# ---------------------------------------------------------------------- recv and sendall
def test_sock_recv_ready_and_waiting(loop: Any, run: Run, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair

    async def main() -> list[bytes]:
        b.send(b"ready")
        first = await loop.sock_recv(a, 100)
        waiting = asyncio.ensure_future(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        assert not waiting.done()
        await loop.sock_sendall(b, b"later")
        second = await waiting
        b.shutdown(socket.SHUT_WR)
        return [first, second, await loop.sock_recv(a, 100)]

    assert run(bounded(main())) == [b"ready", b"later", b""]


def test_sock_recv_into(loop: Any, run: Run, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    data = bytearray(10)

    async def main() -> tuple[int, int]:
        with memoryview(data) as buf:
            waiting = asyncio.ensure_future(loop.sock_recv_into(a, buf[:4]))
            await asyncio.sleep(0)
            b.send(b"abcdefgh")
            first = await waiting
            second = await loop.sock_recv_into(a, buf[first:])
            return first, second

    assert run(bounded(main())) == (4, 4)
    assert data == b"abcdefgh\0\0"


def test_sock_sendall_memoryview_of_wide_items(
    loop: Any, loop_kind: str, run: Run, pair: tuple[socket.socket, socket.socket]
) -> None:
    import array

    if loop_kind == "asyncio":
        pytest.skip("asyncio compares bytes sent with len() of the view, its item count, and never finishes")
    a, b = pair
    items = array.array("i", range(1000))

    async def main() -> bytes:
        await loop.sock_sendall(a, memoryview(items))
        a.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := await loop.sock_recv(b, 65536):
            received += chunk
        return received

    assert run(bounded(main())) == items.tobytes()


def test_sock_sendall_large_buffer_to_a_slow_reader(
    loop: Any, run: Run, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    payload = bytes(range(256)) * 16384  # 4 MiB: many partial sends

    async def main() -> bytes:
        sending = asyncio.ensure_future(loop.sock_sendall(a, payload))
        await asyncio.sleep(0)
        assert not sending.done()  # the buffer is full: the rest waits for writability
        received = bytearray()
        while len(received) < len(payload):
            received += await loop.sock_recv(b, 1000)  # small reads: a slow reader
        await sending
        return bytes(received)

    assert run(bounded(main())) == payload


def test_sock_sendall_of_nothing(loop: Any, run: Run, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    assert run(loop.sock_sendall(a, b"")) is None


def test_sock_recv_error_propagates(loop: Any, run: Run) -> None:
    with socket.socket() as sock:
        sock.setblocking(False)
        with pytest.raises(OSError):
            run(loop.sock_recv(sock, 10))


# ---------------------------------------------------------------------- datagrams
def test_sock_sendto_and_recvfrom(
    loop: Any, loop_kind: str, run: Run, udp_pair: tuple[socket.socket, socket.socket]
) -> None:
    skip_uvloop_datagrams(loop_kind)
    a, b = udp_pair

    async def main() -> tuple[Any, Any]:
        waiting = asyncio.ensure_future(loop.sock_recvfrom(b, 100))
        await asyncio.sleep(0)
        sent = await loop.sock_sendto(a, b"datagram", b.getsockname())
        assert sent == 8
        return await waiting, a.getsockname()

    (data, address), expected = run(bounded(main()))
    assert data == b"datagram"
    assert address == expected


def test_sock_sendto_retries_until_sent(
    loop: Any, loop_kind: str, run: Run, udp_pair: tuple[socket.socket, socket.socket]
) -> None:
    skip_uvloop_datagrams(loop_kind)
    a, b = udp_pair
    blocked = Mock(a)  # sendto blocks until the real method is put back
    blocked.gettimeout = a.gettimeout
    blocked.fileno = a.fileno
    blocked.sendto.configure_mock(side_effect=BlockingIOError)

    async def main() -> tuple[bytes, Any]:
        loop.call_soon(setattr, blocked, "sendto", a.sendto)
        await loop.sock_sendto(blocked, b"blocked", b.getsockname())
        return await loop.sock_recvfrom(b, 100)  # type: ignore[no-any-return]

    assert run(bounded(main())) == (b"blocked", a.getsockname())


def test_sock_recvfrom_into(
    loop: Any, loop_kind: str, run: Run, udp_pair: tuple[socket.socket, socket.socket]
) -> None:
    skip_uvloop_datagrams(loop_kind)
    a, b = udp_pair
    buf = bytearray(8)

    async def main() -> list[Any]:
        waiting = asyncio.ensure_future(loop.sock_recvfrom_into(b, buf))  # nbytes=0: len(buf)
        await asyncio.sleep(0)
        await loop.sock_sendto(a, b"0123456789", b.getsockname())
        whole = await waiting
        await loop.sock_sendto(a, b"abcdef", b.getsockname())
        part = await loop.sock_recvfrom_into(b, buf, 2)
        return [whole, part]

    whole, part = run(bounded(main()))
    assert whole == (8, a.getsockname())
    assert part == (2, a.getsockname())
    assert buf == b"ab234567"


# ---------------------------------------------------------------------- connect and accept
def test_sock_connect_and_accept(loop: Any, run: Run, listener: socket.socket) -> None:
    async def main() -> tuple[bytes, bool, Any, Any]:
        client, server = await connected_tcp(loop, listener)
        with client, server:
            await loop.sock_sendall(client, b"ping")
            data = await loop.sock_recv(server, 10)
            return data, server.getblocking(), server.getpeername(), client.getsockname()

    data, blocking, peer, client_name = run(bounded(main()))
    assert data == b"ping"
    assert blocking is False
    assert peer == client_name


def test_sock_accept_of_a_waiting_connection(loop: Any, run: Run, listener: socket.socket) -> None:
    with socket.create_connection(listener.getsockname()) as client:
        conn, address = run(bounded(loop.sock_accept(listener)))
        with conn:
            assert conn.gettimeout() == 0
            assert address == client.getsockname()


def test_sock_connect_resolves_a_host_name(loop: Any, run: Run, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with socket.socket(socket.AF_INET) as client:
        client.setblocking(False)
        run(bounded(loop.sock_connect(client, ("localhost", port))))
        assert client.getpeername() == ("127.0.0.1", port)
        conn, _ = listener.accept()
        conn.close()


def test_sock_connect_refused(loop: Any, run: Run) -> None:
    with socket.socket() as closed_port, socket.socket() as client:
        closed_port.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        client.setblocking(False)
        with pytest.raises(ConnectionRefusedError):
            run(bounded(loop.sock_connect(client, closed_port.getsockname())))


def test_sock_connect_unix(loop: Any, run: Run) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = f"{directory}/sock"
        with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
            server.bind(path)
            server.listen(1)
            server.setblocking(False)
            client.setblocking(False)

            async def main() -> bytes:
                await loop.sock_connect(client, path)
                conn, _ = await loop.sock_accept(server)
                with conn:
                    await loop.sock_sendall(conn, b"unix")
                    return await loop.sock_recv(client, 10)  # type: ignore[no-any-return]

            assert run(bounded(main())) == b"unix"


# ---------------------------------------------------------------------- cancellation
def test_cancelled_sock_recv_leaves_no_reader(
    loop: Any, loop_kind: str, run: Run, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair

    async def main() -> bytes:
        task = asyncio.ensure_future(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert_no_reader(loop, loop_kind, a.fileno())
        b.send(b"data")
        await asyncio.sleep(0)  # a callback left behind would consume the data now
        return await loop.sock_recv(a, 10)  # type: ignore[no-any-return]

    assert run(bounded(main())) == b"data"
    assert_no_reader(loop, loop_kind, a.fileno())


def test_cancelled_sock_recv_into_then_close(
    loop: Any, loop_kind: str, run: Run, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    buf = bytearray(10)

    async def main() -> None:
        task = asyncio.ensure_future(loop.sock_recv_into(a, buf))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert_no_reader(loop, loop_kind, a.fileno())
        b.send(b"late")
        for _ in range(3):
            await asyncio.sleep(0)

    run(bounded(main()))
    assert buf == bytearray(10)  # nothing read after the cancellation
    assert a.recv(10) == b"late"


def test_cancelled_sock_sendall_leaves_no_writer(
    loop: Any, loop_kind: str, run: Run, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

    async def main() -> bytes:
        blocked = asyncio.ensure_future(loop.sock_sendall(a, b"x" * 1_000_000))
        await asyncio.sleep(0)
        assert not blocked.done()
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        assert_no_reader(loop, loop_kind, a.fileno())
        sending = asyncio.ensure_future(loop.sock_sendall(a, b"END"))
        received = b""
        while not received.endswith(b"END"):
            received += await loop.sock_recv(b, 65536)
        await sending
        return received.replace(b"x", b"")

    assert run(bounded(main())) == b"END"


def test_cancelled_sock_accept(loop: Any, loop_kind: str, run: Run, listener: socket.socket) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(loop.sock_accept(listener))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert_no_reader(loop, loop_kind, listener.fileno())
        with socket.create_connection(listener.getsockname()):
            conn, _ = await loop.sock_accept(listener)
            conn.close()

    run(bounded(main()))


def test_cancelled_sock_connect(loop: Any, loop_kind: str, run: Run) -> None:
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        client.setblocking(False)

        async def main() -> None:
            task = asyncio.ensure_future(loop.sock_connect(client, server.getsockname()))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert_no_reader(loop, loop_kind, client.fileno())
            for _ in range(3):
                await asyncio.sleep(0)

        run(bounded(main()))


def test_second_sock_recv_replaces_the_first(
    loop: Any, loop_kind: str, run: Run, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair

    async def main() -> tuple[bool, bytes]:
        first = asyncio.ensure_future(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        b.send(b"one")
        data = await second
        first_done = first.done()
        first.cancel()  # must not remove a reader a later call registers
        third = asyncio.ensure_future(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        b.send(b"two")
        assert await third == b"two"
        return first_done, data

    assert run(bounded(main())) == (False, b"one")
    assert_no_reader(loop, loop_kind, a.fileno())


# ---------------------------------------------------------------------- refused sockets
SOCK_CALLS: list[tuple[str, Callable[[Any, socket.socket], Any]]] = [
    ("sock_recv", lambda loop, s: loop.sock_recv(s, 10)),
    ("sock_recv_into", lambda loop, s: loop.sock_recv_into(s, bytearray(10))),
    ("sock_recvfrom", lambda loop, s: loop.sock_recvfrom(s, 10)),
    ("sock_recvfrom_into", lambda loop, s: loop.sock_recvfrom_into(s, bytearray(10))),
    ("sock_sendall", lambda loop, s: loop.sock_sendall(s, b"data")),
    ("sock_sendto", lambda loop, s: loop.sock_sendto(s, b"data", ("127.0.0.1", 9))),
    ("sock_connect", lambda loop, s: loop.sock_connect(s, ("127.0.0.1", 9))),
    ("sock_accept", lambda loop, s: loop.sock_accept(s)),
]


@pytest.mark.parametrize(("name", "call"), SOCK_CALLS, ids=[name for name, _ in SOCK_CALLS])
def test_blocking_socket_refused(loop: Any, loop_kind: str, run: Run, name: str, call: Any) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop does not check the socket's blocking mode")
    if loop_kind == "asyncio":
        loop.set_debug(True)  # asyncio checks only in debug mode; batonio always (issue 8)
    with socket.socket() as sock:
        with pytest.raises(ValueError, match="^the socket must be non-blocking$"):
            run(call(loop, sock))


@pytest.mark.parametrize(("name", "call"), SOCK_CALLS, ids=[name for name, _ in SOCK_CALLS])
def test_ssl_socket_refused(loop: Any, loop_kind: str, run: Run, name: str, call: Any) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop does not refuse SSLSocket")
    context = ssl.create_default_context()
    with context.wrap_socket(socket.socket(), server_hostname="example.invalid") as sock:
        sock.setblocking(False)
        with pytest.raises(TypeError, match="^Socket cannot be of type SSLSocket$"):
            run(call(loop, sock))


class _FakeTransport:
    def is_closing(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<FakeTransport>"


def test_fd_of_a_transport_refused(
    loop: Any, loop_kind: str, run: Run, pair: tuple[socket.socket, socket.socket]
) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop keeps its transports elsewhere")
    a, _ = pair
    transport = _FakeTransport()
    loop._transports[a.fileno()] = transport
    with pytest.raises(RuntimeError, match=rf"^File descriptor {a.fileno()} is used by transport <FakeTransport>$"):
        run(loop.sock_recv(a, 10))
    del loop._transports[a.fileno()]

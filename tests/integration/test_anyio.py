"""anyio's asyncio backend on a batonio loop: ``backend_options={"loop_factory": ...}``.

anyio builds its own ``asyncio.Runner`` from the factory; ``anyio_run`` checks the running
loop's class before the test body runs under ``anyio.fail_after``.  Covered: TCP listeners and
connections inside task groups, TLS streams over them, UDP sockets, cancel scopes, exception
groups, worker threads and readiness waits on a raw socket.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from _integ import TEST_TIMEOUT, expected_loop_class, require

anyio = require("anyio")
from anyio.abc import SocketStream  # noqa: E402
from anyio.streams.tls import TLSAttribute, TLSListener  # noqa: E402

T = TypeVar("T")
AnyioRun = Callable[[Callable[[], Awaitable[Any]]], Any]


@pytest.fixture
def anyio_run(loop_kind: str, loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> AnyioRun:
    """Run an async function with ``anyio.run`` on the loop kind, checking the loop first."""
    expected = expected_loop_class(loop_kind)

    def run(fn: Callable[[], Awaitable[T]]) -> T:
        async def checked() -> T:
            loop = asyncio.get_running_loop()
            assert isinstance(loop, expected), f"running loop is {loop!r}"
            with anyio.fail_after(TEST_TIMEOUT):
                return await fn()

        options = {"loop_factory": loop_factory}
        return anyio.run(checked, backend="asyncio", backend_options=options)  # type: ignore[no-any-return]

    return run


async def _echo_handler(stream: SocketStream) -> None:
    async with stream:
        try:
            while True:
                await stream.send(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass


def test_tcp_listener_and_clients(anyio_run: AnyioRun) -> None:
    async def main() -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        results: dict[int, bytes] = {}

        async def client(i: int) -> None:
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                payload = bytes([i]) * (1000 * (i + 1))
                await stream.send(payload)
                got = b""
                while len(got) < len(payload):
                    got += await stream.receive()
                results[i] = got

        async with listener, anyio.create_task_group() as server_tg:
            server_tg.start_soon(listener.serve, _echo_handler, server_tg)
            async with anyio.create_task_group() as clients:
                for i in range(20):
                    clients.start_soon(client, i)
            server_tg.cancel_scope.cancel()
        assert results == {i: bytes([i]) * (1000 * (i + 1)) for i in range(20)}

    anyio_run(main)


def test_tls_stream(
    anyio_run: AnyioRun, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    async def main() -> None:
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        listener = TLSListener(tcp, server_ssl, standard_compatible=False)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, _echo_handler, tg)
            stream = await anyio.connect_tcp(
                "127.0.0.1", port, tls=True, ssl_context=client_ssl, tls_standard_compatible=False
            )
            async with stream:
                for size in (1, 1000, 100_000):
                    await stream.send(b"z" * size)
                    got = b""
                    while len(got) < size:
                        got += await stream.receive()
                    assert got == b"z" * size
            tg.cancel_scope.cancel()

    anyio_run(main)


def test_tls_standard_compatible_many_clients(
    anyio_run: AnyioRun, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    async def main() -> None:
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        # standard_compatible: each side sends close_notify and waits for the peer's.
        listener = TLSListener(tcp, server_ssl, standard_compatible=True)
        results: dict[int, bytes] = {}

        async def client(i: int) -> None:
            stream = await anyio.connect_tcp(
                "127.0.0.1", port, tls=True, ssl_context=client_ssl, tls_hostname="localhost"
            )
            async with stream:
                assert stream.extra(TLSAttribute.tls_version) == "TLSv1.3"
                payload = bytes([i]) * (3000 * (i + 1))
                await stream.send(payload)
                got = b""
                while len(got) < len(payload):
                    got += await stream.receive()
                results[i] = got

        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, _echo_handler, tg)
            async with anyio.create_task_group() as clients:
                for i in range(10):
                    clients.start_soon(client, i)
            tg.cancel_scope.cancel()
        assert results == {i: bytes([i]) * (3000 * (i + 1)) for i in range(10)}

    anyio_run(main)


def test_tls_untrusted_server_is_refused(anyio_run: AnyioRun, server_ssl: ssl.SSLContext) -> None:
    async def main() -> None:
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        listener = TLSListener(tcp, server_ssl, standard_compatible=False)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, _echo_handler, tg)
            # The default context does not trust the test CA.
            with pytest.raises(ssl.SSLCertVerificationError):
                await anyio.connect_tcp("127.0.0.1", port, tls=True, tls_hostname="localhost")
            tg.cancel_scope.cancel()

    anyio_run(main)


def test_udp(anyio_run: AnyioRun) -> None:
    async def main() -> None:
        async with await anyio.create_udp_socket(local_host="127.0.0.1") as server:
            port = server.extra(anyio.abc.SocketAttribute.local_port)
            async with await anyio.create_connected_udp_socket("127.0.0.1", port) as client:
                for i in range(10):
                    await client.send(b"ping %d" % i)
                    data, addr = await server.receive()
                    assert data == b"ping %d" % i
                    await server.sendto(data.upper(), *addr[:2])
                    assert await client.receive() == b"PING %d" % i

    anyio_run(main)


def test_cancel_scopes_and_exception_groups(anyio_run: AnyioRun) -> None:
    async def main() -> None:
        event = anyio.Event()
        with anyio.move_on_after(0.05) as scope:
            await event.wait()
        assert scope.cancelled_caught

        async def fail(i: int) -> None:
            await anyio.sleep(0)
            raise ValueError(i)

        with pytest.raises(ExceptionGroup) as info:
            async with anyio.create_task_group() as tg:
                tg.start_soon(fail, 1)
                tg.start_soon(fail, 2)
                tg.start_soon(anyio.sleep_forever)
        assert sorted(e.args[0] for e in info.value.exceptions) == [1, 2]

    anyio_run(main)


def test_threads(anyio_run: AnyioRun) -> None:
    async def main() -> None:
        def in_thread(x: int) -> int:
            back = anyio.from_thread.run(anyio.sleep, 0)
            assert back is None
            return x * 2

        results = []
        async with anyio.create_task_group() as tg:
            for i in range(5):

                async def one(i: int = i) -> None:
                    results.append(await anyio.to_thread.run_sync(in_thread, i))

                tg.start_soon(one)
        assert sorted(results) == [0, 2, 4, 6, 8]

    anyio_run(main)


def test_wait_readable_on_a_raw_socket(anyio_run: AnyioRun) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        with a, b:
            a.setblocking(False)
            b.setblocking(False)

            async def later() -> None:
                await anyio.sleep(0.01)
                b.send(b"ready")

            async with anyio.create_task_group() as tg:
                tg.start_soon(later)
                await anyio.wait_readable(a)
                assert a.recv(100) == b"ready"

    anyio_run(main)


def test_unix_listener_and_client(anyio_run: AnyioRun, tmp_path: Path) -> None:
    path = tmp_path / "anyio.sock"

    async def main() -> None:
        listener = await anyio.create_unix_listener(path)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, _echo_handler, tg)
            async with await anyio.connect_unix(path) as stream:
                for size in (5, 50_000):
                    await stream.send(b"u" * size)
                    got = b""
                    while len(got) < size:
                        got += await stream.receive()
                    assert got == b"u" * size
            tg.cancel_scope.cancel()

    anyio_run(main)

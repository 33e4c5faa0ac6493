"""Stream transports over TCP and Unix sockets: data, flow control, EOF, errors, misuse.

Every test runs on stdlib asyncio (the oracle), uvloop and batonio through the ``loop``
fixture; what a user sees must be the same on all three unless a skip says otherwise.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import sys
from typing import Any

import pytest


class Recorder(asyncio.Protocol):
    """Records every protocol call in order; ``done`` resolves at connection_lost."""

    def __init__(self, loop: asyncio.AbstractEventLoop, keep_open: bool = False) -> None:
        self.calls: list[Any] = []
        self.data = bytearray()
        self.done = loop.create_future()
        self.keep_open = keep_open
        self.transport: Any = None
        self.got_data = asyncio.Event()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.calls.append("made")

    def data_received(self, data: bytes) -> None:
        if not self.calls or self.calls[-1] != "data":
            self.calls.append("data")
        self.data += data
        self.got_data.set()

    def eof_received(self) -> bool:
        self.calls.append("eof")
        return self.keep_open

    def pause_writing(self) -> None:
        self.calls.append("pause")

    def resume_writing(self) -> None:
        self.calls.append("resume")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.calls.append(("lost", type(exc).__name__ if exc else None))
        if not self.done.done():
            self.done.set_result(exc)


class Echo(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _serve(loop: asyncio.AbstractEventLoop, factory: Any) -> tuple[Any, int]:
    server = await loop.create_server(factory, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _close(server: Any) -> None:
    server.close()
    await server.wait_closed()


def _not_on_uvloop(loop_kind: str, reason: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip(f"uvloop differs from asyncio: {reason}")


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_echo_and_transport_interface(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    async def main() -> None:
        server, port = await _serve(loop, Echo)
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        if loop_kind != "uvloop":  # uvloop's transports are not asyncio.Transport instances
            assert isinstance(transport, asyncio.Transport)
            assert isinstance(transport, asyncio.ReadTransport)
            assert isinstance(transport, asyncio.WriteTransport)
        assert transport.get_extra_info("peername") == ("127.0.0.1", port)
        assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
        sock = transport.get_extra_info("socket")
        assert sock.family == socket.AF_INET
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert transport.get_extra_info("nothing", "default") == "default"
        assert transport.get_protocol() is client
        assert transport.can_write_eof()
        assert transport.is_reading()
        payload = os.urandom(300_000)
        transport.write(payload[:1000])
        chunks: list[Any] = [payload[1000:2000], bytearray(payload[2000:])]
        if not (loop_kind == "asyncio" and sys.version_info >= (3, 12)):
            # 3.12+'s asyncio never drains an empty chunk, so close() never ends (gh-155888);
            # test_version_semantics checks batonio does not copy that
            chunks.append(memoryview(b""))
        transport.writelines(chunks)
        while len(client.data) < len(payload):
            client.got_data.clear()
            await client.got_data.wait()
        assert bytes(client.data) == payload
        transport.close()
        assert transport.is_closing()
        assert await client.done is None
        assert client.calls == ["made", "data", ("lost", None)]
        await _close(server)

    loop.run_until_complete(main())


def test_write_rejects_non_bytes(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    # uvloop raises the TypeError with memoryview's own message
    message = "bytes-like object" if loop_kind == "uvloop" else "data argument must be a bytes-like object, not 'str'"

    async def main() -> None:
        server, port = await _serve(loop, Echo)
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        with pytest.raises(TypeError, match=message):
            transport.write("text")
        transport.close()
        await client.done
        await _close(server)

    loop.run_until_complete(main())


def test_write_after_close_warns_after_repeated_writes(
    loop: asyncio.AbstractEventLoop, loop_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop raises on write after close instead of counting, unlike asyncio")

    async def main() -> None:
        server, port = await _serve(loop, Echo)
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        transport.close()
        await client.done
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            for _ in range(3):
                transport.write(b"x")
            assert "socket.send() raised exception." not in caplog.text
            for _ in range(3):
                transport.write(b"x")
        assert "socket.send() raised exception." in caplog.text
        await _close(server)

    loop.run_until_complete(main())


def test_flow_control_pauses_and_resumes_at_the_water_marks(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        accepted: asyncio.Future[Any] = loop.create_future()

        class Silent(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                transport.pause_reading()  # a client that never reads
                accepted.set_result(transport)

        server, port = await _serve(loop, Silent)
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        peer = await accepted
        transport.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
        assert transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
        chunk = b"z" * 65536
        for _ in range(200):  # 12.5 MiB: far more than both kernel buffers hold
            transport.write(chunk)
            if "pause" in client.calls:
                break
        assert client.calls.count("pause") == 1
        assert transport.get_write_buffer_size() > 64 * 1024
        peer.resume_reading()
        for _ in range(1000):
            if "resume" in client.calls:
                break
            await asyncio.sleep(0.01)
        assert client.calls.count("resume") == 1
        assert transport.get_write_buffer_size() <= 16 * 1024
        transport.abort()
        peer.close()
        await client.done
        await _close(server)

    loop.run_until_complete(main())


def test_bad_water_marks(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        server, port = await _serve(loop, Echo)
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        with pytest.raises(ValueError, match=r"high \(1\) must be >= low \(2\) must be >= 0"):
            transport.set_write_buffer_limits(high=1, low=2)
        transport.set_write_buffer_limits(low=1000)
        assert transport.get_write_buffer_limits() == (1000, 4000)
        transport.close()
        await client.done
        await _close(server)

    loop.run_until_complete(main())


def test_pause_reading_in_connection_made_is_honoured(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _not_on_uvloop(loop_kind, "it starts reading after connection_made even if the protocol paused")
    async def main() -> None:
        server_side: asyncio.Future[Recorder] = loop.create_future()

        class Paused(Recorder):
            def connection_made(self, transport: Any) -> None:
                super().connection_made(transport)
                transport.pause_reading()
                server_side.set_result(self)

        server, port = await _serve(loop, lambda: Paused(loop))
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        peer = await server_side
        transport.write(b"hello")
        for _ in range(5):
            await asyncio.sleep(0.01)
        assert peer.data == b""
        assert not peer.transport.is_reading()
        peer.transport.resume_reading()
        await peer.got_data.wait()
        assert peer.data == b"hello"
        transport.close()
        await peer.done
        await client.done
        await _close(server)

    loop.run_until_complete(main())


def test_half_close_eof_then_connection_lost_once(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        server_side: asyncio.Future[Recorder] = loop.create_future()

        class Replier(Recorder):
            def connection_made(self, transport: Any) -> None:
                super().connection_made(transport)
                server_side.set_result(self)

            def eof_received(self) -> bool:
                super().eof_received()
                self.transport.write(b"reply:" + bytes(self.data))
                self.transport.close()
                return True

        server, port = await _serve(loop, lambda: Replier(loop, keep_open=True))
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        transport.write(b"question")
        transport.write_eof()
        with pytest.raises(RuntimeError, match=r"Cannot call write\(\) after write_eof\(\)"):
            transport.write(b"more")
        assert await client.done is None
        peer = await server_side
        await peer.done
        assert client.data == b"reply:question"
        assert client.calls == ["made", "data", "eof", ("lost", None)]
        assert peer.calls == ["made", "data", "eof", ("lost", None)]
        await _close(server)

    loop.run_until_complete(main())


def test_peer_reset_reports_connection_lost_once(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        accepted: asyncio.Future[Any] = loop.create_future()

        class Grab(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                accepted.set_result(transport)

        server, port = await _serve(loop, Grab)
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        peer = await accepted
        raw = peer.get_extra_info("socket")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.abort()  # linger 0: the kernel sends RST
        exc = await client.done
        assert client.calls[-1] == ("lost", type(exc).__name__ if exc else None)
        assert [c for c in client.calls if isinstance(c, tuple)] == [client.calls[-1]]
        assert exc is None or isinstance(exc, ConnectionResetError)
        await _close(server)

    loop.run_until_complete(main())


def test_buffered_protocol_reads_into_its_buffer(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        done: asyncio.Future[bytes] = loop.create_future()

        class Buffered(asyncio.BufferedProtocol):
            def __init__(self) -> None:
                self.buf = bytearray(1000)
                self.got = bytearray()

            def get_buffer(self, sizehint: int) -> bytearray:
                return self.buf

            def buffer_updated(self, nbytes: int) -> None:
                self.got += self.buf[:nbytes]

            def eof_received(self) -> None:
                done.set_result(bytes(self.got))

        payload = os.urandom(123_457)

        class Sender(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                transport.write(payload)
                transport.close()

        server, port = await _serve(loop, Sender)
        transport, _ = await loop.create_connection(Buffered, "127.0.0.1", port)
        assert await done == payload
        transport.close()
        await _close(server)

    loop.run_until_complete(main())


def test_connection_refused_closes_the_socket(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _not_on_uvloop(loop_kind, "its first connection opens an fd of its own that stays open")
    async def main() -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()  # nothing listens on this port now
        before = _fds()
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        assert _fds() == before

    loop.run_until_complete(main())


def test_unresolvable_host(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        with pytest.raises(socket.gaierror):
            await loop.create_connection(asyncio.Protocol, "no-such-host.invalid", 80)

    loop.run_until_complete(main())


def test_argument_checks(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="host and port was not specified and no sock specified"):
            await loop.create_connection(asyncio.Protocol)
        with pytest.raises(ValueError, match="server_hostname is only meaningful with ssl"):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", 1, server_hostname="x")
        with pytest.raises(ValueError, match="Neither host/port nor sock were specified"):
            await loop.create_server(asyncio.Protocol)
        with pytest.raises(TypeError, match="ssl argument must be an SSLContext or None"):
            await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, ssl=True)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            with pytest.raises(ValueError, match="A Stream Socket was expected"):
                await loop.create_connection(asyncio.Protocol, sock=udp)
            with pytest.raises(ValueError, match="host/port and sock can not be specified at the same time"):
                await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, sock=udp)
        finally:
            udp.close()

    if loop_kind == "uvloop":
        pytest.skip("uvloop's argument checks use other messages")
    loop.run_until_complete(main())


def test_server_close_keeps_live_clients(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _not_on_uvloop(loop_kind, "Server.sockets is not emptied by close()")
    async def main() -> None:
        server, port = await _serve(loop, Echo)
        assert server.is_serving()
        assert server.get_loop() is loop
        transport, client = await loop.create_connection(lambda: Recorder(loop), "127.0.0.1", port)
        await asyncio.sleep(0.01)
        server.close()
        assert not server.is_serving()
        assert server.sockets == ()
        transport.write(b"still here")
        await client.got_data.wait()
        assert client.data == b"still here"
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        waiting = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0.01)
        if sys.version_info >= (3, 12):
            assert not waiting.done()  # 3.12.1+: wait_closed waits for the connections
        transport.close()
        await client.done
        await asyncio.wait_for(waiting, 5)

    loop.run_until_complete(main())


def test_serve_forever_and_async_with(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _not_on_uvloop(loop_kind, "Server.sockets is not emptied by close()")
    async def main() -> None:
        server = await loop.create_server(Echo, "127.0.0.1", 0, start_serving=False)
        assert not server.is_serving()
        async with server:
            task = asyncio.ensure_future(server.serve_forever())
            await asyncio.sleep(0)
            assert server.is_serving()
            with pytest.raises(RuntimeError, match="is already being awaited on serve_forever"):
                await server.serve_forever()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not server.is_serving()
        assert server.sockets == ()

    loop.run_until_complete(main())


def test_server_on_several_hosts_and_dual_stack(loop: asyncio.AbstractEventLoop) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")

    async def main() -> None:
        try:
            server = await loop.create_server(Echo, ["127.0.0.1", "::1"], 0)
        except OSError as exc:
            pytest.skip(f"cannot bind ::1 here: {exc}")
        try:
            families = sorted(s.family for s in server.sockets)
            assert families == sorted([socket.AF_INET, socket.AF_INET6])
            for sock in server.sockets:
                if sock.family == socket.AF_INET6:
                    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
                host, port = sock.getsockname()[:2]
                transport, client = await loop.create_connection(lambda: Recorder(loop), host, port)
                transport.write(b"ping")
                await client.got_data.wait()
                transport.close()
                await client.done
        finally:
            await _close(server)

    loop.run_until_complete(main())


def test_unix_server_and_connection(loop: asyncio.AbstractEventLoop, tmp_path: Any) -> None:
    path = str(tmp_path / "echo.sock")

    async def main() -> None:
        server = await loop.create_unix_server(Echo, path)
        transport, client = await loop.create_unix_connection(lambda: Recorder(loop), path)
        assert transport.get_extra_info("peername") == path
        transport.write(b"unix")
        await client.got_data.wait()
        assert client.data == b"unix"
        transport.close()
        await client.done
        await _close(server)

    loop.run_until_complete(main())
    if sys.version_info >= (3, 13):
        assert not os.path.exists(path)  # cleanup_socket=True removes the socket file


def test_happy_eyeballs_reaches_the_family_that_listens(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _not_on_uvloop(loop_kind, "create_connection has no happy_eyeballs_delay")
    async def main() -> None:
        server, port = await _serve(loop, Echo)
        infos = await loop.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
        if not any(info[4][0] == "127.0.0.1" for info in infos):
            pytest.skip("localhost does not resolve to 127.0.0.1 here")
        transport, client = await loop.create_connection(
            lambda: Recorder(loop), "localhost", port, happy_eyeballs_delay=0.05
        )
        assert transport.get_extra_info("peername")[0] == "127.0.0.1"
        transport.close()
        await client.done
        await _close(server)

    loop.run_until_complete(main())


def test_connect_accepted_socket(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        try:
            transport, proto = await loop.connect_accepted_socket(lambda: Recorder(loop), a)
            b.sendall(b"from the other end")
            await proto.got_data.wait()
            assert proto.data == b"from the other end"
            transport.close()
            await proto.done
        finally:
            b.close()

    loop.run_until_complete(main())


def test_interleave_addrinfos() -> None:
    from batonio.io._connections import interleave_addrinfos

    v4 = [(socket.AF_INET, 1, 6, "", (f"10.0.0.{i}", 80)) for i in range(3)]
    v6 = [(socket.AF_INET6, 1, 6, "", (f"::{i}", 80, 0, 0)) for i in range(2)]
    mixed = [v6[0], v6[1], v4[0], v4[1], v4[2]]
    assert interleave_addrinfos(mixed) == [v6[0], v4[0], v6[1], v4[1], v4[2]]
    assert interleave_addrinfos(mixed, 2) == [v6[0], v6[1], v4[0], v4[1], v4[2]]

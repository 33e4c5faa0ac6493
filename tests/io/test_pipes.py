"""connect_read_pipe / connect_write_pipe on asyncio (the oracle) and batonio.

What a user sees: data and EOF through pipes, FIFOs, socketpairs and ptys; the transport
classes ``isinstance`` checks expect; write flow control at the water marks; a reader that
disappears (BrokenPipeError reaches connection_lost, no hang); asyncio's refusal of a
regular file.  After each test no fd is left open (``_no_fd_leak``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

TIMEOUT = 10.0


@pytest.fixture(params=["asyncio", "batonio"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    """asyncio and batonio only: uvloop's pipes differ from asyncio's where these tests look.

    Its pipe transports do not derive from asyncio's classes, its write_eof() on a pipe
    fails with ENOTSOCK (it calls shutdown(2)) and it leaves is_closing() False after it.
    """
    return request.param  # type: ignore[no-any-return]


def _open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


@pytest.fixture(autouse=True)
def _no_fd_leak(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    before = _open_fds()
    yield
    if not loop.is_closed():
        loop.close()
    import gc

    gc.collect()
    leaked = _open_fds() - before
    assert not {fd for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}, leaked


class Reader(asyncio.Protocol):
    """Records every call a read transport makes."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.data = bytearray()
        self.lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        assert isinstance(data, bytes)
        self.data += data

    def eof_received(self) -> None:
        self.events.append("eof")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(("lost", exc))
        self.lost.set_result(exc)


class Writer(asyncio.Protocol):
    """Records the calls a write transport makes, flow control included."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(("lost", exc))
        self.lost.set_result(exc)


def _bounded(coro: Any) -> Any:
    return asyncio.wait_for(coro, TIMEOUT)


def test_pipe_carries_data_then_eof(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        rt, reader = await loop.connect_read_pipe(Reader, os.fdopen(rfd, "rb", 0))
        wt, writer = await loop.connect_write_pipe(Writer, os.fdopen(wfd, "wb", 0))
        assert isinstance(rt, asyncio.ReadTransport) and not isinstance(rt, asyncio.WriteTransport)
        # asyncio's write pipe derives from Transport (through _FlowControlMixin)
        assert isinstance(wt, asyncio.WriteTransport) and isinstance(wt, asyncio.Transport)
        assert rt.get_extra_info("pipe").fileno() == rfd
        payload = os.urandom(1 << 20)
        wt.write(payload[:1000])
        wt.write(bytearray(payload[1000:2000]))
        wt.write(memoryview(payload)[2000:])
        assert wt.can_write_eof()
        wt.write_eof()
        assert wt.is_closing()
        assert await _bounded(writer.lost) is None
        assert await _bounded(reader.lost) is None
        same = bytes(reader.data) == payload  # (pytest's diff of 1 MiB would take minutes)
        assert same, (len(reader.data), len(payload))
        assert reader.events == ["made", "eof", ("lost", None)]
        assert writer.events[0] == "made" and writer.events[-1] == ("lost", None)

    run(main())


def test_write_flow_control_pauses_and_resumes_once_each(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        wt, writer = await loop.connect_write_pipe(Writer, os.fdopen(wfd, "wb", 0))
        wt.set_write_buffer_limits(high=4096, low=1024)
        assert wt.get_write_buffer_limits() == (1024, 4096)
        wt.write(b"x" * (1 << 20))  # the pipe takes 64 KiB; the rest waits
        assert wt.get_write_buffer_size() > 4096
        assert writer.events == ["made", "pause"]
        os.set_blocking(rfd, False)
        with os.fdopen(rfd, "rb", 0) as rf:
            got = 0
            while got < (1 << 20):
                await asyncio.sleep(0)
                got += len(rf.read(1 << 16) or b"")
        assert wt.get_write_buffer_size() == 0
        assert writer.events == ["made", "pause", "resume"]
        wt.close()
        await _bounded(writer.lost)

    run(main())


def test_reader_that_disappears_surfaces_broken_pipe(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        wt, writer = await loop.connect_write_pipe(Writer, os.fdopen(wfd, "wb", 0))
        wt.write(b"y" * (1 << 20))
        os.close(rfd)
        exc = await _bounded(writer.lost)
        assert isinstance(exc, BrokenPipeError)
        assert wt.is_closing()
        wt.write(b"more")  # after the loss: dropped, no exception

    run(main())


def test_reader_gone_while_idle_closes_cleanly(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        wt, writer = await loop.connect_write_pipe(Writer, os.fdopen(wfd, "wb", 0))
        os.close(rfd)
        assert await _bounded(writer.lost) is None  # nothing was lost

    run(main())


def test_pause_and_resume_reading(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        rt, reader = await loop.connect_read_pipe(Reader, os.fdopen(rfd, "rb", 0))
        assert rt.is_reading()
        rt.pause_reading()
        assert not rt.is_reading()
        os.write(wfd, b"held")
        for _ in range(5):
            await asyncio.sleep(0)
        assert reader.data == b""
        rt.resume_reading()
        while not reader.data:
            await asyncio.sleep(0.001)
        assert reader.data == b"held"
        os.close(wfd)
        await _bounded(reader.lost)

    run(main())


def test_close_read_pipe_calls_connection_lost_once(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        rt, reader = await loop.connect_read_pipe(Reader, os.fdopen(rfd, "rb", 0))
        rt.close()
        rt.close()
        assert rt.is_closing()
        assert await _bounded(reader.lost) is None
        await asyncio.sleep(0)
        assert reader.events == ["made", ("lost", None)]
        os.close(wfd)

    run(main())


def test_fifo_and_socketpair(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "fifo")
            os.mkfifo(path)
            rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            wfd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            rt, reader = await loop.connect_read_pipe(Reader, os.fdopen(rfd, "rb", 0))
            wt, writer = await loop.connect_write_pipe(Writer, os.fdopen(wfd, "wb", 0))
            wt.write(b"through a fifo")
            wt.close()
            await _bounded(reader.lost)
            await _bounded(writer.lost)
            assert reader.data == b"through a fifo"
        a, b = socket.socketpair()
        rt, reader = await loop.connect_read_pipe(Reader, a)
        wt, writer = await loop.connect_write_pipe(Writer, b)
        wt.write(b"through a socket")
        wt.close()
        await _bounded(reader.lost)
        await _bounded(writer.lost)
        assert reader.data == b"through a socket"

    run(main())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ptys as on Linux")
def test_pty_master_reads_what_the_slave_wrote(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        rt, reader = await loop.connect_read_pipe(Reader, os.fdopen(master, "rb", 0))
        wt, writer = await loop.connect_write_pipe(Writer, os.fdopen(slave, "wb", 0))
        wt.write(b"tty\n")
        while b"tty" not in reader.data:
            await asyncio.sleep(0.001)
        wt.close()
        await _bounded(writer.lost)
        # the slave closed: the master reads EIO, which ends the transport quietly
        await _bounded(reader.lost)

    run(main())


def test_regular_file_is_refused(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryFile() as f:
            with pytest.raises(ValueError, match="Pipe transport is for pipes/sockets only."):
                await loop.connect_read_pipe(Reader, f)
            with pytest.raises(ValueError, match="Pipe transport is only for pipes, sockets and character devices"):
                await loop.connect_write_pipe(Writer, f)

    run(main())


def test_stream_reader_over_a_read_pipe(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(rfd, "rb", 0))
        os.write(wfd, b"line one\nline two\n")
        os.close(wfd)
        assert await _bounded(reader.readline()) == b"line one\n"
        assert await _bounded(reader.read()) == b"line two\n"

    run(main())


def test_write_pipe_refuses_text_and_drops_writes_after_close(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        wt, writer = await loop.connect_write_pipe(Writer, os.fdopen(wfd, "wb", 0))
        with pytest.raises(AssertionError):  # asyncio's pipe asserts the type (no TypeError)
            wt.write("text")  # type: ignore[arg-type]
        wt.writelines([b"a", bytearray(b"b"), memoryview(b"c")])
        wt.close()
        wt.write(b"dropped")
        wt.writelines([b"dropped too"])
        assert await _bounded(writer.lost) is None
        with os.fdopen(rfd, "rb", 0) as rf:
            assert rf.read() == b"abc"

    run(main())

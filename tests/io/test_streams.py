"""batonio's streams: StreamReader, StreamWriter, StreamReaderProtocol, open_connection & co.

Three layers of tests, each on stdlib asyncio, uvloop and batonio loops (``loop`` fixture):

* the classes alone, fed by hand and attached to a fake transport that records
  ``pause_reading``/``resume_reading`` (no sockets: this proves the classes on any loop);
* the high-level functions over real loopback TCP and Unix sockets (``batonio.open_connection``
  on asyncio's own loop proves our classes on a foreign transport);
* a differential test: the same scripted feed/read sequence on ``asyncio.StreamReader`` and
  ours must give equal results, exceptions, buffers and transport calls.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import sys
import tempfile
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import batonio
from batonio import _extensions
from batonio.io import _streams
from batonio.io._streams import FlowControlMixin, StreamReader, StreamReaderProtocol, StreamWriter

Run = Callable[..., Any]
PY313 = sys.version_info >= (3, 13)
LIMIT_MSG_FOUND = "Separator is found, but chunk is longer than limit"
LIMIT_MSG_NOT_FOUND = "Separator is not found, and chunk exceed the limit"


class FakeTransport(asyncio.Transport):
    """A transport that records what the streams ask of it."""

    def __init__(self, can_pause: bool = True) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.written: list[bytes] = []
        self.closing = False
        self.can_pause = can_pause

    def pause_reading(self) -> None:
        if not self.can_pause:
            raise NotImplementedError
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def writelines(self, data: Any) -> None:
        self.written.extend(bytes(d) for d in data)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.calls.append("write_eof")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def _spin(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _reader(loop: asyncio.AbstractEventLoop, limit: int = 2**16) -> Any:
    return StreamReader(limit=limit, loop=loop)


# ------------------------------------------------------------------ the build and the surface
def test_public_names_are_ours() -> None:
    assert batonio.StreamReader is StreamReader
    assert batonio.StreamWriter is StreamWriter
    assert batonio.StreamReaderProtocol is StreamReaderProtocol
    assert batonio.open_connection is _streams.open_connection
    assert batonio.start_server is _streams.start_server
    assert batonio.open_unix_connection is _streams.open_unix_connection
    assert batonio.start_unix_server is _streams.start_unix_server
    for name in ("StreamReader", "StreamWriter", "StreamReaderProtocol", "open_connection",
                 "start_server", "open_unix_connection", "start_unix_server"):
        assert name not in batonio.MISSING
        assert getattr(batonio, name) is not getattr(asyncio, name)


def test_the_compiled_build_is_the_one_selected() -> None:
    """Fail when a build that should be compiled silently fell back to Python."""
    name = _streams._stream_impl.__name__
    if os.environ.get("BATONIO_NO_EXTENSIONS"):
        assert name == "batonio.io._streams_py"
        assert type(StreamReader.feed_data).__name__ == "function"
        return
    built = _extensions._is_built("batonio.io._streams_c")
    if not built and os.environ.get("BATONIO_EXPECT_COMPILED") != "1":
        pytest.skip("no compiled build present")
    assert name == "batonio.io._streams_c"
    assert not _streams._stream_impl.__file__.endswith(".py")
    assert type(StreamReader.feed_data).__name__ != "function"  # an extension type's method


def test_instances_are_what_code_expects(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        reader = StreamReader()
        assert reader._loop is loop
        assert isinstance(reader, asyncio.StreamReader)
        assert isinstance(reader, StreamReader)
        protocol = StreamReaderProtocol(reader)
        assert isinstance(protocol, asyncio.Protocol)
        assert protocol._loop is loop
        transport = FakeTransport()
        protocol.connection_made(transport)
        # asyncio's own StreamWriter asserts isinstance(reader, asyncio.StreamReader)
        theirs = asyncio.StreamWriter(transport, protocol, reader, loop)
        ours = StreamWriter(transport, protocol, reader, loop)
        assert ours.transport is transport and theirs.transport is transport
        transport.close()
    run(main())


def test_constructor_without_loop_asks_the_policy(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    assert StreamReader()._loop is loop
    assert StreamReaderProtocol(None)._loop is loop


def test_invalid_limit(loop: asyncio.AbstractEventLoop) -> None:
    for limit in (0, -1):
        with pytest.raises(ValueError, match=r"^Limit cannot be <= 0$"):
            StreamReader(limit=limit, loop=loop)


# ----------------------------------------------------------------------- reading, by hand
def test_readline_across_chunks(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> list[bytes]:
        reader = _reader(loop)
        for chunk in (b"li", b"ne1\nli", b"ne", b"2\nrest"):
            loop.call_soon(reader.feed_data, chunk)
        loop.call_soon(reader.feed_eof)
        lines = [await reader.readline(), await reader.readline()]
        lines += [await reader.readline(), await reader.readline()]
        assert reader.at_eof()
        return lines
    assert run(main()) == [b"line1\n", b"line2\n", b"rest", b""]


def test_readline_over_the_limit_drops_the_line(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop, limit=4)
    reader.feed_data(b"abcdefg\nnext\n")
    with pytest.raises(ValueError, match=f"^{LIMIT_MSG_FOUND}$") as info:
        run(reader.readline())
    assert isinstance(info.value.__context__, asyncio.LimitOverrunError)
    assert reader._buffer == b"next\n"  # consumed through its newline
    assert run(reader.readline()) == b"next\n"
    reader.feed_data(b"0123456789")  # no newline: the whole buffer goes
    with pytest.raises(ValueError, match=f"^{LIMIT_MSG_NOT_FOUND}$"):
        run(reader.readline())
    assert reader._buffer == b""


def test_readuntil_limit_overrun_keeps_the_buffer(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop, limit=3)
    reader.feed_data(b"some dataAA")
    with pytest.raises(asyncio.LimitOverrunError, match=f"^{LIMIT_MSG_FOUND}$") as found:
        run(reader.readuntil(b"AA"))
    assert found.value.consumed == 9
    assert reader._buffer == b"some dataAA"
    reader2 = _reader(loop, limit=3)
    reader2.feed_data(b"xxxxxx")
    with pytest.raises(asyncio.LimitOverrunError, match=f"^{LIMIT_MSG_NOT_FOUND}$") as missing:
        run(reader2.readuntil(b"AB"))
    assert missing.value.consumed == 5
    assert reader2._buffer == b"xxxxxx"


def test_readuntil_errors(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    with pytest.raises(ValueError, match="^Separator should be at least one-byte string$"):
        run(reader.readuntil(b""))
    reader.feed_data(b"abc\r")
    reader.feed_eof()
    with pytest.raises(asyncio.IncompleteReadError) as info:
        run(reader.readuntil(b"\r\n"))
    assert info.value.partial == b"abc\r" and info.value.expected is None
    assert str(info.value) == "4 bytes read on a total of undefined expected bytes"
    assert reader._buffer == b""


def test_readuntil_separator_types(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    reader.feed_data(b"a\r\nb\r\nc|")
    assert run(reader.readuntil(bytearray(b"\r\n"))) == b"a\r\n"
    assert run(reader.readuntil(memoryview(b"\r\n"))) == b"b\r\n"
    with pytest.raises(TypeError):
        run(reader.readuntil("|"))


@pytest.mark.skipif(not PY313, reason="a tuple of separators is 3.13's")
def test_readuntil_separator_tuple_shortest_match_wins(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    reader.feed_data(b"line 1\nline 2\r")
    assert run(reader.readuntil((b"\r", b"\n"))) == b"line 1\n"
    assert run(reader.readuntil((b"\r", b"\n"))) == b"line 2\r"
    reader.feed_data(b"ABCDEFG")
    assert run(reader.readuntil((b"DEF", b"BCDE"))) == b"ABCDE"  # the first end wins
    assert reader._buffer == b"FG"
    with pytest.raises(ValueError, match="^Separator should contain at least one element$"):
        run(reader.readuntil(()))
    with pytest.raises(ValueError, match="^Separator should be at least one-byte string$"):
        run(reader.readuntil((b"", b"x")))
    limited = _reader(loop, limit=3)
    limited.feed_data(b"some dataA")
    with pytest.raises(asyncio.LimitOverrunError, match="is found") as info:
        run(limited.readuntil((b"A", b"ome dataA")))
    assert info.value.consumed == 9 and limited._buffer == b"some dataA"


def test_readuntil_separator_tuple_across_chunks(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    if not PY313:
        reader = _reader(loop)
        reader.feed_data(b"data")
        with pytest.raises(TypeError):  # before 3.13 a tuple is not a separator
            run(reader.readuntil((b"A", b"long sep")))
        return
    reader = _reader(loop)
    reader.feed_data(b"data")
    task = loop.create_task(reader.readuntil((b"A", b"long sep")))
    loop.call_soon(reader.feed_data, b"Z")
    loop.call_soon(reader.feed_data, b"Aaaa")
    assert run(task) == b"dataZA"
    assert reader._buffer == b"aaa"


def test_readexactly(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop, limit=3)
    for chunk in (b"01234", b"56789", b"abc"):
        loop.call_soon(reader.feed_data, chunk)
    assert run(reader.readexactly(8)) == b"01234567"  # more than the limit
    assert run(reader.readexactly(0)) == b""
    with pytest.raises(ValueError, match="^readexactly size can not be less than zero$"):
        run(reader.readexactly(-1))
    reader.feed_eof()
    with pytest.raises(asyncio.IncompleteReadError) as info:
        run(reader.readexactly(10))
    assert info.value.partial == b"89abc" and info.value.expected == 10
    assert str(info.value) == "5 bytes read on a total of 10 expected bytes"
    assert reader._buffer == b""


def test_read(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop, limit=4)
    assert run(reader.read(0)) == b""
    loop.call_soon(reader.feed_data, b"abcdef")
    assert run(reader.read(3)) == b"abc"
    assert run(reader.read(30)) == b"def"
    for chunk in (b"0123456789", b"x" * 20, b"tail"):
        loop.call_soon(reader.feed_data, chunk)
    loop.call_soon(reader.feed_eof)
    assert run(reader.read()) == b"0123456789" + b"x" * 20 + b"tail"
    assert run(reader.read()) == b"" and run(reader.read(5)) == b""
    assert reader.at_eof()


def test_read_with_a_float_size_fails_as_asyncio(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    errors = []
    for make in (asyncio.StreamReader, StreamReader):
        reader = make(loop=loop)
        reader.feed_data(b"abcdef")
        with pytest.raises(TypeError) as info:
            run(reader.read(2.5))
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_exception_reaches_reads_and_the_waiter(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    assert reader.exception() is None
    task = loop.create_task(reader.readline())
    run(_spin())
    error = ValueError("boom")
    reader.set_exception(error)
    with pytest.raises(ValueError, match="boom"):
        run(task)
    assert reader.exception() is error
    for read in (reader.read(), reader.read(1), reader.readline(), reader.readexactly(1),
                 reader.readuntil(b"x")):
        with pytest.raises(ValueError, match="boom"):
            run(read)


def test_set_exception_after_a_cancelled_read(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    task = loop.create_task(reader.readline())
    run(_spin())
    task.cancel()
    run(_spin())
    reader.set_exception(RuntimeError("message"))  # the cancelled waiter is left alone
    run(_spin())
    assert reader._waiter is None and task.cancelled()


def test_a_second_waiting_reader_is_refused(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    first = loop.create_task(reader.read(1))
    run(_spin())
    for read, name in ((reader.read(1), "read"), (reader.readline(), "readuntil"),
                       (reader.readexactly(2), "readexactly")):
        with pytest.raises(RuntimeError, match=f"^{name}\\(\\) called while another coroutine "
                           "is already waiting for incoming data$"):
            run(read)
    reader.feed_data(b"z")
    assert run(first) == b"z"


def test_feed_after_eof_and_double_transport_are_refused(loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    reader.set_transport(FakeTransport())
    with pytest.raises(AssertionError, match="Transport already set"):
        reader.set_transport(FakeTransport())
    reader.feed_data(b"")  # empty data is ignored
    assert reader._buffer == b""
    reader.feed_eof()
    assert reader.at_eof()
    with pytest.raises(AssertionError, match="feed_data after feed_eof"):
        reader.feed_data(b"x")


def test_async_iteration_by_lines(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> list[bytes]:
        reader = _reader(loop)
        reader.feed_data(b"one\ntwo\nthr")
        loop.call_soon(reader.feed_data, b"ee\nfour")
        loop.call_soon(reader.feed_eof)
        return [line async for line in reader]
    assert run(main()) == [b"one\n", b"two\n", b"three\n", b"four"]


def test_a_subclass_readuntil_is_honoured_by_readline(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    class Upper(StreamReader):  # type: ignore[misc, valid-type]
        async def readuntil(self, separator: Any = b"\n") -> bytes:
            return (await super().readuntil(separator)).upper()

    reader = Upper(loop=loop)
    reader.feed_data(b"abc\ndef\n")
    assert run(reader.readline()) == b"ABC\n"

    async def lines() -> list[bytes]:
        reader.feed_eof()
        return [line async for line in reader]
    assert run(lines()) == [b"DEF\n"]


def test_repr_as_asyncio(loop: asyncio.AbstractEventLoop) -> None:
    def states(make: Any) -> list[str]:
        reader = make(loop=loop, limit=123)
        plain = make(loop=loop)
        out = [repr(plain), repr(reader)]
        reader.feed_data(b"data")
        out.append(repr(reader))
        transport = FakeTransport()
        transport.__repr__ = lambda: "<Transport>"  # type: ignore[method-assign]
        reader.set_transport(transport)
        reader.feed_data(b"x" * 300)
        out.append(repr(reader).replace(repr(transport), "<T>"))
        reader.set_exception(RuntimeError())
        reader.feed_eof()
        out.append(repr(reader).replace(repr(transport), "<T>"))
        return out

    assert states(StreamReader) == states(asyncio.StreamReader)
    assert repr(StreamReader(loop=loop)) == "<StreamReader>"


# ------------------------------------------------------------------- read-side flow control
def test_reading_pauses_past_twice_the_limit_and_resumes_at_the_limit(
    run: Run, loop: asyncio.AbstractEventLoop
) -> None:
    reader = _reader(loop, limit=4)
    transport = FakeTransport()
    reader.set_transport(transport)
    reader.feed_data(b"12345678")  # 8 == 2 * limit: not yet
    assert transport.calls == [] and not reader._paused
    reader.feed_data(b"9")
    assert transport.calls == ["pause"] and reader._paused
    reader.feed_data(b"abc")  # already paused: no second call
    assert transport.calls == ["pause"]
    assert run(reader.read(7)) == b"1234567"  # 5 left > limit
    assert transport.calls == ["pause"]
    assert run(reader.read(1)) == b"8"  # 4 left == limit
    assert transport.calls == ["pause", "resume"] and not reader._paused
    assert "paused" not in repr(reader)


def test_a_read_that_must_wait_resumes_a_paused_transport(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop, limit=2)
    transport = FakeTransport()
    reader.set_transport(transport)
    reader.feed_data(b"abcde")
    assert transport.calls == ["pause"] and "paused" in repr(reader)
    task = loop.create_task(reader.readexactly(8))  # more than is buffered: must wait
    run(_spin())
    assert transport.calls == ["pause", "resume"] and not task.done()
    reader.feed_data(b"fghij")
    assert run(task) == b"abcdefgh"


def test_a_transport_that_cannot_pause_is_forgotten(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop, limit=1)
    transport = FakeTransport(can_pause=False)
    reader.set_transport(transport)
    reader.feed_data(b"abc")
    assert reader._transport is None and not reader._paused
    assert run(reader.read(3)) == b"abc"


# ------------------------------------------------------------------------ the protocol, by hand
def test_protocol_feeds_the_reader_and_resolves_the_close_waiter(
    run: Run, loop: asyncio.AbstractEventLoop
) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    assert reader._transport is transport
    protocol.data_received(b"hello\n")
    assert protocol.eof_received() is True
    writer = StreamWriter(transport, protocol, reader, loop)
    waiting = loop.create_task(writer.wait_closed())
    run(_spin())
    assert not waiting.done()
    protocol.connection_lost(None)
    run(waiting)
    assert run(reader.read()) == b"hello\n"
    assert protocol._stream_reader is None and protocol._transport is None
    transport.close()


def test_connection_lost_with_an_error(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    writer = StreamWriter(transport, protocol, reader, loop)
    protocol.connection_lost(ZeroDivisionError())
    with pytest.raises(ZeroDivisionError):
        run(reader.read())
    with pytest.raises(ZeroDivisionError):
        run(writer.wait_closed())
    with pytest.raises(ZeroDivisionError):
        run(writer.drain())  # the reader's exception comes first
    transport.close()


def test_an_abandoned_reader_is_collected(loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    protocol.connection_made(FakeTransport())
    ref = weakref.ref(reader)
    del reader
    gc.collect()
    assert ref() is None and protocol._stream_reader is None
    protocol.data_received(b"ignored")  # nobody to feed: no error
    protocol.eof_received()
    protocol.connection_lost(None)


def test_server_protocol_holds_its_reader_until_connected(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    seen: list[Any] = []
    protocol = StreamReaderProtocol(_reader(loop), lambda r, w: seen.append((r, w)), loop=loop)
    gc.collect()
    assert protocol._stream_reader is not None  # the strong reference keeps it
    transport = FakeTransport()
    protocol.connection_made(transport)
    (reader, writer), = seen
    assert protocol._strong_reader is None and reader._transport is transport
    assert isinstance(writer, StreamWriter) and writer.transport is transport
    transport.close()


def test_client_connected_coroutine_failure_is_reported(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))

    async def handler(reader: Any, writer: Any) -> None:
        raise ZeroDivisionError("in handler")

    protocol = StreamReaderProtocol(_reader(loop), handler, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    run(_spin())
    assert [c["message"] for c in contexts] == ["Unhandled exception in client_connected_cb"]
    assert isinstance(contexts[0]["exception"], ZeroDivisionError)
    assert contexts[0]["transport"] is transport and transport.closing


def test_client_connected_coroutine_cancelled(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))

    async def handler(reader: Any, writer: Any) -> None:
        await asyncio.sleep(3600)

    protocol = StreamReaderProtocol(_reader(loop), handler, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    run(_spin())
    protocol._task.cancel()
    run(_spin())
    if PY313:  # closed silently
        assert contexts == [] and transport.closing
    else:  # task.exception() raised CancelledError inside the done callback
        assert len(contexts) == 1 and isinstance(contexts[0]["exception"], asyncio.CancelledError)
        transport.close()


def test_rejected_connection_is_aborted(loop: asyncio.AbstractEventLoop) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    protocol = StreamReaderProtocol(_reader(loop), loop=loop)
    protocol._reject_connection = True
    transport = FakeTransport()
    protocol.connection_made(transport)
    assert transport.closing and contexts[0]["message"].startswith("An open stream was garbage")


def test_debug_mode_records_where_the_reader_was_made(loop: asyncio.AbstractEventLoop) -> None:
    loop.set_debug(True)
    reader = _reader(loop)
    assert reader._source_traceback[-1].filename == __file__  # _reader() above
    assert StreamReaderProtocol(reader, loop=loop)._source_traceback is reader._source_traceback
    loop.set_debug(False)
    assert _reader(loop)._source_traceback is None


def test_eof_over_tls_does_not_keep_the_transport_open(loop: asyncio.AbstractEventLoop) -> None:
    class TLSTransport(FakeTransport):
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return "a context" if name == "sslcontext" else default

    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    protocol.connection_made(TLSTransport())
    assert protocol._over_ssl and protocol.eof_received() is False and reader.at_eof()


def test_an_unawaited_close_error_is_not_reported(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    protocol = StreamReaderProtocol(_reader(loop), loop=loop)
    protocol.connection_made(FakeTransport())
    protocol.connection_lost(ConnectionResetError("reset"))  # nobody awaits wait_closed()
    del protocol
    gc.collect()
    run(_spin())
    assert contexts == []


# ------------------------------------------------------------------------ writing, by hand
def test_writer_passes_through_to_the_transport(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    writer = StreamWriter(transport, protocol, reader, loop)
    writer.write(b"a")
    writer.writelines([b"b", bytearray(b"c")])
    assert transport.written == [b"a", b"b", b"c"]
    assert writer.can_write_eof() is True
    writer.write_eof()
    assert transport.calls == ["write_eof"]
    assert writer.get_extra_info("peername") == ("127.0.0.1", 1)
    assert writer.get_extra_info("nothing", 7) == 7
    assert repr(writer) == f"<StreamWriter transport={transport!r} reader={reader!r}>"
    assert not writer.is_closing()
    writer.close()
    assert writer.is_closing()


def test_drain_waits_while_paused(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    writer = StreamWriter(transport, protocol, reader, loop)
    run(writer.drain())  # not paused: returns at once
    protocol.pause_writing()
    drains = [loop.create_task(writer.drain()) for _ in range(3)]
    run(_spin())
    assert not any(d.done() for d in drains) and len(protocol._drain_waiters) == 3
    protocol.resume_writing()
    run(asyncio.gather(*drains))
    assert len(protocol._drain_waiters) == 0
    transport.close()


def test_drain_waiters_get_the_connection_error(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    protocol = FlowControlMixin(loop=loop)
    protocol.pause_writing()
    waiter = loop.create_task(protocol._drain_helper())
    run(_spin())
    protocol.connection_lost(BrokenPipeError("gone"))
    with pytest.raises(BrokenPipeError, match="gone"):
        run(waiter)
    with pytest.raises(ConnectionResetError, match="^Connection lost$"):
        run(protocol._drain_helper())
    with pytest.raises(NotImplementedError):
        protocol._get_close_waiter(None)


def test_drain_after_connection_lost_raises(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    writer = StreamWriter(transport, protocol, reader, loop)
    protocol.pause_writing()
    waiting = loop.create_task(writer.drain())
    run(_spin())
    transport.close()
    protocol.connection_lost(None)  # a clean close releases the paused drain()
    run(waiting)
    with pytest.raises(ConnectionResetError, match="^Connection lost$"):
        run(writer.drain())


def test_drain_on_a_closing_transport_yields_to_the_loop(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    writer = StreamWriter(transport, protocol, reader, loop)
    transport.close()

    async def main() -> None:
        # connection_lost() scheduled now runs during drain()'s yield, so drain() sees it.
        loop.call_soon(protocol.connection_lost, None)
        with pytest.raises(ConnectionResetError, match="^Connection lost$"):
            await writer.drain()
    run(main())


def test_drain_with_a_custom_protocol_uses_its_drain_helper(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    class Counting(StreamReaderProtocol):  # type: ignore[misc, valid-type]
        calls = 0

        async def _drain_helper(self) -> None:
            type(self).calls += 1
            await super()._drain_helper()

    reader = _reader(loop)
    protocol = Counting(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    writer = StreamWriter(transport, protocol, reader, loop)
    run(writer.drain())
    assert Counting.calls == 1
    transport.close()


def test_start_tls_hands_the_protocol_over(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    writer = StreamWriter(transport, protocol, reader, loop)
    new_transport = FakeTransport()
    calls: list[tuple[Any, ...]] = []

    async def start_tls(tr: Any, proto: Any, ctx: Any, **kwargs: Any) -> Any:
        calls.append((tr, proto, ctx, kwargs))
        return new_transport

    loop.start_tls = start_tls  # type: ignore[method-assign]
    try:
        run(writer.start_tls("ctx", server_hostname="example", ssl_handshake_timeout=5.0))
    finally:
        del loop.start_tls
    expected = {"server_side": False, "server_hostname": "example", "ssl_handshake_timeout": 5.0}
    if sys.version_info >= (3, 12):
        expected["ssl_shutdown_timeout"] = None
    assert calls == [(transport, protocol, "ctx", expected)]
    assert writer.transport is new_transport and protocol._transport is new_transport
    if not PY313:
        assert protocol._stream_writer is writer
    transport.close()
    new_transport.close()


def test_unclosed_writer_warns(loop: asyncio.AbstractEventLoop) -> None:
    reader = _reader(loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport = FakeTransport()
    writer = StreamWriter(transport, protocol, reader, loop)
    with pytest.warns(ResourceWarning, match="^unclosed <StreamWriter"):
        del writer
        gc.collect()
    assert transport.closing  # and it was closed

    other = asyncio.new_event_loop()
    stale = StreamWriter(FakeTransport(), protocol, None, other)
    other.close()
    with pytest.warns(ResourceWarning, match="^loop is closed$"):
        del stale
        gc.collect()


# ------------------------------------------------------------------- over real sockets
@pytest.fixture
def unix_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield os.path.join(directory, "s")


async def _echo_lines(reader: Any, writer: Any) -> None:
    async for line in reader:
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def _talk(reader: Any, writer: Any, lines: list[bytes]) -> list[bytes]:
    answers = []
    for line in lines:
        writer.write(line)
        answers.append(await reader.readline())
    writer.write_eof()
    answers.append(await reader.read())
    writer.close()
    await writer.wait_closed()
    return answers


def test_tcp_echo_with_a_coroutine_handler(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> list[bytes]:
        server = await batonio.start_server(_echo_lines, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await batonio.open_connection("127.0.0.1", port)
            assert isinstance(reader, StreamReader) and isinstance(writer, StreamWriter)
            assert writer.get_extra_info("peername") == ("127.0.0.1", port)
            return await _talk(reader, writer, [b"hello\n", b"world\n"])
    assert run(main()) == [b"HELLO\n", b"WORLD\n", b""]


def test_tcp_echo_with_a_plain_function_handler(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    tasks: list[asyncio.Task[None]] = []

    def handler(reader: Any, writer: Any) -> None:
        assert isinstance(reader, StreamReader)
        tasks.append(asyncio.get_running_loop().create_task(_echo_lines(reader, writer)))

    async def main() -> list[bytes]:
        sock = socket.create_server(("127.0.0.1", 0))
        server = await batonio.start_server(handler, sock=sock, limit=8)
        async with server:
            reader, writer = await batonio.open_connection(*sock.getsockname(), limit=8)
            assert reader._limit == 8
            answers = await _talk(reader, writer, [b"abc\n"])
            await asyncio.gather(*tasks)
            return answers
    assert run(main()) == [b"ABC\n", b""]


def test_unix_echo(run: Run, loop: asyncio.AbstractEventLoop, unix_path: str) -> None:
    async def main() -> list[bytes]:
        server = await batonio.start_unix_server(_echo_lines, unix_path)
        async with server:
            reader, writer = await batonio.open_unix_connection(unix_path)
            return await _talk(reader, writer, [b"unix\n"])
    assert run(main()) == [b"UNIX\n", b""]


def test_read_to_eof_and_wait_closed(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    payload = os.urandom(300_000)  # several times the limit: reading pauses and resumes

    async def send(reader: Any, writer: Any) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> bytes:
        server = await batonio.start_server(send, "127.0.0.1", 0)
        async with server:
            reader, writer = await batonio.open_connection(*server.sockets[0].getsockname())
            data = await reader.read()
            assert reader.at_eof()
            assert not writer.is_closing()
            writer.close()
            assert writer.is_closing()
            await writer.wait_closed()
            return data  # type: ignore[no-any-return]
    assert run(main()) == payload


def test_drain_pauses_on_a_peer_that_does_not_read_and_resumes(
    run: Run, loop: asyncio.AbstractEventLoop
) -> None:
    chunk = b"x" * (1 << 20)

    async def main() -> None:
        start_reading = asyncio.Event()
        finished = asyncio.Event()
        received = 0

        async def slow_reader(reader: Any, writer: Any) -> None:
            nonlocal received
            await start_reading.wait()
            while data := await reader.read(1 << 16):
                received += len(data)
            writer.close()
            await writer.wait_closed()
            finished.set()

        server = await batonio.start_server(slow_reader, "127.0.0.1", 0)
        async with server:
            reader, writer = await batonio.open_connection(*server.sockets[0].getsockname())
            protocol = writer._protocol
            sent = 0
            for _ in range(256):  # the kernel's buffers fill within a few MiB
                writer.write(chunk)
                sent += len(chunk)
                await asyncio.sleep(0)
                if protocol._paused:
                    break
            assert protocol._paused
            drain = asyncio.ensure_future(writer.drain())
            await _spin(10)
            assert not drain.done()
            start_reading.set()
            await drain
            assert not protocol._paused
            writer.close()
            await writer.wait_closed()
            await finished.wait()
        assert received == sent
    run(main())


def test_drain_after_the_peer_closed_raises(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    async def close_at_once(reader: Any, writer: Any) -> None:
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server = await batonio.start_server(close_at_once, "127.0.0.1", 0)
        async with server:
            reader, writer = await batonio.open_connection(*server.sockets[0].getsockname())
            assert await reader.read() == b""
            with pytest.raises((ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
                for _ in range(10_000):
                    writer.write(b"foo\n")
                    await writer.drain()
            writer.close()
            with contextlib.suppress(OSError):  # the close waiter holds the same error
                await writer.wait_closed()
    run(main())


def test_write_and_drain_after_close_raise_connection_lost(
    run: Run, loop: asyncio.AbstractEventLoop, loop_kind: str
) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop's transport.write() on a closed transport raises RuntimeError")

    async def main() -> None:
        server = await batonio.start_server(_echo_lines, "127.0.0.1", 0)
        async with server:
            reader, writer = await batonio.open_connection(*server.sockets[0].getsockname())
            writer.close()
            await writer.wait_closed()
            assert reader.at_eof()
            with pytest.raises(ConnectionResetError, match="^Connection lost$"):
                writer.write(b"data")
                await writer.drain()
    run(main())


def test_start_tls_upgrades_both_ends(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    ssl = pytest.importorskip("ssl")
    from test.test_asyncio import utils as test_utils

    server_context = test_utils.simple_server_sslcontext()
    client_context = test_utils.simple_client_sslcontext()

    async def upgrade_then_echo(reader: Any, writer: Any) -> None:
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"OK\n")
        await writer.start_tls(server_context)
        assert writer.get_extra_info("sslcontext") is server_context
        await _echo_lines(reader, writer)

    async def main() -> list[bytes]:
        server = await batonio.start_server(upgrade_then_echo, "127.0.0.1", 0)
        async with server:
            reader, writer = await batonio.open_connection(*server.sockets[0].getsockname())
            writer.write(b"STARTTLS\n")
            assert await reader.readline() == b"OK\n"
            await writer.start_tls(client_context, server_hostname="localhost")
            assert isinstance(writer.get_extra_info("ssl_object"), ssl.SSLObject)
            assert writer._protocol._over_ssl
            writer.write(b"secret\n")
            answer = await reader.readline()
            writer.close()
            await writer.wait_closed()
            return [answer]
    assert run(main()) == [b"SECRET\n"]


def test_server_handler_exception_goes_to_the_exception_handler(
    run: Run, loop: asyncio.AbstractEventLoop
) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))

    async def failing(reader: Any, writer: Any) -> None:
        raise ZeroDivisionError("handler")

    async def main() -> bytes:
        server = await batonio.start_server(failing, "127.0.0.1", 0)
        async with server:
            reader, writer = await batonio.open_connection(*server.sockets[0].getsockname())
            data = await reader.read()  # the server closes the connection
            writer.close()
            await writer.wait_closed()
            return data  # type: ignore[no-any-return]
    assert run(main()) == b""
    assert [c["message"] for c in contexts] == ["Unhandled exception in client_connected_cb"]
    assert isinstance(contexts[0]["exception"], ZeroDivisionError)


def test_connection_error_reaches_the_reader(run: Run, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        server = await batonio.start_server(_echo_lines, "127.0.0.1", 0)
        async with server:
            reader, writer = await batonio.open_connection(*server.sockets[0].getsockname())
            writer._protocol.connection_lost(ZeroDivisionError())
            with pytest.raises(ZeroDivisionError):
                await reader.read()
            writer.close()
            await _spin()
    run(main())


def test_stream_functions_need_a_running_loop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the coroutine is never awaited
        for coro in (batonio.open_connection("127.0.0.1", 1), batonio.start_server(print)):
            with pytest.raises(RuntimeError, match="no running event loop"):
                coro.send(None)
            coro.close()


# ------------------------------------------------------------------- differential
_SEPARATORS: list[Any] = [b"\n", b"ab", b"b\n", b"aaa"]
if PY313:
    _SEPARATORS += [(b"a", b"\n"), (b"bb", b"b\n", b"ab")]

_OPS = st.one_of(
    st.tuples(st.just("feed"), st.binary(min_size=0, max_size=7).map(
        lambda b: bytes(b"ab\n"[x % 3] for x in b))),
    st.tuples(st.just("eof"), st.none()),
    st.tuples(st.just("fail"), st.none()),
    st.tuples(st.just("read"), st.integers(-1, 6)),
    st.tuples(st.just("readline"), st.none()),
    st.tuples(st.just("readuntil"), st.sampled_from(_SEPARATORS)),
    st.tuples(st.just("readexactly"), st.integers(-1, 9)),
    st.tuples(st.just("iterate"), st.none()),
    st.tuples(st.just("step"), st.none()),
)


def _outcome(task: asyncio.Task[Any]) -> Any:
    if not task.done():
        return "pending"
    exc = task.exception()
    if exc is None:
        return ("ok", task.result())
    details: tuple[Any, ...] = (type(exc).__name__, str(exc))
    if isinstance(exc, asyncio.IncompleteReadError):
        details += (exc.partial, exc.expected)
    if isinstance(exc, asyncio.LimitOverrunError):
        details += (exc.consumed,)
    return details


async def _play(make: Any, limit: int, script: list[tuple[str, Any]]) -> list[Any]:
    """Run ``script`` against a reader made by ``make``; record everything observable."""
    reader = make(limit=limit, loop=asyncio.get_running_loop())
    transport = FakeTransport()
    reader.set_transport(transport)
    tasks: list[asyncio.Task[Any]] = []
    trace: list[Any] = []
    for op, arg in script:
        if op == "feed":
            try:
                reader.feed_data(arg)
            except AssertionError as e:
                trace.append(("AssertionError", str(e)))
        elif op == "eof":
            reader.feed_eof()
        elif op == "fail":
            reader.set_exception(ValueError("boom"))
        elif op == "step":
            await asyncio.sleep(0)
        else:
            if op == "iterate":
                coro = reader.__anext__()
            elif op in ("readline",):
                coro = reader.readline()
            else:
                coro = getattr(reader, op)(arg)
            tasks.append(asyncio.ensure_future(coro))
            await _spin(3)
        trace.append((bytes(reader._buffer), reader.at_eof(), reader._paused,
                      list(transport.calls), [_outcome(t) for t in tasks]))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return trace


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 6), script=st.lists(_OPS, max_size=18))
def test_same_as_asyncio(limit: int, script: list[tuple[str, Any]], loop: asyncio.AbstractEventLoop) -> None:
    expected = loop.run_until_complete(_play(asyncio.StreamReader, limit, script))
    actual = loop.run_until_complete(_play(StreamReader, limit, script))
    assert actual == expected

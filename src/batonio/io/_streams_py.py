# cython: annotation_typing=False
"""Streams: StreamReader (a byte buffer with awaitable reads), StreamWriter and the protocol.

Behaviour follows ``asyncio.streams`` of the running Python (3.11, 3.12 and 3.13 differ in
small ways, each marked below).  The classes sit on the public transport interface only
(``write``, ``pause_reading``/``resume_reading``, ``is_closing``, ``get_extra_info`` ...), so
they work on any loop and any transport.  This module is compiled by Cython in pure-Python
mode (``_streams_c.pxd`` declares StreamReader's typed fields) and also runs as plain Python.

Roles:

* ``StreamReader`` (compiled extension type) holds the received bytes in one ``bytearray``.
  ``feed_data``/``feed_eof``/``set_exception`` come from the protocol; ``read``,
  ``readline``, ``readuntil``, ``readexactly`` and async iteration consume from the front.
  It presents itself as ``asyncio.StreamReader`` to ``isinstance`` (the ``__class__`` trick
  of ``_core._scheduler_py.Handle``) because asyncio's own StreamWriter asserts that type.
* ``StreamReaderProtocol`` (a plain ``asyncio.Protocol`` subclass, method bodies compiled)
  feeds the reader, runs the server's ``client_connected_cb`` and resolves the close waiter.
* ``StreamWriter`` wraps the transport and adds ``drain()``, ``wait_closed()`` and
  ``start_tls()``.

Invariants:

* At most one coroutine waits for data (``_waiter``); a second one gets asyncio's
  ``RuntimeError``.
* Flow control: reading is paused when the buffer grows past ``2 * limit`` and resumed once
  a read brings it to ``limit`` or below, or when a read must wait while paused (otherwise
  ``readexactly(n)`` with ``n > limit`` would deadlock).
* The protocol holds its reader through a weak reference (``_stream_reader_wr``), so a
  reader nobody reads is collected; a server's protocol keeps a strong reference only until
  the connection is made (``_strong_reader``).
* ``drain()`` raises the reader's exception, yields once to the loop when the transport is
  closing (so ``connection_lost`` can run, bpo-25441), then waits while writing is paused;
  after the connection is lost it raises ``ConnectionResetError('Connection lost')``.
PYTEST_DONT_REWRITE: the ``assert`` statements here are asyncio's own checks, with asyncio's
messages; batonio's pytest plugin makes pytest rewrite its distribution's modules, which
would change those messages in every user's test session.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
import weakref
from asyncio import IncompleteReadError, LimitOverrunError
from asyncio import events as _events
from asyncio.log import logger
from collections import deque
from typing import Any

try:
    import cython
except ImportError:  # pragma: no cover - Cython is a build-time dependency only
    from .. import _cython_shim as cython  # type: ignore[no-redef]

from .._api._taskutils import sleep

__all__ = ["FlowControlMixin", "StreamReader", "StreamReaderProtocol", "StreamWriter"]

_DEFAULT_LIMIT = 2**16  # 64 KiB, asyncio's default line and buffer limit
_PY312 = sys.version_info >= (3, 12)
_PY313 = sys.version_info >= (3, 13)

_AsyncioStreamReader = asyncio.StreamReader
_iscoroutine = asyncio.iscoroutine


def _default_loop() -> Any:
    """The loop a constructor binds to without ``loop=``, as asyncio's constructors find it."""
    if _PY312:
        return _events.get_event_loop()
    return _events._get_event_loop()  # type: ignore[attr-defined]


def _origin_traceback() -> Any:
    """The user's stack at construction, for debug mode (rare path: imported lazily)."""
    from .._core._format import extract_stack

    return extract_stack()


# ------------------------------------------------------------------------------- the reader
@cython.cclass
class StreamReader:
    """A buffer of received bytes with awaitable reads; an ``asyncio.StreamReader`` to ``isinstance``."""

    def __init__(self, limit: int = _DEFAULT_LIMIT, loop: Any = None) -> None:
        # The line limit is a safety feature; twice the limit is the buffer's high-water mark.
        if limit <= 0:
            raise ValueError("Limit cannot be <= 0")
        self._limit = limit
        self._loop = _default_loop() if loop is None else loop
        self._buffer = bytearray()
        self._eof = False
        self._waiter = None
        self._exception = None
        self._transport = None
        self._paused = False
        self._source_traceback = None
        if self._loop.get_debug():
            self._source_traceback = _origin_traceback()

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """Present as asyncio.StreamReader so ``isinstance`` checks (asyncio's StreamWriter's) hold."""
        return _AsyncioStreamReader

    def __repr__(self) -> str:
        info = ["StreamReader"]
        if self._buffer:
            info.append(f"{len(self._buffer)} bytes")
        if self._eof:
            info.append("eof")
        if self._limit != _DEFAULT_LIMIT:
            info.append(f"limit={self._limit}")
        if self._waiter:
            info.append(f"waiter={self._waiter!r}")
        if self._exception:
            info.append(f"exception={self._exception!r}")
        if self._transport:
            info.append(f"transport={self._transport!r}")
        if self._paused:
            info.append("paused")
        return "<{}>".format(" ".join(info))

    # -- what the protocol calls
    def exception(self) -> BaseException | None:
        """Return the exception set by ``set_exception``, or None."""
        return self._exception

    def set_exception(self, exc: BaseException) -> None:
        """Make every later read raise ``exc``; wake the waiting read with it."""
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.cancelled():
                waiter.set_exception(exc)

    def set_transport(self, transport: Any) -> None:
        """Attach the transport whose reading this reader pauses and resumes."""
        assert self._transport is None, "Transport already set"
        self._transport = transport

    def feed_eof(self) -> None:
        """Record the end of the stream and wake the waiting read."""
        self._eof = True
        self._wakeup_waiter()

    def at_eof(self) -> bool:
        """Return True if the buffer is empty and 'feed_eof' was called."""
        return self._eof and not self._buffer

    def feed_data(self, data: Any) -> None:
        """Append received bytes, wake the waiting read, pause the transport past 2 * limit."""
        assert not self._eof, "feed_data after feed_eof"
        if not data:
            return
        buffer = self._buffer
        if type(data) is bytes:
            buffer += data  # the buffer protocol's copy, no method look-up
        else:
            buffer.extend(data)  # also takes the iterables of ints extend() takes
        self._wakeup_waiter()
        if self._transport is not None and not self._paused and len(buffer) > 2 * self._limit:
            self._pause_transport()

    def _pause_transport(self) -> None:
        """Pause the transport's reading; a transport that cannot pause is forgotten."""
        try:
            self._transport.pause_reading()
        except NotImplementedError:
            # It will keep feeding us: buffer everything, and stop asking.
            self._transport = None
        else:
            self._paused = True

    def _wakeup_waiter(self) -> None:
        """Wake the read*() call waiting for data or EOF."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.cancelled():
                waiter.set_result(None)

    def _maybe_resume_transport(self) -> None:
        """Resume the transport's reading once the buffer is back to the limit or below."""
        if self._paused and len(self._buffer) <= self._limit:
            self._paused = False
            self._transport.resume_reading()

    async def _wait_for_data(self, func_name: str) -> None:
        """Wait until feed_data() or feed_eof() is called, resuming a paused transport first."""
        # One future links feed_data() to one read: with two readers waiting, which one got
        # the next bytes would be arbitrary, so the second is refused.
        if self._waiter is not None:
            raise RuntimeError(
                f"{func_name}() called while another coroutine is already waiting for incoming data"
            )
        assert not self._eof, "_wait_for_data after EOF"
        # Waiting while paused would never end (readexactly(n) with n > limit needs this).
        if self._paused:
            self._paused = False
            self._transport.resume_reading()
        waiter = self._loop.create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    # -- consuming the buffer
    def _take(self, n: int) -> bytes:
        """Remove and return the first ``n`` bytes of the buffer (``n <= len(buffer)``)."""
        buffer = self._buffer
        if n == len(buffer):
            data = bytes(buffer)
            buffer.clear()
            return data
        if cython.compiled:
            data = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(buffer), n)  # noqa: F821
        else:
            data = bytes(memoryview(buffer)[:n])
        del buffer[:n]
        return data

    def _take_slice(self, n: Any) -> bytes:
        """Remove and return ``buffer[:n]`` for a size that is not an int, as asyncio slices."""
        # A slice object, so that a float fails with the slicing TypeError asyncio's gives.
        head = slice(None, n)
        data = bytes(self._buffer[head])
        del self._buffer[head]
        return data

    def _incomplete(self, expected: Any) -> IncompleteReadError:
        """The IncompleteReadError for an EOF before the read could finish; empties the buffer."""
        partial = bytes(self._buffer)
        self._buffer.clear()
        return IncompleteReadError(partial, expected)

    def _line_now(self) -> Any:
        """The first line when ``readuntil(b'\\n')`` would return it without waiting, else None.

        The fast path of readline() and async iteration: a complete line within the limit is
        taken without entering readuntil()'s coroutine.  Every other case (an exception, a
        line over the limit, no line yet) is left to readuntil(), which handles it.
        """
        if self._exception is not None:
            return None
        end = self._buffer.find(b"\n")
        if end == -1 or end > self._limit:
            return None
        line = self._take(end + 1)
        if self._paused:
            self._maybe_resume_transport()
        return line

    async def readline(self) -> bytes:
        """Read one line, ending in b'\\n' (or the incomplete rest at EOF; b'' at EOF).

        Over the limit, raise ValueError and drop the line (with its newline if one was
        found, else the whole buffer).
        """
        if type(self) is StreamReader:  # a subclass may override readuntil(): honour it
            line = self._line_now()
            if line is not None:
                return line  # type: ignore[no-any-return]
        try:
            return await self.readuntil(b"\n")  # type: ignore[no-any-return]
        except IncompleteReadError as e:
            return e.partial  # type: ignore[no-any-return]
        except LimitOverrunError as e:
            if self._buffer.startswith(b"\n", e.consumed):
                del self._buffer[: e.consumed + 1]
            else:
                self._buffer.clear()
            self._maybe_resume_transport()
            raise ValueError(e.args[0])  # noqa: B904 - asyncio chains it implicitly too

    @cython.locals(  # type: ignore[untyped-decorator]
        buflen=cython.Py_ssize_t,
        offset=cython.Py_ssize_t,
        isep=cython.Py_ssize_t,
        end=cython.Py_ssize_t,
        match_start=cython.Py_ssize_t,
        match_end=cython.Py_ssize_t,
        min_seplen=cython.Py_ssize_t,
        max_seplen=cython.Py_ssize_t,
    )
    async def readuntil(self, separator: Any = b"\n") -> bytes:
        """Read up to and including ``separator`` (3.13: or the one of a tuple that ends first).

        At EOF without a separator, raise IncompleteReadError with the whole buffer (which
        is emptied).  Past the limit, raise LimitOverrunError and leave the buffer as it is.
        """
        if _PY313 and isinstance(separator, tuple):
            # Sorted by length, so that of two matches ending together the shorter wins.
            separators = sorted(separator, key=len)
            if not separators:
                raise ValueError("Separator should contain at least one element")
        else:
            separators = [separator]
        min_seplen = len(separators[0])
        max_seplen = len(separators[len(separators) - 1])  # compiled without wraparound
        if min_seplen == 0:
            raise ValueError("Separator should be at least one-byte string")
        if self._exception is not None:
            raise self._exception
        # ``offset``: how many bytes at the front are known to hold no separator.  After a
        # miss, the last max_seplen - 1 bytes may start one, so the scan resumes there.
        offset = 0
        while True:
            buflen = len(self._buffer)
            if buflen - offset >= min_seplen:
                match_start = -1
                match_end = -1
                for sep in separators:
                    isep = self._buffer.find(sep, offset)
                    if isep != -1:
                        end = isep + len(sep)
                        if match_end == -1 or end < match_end:
                            match_start = isep
                            match_end = end
                if match_end != -1:
                    break
                offset = max(0, buflen + 1 - max_seplen)
                if offset > self._limit:
                    raise LimitOverrunError(
                        "Separator is not found, and chunk exceed the limit", offset
                    )
            # The last chunk may have completed a separator even with EOF set: look first.
            if self._eof:
                raise self._incomplete(None)
            await self._wait_for_data("readuntil")
        if match_start > self._limit:
            raise LimitOverrunError(
                "Separator is found, but chunk is longer than limit", match_start
            )
        chunk = self._take(match_end)
        if self._paused:
            self._maybe_resume_transport()
        return chunk

    @cython.locals(buflen=cython.Py_ssize_t)  # type: ignore[untyped-decorator]
    async def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes as soon as any are there; ``n < 0``: read to EOF."""
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        if n < 0:
            # Block by block of at most ``limit`` bytes, so that a peer sending more than
            # the limit is not paused forever while we wait for EOF.
            blocks = []
            while True:
                block = await self.read(self._limit)
                if not block:
                    break
                blocks.append(block)
            return b"".join(blocks)
        if not self._buffer and not self._eof:
            await self._wait_for_data("read")
        if type(n) is int:
            buflen = len(self._buffer)
            data = self._take(n if n < buflen else buflen)
        else:
            data = self._take_slice(n)
        if self._paused:
            self._maybe_resume_transport()
        return data

    async def readexactly(self, n: int) -> bytes:
        """Read exactly ``n`` bytes; at EOF first, raise IncompleteReadError with what there was."""
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        while len(self._buffer) < n:
            if self._eof:
                raise self._incomplete(n)
            await self._wait_for_data("readexactly")
        data = self._take(n) if type(n) is int else self._take_slice(n)
        if self._paused:
            self._maybe_resume_transport()
        return data

    def __aiter__(self) -> StreamReader:
        return self

    async def __anext__(self) -> bytes:
        if type(self) is StreamReader:
            line = self._line_now()
            if line is not None:
                return line  # type: ignore[no-any-return]
        line = await self.readline()
        if line == b"":
            raise StopAsyncIteration
        return line  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- the protocol
class FlowControlMixin(asyncio.Protocol):
    """The write flow control ``StreamWriter.drain()`` waits on (asyncio's FlowControlMixin).

    Implements pause_writing(), resume_writing() and connection_lost(); a subclass that
    overrides them must call these.
    """

    def __init__(self, loop: Any = None) -> None:
        self._loop = _default_loop() if loop is None else loop
        self._paused = False
        self._drain_waiters: deque[Any] = deque()
        self._connection_lost = False

    def pause_writing(self) -> None:
        """The transport's buffer passed its high-water mark: make drain() wait."""
        assert not self._paused
        self._paused = True
        if self._loop.get_debug():
            logger.debug("%r pauses writing", self)

    def resume_writing(self) -> None:
        """The transport's buffer drained below its low-water mark: release drain()."""
        assert self._paused
        self._paused = False
        if self._loop.get_debug():
            logger.debug("%r resumes writing", self)
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)

    def connection_lost(self, exc: BaseException | None) -> None:
        """Release the drain() calls waiting while paused, with ``exc`` if there is one."""
        self._connection_lost = True
        if not self._paused:
            return
        for waiter in self._drain_waiters:
            if not waiter.done():
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)

    async def _drain_helper(self) -> None:
        """Wait while writing is paused; refuse once the connection is lost."""
        if self._connection_lost:
            raise ConnectionResetError("Connection lost")
        if not self._paused:
            return
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        try:
            await waiter
        finally:
            self._drain_waiters.remove(waiter)

    def _get_close_waiter(self, stream: Any) -> Any:
        raise NotImplementedError


class StreamReaderProtocol(FlowControlMixin, asyncio.Protocol):
    """Adapts a transport's Protocol calls to a StreamReader (and, for servers, a callback)."""

    _source_traceback = None

    def __init__(self, stream_reader: Any, client_connected_cb: Any = None, loop: Any = None) -> None:
        super().__init__(loop=loop)
        if stream_reader is not None:
            self._stream_reader_wr: Any = weakref.ref(stream_reader)
            self._source_traceback = stream_reader._source_traceback
        else:
            self._stream_reader_wr = None
        if client_connected_cb is not None:
            # A server's stream: keep the reader alive until the connection is made.
            self._strong_reader = stream_reader
        self._reject_connection = False
        if not _PY313:
            # 3.13 dropped this reference so an abandoned writer is collected (gh-114914).
            self._stream_writer: Any = None
        self._task: Any = None
        self._transport: Any = None
        self._client_connected_cb = client_connected_cb
        self._over_ssl = False
        self._closed = self._loop.create_future()

    @property
    def _stream_reader(self) -> Any:
        wr = self._stream_reader_wr
        if wr is None:
            return None
        return wr()

    if _PY313:

        def _replace_transport(self, transport: Any) -> None:
            """Adopt the transport start_tls() returned."""
            self._transport = transport
            self._over_ssl = transport.get_extra_info("sslcontext") is not None

    else:

        def _replace_writer(self, writer: Any) -> None:
            """Adopt the writer's new (TLS) transport after start_tls()."""
            transport = writer.transport
            self._stream_writer = writer
            self._transport = transport
            self._over_ssl = transport.get_extra_info("sslcontext") is not None

    def connection_made(self, transport: Any) -> None:
        """Attach the transport to the reader; on a server, start the client callback."""
        if self._reject_connection:
            self._refuse_connection(transport)
            return
        self._transport = transport
        reader = self._stream_reader
        if reader is not None:
            reader.set_transport(transport)
        self._over_ssl = transport.get_extra_info("sslcontext") is not None
        if self._client_connected_cb is not None:
            self._start_client(transport, reader)
            self._strong_reader = None

    def _refuse_connection(self, transport: Any) -> None:
        context: dict[str, Any] = {
            "message": (
                "An open stream was garbage collected prior to "
                "establishing network connection; "
                'call "stream.close()" explicitly.'
            )
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)
        transport.abort()

    def _start_client(self, transport: Any, reader: Any) -> None:
        """Call client_connected_cb(reader, writer); run a coroutine result as a task."""
        writer = StreamWriter(transport, self, reader, self._loop)
        if not _PY313:
            self._stream_writer = writer
        res = self._client_connected_cb(reader, writer)
        if _iscoroutine(res):
            loop = self._loop

            def report_failure(task: Any) -> None:
                # A failed handler is reported and its connection closed (3.13: a cancelled
                # one is closed silently; before, task.exception() raised CancelledError
                # here, which the loop reported as a failed callback).
                if _PY313 and task.cancelled():
                    transport.close()
                    return
                exc = task.exception()
                if exc is not None:
                    loop.call_exception_handler(
                        {
                            "message": "Unhandled exception in client_connected_cb",
                            "exception": exc,
                            "transport": transport,
                        }
                    )
                    transport.close()

            self._task = loop.create_task(res)
            self._task.add_done_callback(report_failure)

    def connection_lost(self, exc: BaseException | None) -> None:
        """End the reader (EOF or ``exc``), resolve the close waiter, release drain()."""
        reader = self._stream_reader
        if reader is not None:
            if exc is None:
                reader.feed_eof()
            else:
                reader.set_exception(exc)
        closed = self._closed
        if not closed.done():
            if exc is None:
                closed.set_result(None)
            else:
                closed.set_exception(exc)
        super().connection_lost(exc)
        self._stream_reader_wr = None
        self._stream_writer = None
        self._task = None
        self._transport = None

    def data_received(self, data: Any) -> None:
        """Feed received bytes to the reader, if it is still alive."""
        wr = self._stream_reader_wr
        if wr is not None:
            reader = wr()
            if reader is not None:
                reader.feed_data(data)

    def eof_received(self) -> bool:
        """Feed EOF to the reader; keep the transport half-open unless over TLS."""
        reader = self._stream_reader
        if reader is not None:
            reader.feed_eof()
        # Over TLS, True would only make SSLProtocol warn that it has no effect.
        return not self._over_ssl

    def _get_close_waiter(self, stream: Any) -> Any:
        return self._closed

    def __del__(self) -> None:
        # Mark a failed close waiter's exception as retrieved: nobody awaiting wait_closed()
        # is not an error worth a "Future exception was never retrieved" report.
        try:
            closed = self._closed
        except AttributeError:
            return  # the constructor failed
        if closed.done() and not closed.cancelled():
            closed.exception()


# ------------------------------------------------------------------------------- the writer
class StreamWriter:
    """Wraps a transport: write(), writelines(), [can_]write_eof(), close(), plus drain()."""

    def __init__(self, transport: Any, protocol: Any, reader: Any, loop: Any) -> None:
        self._transport = transport
        self._protocol = protocol
        # drain() calls reader.exception()
        assert reader is None or isinstance(reader, (StreamReader, _AsyncioStreamReader))
        self._reader = reader
        self._loop = loop
        self._complete_fut = loop.create_future()
        self._complete_fut.set_result(None)

    def __repr__(self) -> str:
        info = [self.__class__.__name__, f"transport={self._transport!r}"]
        if self._reader is not None:
            info.append(f"reader={self._reader!r}")
        return "<{}>".format(" ".join(info))

    @property
    def transport(self) -> Any:
        """The transport this writer writes to."""
        return self._transport

    def write(self, data: Any) -> None:
        """Write ``data`` to the transport (buffered; see drain())."""
        self._transport.write(data)

    def writelines(self, data: Any) -> None:
        """Write an iterable of byte strings to the transport."""
        self._transport.writelines(data)

    def write_eof(self) -> Any:
        """Close the write end after the buffered data is flushed."""
        return self._transport.write_eof()

    def can_write_eof(self) -> bool:
        """Return True if the transport supports write_eof()."""
        return self._transport.can_write_eof()  # type: ignore[no-any-return]

    def close(self) -> Any:
        """Close the transport."""
        return self._transport.close()

    def is_closing(self) -> bool:
        """Return True if the transport is closing or closed."""
        return self._transport.is_closing()  # type: ignore[no-any-return]

    async def wait_closed(self) -> None:
        """Wait until the connection is lost; raise its exception if it had one."""
        await self._protocol._get_close_waiter(self)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's extra information ``name`` (``'peername'``, ``'socket'`` ...)."""
        return self._transport.get_extra_info(name, default)

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its high-water mark: ``write(); await drain()``."""
        reader = self._reader
        if reader is not None:
            exc = reader.exception()
            if exc is not None:
                raise exc
        if self._transport.is_closing():
            # Yield so connection_lost() can run: a write()/drain() loop on a closed socket
            # would otherwise never see the error (bpo-25441).
            await sleep(0)
        protocol = self._protocol
        if type(protocol) is StreamReaderProtocol and not protocol._paused:
            if protocol._connection_lost:
                raise ConnectionResetError("Connection lost")
            return  # what _drain_helper() would do, without its coroutine
        await protocol._drain_helper()

    if _PY312:

        async def start_tls(
            self,
            sslcontext: Any,
            *,
            server_hostname: Any = None,
            ssl_handshake_timeout: Any = None,
            ssl_shutdown_timeout: Any = None,
        ) -> None:
            """Upgrade the connection to TLS in place (``loop.start_tls``)."""
            await self._start_tls(
                sslcontext,
                server_hostname=server_hostname,
                ssl_handshake_timeout=ssl_handshake_timeout,
                ssl_shutdown_timeout=ssl_shutdown_timeout,
            )

    else:

        async def start_tls(  # type: ignore[misc]
            self,
            sslcontext: Any,
            *,
            server_hostname: Any = None,
            ssl_handshake_timeout: Any = None,
        ) -> None:
            """Upgrade the connection to TLS in place (``loop.start_tls``)."""
            await self._start_tls(
                sslcontext,
                server_hostname=server_hostname,
                ssl_handshake_timeout=ssl_handshake_timeout,
            )

    async def _start_tls(self, sslcontext: Any, **options: Any) -> None:
        """Drain, swap the transport for loop.start_tls()'s, and tell the protocol."""
        protocol = self._protocol
        server_side = protocol._client_connected_cb is not None
        await self.drain()
        new_transport = await self._loop.start_tls(
            self._transport, protocol, sslcontext, server_side=server_side, **options
        )
        self._transport = new_transport
        if _PY313:
            protocol._replace_transport(new_transport)
        else:
            protocol._replace_writer(self)

    def __del__(self, warnings: Any = warnings) -> None:
        # An unclosed writer is closed and reported (gh-106684); with its loop already
        # closed, closing would fail, so only the warning is given (gh-109538).
        if not self._transport.is_closing():
            if self._loop.is_closed():
                warnings.warn("loop is closed", ResourceWarning)
            else:
                self.close()
                warnings.warn(f"unclosed {self!r}", ResourceWarning)

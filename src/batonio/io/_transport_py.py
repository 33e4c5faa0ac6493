"""The stream socket transport: one read/write machinery for TCP and Unix stream sockets.

This is the hot path of every network program, compiled by Cython in pure-Python mode
(``_transport_c.pxd`` declares the fields) and also run as plain Python.  It follows the
observable behaviour of asyncio's ``selector_events._SelectorSocketTransport`` (messages,
the order of protocol calls, flow control at the water marks), with its own buffer
discipline:

- Reads go into one reusable ``bytearray`` with ``recv_into`` (or straight into a
  ``BufferedProtocol``'s buffer); only the bytes received are copied out, never a fresh
  256 KiB ``recv`` per read.
- ``write`` sends at once when nothing is queued; what the kernel does not take is queued
  as memoryviews over immutable bytes (mutable data is copied once, so the caller may reuse
  its buffer) and sent with one vectored ``sendmsg`` when the socket is writable.
- The queued byte count is kept as a number, so flow control costs no summing:
  ``pause_writing`` fires when it goes above the high-water mark, ``resume_writing`` when it
  falls to the low-water mark, exactly once each, as asyncio's ``_FlowControlMixin`` does.
- ``connection_lost`` is called exactly once, from the loop, after every queued byte was
  sent (``close``) or dropped (``abort``, fatal errors); the socket is closed right after.

The byte-moving calls (``_recv_into``, ``_send``, ``_sendmsg``, ``_shutdown_write``) are
the seam for pipes and TLS: a subclass over another kind of fd overrides only those.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import os
import socket
import stat
import sys
import warnings
from typing import Any

try:
    import cython
except ImportError:  # pragma: no cover - Cython is a build-time dependency only
    from .. import _cython_shim as cython  # type: ignore[no-redef]

from asyncio import trsock

from ._flow import water_marks

__all__ = ["ReadPipeTransport", "SocketTransport", "WritePipeTransport", "set_nodelay"]

_READ_BUFFER_SIZE = 256 * 1024
_LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5
try:
    _IOV_MAX = os.sysconf("SC_IOV_MAX")
except (AttributeError, OSError, ValueError):  # pragma: no cover - every Linux has it
    _IOV_MAX = 16
_HAS_SENDMSG = hasattr(socket.socket, "sendmsg")
_PY312 = sys.version_info >= (3, 12)

_AsyncioTransport = asyncio.Transport
_AsyncioReadTransport = asyncio.ReadTransport
_BufferedProtocol = asyncio.BufferedProtocol
_TransportSocket = trsock.TransportSocket


def _logger() -> Any:
    """asyncio's logger, looked up on use (tests patch it; it is only used on rare paths)."""
    from asyncio.log import logger

    return logger


def set_nodelay(sock: socket.socket) -> None:
    """Disable Nagle's algorithm on a TCP socket, as asyncio does for every stream transport."""
    if (
        sock.family in (socket.AF_INET, socket.AF_INET6)
        and sock.type == socket.SOCK_STREAM
        and sock.proto == socket.IPPROTO_TCP
    ):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_shared_hosts: dict[str, str] = {}


def _shared_address(address: Any) -> Any:
    """``address`` with its host string shared among connections (a few hundred hosts at most).

    Every connection of a listener has the same local host, and loopback peers the same
    remote one: one string for all of them instead of one per socket.
    """
    if type(address) is not tuple or not address or type(address[0]) is not str:
        return address
    host = address[0]
    shared = _shared_hosts.get(host)
    if shared is None:
        if len(_shared_hosts) >= 256:
            return address
        _shared_hosts[host] = shared = host
    if shared is host:
        return address
    return (shared, *address[1:])


def _read_buffer_of(loop: Any) -> tuple[bytearray, memoryview]:
    """The loop's one receive buffer, shared by its transports.

    Safe to share: the loop runs one callback at a time, and a plain Protocol is handed a
    ``bytes`` copy of what arrived before anything else can read into the buffer.  One
    buffer per loop instead of one per transport keeps 10,000 idle connections cheap.
    """
    shared = getattr(loop, "_stream_read_buffer", None)
    if shared is None:
        buffer = bytearray(_READ_BUFFER_SIZE)
        shared = (buffer, memoryview(buffer))
        try:
            loop._stream_read_buffer = shared
        except AttributeError:  # a loop that takes no attributes: a buffer of our own
            pass
    return shared  # type: ignore[no-any-return]


def _buffers_of(list_of_data: Any) -> list[Any]:
    """The items of ``list_of_data``, each checked to be a buffer, refused with asyncio's words.

    Any buffer-protocol object is accepted, as asyncio accepts it: 3.11 joins the items with
    ``bytes.join`` (its messages), 3.12+ makes a ``memoryview`` of each (memoryview's message).
    """
    if _PY312:
        items = list(list_of_data)
    else:
        try:
            iterator = iter(list_of_data)
        except TypeError:
            raise TypeError("can only join an iterable") from None
        items = list(iterator)
    for index, item in enumerate(items):
        if type(item) is bytes:
            continue
        try:
            memoryview(item)
        except TypeError:
            if _PY312:
                raise
            kind = type(item).__name__
            raise TypeError(f"sequence item {index}: expected a bytes-like object, {kind} found") from None
    return items


def _set_result_unless_cancelled(fut: Any, result: Any) -> None:
    if not fut.cancelled():
        fut.set_result(result)


@cython.cclass
class SocketTransport:
    """A stream transport over a connected non-blocking socket; an ``asyncio.Transport``."""

    _start_tls_compatible = True
    _sendfile_compatible = True

    def __init__(
        self,
        loop: Any,
        sock: socket.socket,
        protocol: Any,
        waiter: Any = None,
        extra: dict[str, Any] | None = None,
        server: Any = None,
    ) -> None:
        self._sock = sock
        self._fileno = sock.fileno()
        self._init_state(loop, protocol, extra)
        self._fill_extra(sock)
        self._server = server
        if server is not None:
            server._attach(self)
        loop._transports[self._fileno] = self
        set_nodelay(sock)
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)  # only once connection_made() has run
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter, None)

    def _init_state(self, loop: Any, protocol: Any, extra: dict[str, Any] | None) -> None:
        """The state every stream transport starts with (sockets and pipes alike)."""
        self._loop = loop
        self._extra = None if not extra else dict(extra)  # None: no dict for idle connections
        self._has_socket_names = False
        self._sockname = self._peername = self._socket_wrapper = None
        self._server = None
        self._protocol = None
        self._protocol_connected = False
        self._buffered = False
        self.set_protocol(protocol)
        self._queue = None  # a deque from the first write the kernel does not take at once
        self._queued = 0
        self._conn_lost = 0
        self._closing = False
        self._paused = False
        self._eof = False
        self._writer_registered = False
        self._protocol_paused = False
        self._high_water = 64 * 1024
        self._low_water = 16 * 1024
        self._empty_waiter = None
        self._read_buffer, self._read_view = _read_buffer_of(loop)

    def _fill_extra(self, sock: socket.socket) -> None:
        """Take the socket's names now, as asyncio does (they outlive the socket's close).

        They are fields rather than entries of an extra dict, and the TransportSocket is made
        on first request: an idle connection then costs no dict and no wrapper.
        """
        self._has_socket_names = True
        try:
            self._sockname = _shared_address(sock.getsockname())
        except OSError:
            self._sockname = None
        extra = self._extra
        if extra is not None and "peername" in extra:  # the server's accept() gave it
            self._peername = extra.pop("peername")
            if not extra:
                self._extra = None
            return
        try:
            self._peername = _shared_address(sock.getpeername())
        except OSError:
            self._peername = None

    def _start_reading(self) -> None:
        """Start reading, unless connection_made() paused reading or closed the transport."""
        if not self._closing and not self._paused:
            self._loop._add_reader(self._fileno, self._read_ready, ())

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """Present as ``asyncio.Transport`` so ``isinstance`` checks against it hold."""
        return _AsyncioTransport

    # ------------------------------------------------------------------ BaseTransport
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Return transport information: 'socket', 'sockname', 'peername', ..."""
        extra = self._extra
        if extra is not None and name in extra:
            return extra[name]
        if self._has_socket_names:
            if name == "socket":
                return self._transport_socket()
            if name == "sockname":
                return self._sockname
            if name == "peername":
                return self._peername
        return default

    def _transport_socket(self) -> Any:
        """The asyncio.TransportSocket over our socket, made once, on first request."""
        wrapper = self._socket_wrapper
        if wrapper is None and self._sock is not None:
            wrapper = self._socket_wrapper = _TransportSocket(self._sock)
        return wrapper

    def is_closing(self) -> bool:
        """Return True once the transport is closing or closed."""
        return self._closing

    def set_protocol(self, protocol: Any) -> None:
        """Use ``protocol`` from now on (a BufferedProtocol reads into its own buffers)."""
        self._buffered = isinstance(protocol, _BufferedProtocol)
        self._protocol = protocol
        self._protocol_connected = True

    def get_protocol(self) -> Any:
        """Return the current protocol."""
        return self._protocol

    def close(self) -> None:
        """Stop reading; send what is queued, then call connection_lost(None)."""
        if self._closing:
            return
        self._closing = True
        self._loop._remove_reader(self._fileno)
        if not self._queued:
            self._conn_lost += 1
            self._stop_writing()
            self._loop.call_soon(self._call_connection_lost, None)

    def abort(self) -> None:
        """Close at once, dropping queued data; connection_lost(None) follows."""
        self._force_close(None)

    # ------------------------------------------------------------------ ReadTransport
    def is_reading(self) -> bool:
        """Return True if the transport is receiving."""
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        """Stop calling the protocol's data_received until resume_reading()."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._loop._remove_reader(self._fileno)
        if self._loop._debug:
            _logger().debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        """Resume receiving after pause_reading()."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._loop._add_reader(self._fileno, self._read_ready, ())
        if self._loop._debug:
            _logger().debug("%r resumes reading", self)

    # ------------------------------------------------------------------ reading
    def _read_ready(self) -> None:
        """The socket is readable: hand what arrived to the protocol."""
        if self._conn_lost:
            return
        if self._buffered:
            self._read_into_protocol()
            return
        try:
            nbytes = self._recv_into(self._read_buffer)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not nbytes:
            self._on_eof()
            return
        if cython.compiled:  # one bytes object straight from the buffer: no memoryview slice
            data = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(self._read_buffer), nbytes)  # noqa: F821
        else:
            data = bytes(self._read_view[:nbytes])
        try:
            self._protocol.data_received(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")

    def _read_into_protocol(self) -> None:
        """BufferedProtocol: the kernel writes straight into the protocol's buffer."""
        protocol = self._protocol
        try:
            buf = protocol.get_buffer(-1)
            if not len(buf):
                raise RuntimeError("get_buffer() returned an empty buffer")
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.get_buffer() call failed.")
            return
        try:
            nbytes = self._recv_into(buf)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not nbytes:
            self._on_eof()
            return
        try:
            protocol.buffer_updated(nbytes)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.buffer_updated() call failed.")

    def _on_eof(self) -> None:
        """The peer closed its side: ask the protocol whether to keep writing."""
        if self._loop._debug:
            _logger().debug("%r received EOF", self)
        try:
            keep_open = self._protocol.eof_received()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if keep_open:
            self._loop._remove_reader(self._fileno)
        else:
            self.close()

    # ------------------------------------------------------------------ WriteTransport
    def write(self, data: Any) -> None:
        """Send ``data`` (bytes-like) now, or queue what the kernel does not take yet."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._empty_waiter is not None:
            raise RuntimeError("unable to write; sendfile is in progress")
        if not data:
            return
        if self._conn_lost:
            self._count_lost_write()
            return
        self._write_data(data)

    def _write_data(self, data: Any) -> None:
        """Send a checked, non-empty buffer at once, or queue it behind what waits."""
        if self._queued:
            self._enqueue(data, 0)
            self._maybe_pause_protocol()
            return
        try:
            sent = self._send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal write error on socket transport")
            return
        if sent == len(data):
            return
        self._enqueue(data, sent)
        self._start_writing()
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Any) -> None:
        """Write every buffer of the iterable, with one vectored send where possible."""
        if _PY312:
            if self._eof:
                raise RuntimeError("Cannot call writelines() after write_eof()")
            if self._empty_waiter is not None:
                raise RuntimeError("unable to writelines; sendfile is in progress")
            if not list_of_data:
                return
            if self._conn_lost:  # counted as write() counts it (gh-136234, fixed in asyncio)
                self._count_lost_write()
                return
            chunks = _buffers_of(list_of_data)
        else:  # 3.11's writelines is write(b"".join(list_of_data)): the same checks, in order
            chunks = _buffers_of(list_of_data)
            if self._eof:
                raise RuntimeError("Cannot call write() after write_eof()")
            if self._empty_waiter is not None:
                raise RuntimeError("unable to write; sendfile is in progress")
            if self._conn_lost:
                if any(len(chunk) for chunk in chunks):
                    self._count_lost_write()
                return
        for chunk in chunks:
            if len(chunk):
                self._enqueue(chunk, 0)
        if not self._queued:
            return
        if not self._writer_registered:
            self._flush()
            if self._queued and not self._conn_lost:
                self._start_writing()
        self._maybe_pause_protocol()

    def _count_lost_write(self) -> None:
        """A write after the connection was lost: counted, and logged once it repeats."""
        if self._conn_lost >= _LOG_THRESHOLD_FOR_CONNLOST_WRITES:
            _logger().warning("socket.send() raised exception.")
        self._conn_lost += 1

    def _enqueue(self, data: Any, start: cython.Py_ssize_t) -> None:
        """Queue ``data[start:]``; mutable buffers are copied so the caller may reuse them."""
        if type(data) is bytes:
            chunk = memoryview(data)[start:] if start else data
        else:
            chunk = bytes(memoryview(data).cast("B")[start:])
        queue = self._queue
        if queue is None:  # an empty deque is ~600 bytes: idle connections go without
            queue = self._queue = collections.deque()
        queue.append(chunk)
        self._queued += len(chunk)

    def _start_writing(self) -> None:
        if not self._writer_registered:
            self._writer_registered = True
            self._loop._add_writer(self._fileno, self._write_ready, ())

    def _stop_writing(self) -> None:
        if self._writer_registered:
            self._writer_registered = False
            self._loop._remove_writer(self._fileno)

    def _write_ready(self) -> None:
        """The socket is writable: send the queue, then finish what waited for it."""
        if self._conn_lost:
            return
        self._flush()
        if self._conn_lost:
            return
        self._maybe_resume_protocol()  # the protocol may write more from resume_writing
        if self._queued:
            return
        self._stop_writing()
        waiter = self._empty_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._closing:
            self._call_connection_lost(None)
        elif self._eof:
            self._shutdown_write()

    def _flush(self) -> None:
        """Send as much of the queue as the kernel takes now, in one call."""
        queue: Any = self._queue  # never None here: there is something queued
        try:
            if len(queue) == 1 or not _HAS_SENDMSG:
                sent = self._send(queue[0])
            elif len(queue) <= _IOV_MAX:
                sent = self._sendmsg(queue)
            else:
                sent = self._sendmsg([queue[i] for i in range(_IOV_MAX)])
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._stop_writing()
            self._drop_queue()
            self._fatal_error(exc, "Fatal write error on socket transport")
            waiter = self._empty_waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            return
        self._consume(sent)

    def _consume(self, sent: cython.Py_ssize_t) -> None:
        """Drop ``sent`` bytes from the head of the queue."""
        queue: Any = self._queue  # never None here: there is something queued
        self._queued -= sent
        while sent:
            chunk = queue[0]
            size = len(chunk)
            if size <= sent:
                queue.popleft()
                sent -= size
            else:
                queue[0] = memoryview(chunk)[sent:]
                break

    def _drop_queue(self) -> None:
        if self._queue is not None:
            self._queue.clear()
        self._queued = 0

    def write_eof(self) -> None:
        """Shut down the write side once the queue is sent."""
        if self._closing or self._eof:
            return
        self._eof = True
        if not self._queued:
            self._shutdown_write()

    def can_write_eof(self) -> bool:
        """Return True: a socket can shut down its write side."""
        return True

    # ------------------------------------------------------------------ flow control
    def get_write_buffer_size(self) -> int:
        """Return the number of bytes queued for sending."""
        return self._queued  # type: ignore[no-any-return]

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return ``(low, high)``: the water marks of write flow control."""
        return (self._low_water, self._high_water)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks (defaults 64 KiB and a quarter of high); may pause the protocol."""
        self._high_water, self._low_water = water_marks(high, low)
        self._maybe_pause_protocol()

    def _maybe_pause_protocol(self) -> None:
        if self._queued <= self._high_water or self._protocol_paused:
            return
        self._protocol_paused = True
        try:
            self._protocol.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report_flow_error("protocol.pause_writing() failed", exc)

    def _maybe_resume_protocol(self) -> None:
        if not self._protocol_paused or self._queued > self._low_water:
            return
        self._protocol_paused = False
        try:
            self._protocol.resume_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report_flow_error("protocol.resume_writing() failed", exc)

    def _report_flow_error(self, message: str, exc: BaseException) -> None:
        self._loop.call_exception_handler(
            {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
        )

    # ------------------------------------------------------------------ the kernel calls
    def _recv_into(self, buf: Any) -> int:
        if cython.compiled:  # recv(2) on the fd: no method call, no GIL round trip
            return _fd_recv_into(self._fileno, buf)  # noqa: F821
        return self._sock.recv_into(buf)  # type: ignore[no-any-return]

    def _send(self, data: Any) -> int:
        if cython.compiled:  # send(2) on the fd: the socket is non-blocking, it never waits
            return _fd_send(self._fileno, data)  # noqa: F821
        return self._sock.send(data)  # type: ignore[no-any-return]

    def _sendmsg(self, chunks: Any) -> int:
        return self._sock.sendmsg(chunks)  # type: ignore[no-any-return]

    def _shutdown_write(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    # ------------------------------------------------------------------ ending
    def _fatal_error(self, exc: BaseException, message: str = "Fatal error on transport") -> None:
        """Report a non-OS error to the loop, then close at once with ``exc``."""
        if isinstance(exc, OSError):
            if self._loop._debug:
                _logger().debug("%r: %s", self, message, exc_info=True)
        else:
            self._loop.call_exception_handler(
                {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
            )
        self._force_close(exc)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._conn_lost:
            return
        if self._queued:
            self._drop_queue()
        self._stop_writing()
        if not self._closing:
            self._closing = True
            self._loop._remove_reader(self._fileno)
        self._conn_lost += 1
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        """Tell the protocol (once), close the socket, and let go of loop and protocol."""
        try:
            if self._protocol_connected:
                self._protocol.connection_lost(exc)
        finally:
            self._release()
        waiter = self._empty_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError("Connection is closed by peer"))

    def _release(self) -> None:
        """Let go of loop, protocol and server, then close the socket.

        The clean-up comes before ``close()``: when that fails (EBADF, the fd was closed
        behind the loop's back) the error still reaches the exception handler, as in
        asyncio, but the transport is finished -- its server detached, so 3.12+'s
        ``wait_closed()`` returns, and no ResourceWarning later.  asyncio skips the
        clean-up there and its ``wait_closed()`` never returns.
        """
        sock = self._sock
        if sock is None:
            return
        loop = self._loop
        if loop._transports.get(self._fileno) is self:
            del loop._transports[self._fileno]
        if self._has_socket_names:
            self._transport_socket()  # get_extra_info('socket') still answers after close
        self._sock = None
        self._protocol = None
        self._loop = None
        server = self._server
        if server is not None:
            self._server = None
            server._detach(self)
        sock.close()

    # ------------------------------------------------------------------ sendfile hooks
    def _make_empty_waiter(self) -> Any:
        """A future completed once the queue is empty; writes are refused until reset."""
        if self._empty_waiter is not None:
            raise RuntimeError("Empty waiter is already set")
        waiter = self._loop.create_future()
        self._empty_waiter = waiter
        if not self._queued:
            waiter.set_result(None)
        return waiter

    def _reset_empty_waiter(self) -> None:
        self._empty_waiter = None

    # ------------------------------------------------------------------ representation
    def __repr__(self) -> str:
        info = [type(self).__name__]
        if self._sock is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._fileno}")
        loop = self._loop
        if loop is not None and not loop.is_closed():
            info.append("read=polling" if self._fileno in loop._readers else "read=idle")
            state = "polling" if self._writer_registered else "idle"
            info.append(f"write=<{state}, bufsize={self._queued}>")
        return "<{}>".format(" ".join(info))

    def __del__(self) -> None:
        sock = self._sock
        if sock is not None:
            warnings.warn(f"unclosed transport {self!r}", ResourceWarning, stacklevel=1, source=self)
            sock.close()
            self._sock = None
            server = self._server
            if server is not None:
                self._server = None
                server._detach(self)


# ============================================================================ pipes
# A pipe transport is the socket transport over another kind of fd: the read and write
# paths above are shared, only the kernel calls (read(2)/write(2)/writev(2) instead of
# recv/send/sendmsg) and the ending differ.  They follow asyncio's
# unix_events._UnixReadPipeTransport / _UnixWritePipeTransport: EOF on a read pipe ends
# the transport (eof_received's answer is not asked), write_eof() on a write pipe closes
# it once the queue is sent, and a write pipe watches its fd for reading to learn that
# the reader went away (a pipe's write end polls readable -- EPOLLERR -- when it did).


@cython.cclass
class PipeTransport(SocketTransport):
    """The part of the read and write pipe transports that is the same: the fd and its calls."""

    # asyncio's pipe transports offer neither: loop.sendfile() and start_tls() refuse them
    _start_tls_compatible = False
    _sendfile_compatible = None

    def _init_pipe(self, loop: Any, pipe: Any, protocol: Any, extra: dict[str, Any] | None) -> None:
        """Take ``pipe`` (made non-blocking) and the state every stream transport starts with."""
        self._sock = pipe
        self._fileno = pipe.fileno()
        self._init_state(loop, protocol, extra)
        self._fill_extra(pipe)
        os.set_blocking(self._fileno, False)

    def _fill_extra(self, sock: Any) -> None:
        if self._extra is None:
            self._extra = {}
        self._extra["pipe"] = sock

    def _recv_into(self, buf: Any) -> int:
        if cython.compiled:
            return _fd_read_into(self._fileno, buf)  # noqa: F821
        return os.readv(self._fileno, [buf])

    def _send(self, data: Any) -> int:
        if cython.compiled:
            return _fd_write(self._fileno, data)  # noqa: F821
        return os.write(self._fileno, data)

    def _sendmsg(self, chunks: Any) -> int:
        return os.writev(self._fileno, chunks)

    def _shutdown_write(self) -> None:  # pragma: no cover - a pipe's write_eof() closes instead
        self.close()

    def can_write_eof(self) -> bool:
        """Return True: write_eof() closes the pipe once the queue is sent."""
        return True

    def write_eof(self) -> None:
        """Close the pipe once what is queued was written (a pipe has no half-close)."""
        self.close()

    def _fatal_error(self, exc: BaseException, message: str = "Fatal error on pipe transport") -> None:
        SocketTransport._fatal_error(self, exc, message.replace("socket transport", "pipe transport"))

    @property
    def _pipe(self) -> Any:
        """The pipe's file object (asyncio's attribute name); None once closed."""
        return self._sock

    @_pipe.setter
    def _pipe(self, pipe: Any) -> None:
        self._sock = pipe

    def __repr__(self) -> str:
        """As asyncio's: state, fd, then polling/idle (and bufsize) or, loop closed, open."""
        info = [type(self).__name__]
        if self._sock is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._fileno}")
        loop = self._loop
        if self._sock is not None and loop is not None and not loop.is_closed():
            writes = isinstance(self, WritePipeTransport)
            polling = self._writer_registered if writes else self._fileno in loop._readers
            info.append("polling" if polling else "idle")
            if writes:
                info.append(f"bufsize={self._queued}")
        elif self._sock is not None:
            info.append("open")
        else:
            info.append("closed")
        return "<{}>".format(" ".join(info))


@cython.cclass
class ReadPipeTransport(PipeTransport):
    """The read end of a pipe, FIFO, socket or character device; an ``asyncio.ReadTransport``."""

    def __init__(
        self, loop: Any, pipe: Any, protocol: Any, waiter: Any = None, extra: dict[str, Any] | None = None
    ) -> None:
        self._sock = None  # until the checks passed: __del__ has nothing to close
        mode = os.fstat(pipe.fileno()).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
            raise ValueError("Pipe transport is for pipes/sockets only.")
        self._init_pipe(loop, pipe, protocol, extra)
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)  # only once connection_made() has run
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter, None)

    @property
    def __class__(self) -> type:  # type: ignore[override]
        """Present as ``asyncio.ReadTransport`` so ``isinstance`` checks against it hold."""
        return _AsyncioReadTransport

    def _on_eof(self) -> None:
        """The writer closed its end: eof_received(), then connection_lost(None)."""
        loop = self._loop
        if loop._debug:
            _logger().info("%r was closed by peer", self)
        self._closing = True
        self._conn_lost += 1
        loop._remove_reader(self._fileno)
        loop.call_soon(self._protocol.eof_received)
        loop.call_soon(self._call_connection_lost, None)

    def _fatal_error(self, exc: BaseException, message: str = "Fatal error on pipe transport") -> None:
        """As asyncio's read pipe: every error but EIO (a pty's end) reaches the handler."""
        message = message.replace("socket transport", "pipe transport")
        if isinstance(exc, OSError) and exc.errno == errno.EIO:
            if self._loop._debug:
                _logger().debug("%r: %s", self, message, exc_info=True)
        else:
            self._loop.call_exception_handler(
                {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
            )
        self._force_close(exc)


@cython.cclass
class WritePipeTransport(PipeTransport):
    """The write end of a pipe, FIFO, socket or character device.

    It presents as ``asyncio.Transport`` (so ``WriteTransport`` and ``ReadTransport``), as
    asyncio's does: its flow-control base class derives from ``Transport``.
    """

    def __init__(
        self, loop: Any, pipe: Any, protocol: Any, waiter: Any = None, extra: dict[str, Any] | None = None
    ) -> None:
        self._sock = None  # until the checks passed: __del__ has nothing to close
        mode = os.fstat(pipe.fileno()).st_mode
        is_socket = stat.S_ISSOCK(mode)
        is_fifo = stat.S_ISFIFO(mode)
        if not (is_socket or is_fifo or stat.S_ISCHR(mode)):
            raise ValueError("Pipe transport is only for pipes, sockets and character devices")
        self._init_pipe(loop, pipe, protocol, extra)
        loop.call_soon(protocol.connection_made, self)
        if is_socket or is_fifo:  # a character device cannot tell that its reader left
            loop.call_soon(self._watch_peer)
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter, None)

    def _watch_peer(self) -> None:
        if not self._conn_lost:
            self._loop._add_reader(self._fileno, self._peer_closed, ())

    def _peer_closed(self) -> None:
        """The fd polled readable: the reader is gone; queued data can never be written."""
        if self._loop._debug:
            _logger().info("%r was closed by peer", self)
        self._force_close(BrokenPipeError() if self._queued else None)

    def close(self) -> None:
        """Close once what is queued was written; connection_lost(None) follows."""
        if self._closing:
            return
        self._closing = True
        if not self._queued:
            self._loop._remove_reader(self._fileno)
            self._conn_lost += 1
            self._loop.call_soon(self._call_connection_lost, None)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._conn_lost:
            return
        if self._queued:
            self._drop_queue()
        self._stop_writing()
        self._closing = True
        self._loop._remove_reader(self._fileno)
        self._conn_lost += 1
        self._loop.call_soon(self._call_connection_lost, exc)

    def write(self, data: Any) -> None:
        """Write ``data`` (bytes-like) now, or queue what the pipe does not take yet."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise AssertionError(repr(data))  # asyncio's pipe transport asserts the type
        if not data:
            return
        if self._conn_lost or self._closing:
            if self._conn_lost >= _LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                _logger().warning("pipe closed by peer or os.write(pipe, data) raised exception.")
            self._conn_lost += 1
            return
        self._write_data(data)

    def writelines(self, list_of_data: Any) -> None:
        """Write the joined buffers: asyncio's pipe inherits WriteTransport's join-then-write."""
        self.write(b"".join(list_of_data))

    def _maybe_resume_protocol(self) -> None:
        """asyncio's write pipe resumes the protocol once its buffer is empty, not at low water."""
        if self._queued:
            return
        SocketTransport._maybe_resume_protocol(self)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        loop = self._loop
        if loop is not None:
            loop._remove_reader(self._fileno)
        SocketTransport._call_connection_lost(self, exc)

"""``loop.sock_sendfile`` and ``loop.sendfile``: zero-copy ``os.sendfile`` with a fallback.

Follows ``asyncio.base_events`` (parameter checks, the read-and-send fallbacks, the
``_sendfile_compatible`` modes of ``loop.sendfile``), ``asyncio.unix_events`` (the native
``os.sendfile`` loop) and ``asyncio.selector_events._sendfile_native`` (sendfile over a
transport's socket), for Python 3.11 to 3.13.

Invariants:

* The native path sends with ``os.sendfile`` at the file offset it tracks itself, one call
  per writability event (other callbacks run between chunks); the file position is moved
  to ``offset + bytes sent`` when the call ends, however it ends, once anything was sent.
* A native failure before the first byte is ``SendfileNotAvailableError``, which the
  ``fallback=True`` path turns into reading the file into a buffer and sending that.
* While ``loop.sendfile`` runs on a transport, the transport's reading is paused and its
  protocol sees no flow-control calls; both are restored when the call ends.

Deviations from asyncio, each deliberate: a blocking socket is refused always, not only in
debug mode (batonio issue 8, as for every ``sock_*`` call); a file descriptor that is not a
regular file (a pipe, a socket) makes the native path unavailable instead of sending
``st_size`` (zero) bytes; a transport's ``_sendfile_compatible`` may also be a bool (True:
try native, False: unsupported); a transport whose protocol paused writing during the
fallback has its own protocol told so when restored, so pause and resume stay paired.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import socket
import stat
import sys
from asyncio import constants
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._socket_options import check_not_ssl_socket

if TYPE_CHECKING:
    from .._core import Future

__all__ = ["SendfileMixin"]

_SendfileMode = constants._SendfileMode
_TRANSPORT_FALLBACK_CHUNK = 16384  # asyncio's block size for the transport fallback
_MAX_BLOCK = sys.maxsize // 2 + 1  # gh-114149: no OverflowError on 32-bit builds


# ---------------------------------------------------------------------- parameter checks
def _check_sendfile_params(sock: Any, file: Any, offset: Any, count: Any) -> None:
    """asyncio's checks of ``sock_sendfile``'s arguments, with its messages."""
    if "b" not in getattr(file, "mode", "b"):
        raise ValueError("file should be opened in binary mode")
    if sock.type != socket.SOCK_STREAM:
        raise ValueError("only SOCK_STREAM type sockets are supported")
    if count is not None:
        if not isinstance(count, int):
            raise TypeError(f"count must be a positive integer (got {count!r})")
        if count <= 0:
            raise ValueError(f"count must be a positive integer (got {count!r})")
    if not isinstance(offset, int):
        raise TypeError(f"offset must be a non-negative integer (got {offset!r})")
    if offset < 0:
        raise ValueError(f"offset must be a non-negative integer (got {offset!r})")


def _regular_file_size(file: Any) -> tuple[int, int]:
    """``(fileno, size)`` of a regular file, or SendfileNotAvailableError."""
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation):
        raise asyncio.SendfileNotAvailableError("not a regular file") from None
    try:
        status = os.fstat(fileno)
    except (OSError, TypeError, ValueError):
        raise asyncio.SendfileNotAvailableError("not a regular file") from None
    if not stat.S_ISREG(status.st_mode):
        raise asyncio.SendfileNotAvailableError("not a regular file")
    return fileno, status.st_size


def _native_error(exc: OSError, total_sent: int, waited: bool) -> BaseException:
    """What a failed ``os.sendfile`` call raises, as asyncio decides it."""
    if total_sent == 0:
        # Typically the file cannot be sent by the kernel (not mmap-able): fall back.
        return asyncio.SendfileNotAvailableError("os.sendfile call failed")
    if waited and exc.errno == errno.ENOTCONN and type(exc) is not ConnectionError:
        # The peer went away in the middle: one error type on every POSIX system.
        normalized = ConnectionError("socket is not connected", errno.ENOTCONN)
        normalized.__cause__ = exc
        return normalized
    return exc


def _seek_after(file: Any, position: int) -> None:
    """Leave the file at ``position`` after a fallback, if it can seek (a pipe cannot)."""
    if hasattr(file, "seek") and (not hasattr(file, "seekable") or file.seekable()):
        file.seek(position)


def _wake(fut: Future) -> None:
    """Writer callback of one wait for writability."""
    if not fut.done():
        fut.set_result(None)


# ---------------------------------------------------------------------- transport fallback
class _FlowGate(asyncio.Protocol):
    """Stands in for a transport's protocol while the fallback writes the file to it.

    It holds the writes back while the transport is above its high-water mark (``wait``),
    forwards ``connection_lost`` to the real protocol, and refuses data, which cannot come
    since reading is paused.
    """

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport = transport
        self._loop = loop
        self._protocol = transport.get_protocol()
        self._was_reading = transport.is_reading()
        self._paused_at_start = bool(getattr(transport, "_protocol_paused", False))
        self._paused = self._paused_at_start
        self._resumed: Any = loop.create_future() if self._paused else None
        transport.pause_reading()
        transport.set_protocol(self)

    async def wait(self) -> None:
        """Return when the transport can take more data; ConnectionError once it is closing."""
        if self._transport.is_closing():
            raise ConnectionError("Connection closed by peer")
        if self._resumed is not None:
            await self._resumed

    def restore(self) -> None:
        """Give the transport its protocol back, resuming reading if it was reading."""
        transport, protocol = self._transport, self._protocol
        transport.set_protocol(protocol)
        if self._was_reading:
            transport.resume_reading()
        if self._resumed is not None:
            self._resumed.cancel()  # nobody waits on it any more
        if self._paused_at_start and not self._paused:
            protocol.resume_writing()
        elif self._paused and not self._paused_at_start:
            protocol.pause_writing()  # its resume_writing will come from the transport

    def connection_made(self, transport: Any) -> None:
        raise RuntimeError("Invalid state: connection should have been established already.")

    def connection_lost(self, exc: BaseException | None) -> None:
        resumed = self._resumed
        if resumed is not None and not resumed.done():
            # Losing the connection before the whole file was written is always an error.
            resumed.set_exception(exc if exc is not None else ConnectionError("Connection is closed by peer"))
        self._protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        self._paused = True
        if self._resumed is None:
            self._resumed = self._loop.create_future()

    def resume_writing(self) -> None:
        self._paused = False
        resumed, self._resumed = self._resumed, None
        if resumed is not None and not resumed.done():
            resumed.set_result(False)

    def data_received(self, data: bytes) -> None:
        raise RuntimeError("Invalid state: reading should be paused")

    def eof_received(self) -> bool | None:
        raise RuntimeError("Invalid state: reading should be paused")


class SendfileMixin:
    """Zero-copy ``os.sendfile`` with asyncio's read-and-send fallback."""

    if TYPE_CHECKING:  # provided by the engine, EventLoop and SocketsMixin
        _transports: Any

        def create_future(self) -> Future: ...
        def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Future: ...
        def _wait_writable(self, sock: Any, callback: Callable[..., object], args: tuple[Any, ...]) -> Future: ...
        async def sock_sendall(self, sock: socket.socket, data: Any) -> None: ...

    # ------------------------------------------------------------------ sock_sendfile
    async def sock_sendfile(
        self, sock: socket.socket, file: Any, offset: int = 0, count: int | None = None, *, fallback: bool = True
    ) -> int:
        """Send ``file`` (from ``offset``, ``count`` bytes or to EOF) over ``sock``; return bytes sent."""
        if sock.gettimeout() != 0:
            raise ValueError("the socket must be non-blocking")
        check_not_ssl_socket(sock)
        self._check_sendfile_params(sock, file, offset, count)
        try:
            return await self._sock_sendfile_native(sock, file, offset, count)
        except asyncio.SendfileNotAvailableError:
            if not fallback:
                raise
        return await self._sock_sendfile_fallback(sock, file, offset, count)

    def _check_sendfile_params(self, sock: Any, file: Any, offset: Any, count: Any) -> None:
        """Validate sock_sendfile's arguments (asyncio's private hook name)."""
        _check_sendfile_params(sock, file, offset, count)

    async def _sock_sendfile_native(self, sock: socket.socket, file: Any, offset: int, count: int | None) -> int:
        """Send with ``os.sendfile``; SendfileNotAvailableError when it cannot be used."""
        if not hasattr(os, "sendfile"):
            raise asyncio.SendfileNotAvailableError("os.sendfile() is not available")
        fileno, size = _regular_file_size(file)
        blocksize = min(count if count else size, _MAX_BLOCK)
        if not blocksize:
            return 0  # empty file
        total_sent = 0
        waited = False
        try:
            while True:
                if count:
                    blocksize = count - total_sent
                try:
                    sent = os.sendfile(sock.fileno(), fileno, offset + total_sent, blocksize)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as exc:
                    raise _native_error(exc, total_sent, waited) from exc
                else:
                    total_sent += sent
                    if sent == 0 or total_sent == count:
                        return total_sent  # end of file, or the count sent
                await self._wait_writable(sock, _wake, ())
                waited = True
        finally:
            if total_sent > 0:
                os.lseek(fileno, offset + total_sent, os.SEEK_SET)

    async def _sock_sendfile_fallback(self, sock: socket.socket, file: Any, offset: int, count: int | None) -> int:
        """Read the file into a buffer in the executor and ``sock_sendall`` it, chunk by chunk."""
        if offset:
            file.seek(offset)
        buffer = _chunk_buffer(count, constants.SENDFILE_FALLBACK_READBUFFER_SIZE)
        total_sent = 0
        try:
            while (chunk := await self._read_chunk(file, buffer, count, total_sent)) is not None:
                await self.sock_sendall(sock, chunk)
                total_sent += len(chunk)
            return total_sent
        finally:
            if total_sent > 0:
                _seek_after(file, offset + total_sent)

    async def _read_chunk(
        self, file: Any, buffer: bytearray, count: int | None, done: int
    ) -> memoryview | None:
        """The file's next piece, read into ``buffer`` in the executor; None at EOF or at ``count``."""
        size = len(buffer) if not count else min(count - done, len(buffer))
        if size <= 0:
            return None
        view = memoryview(buffer)[:size]
        read = await self.run_in_executor(None, file.readinto, view)
        return view[:read] if read else None

    # ------------------------------------------------------------------ sendfile on a transport
    async def sendfile(
        self, transport: Any, file: Any, offset: int = 0, count: int | None = None, *, fallback: bool = True
    ) -> int:
        """Send ``file`` over ``transport`` (``os.sendfile`` where possible); return bytes sent."""
        if transport.is_closing():
            raise RuntimeError("Transport is closing")
        mode = _sendfile_mode(transport)
        if mode is _SendfileMode.UNSUPPORTED:
            raise RuntimeError(f"sendfile is not supported for transport {transport!r}")
        if mode is _SendfileMode.TRY_NATIVE:
            try:
                return await self._sendfile_native(transport, file, offset, count)
            except asyncio.SendfileNotAvailableError:
                if not fallback:
                    raise
        if not fallback:
            raise RuntimeError(
                f"fallback is disabled and native sendfile is not supported for transport {transport!r}"
            )
        return await self._sendfile_fallback(transport, file, offset, count)

    async def _sendfile_native(self, transp: Any, file: Any, offset: int, count: int | None) -> int:
        """Drain the transport's queue, then ``sock_sendfile`` straight on its socket."""
        sock = transp._sock
        fd = sock.fileno()
        # The socket is the transport's: take it out of the map that makes sock_* refuse it.
        owner = self._transports.pop(fd, None)
        resume_reading = transp.is_reading()
        transp.pause_reading()
        try:
            waiter = transp._make_empty_waiter()  # from here on the transport refuses writes
            try:
                await waiter
                return await self.sock_sendfile(sock, file, offset, count, fallback=False)
            finally:
                # Also when cancelled while draining: asyncio would leave writes refused.
                transp._reset_empty_waiter()
        finally:
            if resume_reading:
                transp.resume_reading()
            if owner is not None and fd not in self._transports:
                self._transports[fd] = owner

    async def _sendfile_fallback(self, transp: Any, file: Any, offset: int, count: int | None) -> int:
        """Read the file in the executor and ``transport.write`` it, held to the water marks."""
        if offset:
            file.seek(offset)
        buffer = _chunk_buffer(count, _TRANSPORT_FALLBACK_CHUNK)
        total_sent = 0
        gate = _FlowGate(transp, self)
        try:
            while (chunk := await self._read_chunk(file, buffer, count, total_sent)) is not None:
                await gate.wait()
                transp.write(chunk)
                total_sent += len(chunk)
            return total_sent
        finally:
            if total_sent > 0:
                _seek_after(file, offset + total_sent)
            gate.restore()


def _chunk_buffer(count: int | None, chunk_size: int) -> bytearray:
    """The one buffer a fallback reads every chunk into: no larger than ``count`` needs."""
    return bytearray(min(count, chunk_size) if count else chunk_size)


def _sendfile_mode(transport: Any) -> Any:
    """The transport's ``_sendfile_compatible`` as asyncio's mode (a bool is accepted too)."""
    mode = getattr(transport, "_sendfile_compatible", _SendfileMode.UNSUPPORTED)
    if mode is True:
        return _SendfileMode.TRY_NATIVE
    if mode is False or mode is None:
        return _SendfileMode.UNSUPPORTED
    return mode

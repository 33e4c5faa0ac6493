"""The loop's ``sock_*`` coroutines: try the socket once, else wait for readiness.

Compiled by Cython in pure-Python mode (``_sockcalls_c.pxd``) and also run as plain Python;
``_sockets.SocketsMixin`` binds these coroutine functions as the loop's methods, so ``self``
is the loop.  The behaviour is asyncio's ``selector_events`` one (see ``_sockets`` for the
invariants); what is ours is the bookkeeping of a call that has to wait:

* One object, a :class:`_Waiter`, is the call's reader (or writer) callback and its
  clean-up.  When the retried operation completes the call, the waiter drops its
  registration at once, before it completes the future: no done-callback, no
  ``functools.partial`` and no second handle through the ready queue per call, where
  asyncio has all three.
* A call that ends any other way (its future cancelled, its coroutine closed) drops the
  registration in the coroutine's ``finally``, when the task resumes; a readiness event that
  finds the future already done drops it as well, so a waiter never spins on a
  level-triggered fd.
* A registration is dropped only while it is still the waiter's own.  One reader and one
  writer per fd, as in asyncio: a later call on the same socket replaces it, the loop then
  cancels the waiter's handle, and a cancelled handle is left alone.

The operation is retried through the socket's method, looked up on every attempt as
asyncio does (a wrapper or a test double may replace it while the call waits).
"""

from __future__ import annotations

import socket
from typing import Any

try:
    import cython
except ImportError:  # pragma: no cover - Cython is a build-time dependency only
    from .. import _cython_shim as cython  # type: ignore[no-redef]

from ._socket_options import check_not_ssl_socket

__all__ = [
    "sock_accept",
    "sock_connect",
    "sock_recv",
    "sock_recv_into",
    "sock_recvfrom",
    "sock_recvfrom_into",
    "sock_sendall",
    "sock_sendto",
]

_HAS_IPV6 = hasattr(socket, "AF_INET6")
_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6 if _HAS_IPV6 else -1
_SOL_SOCKET = socket.SOL_SOCKET
_SO_ERROR = socket.SO_ERROR
_Socket = socket.socket

# What a waiting call retries (the waiter's ``op``).
_RECV = 0
_RECV_INTO = 1
_RECVFROM = 2
_RECVFROM_INTO = 3
_ACCEPT = 4
_SENDTO = 5  # from here on, the call waits for writability
_SEND_REST = 6
_CONNECT = 7

#: An attempt that made progress without completing the call (part of a sendall, a
#: connection still in progress): stay registered.
_AGAIN = object()


def _check_socket(sock: Any) -> None:
    """The checks every ``sock_*`` call makes first (non-blocking always: batonio's issue 8)."""
    if type(sock) is not _Socket:  # a plain socket.socket is no SSLSocket
        check_not_ssl_socket(sock)
    if sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _byte_length(data: Any) -> cython.Py_ssize_t:
    """The size of a bytes-like object in bytes (a memoryview's len counts items)."""
    if type(data) is bytes or type(data) is bytearray:
        return len(data)
    return memoryview(data).nbytes


@cython.cclass
class _Waiter:
    """One waiting ``sock_*`` call: the loop calls it whenever the socket is ready."""

    loop: Any
    fut: Any  # the call's Future; None once the call is over
    sock: Any
    handle: Any  # the loop's Handle for this waiter; None once unregistered
    arg: Any
    arg2: Any
    fd: int
    op: cython.Py_ssize_t
    sent: cython.Py_ssize_t

    def __call__(self) -> None:
        """Retry the operation; complete the future unless it would still block."""
        fut = self.fut
        if fut is None:
            return
        if fut.done():  # cancelled while the task has not resumed yet
            self._unregister()
            return
        try:
            result = self._attempt()
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.release()  # the exception's traceback must not keep the future alive
            fut.set_exception(exc)
            return
        if result is _AGAIN:
            return
        self.release()
        fut.set_result(result)

    def _attempt(self) -> Any:
        """One try of the operation: its result, or ``_AGAIN``; raises what the socket raises."""
        op = self.op
        sock = self.sock
        if op == _RECV_INTO:
            return sock.recv_into(self.arg)
        if op == _RECV:
            return sock.recv(self.arg)
        if op == _SEND_REST:
            view = self.arg
            start = self.sent + sock.send(view[self.sent :])
            if start == len(view):
                return None
            self.sent = start
            return _AGAIN
        if op == _ACCEPT:
            conn, address = sock.accept()
            conn.setblocking(False)  # as asyncio sets it
            return conn, address
        if op == _CONNECT:
            # The socket turned writable: SO_ERROR tells whether the connection succeeded.
            # OSError picks the subclass from the errno: ConnectionRefusedError, or
            # BlockingIOError while the connection is still in progress (stay registered).
            err = sock.getsockopt(_SOL_SOCKET, _SO_ERROR)
            if err != 0:
                raise OSError(err, f"Connect call failed {self.arg}")
            return None
        if op == _RECVFROM:
            return sock.recvfrom(self.arg)
        if op == _RECVFROM_INTO:
            return sock.recvfrom_into(self.arg, self.arg2)
        return sock.sendto(self.arg, self.arg2)  # _SENDTO

    def release(self) -> None:
        """The call is over, however it ended: no registration and no future left behind.

        The calling coroutine runs this in its ``finally`` and then drops its own reference
        to the future, breaking future -> exception -> traceback -> frame -> future.
        """
        self._unregister()
        self.fut = None

    def _unregister(self) -> None:
        """Drop the reader or writer unless a later call on the fd has replaced it."""
        handle = self.handle
        if handle is None:
            return
        self.handle = None
        if not handle.cancelled():
            if self.op >= _SENDTO:
                self.loop._remove_writer(self.fd)
            else:
                self.loop._remove_reader(self.fd)


def _wait(loop: Any, sock: Any, op: cython.Py_ssize_t, arg: Any, arg2: Any) -> _Waiter:
    """Register a waiter for ``sock`` (a reader; a writer for the sending ops) and return it."""
    fut = loop.create_future()
    fd = sock.fileno()
    # The loop refuses an fd one of its transports owns; the dict under the weak mapping
    # answers "none" without the mapping's Python-level get.
    if fd in loop._transports.data:
        loop._ensure_fd_no_transport(fd)
    waiter: _Waiter = _Waiter.__new__(_Waiter)
    waiter.loop = loop
    waiter.fut = fut
    waiter.sock = sock
    waiter.handle = None
    waiter.arg = arg
    waiter.arg2 = arg2
    waiter.fd = fd
    waiter.op = op
    waiter.sent = 0
    if op >= _SENDTO:
        waiter.handle = loop._add_writer(fd, waiter, ())
    else:
        waiter.handle = loop._add_reader(fd, waiter, ())
    return waiter


# ---------------------------------------------------------------------- receiving
async def sock_recv(self: Any, sock: socket.socket, n: int) -> bytes:
    """Receive up to ``n`` bytes from ``sock``."""
    _check_socket(sock)
    if cython.compiled and type(sock) is _Socket:
        # One recv(2) on the fd (socket.socket's slots forbid per-instance overrides): a
        # call that would block costs no BlockingIOError.
        data = _try_recv(sock.fileno(), n)  # type: ignore[name-defined]  # noqa: F821
        if data is not None:
            return data  # type: ignore[no-any-return]
    else:
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            pass
    waiter: _Waiter = _wait(self, sock, _RECV, n, None)
    fut = waiter.fut
    try:
        return await fut  # type: ignore[no-any-return]
    finally:
        waiter.release()
        del fut


async def sock_recv_into(self: Any, sock: socket.socket, buf: Any) -> int:
    """Receive into the writable buffer ``buf``; return the number of bytes written."""
    _check_socket(sock)
    if cython.compiled and type(sock) is _Socket:  # one recv(2), as in sock_recv
        nbytes = _try_recv_into(sock.fileno(), buf)  # type: ignore[name-defined]  # noqa: F821
        if nbytes >= 0:
            return nbytes  # type: ignore[no-any-return]
    else:
        try:
            return sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            pass
    waiter: _Waiter = _wait(self, sock, _RECV_INTO, buf, None)
    fut = waiter.fut
    try:
        return await fut  # type: ignore[no-any-return]
    finally:
        waiter.release()
        del fut


async def sock_recvfrom(self: Any, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
    """Receive a datagram of up to ``bufsize`` bytes: ``(data, address)``."""
    _check_socket(sock)
    try:
        return sock.recvfrom(bufsize)
    except (BlockingIOError, InterruptedError):
        pass
    waiter: _Waiter = _wait(self, sock, _RECVFROM, bufsize, None)
    fut = waiter.fut
    try:
        return await fut  # type: ignore[no-any-return]
    finally:
        waiter.release()
        del fut


async def sock_recvfrom_into(self: Any, sock: socket.socket, buf: Any, nbytes: int = 0) -> tuple[int, Any]:
    """Receive a datagram into ``buf`` (``nbytes=0``: its length): ``(nbytes, address)``."""
    _check_socket(sock)
    if not nbytes:
        nbytes = len(buf)
    try:
        return sock.recvfrom_into(buf, nbytes)
    except (BlockingIOError, InterruptedError):
        pass
    waiter: _Waiter = _wait(self, sock, _RECVFROM_INTO, buf, nbytes)
    fut = waiter.fut
    try:
        return await fut  # type: ignore[no-any-return]
    finally:
        waiter.release()
        del fut


# ---------------------------------------------------------------------- sending
async def sock_sendall(self: Any, sock: socket.socket, data: Any) -> None:
    """Send all of ``data``, waiting for writability as often as needed."""
    _check_socket(sock)
    if cython.compiled and type(sock) is _Socket:  # one send(2), as in sock_recv
        sent = max(_try_send(sock.fileno(), data), 0)  # type: ignore[name-defined]  # noqa: F821
    else:
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
    if sent == _byte_length(data):
        return
    waiter: _Waiter = _wait(self, sock, _SEND_REST, memoryview(data).cast("B"), None)
    waiter.sent = sent
    fut = waiter.fut
    try:
        await fut
    finally:
        waiter.release()
        del fut


async def sock_sendto(self: Any, sock: socket.socket, data: Any, address: Any) -> int:
    """Send the datagram ``data`` to ``address``; return the number of bytes sent."""
    _check_socket(sock)
    try:
        return sock.sendto(data, address)
    except (BlockingIOError, InterruptedError):
        pass
    waiter: _Waiter = _wait(self, sock, _SENDTO, data, address)
    fut = waiter.fut
    try:
        return await fut  # type: ignore[no-any-return]
    finally:
        waiter.release()
        del fut


# ---------------------------------------------------------------------- connecting and accepting
async def sock_connect(self: Any, sock: socket.socket, address: Any) -> None:
    """Connect ``sock`` to ``address`` (an IPv4/IPv6 host name is resolved first)."""
    _check_socket(sock)
    family = sock.family
    if family == _AF_INET or family == _AF_INET6:
        resolved = await self._ensure_resolved(address, family=family, type=sock.type, proto=sock.proto)
        address = resolved[0][4]
    try:
        sock.connect(address)
    except (BlockingIOError, InterruptedError):
        # In progress (EINPROGRESS; EINTR too, gh-67806/bpo-23618): the kernel goes on
        # connecting and the socket turns writable when it has succeeded or failed.
        pass
    else:
        return
    waiter: _Waiter = _wait(self, sock, _CONNECT, address, None)
    fut = waiter.fut
    try:
        await fut
    finally:
        waiter.release()
        del fut


async def sock_accept(self: Any, sock: socket.socket) -> tuple[socket.socket, Any]:
    """Accept a connection on the listening ``sock``: ``(conn, address)``, conn non-blocking."""
    _check_socket(sock)
    try:
        conn, address = sock.accept()
    except (BlockingIOError, InterruptedError):
        pass
    else:
        conn.setblocking(False)
        return conn, address
    waiter: _Waiter = _wait(self, sock, _ACCEPT, None, None)
    fut = waiter.fut
    try:
        return await fut  # type: ignore[no-any-return]
    finally:
        waiter.release()
        del fut

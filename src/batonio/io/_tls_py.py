"""TLS over any batonio stream transport: our own layer on ``ssl.MemoryBIO`` and ``SSLObject``.

Two objects make one TLS connection:

- :class:`TLSLayer` is the protocol of the socket transport.  Ciphertext read from the
  socket goes into the incoming BIO; the ``SSLObject`` turns it into plaintext for the
  application; plaintext the application writes is encrypted into the outgoing BIO and
  handed to the socket transport.  It runs the handshake, the close_notify exchange and
  their timeouts.
- :class:`TLSTransport` is what the application sees: a full ``asyncio.Transport``.

The observable behaviour (messages, exception types, the order of protocol calls, the
defaults of 60 s for the handshake and 30 s for the shutdown) is asyncio's.  Where asyncio
has known bugs the layer does what asyncio's documentation promises instead:

- ``get_write_buffer_size()`` is honest: plaintext not yet encrypted, ciphertext in the
  outgoing BIO and ciphertext queued in the socket transport all count, so a large write to
  a slow peer pauses the writer at the high-water mark (asyncio reports 0 and never pauses).
  Plaintext is encrypted only as the socket drains, so memory stays bounded.
- A ``BufferedProtocol`` gets its bytes in whatever buffer ``get_buffer()`` returned
  (asyncio slices a ``bytearray`` into a copy and hands the protocol NULs, CPython
  gh-156275).
- Ciphertext that arrived before the upgrade (``StreamWriter.start_tls`` on a reader that
  already holds the peer's ClientHello) is fed to the layer, not lost.

The socket transport's receive buffer (one per loop) is reused for decrypted plaintext: the
ciphertext in it is copied into the incoming BIO before anything is decrypted.

This module is compiled by Cython in pure-Python mode (``_tls_c.pxd``) and also runs as
plain Python.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import warnings
from asyncio.constants import _SendfileMode
from typing import Any

from ._flow import water_marks
from ._socket_options import check_tls_timeout
from ._transport import read_buffer_of

try:
    import cython
except ImportError:  # pragma: no cover - Cython is a build-time dependency only
    from .. import _cython_shim as cython  # type: ignore[no-redef]

__all__ = ["SSLProtocolTransport", "TLSLayer", "TLSTransport", "default_client_context"]

# The layer's states, in the order a connection goes through them.
_UNWRAPPED = 0
_HANDSHAKE = 1
_WRAPPED = 2
_FLUSHING = 3
_SHUTDOWN = 4
_STATE_NAMES = ("UNWRAPPED", "DO_HANDSHAKE", "WRAPPED", "FLUSHING", "SHUTDOWN")
_ALLOWED_MOVES = {(_UNWRAPPED, _HANDSHAKE), (_HANDSHAKE, _WRAPPED), (_WRAPPED, _FLUSHING),
                  (_FLUSHING, _SHUTDOWN)}

# What the application protocol has been told so far.
_APP_NEW = 0
_APP_CONNECTED = 1
_APP_EOF = 2
_APP_LOST = 3

HANDSHAKE_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0
_WRITE_HIGH_WATER = 512 * 1024
_READ_HIGH_WATER = 256 * 1024
_ENCRYPT_CHUNK = 256 * 1024
_LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5

_SSL_AGAIN = (ssl.SSLWantReadError, ssl.SSLSyscallError)
_SSLError = ssl.SSLError
_AsyncioBufferedProtocol = asyncio.BufferedProtocol


class SSLProtocolTransport(asyncio.Transport):
    """The class a :class:`TLSTransport` presents: an ``asyncio.Transport``, named as asyncio's."""


_AsyncioTransport = SSLProtocolTransport


def _logger() -> Any:
    from asyncio.log import logger

    return logger


def default_client_context(server_hostname: Any) -> ssl.SSLContext:
    """The context ``ssl=True`` means: the default one, hostname-checked when a name is known."""
    context = ssl.create_default_context()
    if not server_hostname:
        context.check_hostname = False
    return context


def _byte_view(buf: Any) -> memoryview:
    """A writable one-byte-per-item view of whatever ``get_buffer()`` returned."""
    view = memoryview(buf)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


@cython.cclass
class TLSLayer:
    """The socket transport's protocol: the TLS engine between the socket and the application."""

    def __init__(
        self,
        loop: Any,
        app_protocol: Any,
        sslcontext: Any,
        waiter: Any,
        server_side: bool = False,
        server_hostname: Any = None,
        call_connection_made: bool = True,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        self._handshake_timeout = check_tls_timeout(
            "ssl_handshake_timeout", ssl_handshake_timeout, HANDSHAKE_TIMEOUT)
        self._shutdown_timeout = check_tls_timeout(
            "ssl_shutdown_timeout", ssl_shutdown_timeout, SHUTDOWN_TIMEOUT)
        if not sslcontext:
            if server_side:
                raise ValueError("Server side SSL needs a valid SSLContext")
            sslcontext = default_client_context(server_hostname)
        self._loop = loop
        self._waiter = waiter
        self._transport: Any = None
        self._server_side = server_side
        hostname = server_hostname if server_hostname and not server_side else None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._sslobj = sslcontext.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=hostname)
        # The hot calls go straight to the C object under ssl.SSLObject's Python wrapper.
        engine = getattr(self._sslobj, "_sslobj", self._sslobj)
        self._ssl_read = engine.read
        self._ssl_write = engine.write
        self._ssl_pending = engine.pending
        self._close_notify_seen = False
        self._extra = {"sslcontext": sslcontext}
        self._state = _UNWRAPPED
        self._app_state = _APP_NEW if call_connection_made else _APP_CONNECTED
        self._app_protocol: Any = None
        self._app_buffered = False
        self._set_app_protocol(app_protocol)
        self._app_transport: Any = TLSTransport(loop, self)
        self._backlog: Any = collections.deque()
        self._backlog_size = 0
        self._conn_lost = 0
        self._eof_received = False
        self._app_reading_paused = False
        self._app_writing_paused = False
        self._ssl_reading_paused = False
        self._ssl_writing_paused = False
        self._read_call_pending = False
        self._write_high, self._write_low = water_marks(None, None, _WRITE_HIGH_WATER)
        self._read_high, self._read_low = water_marks(None, None, _READ_HIGH_WATER)
        self._handshake_timer = None
        self._shutdown_timer = None
        self._handshake_started = 0.0
        self._buffer, self._view = read_buffer_of(loop)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        """Present as ``asyncio.BufferedProtocol``: the socket transport reads into our buffer."""
        return _AsyncioBufferedProtocol

    # ------------------------------------------------------------------ the application side
    def _set_app_protocol(self, protocol: Any) -> None:
        self._app_protocol = protocol
        self._app_buffered = isinstance(protocol, _AsyncioBufferedProtocol)

    def _get_extra_info(self, name: Any, default: Any = None) -> Any:
        if name in self._extra:
            return self._extra[name]
        if self._transport is not None:
            return self._transport.get_extra_info(name, default)
        return default

    def _set_state(self, state: cython.int) -> None:
        if state == _UNWRAPPED or (self._state, state) in _ALLOWED_MOVES:
            self._state = state
            return
        raise RuntimeError(
            f"cannot switch state from {_STATE_NAMES[self._state]} to {_STATE_NAMES[state]}")

    def _wake_waiter(self, exc: Any = None) -> None:
        waiter = self._waiter
        if waiter is None:
            return
        self._waiter = None
        if waiter.cancelled():
            return
        if exc is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(exc)

    # ------------------------------------------------------------------ the socket side
    def connection_made(self, transport: Any) -> None:
        """The socket transport is ready: start the handshake."""
        self._transport = transport
        self._apply_socket_write_limits()
        self._start_handshake()

    def preread(self, data: Any) -> None:
        """Ciphertext that arrived before the upgrade: feed it to the handshake first."""
        if data:
            self._incoming.write(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        """The socket transport is gone: tell the application, drop all that is buffered."""
        self._backlog.clear()
        self._backlog_size = 0
        self._outgoing.read()
        self._conn_lost += 1
        if self._app_transport is not None:
            self._app_transport._closed = True
        if self._state != _HANDSHAKE and self._app_state in (_APP_CONNECTED, _APP_EOF):
            self._app_state = _APP_LOST
            self._loop.call_soon(self._app_protocol.connection_lost, exc)
        self._set_state(_UNWRAPPED)
        self._transport = None
        self._app_protocol = None
        self._app_transport = None  # the application's reference is the only one left
        self._wake_waiter(exc)
        self._cancel_timers()

    def _cancel_timers(self) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        if self._shutdown_timer is not None:
            self._shutdown_timer.cancel()
            self._shutdown_timer = None

    def get_buffer(self, sizehint: int) -> Any:
        """The loop's receive buffer: ciphertext is copied into the incoming BIO at once."""
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        """Ciphertext arrived: move the state machine on."""
        self._incoming.write(self._view[:nbytes])
        self._advance()

    def data_received(self, data: Any) -> None:
        """Ciphertext arrived from a transport that does not read into buffers."""
        self._incoming.write(data)
        self._advance()

    def _advance(self) -> None:
        state = self._state
        if state == _WRAPPED:
            self._do_read()
        elif state == _HANDSHAKE:
            self._do_handshake()
        elif state == _FLUSHING:
            self._do_flush()
        elif state == _SHUTDOWN:
            self._do_shutdown()

    def eof_received(self) -> bool | None:
        """The peer closed its side of the socket (without close_notify, or after it)."""
        self._eof_received = True
        try:
            if self._loop.get_debug():
                _logger().debug("%r received EOF", self)
            state = self._state
            if state == _HANDSHAKE:
                self._on_handshake_complete(ConnectionResetError())
            elif state == _WRAPPED:
                self._set_state(_FLUSHING)
                if self._app_reading_paused:
                    return True
                self._do_flush()
            elif state == _FLUSHING:
                self._encrypt_backlog(True)
                self._set_state(_SHUTDOWN)
                self._do_shutdown()
            elif state == _SHUTDOWN:
                self._do_shutdown()
        except BaseException:
            if self._transport is not None:
                self._transport.close()
            raise
        return None

    def pause_writing(self) -> None:
        """The socket transport's queue is full: stop encrypting the backlog."""
        self._ssl_writing_paused = True

    def resume_writing(self) -> None:
        """The socket transport drained: encrypt more of the backlog."""
        self._ssl_writing_paused = False
        if self._state in (_WRAPPED, _FLUSHING, _SHUTDOWN):
            self._encrypt_backlog(False)
        else:
            self._send_outgoing()
        if self._state == _FLUSHING and not self._backlog:
            self._do_flush()

    # ------------------------------------------------------------------ handshake
    def _start_handshake(self) -> None:
        if self._loop.get_debug():
            _logger().debug("%r starts SSL handshake", self)
            self._handshake_started = self._loop.time()
        self._set_state(_HANDSHAKE)
        self._handshake_timer = self._loop.call_later(
            self._handshake_timeout, self._check_handshake_timeout)
        self._do_handshake()

    def _check_handshake_timeout(self) -> None:
        if self._state == _HANDSHAKE:
            message = (f"SSL handshake is taking longer than {self._handshake_timeout} seconds: "
                       "aborting the connection")
            self._fatal_error(ConnectionAbortedError(message))

    def _do_handshake(self) -> None:
        try:
            self._sslobj.do_handshake()
        except _SSL_AGAIN:
            self._send_outgoing()
        except _SSLError as exc:
            self._on_handshake_complete(exc)
        else:
            self._on_handshake_complete(None)

    def _on_handshake_complete(self, handshake_exc: Any) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        sslobj = self._sslobj
        try:
            if handshake_exc is not None:
                raise handshake_exc
            self._set_state(_WRAPPED)
            peercert = sslobj.getpeercert()
        except Exception as exc:
            self._set_state(_UNWRAPPED)
            if isinstance(exc, ssl.CertificateError):
                message = "SSL handshake failed on verifying the certificate"
            else:
                message = "SSL handshake failed"
            self._fatal_error(exc, message)
            self._wake_waiter(exc)
            return
        if self._loop.get_debug():
            elapsed = self._loop.time() - self._handshake_started
            _logger().debug("%r: SSL handshake took %.1f ms", self, elapsed * 1e3)
        self._extra.update(peercert=peercert, cipher=sslobj.cipher(),
                           compression=sslobj.compression(), ssl_object=sslobj)
        if self._app_state == _APP_NEW:
            self._app_state = _APP_CONNECTED
            self._app_protocol.connection_made(self._app_transport)
        self._wake_waiter()
        self._encrypt_backlog(False)  # what the application wrote during the handshake
        self._do_read()

    # ------------------------------------------------------------------ shutdown
    def _start_shutdown(self) -> None:
        state = self._state
        if state in (_FLUSHING, _SHUTDOWN, _UNWRAPPED):
            return
        if self._app_transport is not None:
            self._app_transport._closed = True
        if state == _HANDSHAKE:
            self._abort(None)
            return
        self._set_state(_FLUSHING)
        self._shutdown_timer = self._loop.call_later(
            self._shutdown_timeout, self._check_shutdown_timeout)
        self._do_flush()

    def _check_shutdown_timeout(self) -> None:
        if self._state in (_FLUSHING, _SHUTDOWN) and self._transport is not None:
            self._transport._force_close(TimeoutError("SSL shutdown timed out"))

    def _do_flush(self) -> None:
        """Closing: deliver what is decrypted, send the backlog, then close_notify."""
        self._do_read()
        if self._backlog:
            self._encrypt_backlog(self._eof_received)
            if self._backlog:
                return  # resume_writing() comes back here once the socket drained
        if self._state == _FLUSHING:
            self._set_state(_SHUTDOWN)
            self._do_shutdown()

    def _do_shutdown(self) -> None:
        try:
            if not self._eof_received:
                self._sslobj.unwrap()
        except _SSL_AGAIN:
            self._send_outgoing()
        except _SSLError as exc:
            self._on_shutdown_complete(exc)
        else:
            self._send_outgoing()
            self._call_eof_received()
            self._on_shutdown_complete(None)

    def _on_shutdown_complete(self, shutdown_exc: Any) -> None:
        if self._shutdown_timer is not None:
            self._shutdown_timer.cancel()
            self._shutdown_timer = None
        if shutdown_exc is not None:
            self._fatal_error(shutdown_exc)
        elif self._transport is not None:
            self._loop.call_soon(self._transport.close)

    def _abort(self, exc: Any) -> None:
        self._set_state(_UNWRAPPED)
        if self._transport is not None:
            self._transport._force_close(exc)

    # ------------------------------------------------------------------ writing
    def _write_appdata(self, data: Any) -> None:
        """Plaintext from the application: encrypt it now, or keep it for later."""
        state = self._state
        if state >= _FLUSHING or state == _UNWRAPPED:
            if self._conn_lost >= _LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                _logger().warning("SSL connection is closed")
            self._conn_lost += 1
            return
        try:
            if (state == _WRAPPED and not self._backlog and not self._ssl_writing_paused
                    and len(data) <= _ENCRYPT_CHUNK):
                self._ssl_write(data)  # the common case: straight through, no backlog
                self._send_outgoing()
                return
        except _SSL_AGAIN:
            pass  # renegotiation: the data waits in the backlog
        except Exception as exc:
            self._fatal_error(exc, "Fatal error on SSL protocol")
            return
        if type(data) is not bytes:
            data = bytes(data)  # the caller may reuse a mutable buffer once write() returns
        self._backlog.append(data)
        self._backlog_size += len(data)
        try:
            if state == _WRAPPED:
                self._encrypt_backlog(False)
            else:
                self._control_app_writing()
        except Exception as exc:
            self._fatal_error(exc, "Fatal error on SSL protocol")

    def _encrypt_backlog(self, everything: cython.bint) -> None:
        """Encrypt the backlog while the socket takes it; the rest waits for resume_writing().

        With ``everything`` (the connection is ending) the whole backlog goes to the socket
        transport at once, whose close() still sends it.
        """
        backlog = self._backlog
        write = self._ssl_write
        try:
            while backlog and (everything or not self._ssl_writing_paused):
                data = backlog[0]
                size = len(data)
                if size > _ENCRYPT_CHUNK:
                    chunk = memoryview(data)[:_ENCRYPT_CHUNK]
                    count = write(chunk)
                    backlog[0] = memoryview(data)[count:]
                else:
                    count = write(data)
                    if count < size:
                        backlog[0] = memoryview(data)[count:]
                    else:
                        backlog.popleft()
                self._backlog_size -= count
                self._send_outgoing_only(everything)
        except _SSL_AGAIN:
            pass
        self._send_outgoing()

    def _send_outgoing_only(self, everything: cython.bint) -> None:
        if (self._outgoing.pending and (everything or not self._ssl_writing_paused)
                and self._transport is not None):
            self._transport.write(self._outgoing.read())

    def _send_outgoing(self) -> None:
        self._send_outgoing_only(False)
        self._control_app_writing()

    def _write_buffer_size(self) -> cython.Py_ssize_t:
        size = self._backlog_size + self._outgoing.pending
        if self._transport is not None:
            size += self._transport.get_write_buffer_size()
        return size  # type: ignore[no-any-return]

    def _control_app_writing(self) -> None:
        size = self._write_buffer_size()
        if size > self._write_high and not self._app_writing_paused:
            self._app_writing_paused = True
            self._call_flow_control("pause_writing")
        elif size <= self._write_low and self._app_writing_paused:
            self._app_writing_paused = False
            self._call_flow_control("resume_writing")

    def _call_flow_control(self, method: Any) -> None:
        try:
            getattr(self._app_protocol, method)()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                "message": f"protocol.{method}() failed",
                "exception": exc,
                "transport": self._app_transport,
                "protocol": self,
            })

    def _set_write_buffer_limits(self, high: Any = None, low: Any = None) -> None:
        self._write_high, self._write_low = water_marks(high, low, _WRITE_HIGH_WATER)
        self._apply_socket_write_limits()
        if self._transport is not None:
            self._control_app_writing()

    def _apply_socket_write_limits(self) -> None:
        """The socket pauses us above, and resumes us at, our low-water mark.

        So while the application is paused, the socket tells us exactly when the total
        (backlog + socket queue) can have fallen to the low-water mark.
        """
        if self._transport is not None:
            self._transport.set_write_buffer_limits(self._write_low, self._write_low)

    # ------------------------------------------------------------------ reading
    def _do_read(self) -> None:
        if self._state != _WRAPPED and self._state != _FLUSHING:
            return
        try:
            if not self._app_reading_paused:
                if self._app_buffered:
                    self._read_buffered()
                else:
                    self._read_copied()
                if self._backlog:
                    self._encrypt_backlog(False)
                elif self._outgoing.pending or self._app_writing_paused:
                    self._send_outgoing()  # TLS 1.3 tickets, renegotiation replies
            self._control_ssl_reading()
        except Exception as exc:
            self._fatal_error(exc, "Fatal error on SSL protocol")

    def _read_copied(self) -> None:
        """Decrypt all that is complete into the shared buffer; hand it over as one bytes."""
        view = self._view
        limit = len(view)
        offset = self._decrypt_into(view, limit)
        if offset:
            if cython.compiled:  # one bytes object straight from the buffer: no slice
                data = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(self._buffer), offset)  # type: ignore[name-defined]  # noqa: F821
            else:
                data = bytes(view[:offset])
            self._app_protocol.data_received(data)
        if self._close_notify_seen:
            self._on_close_notify()
        elif offset == limit:
            self._schedule_read()  # more may be decrypted: after the protocol had its turn

    def _read_buffered(self) -> None:
        """Decrypt straight into the application's buffer, whatever type it is."""
        protocol = self._app_protocol
        buf = _byte_view(protocol.get_buffer(self._incoming.pending))
        wants = len(buf)
        if not wants:
            raise RuntimeError("get_buffer() returned an empty buffer")
        offset = self._decrypt_into(buf, wants)
        if offset:
            protocol.buffer_updated(offset)
        if self._close_notify_seen:
            self._on_close_notify()
        elif offset == wants:
            self._schedule_read()

    def _decrypt_into(self, buf: Any, wants: cython.Py_ssize_t) -> cython.Py_ssize_t:
        """Decrypt what is complete into ``buf``, up to ``wants`` bytes; return how many.

        It stops as soon as neither the incoming BIO nor the current record holds anything
        more, instead of making the read that would fail with SSLWantReadError: building
        that exception costs more than the read of a small message itself.
        """
        read = self._ssl_read
        pending = self._ssl_pending
        incoming = self._incoming
        self._close_notify_seen = False
        offset: cython.Py_ssize_t = 0
        try:
            while offset < wants:
                count = read(wants - offset, buf[offset:] if offset else buf)
                if not count:
                    self._close_notify_seen = True
                    break
                offset += count
                if not incoming.pending and not pending():
                    break
        except _SSL_AGAIN:
            pass
        return offset

    def _schedule_read(self) -> None:
        if not self._read_call_pending:
            self._read_call_pending = True
            self._loop.call_soon(self._scheduled_read)

    def _scheduled_read(self) -> None:
        self._read_call_pending = False
        self._do_read()

    def _on_close_notify(self) -> None:
        self._call_eof_received()
        self._start_shutdown()

    def _call_eof_received(self) -> None:
        try:
            if self._app_state == _APP_CONNECTED:
                self._app_state = _APP_EOF
                if self._app_protocol.eof_received():
                    _logger().warning("returning true from eof_received() has no effect when using ssl")
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Error calling eof_received()")

    def _pause_reading(self) -> None:
        self._app_reading_paused = True

    def _resume_reading(self) -> None:
        if self._app_reading_paused:
            self._app_reading_paused = False
            self._loop.call_soon(self._advance_after_resume)

    def _advance_after_resume(self) -> None:
        state = self._state
        if state == _WRAPPED:
            self._do_read()
        elif state == _FLUSHING:
            self._do_flush()
        elif state == _SHUTDOWN:
            self._do_shutdown()

    def _control_ssl_reading(self) -> None:
        size = self._incoming.pending
        if size >= self._read_high and not self._ssl_reading_paused:
            self._ssl_reading_paused = True
            self._transport.pause_reading()
        elif size <= self._read_low and self._ssl_reading_paused:
            self._ssl_reading_paused = False
            self._transport.resume_reading()

    def _set_read_buffer_limits(self, high: Any = None, low: Any = None) -> None:
        self._read_high, self._read_low = water_marks(high, low, _READ_HIGH_WATER)

    # ------------------------------------------------------------------ errors
    def _fatal_error(self, exc: Any, message: Any = "Fatal error on transport") -> None:
        if self._transport is not None:
            self._transport._force_close(exc)
        if isinstance(exc, OSError):
            if self._loop.get_debug():
                _logger().debug("%r: %s", self, message, exc_info=True)
        elif not isinstance(exc, asyncio.CancelledError):
            self._loop.call_exception_handler({
                "message": message,
                "exception": exc,
                "transport": self._transport,
                "protocol": self,
            })

    def __repr__(self) -> str:
        return f"<TLSLayer {_STATE_NAMES[self._state]} transport={self._transport!r}>"


@cython.cclass
class TLSTransport:
    """The application's transport over TLS: an ``asyncio.Transport``.

    Once closed twice (the layer closed it, then the application did) it lets go of its
    layer, as asyncio's does, so an application that keeps the transport in its protocol
    does not keep the TLS session and context alive; it then answers as a closed transport.
    """

    _start_tls_compatible = True  # TLS over TLS: start_tls() takes this transport too
    _sendfile_compatible = _SendfileMode.FALLBACK  # the file must be encrypted: no os.sendfile

    def __init__(self, loop: Any, layer: TLSLayer) -> None:
        self._loop = loop
        self._layer: Any = layer
        self._closed = False

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        """Present as ``asyncio.Transport`` so ``isinstance`` checks against it hold."""
        return _AsyncioTransport

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Return TLS information ('ssl_object', 'peercert', 'cipher', ...) or the socket's."""
        layer: TLSLayer = self._layer
        if layer is None:
            return default
        return layer._get_extra_info(name, default)

    def set_protocol(self, protocol: Any) -> None:
        """Use ``protocol`` for the plaintext from now on."""
        layer: TLSLayer = self._layer
        if layer is not None:
            layer._set_app_protocol(protocol)

    def get_protocol(self) -> Any:
        """Return the application protocol."""
        layer: TLSLayer = self._layer
        return None if layer is None else layer._app_protocol

    def is_closing(self) -> bool:
        """Return True once close() or abort() was called or the connection is gone."""
        return self._closed

    def close(self) -> None:
        """Send what is buffered, then close_notify; connection_lost(None) follows."""
        layer: TLSLayer = self._layer
        if not self._closed:
            self._closed = True
            if layer is not None:
                layer._start_shutdown()
        else:
            self._layer = None

    def abort(self) -> None:
        """Close at once, dropping what is buffered."""
        self._force_close(None)

    def _force_close(self, exc: Any) -> None:
        layer: TLSLayer = self._layer
        self._closed = True
        if layer is not None:
            layer._abort(exc)

    def is_reading(self) -> bool:
        """Return True unless reading is paused."""
        layer: TLSLayer = self._layer
        return layer is not None and not layer._app_reading_paused

    def pause_reading(self) -> None:
        """Stop handing plaintext to the protocol until resume_reading()."""
        layer: TLSLayer = self._layer
        if layer is not None:
            layer._pause_reading()

    def resume_reading(self) -> None:
        """Resume handing plaintext to the protocol."""
        layer: TLSLayer = self._layer
        if layer is not None:
            layer._resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks of write flow control (512 KiB and a quarter of it by default)."""
        layer: TLSLayer = self._layer
        if layer is not None:
            layer._set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return ``(low, high)``."""
        layer: TLSLayer = self._layer
        if layer is None:
            return (0, 0)
        return (layer._write_low, layer._write_high)

    def get_write_buffer_size(self) -> int:
        """Bytes written and not yet sent: plaintext and ciphertext, in the layer and the socket."""
        layer: TLSLayer = self._layer
        return 0 if layer is None else layer._write_buffer_size()  # type: ignore[no-any-return]

    def set_read_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks of ciphertext buffered before the socket stops reading."""
        layer: TLSLayer = self._layer
        if layer is not None:
            layer._set_read_buffer_limits(high, low)

    def get_read_buffer_limits(self) -> tuple[int, int]:
        """Return ``(low, high)`` of the read buffer."""
        layer: TLSLayer = self._layer
        if layer is None:
            return (0, 0)
        return (layer._read_low, layer._read_high)

    def get_read_buffer_size(self) -> int:
        """Ciphertext received and not yet decrypted."""
        layer: TLSLayer = self._layer
        return 0 if layer is None else layer._incoming.pending  # type: ignore[no-any-return]

    @property
    def _ssl_protocol(self) -> Any:
        """The TLS layer, under the name asyncio's transport gives it (code reaches for it)."""
        return self._layer

    def _test__append_write_backlog(self, data: Any) -> None:
        """Queue plaintext without sending it: a hook CPython's TLS tests use."""
        layer: TLSLayer = self._layer
        if layer is not None:
            layer._backlog.append(data)
            layer._backlog_size += len(data)

    @property
    def _protocol_paused(self) -> bool:
        layer: TLSLayer = self._layer
        return layer is not None and layer._app_writing_paused

    def write(self, data: Any) -> None:
        """Encrypt and send ``data`` (bytes-like)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data: expecting a bytes-like instance, got {type(data).__name__}")
        layer: TLSLayer = self._layer
        if data and layer is not None:
            layer._write_appdata(data)

    def writelines(self, list_of_data: Any) -> None:
        """Write each item of ``list_of_data``, in order."""
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        """Refused, as asyncio refuses it: TLS has no half-close."""
        raise NotImplementedError

    def can_write_eof(self) -> bool:
        """Return False: TLS transports cannot half-close."""
        return False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<TLSTransport {state} {self._layer!r}>"

    def __del__(self) -> None:
        if not self._closed:
            self._closed = True
            warnings.warn(f"unclosed transport {self!r}", ResourceWarning, stacklevel=1,
                          source=self)

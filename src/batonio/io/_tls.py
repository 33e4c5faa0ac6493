"""TLS for the loop: ``_make_ssl_transport`` for connections and servers, and ``start_tls``.

The TLS engine itself is :mod:`._tls_py` (compiled as ``_tls_c``): a protocol on the socket
transport and the application's transport above it.  This module only wires it to the loop.
"""

from __future__ import annotations

import ssl
from typing import Any

from .._extensions import select
from ._transport import SocketTransport

_impl = select(__package__ or "batonio.io", "_tls")
TLSLayer = _impl.TLSLayer
TLSTransport = _impl.TLSTransport

__all__ = ["TLSLayer", "TLSMixin", "TLSTransport"]


def _take_unread_stream_bytes(protocol: Any) -> bytes:
    """Empty the buffer of the StreamReader behind ``protocol`` (asyncio's or ours), if any."""
    reader = getattr(protocol, "_stream_reader", None)
    buffer = getattr(reader, "_buffer", None)
    if not isinstance(buffer, bytearray) or not buffer:
        return b""
    data = bytes(buffer)
    buffer.clear()
    return data


class TLSMixin:
    """The loop's TLS entry points."""

    def _make_ssl_transport(
        self,
        rawsock: Any,
        protocol: Any,
        sslcontext: Any,
        waiter: Any = None,
        *,
        server_side: bool = False,
        server_hostname: Any = None,
        extra: dict[str, Any] | None = None,
        server: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        call_connection_made: bool = True,
    ) -> Any:
        try:
            layer = TLSLayer(
                self, protocol, sslcontext, waiter, server_side, server_hostname,
                call_connection_made, ssl_handshake_timeout, ssl_shutdown_timeout,
            )
        except BaseException:
            rawsock.close()  # the socket was to become the transport's: nobody else closes it
            raise
        SocketTransport(self, rawsock, layer, None, extra, server)
        return layer._app_transport

    async def start_tls(
        self,
        transport: Any,
        protocol: Any,
        sslcontext: Any,
        *,
        server_side: bool = False,
        server_hostname: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> Any:
        """Upgrade an existing connection to TLS; return the new (TLS) transport.

        Bytes a stream reader already holds at the upgrade come after the upgrade point, so
        they are the peer's first TLS bytes (a ClientHello sent with the STARTTLS line): they
        go to the TLS layer.  asyncio and uvloop leave them in the reader and the handshake
        hangs (CPython gh-142352, uvloop #707).
        """
        return await self._start_tls_with_preread(
            transport, protocol, sslcontext, _take_unread_stream_bytes(protocol),
            server_side=server_side,
            server_hostname=server_hostname, ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def _start_tls_with_preread(
        self,
        transport: Any,
        protocol: Any,
        sslcontext: Any,
        preread: bytes,
        *,
        server_side: bool = False,
        server_hostname: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> Any:
        """start_tls() that first feeds the layer ``preread``: TLS bytes read before the upgrade."""
        if not isinstance(sslcontext, ssl.SSLContext):
            raise TypeError(f"sslcontext is expected to be an instance of ssl.SSLContext, got {sslcontext!r}")
        if not getattr(transport, "_start_tls_compatible", False):
            raise TypeError(f"transport {transport!r} is not supported by start_tls()")
        waiter = self.create_future()  # type: ignore[attr-defined]
        layer = TLSLayer(
            self, protocol, sslcontext, waiter, server_side, server_hostname, False,
            ssl_handshake_timeout, ssl_shutdown_timeout,
        )
        layer.preread(preread)
        transport.pause_reading()  # nothing reaches the old protocol from here on
        transport.set_protocol(layer)
        connected = self.call_soon(layer.connection_made, transport)  # type: ignore[attr-defined]
        resume = self.call_soon(transport.resume_reading)  # type: ignore[attr-defined]
        try:
            await waiter
        except BaseException:
            transport.close()
            connected.cancel()
            resume.cancel()
            raise
        return layer._app_transport

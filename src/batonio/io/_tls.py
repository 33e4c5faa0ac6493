"""TLS on batonio's transports, for now through asyncio's own ``sslproto.SSLProtocol``.

An interim layer: ``asyncio.sslproto.SSLProtocol`` is a protocol that works over any
transport, so TLS connections, servers and ``start_tls`` run on our socket transport today.
The TLS issue replaces this module with batonio's own ``ssl.MemoryBIO`` layer (compiled,
with honest write-buffer accounting); the loop methods and their checks stay as they are.
"""

from __future__ import annotations

import asyncio.sslproto as _sslproto
from typing import Any

from ._transport import SocketTransport

__all__ = ["TLSMixin"]


class TLSMixin:
    """``_make_ssl_transport`` for connections and servers, and ``start_tls``."""

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
        loop: Any = self
        tls = _sslproto.SSLProtocol(
            loop, protocol, sslcontext, waiter, server_side, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,  # type: ignore[arg-type]
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=call_connection_made,
        )
        SocketTransport(self, rawsock, tls, None, extra, server)
        return tls._app_transport

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
        """Upgrade an existing connection to TLS; return the new (TLS) transport."""
        import ssl as ssl_module

        if not isinstance(sslcontext, ssl_module.SSLContext):
            raise TypeError(f"sslcontext is expected to be an instance of ssl.SSLContext, got {sslcontext!r}")
        if not getattr(transport, "_start_tls_compatible", False):
            raise TypeError(f"transport {transport!r} is not supported by start_tls()")
        waiter = self.create_future()  # type: ignore[attr-defined]
        loop: Any = self
        tls = _sslproto.SSLProtocol(
            loop, protocol, sslcontext, waiter, server_side, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,  # type: ignore[arg-type]
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=False,
        )
        transport.pause_reading()  # nothing reaches the old protocol from here on
        transport.set_protocol(tls)
        resume = self.call_soon(transport.resume_reading)  # type: ignore[attr-defined]
        connected = self.call_soon(tls.connection_made, transport)  # type: ignore[attr-defined]
        try:
            await waiter
        except BaseException:
            transport.close()
            resume.cancel()
            connected.cancel()
            raise
        return tls._app_transport

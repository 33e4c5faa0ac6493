"""Socket preparation shared by servers, connections and datagram endpoints.

The checks and options asyncio applies before a socket becomes a transport, with its
messages: refusing ``ssl.SSLSocket`` objects, ``SO_REUSEPORT`` where the platform has it,
and removing a stale Unix socket file before binding its path again.
"""

from __future__ import annotations

import os
import socket
import stat
from typing import Any

from .._core._base_loop import logger

try:
    import ssl
except ImportError:  # pragma: no cover - CPython built without OpenSSL
    ssl = None  # type: ignore[assignment]

__all__ = [
    "check_not_ssl_socket",
    "check_tls_timeout",
    "check_tls_timeouts_early",
    "remove_stale_unix_socket",
    "set_reuseport",
]


def check_tls_timeout(name: str, value: float | None, default: float) -> float:
    """``value`` of the TLS timeout ``name``, ``default`` for None; asyncio's error if not positive.

    Checked before any socket is connected: asyncio checks it once connected and then leaks
    the socket.
    """
    if value is None:
        return default
    if value <= 0:
        raise ValueError(f"{name} should be a positive number, got {value}")
    return value


def check_tls_timeouts_early(handshake: Any, shutdown: Any) -> None:
    """Refuse a non-positive TLS timeout before connecting or binding (asyncio leaks the socket).

    Only numbers are judged here; anything else goes on to the TLS layer as in asyncio.
    """
    if isinstance(handshake, (int, float)):
        check_tls_timeout("ssl_handshake_timeout", handshake, 1.0)
    if isinstance(shutdown, (int, float)):
        check_tls_timeout("ssl_shutdown_timeout", shutdown, 1.0)


def check_not_ssl_socket(sock: Any) -> None:
    """Refuse a TLS socket: its recv/send cannot be driven by readiness alone."""
    if ssl is not None and isinstance(sock, ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")


def set_reuseport(sock: socket.socket) -> None:
    """Set SO_REUSEPORT, or say (as asyncio does) that this platform cannot."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port not supported by socket module")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    except OSError:
        raise ValueError(
            "reuse_port not supported by socket module, SO_REUSEPORT defined but not implemented."
        ) from None


def remove_stale_unix_socket(path: Any) -> None:
    """Unlink a socket file left at ``path`` by an earlier server, so bind() can succeed.

    Abstract names (a leading NUL) have no file; anything at the path that is not a socket
    is left alone, so bind() reports it.
    """
    if not path or path[0] in (0, "\x00"):
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as err:  # the directory may only allow creating the socket
        logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)

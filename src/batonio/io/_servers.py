"""Servers: the ``Server`` object, create_server and create_unix_server."""

from __future__ import annotations

__all__ = ["ServersMixin"]


class ServersMixin:
    """Listening sockets that accept connections into transports."""
